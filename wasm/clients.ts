// AssemblyScript, compiled to dist/api/clients.wasm by `npm run build` (see wasm/README.md).
//
// Reads the clients array of a DCS list page, as src/api/page-scan.ts does in JavaScript, but over plain
// JSON only: a string with an escape, a text field that is not a string or null, a count that is not a
// plain integer, a nested value or any syntax error makes `read` decline, and the JavaScript reader reads
// the page instead (which may decline in turn to JSON.parse and the schemas). Declining is always safe.
//
// Memory (offsets in bytes):
//   KEYS    the keys of the last client, by rank, to recognise the next client's keys by two 8-byte compares:
//           64 bytes a rank (length, field, then mask and word of bytes 0-7 and of bytes 8-15; at 40 the
//           length, word and mask of the last value of up to 8 bytes checked there for a skipped field)
//   RUNS    by rank, 16 bytes: a run of skipped fields read from there in a client of this page (where its
//           bytes start, how many, how many keys), and where the key of that rank started in the last client
//   INDEX   the string table's slots: the id of the string filed there, 0 for none (see `intern`)
//   ENTRIES the table's strings by id, 32 bytes each, one after the other
//   STORE   a copy of the bytes of each string longer than 16 bytes that the table holds
//   FRESH   the strings this page added to the table: id, start, end (offsets in the input)
//   SEEN    `tally`'s count of each id of the field it counts (zero between calls)
//   TALLIED what `tally` counted of a page (see TALLIED_AT)
//   INPUT   where JavaScript keeps the pages read and not yet counted, a slot each (src/api/wasm-clients.ts
//           places the input past them: `read` is told where its input is)
//   input   the clients of the body from just past the `[` of `clients` (the whole body may be here, the
//           input then starting inside it), then zeros; then the page's addresses, one after the other, and
//           the two arrays of records
// Two records per client, each in an array of its own, which JavaScript copies whole into a slot: 7 i32 (the
// ids of its client IP, name, user, db and command, 0 for none; its address as offsets among the page's
// addresses, -1 for none), and 3 f64 (idle, age and subscriptions, each already `positiveOrZero`). The
// addresses are copied out of the input so that the page need not keep the body (see `read`). `tally` counts
// a page's records where they are, in its slot, when the scan comes to that page.

const KEY_SLOTS: i32 = 32;
const KEY_BYTES: i32 = 16;
const SLOTS: i32 = 65536;
const MASK: i32 = SLOTS - 1;
const STORE_BYTES: i32 = 1024 * 1024;
const FRESH_MAX: i32 = SLOTS / 2;
/** Strings up to this many bytes are compared as two words. */
const SHORT: i32 = 16;

const KEYS: usize = 64;
const RUNS: usize = KEYS + <usize>KEY_SLOTS * 64;
const INDEX: usize = RUNS + <usize>KEY_SLOTS * 16;
const ENTRIES: usize = INDEX + <usize>SLOTS * 4;
const STORE: usize = ENTRIES + <usize>(SLOTS / 2 + 1) * 32;
const FRESH: usize = STORE + <usize>STORE_BYTES;
const SEEN: usize = FRESH + <usize>FRESH_MAX * 12;
/** The most clients `tally` counts at once: a page of the largest size the API gives. */
export const TALLY_CLIENTS: i32 = 1000;
// One count an id (ids run to SLOTS / 2), and 8-byte aligned after it.
const TALLIED: usize = SEEN + <usize>(SLOTS / 2 + 2) * 4;
export const INPUT: usize = TALLIED + 128 + <usize>TALLY_CLIENTS * (5 * 8 + 4);
/** The words of a client's record of ids, and of its record of counts. */
export const ID_WORDS: i32 = 7;
export const COUNT_WORDS: i32 = 3;
export const FRESH_AT: usize = FRESH;
/**
 * What `tally` counted, in i32 words from TALLIED_AT: at 0-4 the number of distinct ids of each text field (in
 * the order of a record's ids), at 5-9 the clients by idle bucket (under 60 s, 600 s, 3,600 s, 86,400 s, the
 * rest), at 10 the clients with a subscription, at 11 how many candidates; the highest idle time as an f64 at
 * word 12, the highest age at 14; from word 32, for each field, TALLY_CLIENTS pairs (id, clients), in the order
 * the ids first appear; then the candidates' indexes.
 */
export const TALLIED_AT: usize = TALLIED;
/** How many strings the table holds at most: past half its slots, `read` answers TABLE_FULL. */
export const CAPACITY: i32 = SLOTS / 2;

/** What `read` answers when it declines the page, and when the table filled up during it. */
const DECLINED: i32 = -1;
const TABLE_FULL: i32 = -2;

// Field ids, as in page-scan.ts.
const ADDR: i32 = 1;
const PEER: i32 = 2;
const NAME: i32 = 3;
const USER: i32 = 4;
const DB: i32 = 5;
const CMD: i32 = 6;
const IDLE: i32 = 7;
const AGE: i32 = 8;
const SUB: i32 = 9;
const PSUB: i32 = 10;

/** The longest run of digits read as a count: 15 digits are exact in an f64. */
const MAX_DIGITS: usize = 15;

const QUOTE = i8x16.splat(34);
const BACKSLASH = i8x16.splat(92);
const SPACE = i8x16.splat(32);
const ZERO = i8x16.splat(0);

let held: i32 = 0;
let used: i32 = 0;
let nextId: i32 = 0;
let fresh: i32 = 0;
let full = false;
let stop: usize = 0;
let count: f64 = 0;
let outIds: usize = 0;
let outCounts: usize = 0;
let input: usize = 0;
let addrs: usize = 0;
let outAddrs: usize = 0;

/** How many strings this page added to the table (their triples are at FRESH_AT). */
export function freshCount(): i32 {
  return fresh;
}

/** Where the last `read` stopped, past the last client and its whitespace (an offset in its input). */
export function stoppedAt(): i32 {
  return <i32>(stop - input);
}

/** How many bytes of addresses the last `read` wrote (from its `addrs`). */
export function addressBytes(): i32 {
  return <i32>(outAddrs - addrs);
}

/** How many strings the table holds. */
export function heldCount(): i32 {
  return held;
}

/**
 * Counts the first `n` records (n ≤ TALLY_CLIENTS) of ids at `ids` and of counts at `counts`, as read wrote
 * them, into TALLIED: the distinct ids of each text field with their clients, the idle buckets, the highest
 * idle time and age, the clients with a subscription, and the candidates for the most idle list: the indexes,
 * in order, of the clients whose idle time is at least `floorIdle`.
 */
export function tally(ids: usize, counts: usize, n: i32, floorIdle: f64): void {
  const words = (<usize>ID_WORDS) << 2;
  for (let field: i32 = 0; field < 5; field++) {
    const pairs = TALLIED + 128 + <usize>(field * TALLY_CLIENTS) * 8;
    let distinct: usize = 0;
    let at = ids + ((<usize>field) << 2);
    for (let i: i32 = 0; i < n; i++, at += words) {
      const id = load<i32>(at);
      const seen = SEEN + ((<usize>id) << 2);
      const clients = load<i32>(seen);
      if (clients == 0) store<i32>(pairs + (distinct++ << 3), id);
      store<i32>(seen, clients + 1);
    }
    for (let k: usize = 0; k < distinct; k++) {
      const seen = SEEN + ((<usize>load<i32>(pairs + (k << 3))) << 2);
      store<i32>(pairs + (k << 3), load<i32>(seen), 4);
      store<i32>(seen, 0);
    }
    store<i32>(TALLIED + ((<usize>field) << 2), <i32>distinct);
  }
  let under1m: i32 = 0;
  let under10m: i32 = 0;
  let under1h: i32 = 0;
  let under24h: i32 = 0;
  let subscribers: i32 = 0;
  let maxIdle: f64 = 0;
  let maxAge: f64 = 0;
  const candidates = TALLIED + 128 + <usize>(5 * TALLY_CLIENTS) * 8;
  let candidate: usize = 0;
  let at = counts;
  for (let i: i32 = 0; i < n; i++, at += (<usize>COUNT_WORDS) << 3) {
    const idle = load<f64>(at);
    const age = load<f64>(at, 8);
    if (idle < 60) under1m++;
    else if (idle < 600) under10m++;
    else if (idle < 3600) under1h++;
    else if (idle < 86400) under24h++;
    if (idle > maxIdle) maxIdle = idle;
    if (age > maxAge) maxAge = age;
    if (load<f64>(at, 16) > 0) subscribers++;
    if (idle >= floorIdle) store<i32>(candidates + (candidate++ << 2), i);
  }
  store<i32>(TALLIED, under1m, 20);
  store<i32>(TALLIED, under10m, 24);
  store<i32>(TALLIED, under1h, 28);
  store<i32>(TALLIED, under24h, 32);
  store<i32>(TALLIED, n - under1m - under10m - under1h - under24h, 36);
  store<i32>(TALLIED, subscribers, 40);
  store<i32>(TALLIED, <i32>candidate, 44);
  store<f64>(TALLIED, maxIdle, 48);
  store<f64>(TALLIED, maxAge, 56);
}

/** Empties the string table: ids start again from 1. */
export function reset(): void {
  memory.fill(INDEX, 0, <usize>SLOTS * 4);
  held = 0;
  used = 0;
  nextId = 0;
}

function ws(p: usize): usize {
  let c = load<u8>(p);
  while (c == 32 || c == 9 || c == 10 || c == 13) c = load<u8>(++p);
  return p;
}

/** `p` is past an opening quote: the closing quote, or 0 for an escape, a control byte or (`ascii`) a byte ≥ 128. */
function endOfString(p: usize, ascii: bool): usize {
  // 16 bytes at a time to the first byte that is not plain; zeros follow the input, so this stops there.
  let mask: i32 = 0;
  while (mask == 0) {
    const v = v128.load(p);
    let special = v128.or(v128.or(i8x16.eq(v, QUOTE), i8x16.eq(v, BACKSLASH)), i8x16.lt_u(v, SPACE));
    if (ascii) special = v128.or(special, i8x16.lt_s(v, ZERO));
    mask = i8x16.bitmask(special);
    if (mask == 0) p += 16;
  }
  p += <usize>ctz(mask);
  return load<u8>(p) == 34 ? p : 0;
}

/** The hash of the long string `[s, e)`, 4 bytes at a time. */
function hashOf(s: usize, e: usize): i32 {
  let h = <i32>(e - s);
  let k = s;
  for (; k + 4 <= e; k += 4) h = (h ^ load<i32>(k)) * 16777619;
  for (; k < e; k++) h = (h ^ (<i32>load<u8>(k))) * 16777619;
  return h ^ (h >>> 16);
}

/** The hash of a short string from its two words (its bytes 0-7 and 8-15, zeros past its end). */
function hashOfWords(low: u64, high: u64, length: i32): i32 {
  let x = low * 0x9e3779b97f4a7c15 + high * 0xc2b2ae3d27d4eb4f + <u64>length;
  x ^= x >> 29;
  return <i32>(x ^ (x >> 32));
}

function sameBytes(a: usize, b: usize, length: i32): bool {
  let k: i32 = 0;
  for (; k + 8 <= length; k += 8) if (load<u64>(a + k) != load<u64>(b + k)) return false;
  for (; k < length; k++) if (load<u8>(a + k) != load<u8>(b + k)) return false;
  return true;
}

/**
 * The id of the string `[s, e)`: 0 when empty, else found in the table or added to it (and to FRESH). A slot
 * of INDEX holds an id; its entry in ENTRIES is 32 bytes: hash, where its bytes are in STORE, length, and for
 * a string of 16 bytes or fewer its two words, which a lookup compares instead of the bytes. The entries lie
 * one after the other, so the few hundred strings of a listing share few cache lines (where slots of 32 bytes
 * spread them over 2 MB, a listing took 2-5 % longer: docs/performance.md).
 */
function intern(s: usize, e: usize): i32 {
  const length = <i32>(e - s);
  if (length == 0) return 0;
  const short = length <= SHORT;
  let low: u64 = 0;
  let high: u64 = 0;
  let hash: i32;
  if (short) {
    low = load<u64>(s) & firstBytes(length);
    if (length > 8) high = load<u64>(s + 8) & firstBytes(length - 8);
    hash = hashOfWords(low, high, length);
  } else {
    hash = hashOf(s, e);
  }
  let slot = hash & MASK;
  for (;;) {
    const id = load<i32>(INDEX + ((<usize>slot) << 2));
    if (id == 0) break;
    const entry = ENTRIES + ((<usize>id) << 5);
    if (load<i32>(entry) == hash && load<i32>(entry, 12) == length) {
      if (short) {
        if (load<u64>(entry, 16) == low && load<u64>(entry, 24) == high) return id;
      } else if (sameBytes(STORE + <usize>load<i32>(entry, 8), s, length)) return id;
    }
    slot = (slot + 1) & MASK;
  }
  if (held >= CAPACITY || used + length > STORE_BYTES) {
    full = true;
    return 0;
  }
  const id = ++nextId;
  const entry = ENTRIES + ((<usize>id) << 5);
  store<i32>(INDEX + ((<usize>slot) << 2), id);
  store<i32>(entry, hash);
  store<i32>(entry, length, 12);
  if (short) {
    store<u64>(entry, low, 16);
    store<u64>(entry, high, 24);
  } else {
    memory.copy(STORE + <usize>used, s, length);
    store<i32>(entry, used, 8);
    used += length;
  }
  held++;
  const triple = FRESH + <usize>fresh * 12;
  store<i32>(triple, id);
  store<i32>(triple, <i32>(s - input), 4);
  store<i32>(triple, <i32>(e - input), 8);
  fresh++;
  return id;
}

/** The field id of the key `[s, e)`, by length then bytes (little-endian words). */
function fieldOf(s: usize, e: usize): i32 {
  const n = e - s;
  if (n == 4) {
    const w = load<u32>(s);
    if (w == 0x72646461) return ADDR; // "addr"
    if (w == 0x72656570) return PEER; // "peer"
    if (w == 0x656d616e) return NAME; // "name"
    if (w == 0x72657375) return USER; // "user"
    if (w == 0x656c6469) return IDLE; // "idle"
    if (w == 0x62757370) return PSUB; // "psub"
    return 0;
  }
  if (n == 3) {
    const w = (<u32>load<u16>(s)) | ((<u32>load<u8>(s, 2)) << 16);
    if (w == 0x646d63) return CMD; // "cmd"
    if (w == 0x656761) return AGE; // "age"
    if (w == 0x627573) return SUB; // "sub"
    return 0;
  }
  if (n == 2) return load<u16>(s) == 0x6264 ? DB : 0; // "db"
  return 0;
}

/** The mask of the first `n` bytes of an 8-byte word (n from 0 to 8). */
function firstBytes(n: i32): u64 {
  return n >= 8 ? <u64>-1 : ((<u64>1) << (<u64>n * 8)) - 1;
}

/** Where what is remembered at key rank `rank` lies in KEYS (the ranks past the last share its slot). */
function keySlot(rank: i32): usize {
  return KEYS + ((<usize>min(rank, KEY_SLOTS - 1)) << 6);
}

/** The field of the key at `s` when it is the key remembered at `rank`, else -1. Sets `keyEnd`. */
let keyEnd: usize = 0;
function knownKey(s: usize, rank: i32): i32 {
  const slot = keySlot(rank);
  const length = load<i32>(slot);
  if (length == 0 || load<u8>(s + <usize>length) != 34) return -1;
  if ((load<u64>(s) & load<u64>(slot, 8)) != load<u64>(slot, 16)) return -1;
  if (length > 8 && (load<u64>(s + 8) & load<u64>(slot, 24)) != load<u64>(slot, 32)) return -1;
  keyEnd = s + <usize>length;
  return load<i32>(slot, 4);
}

/** Remembers the key `[s, e)` of field `field` at `rank` (a key longer than 16 bytes leaves it empty). */
function rememberKey(s: usize, e: usize, rank: i32, field: i32): void {
  const slot = keySlot(rank);
  const n = <i32>(e - s);
  if (n == 0 || n > KEY_BYTES) {
    store<i32>(slot, 0);
    return;
  }
  store<i32>(slot, n);
  store<i32>(slot, field, 4);
  const low = firstBytes(n);
  const high = n > 8 ? firstBytes(n - 8) : 0;
  store<u64>(slot, low, 8);
  store<u64>(slot, load<u64>(s) & low, 16);
  store<u64>(slot, high, 24);
  store<u64>(slot, load<u64>(s + 8) & high, 32);
}

/** Remembers the checked value `[s, e)` of a skipped field at the rank of `slot`, when 8 bytes or fewer. */
function rememberValue(slot: usize, s: usize, e: usize): void {
  const n = <i32>(e - s);
  if (n > 8) {
    store<i32>(slot, 0, 40);
    return;
  }
  const mask = firstBytes(n);
  store<i32>(slot, n, 40);
  store<u64>(slot, load<u64>(s) & mask, 48);
  store<u64>(slot, mask, 56);
}

/** A JSON number at `p`, checked and skipped: the position past it, or 0. */
function skipNumber(p: usize): usize {
  let c = <u32>load<u8>(p);
  if (c == 45) c = load<u8>(++p);
  if (c == 48) c = load<u8>(++p);
  else if (c - 49 < 9) {
    do c = load<u8>(++p);
    while (c - 48 < 10);
  } else return 0;
  if (c == 46) {
    c = load<u8>(++p);
    if (c - 48 >= 10) return 0;
    do c = load<u8>(++p);
    while (c - 48 < 10);
  }
  if (c == 101 || c == 69) {
    c = load<u8>(++p);
    if (c == 43 || c == 45) c = load<u8>(++p);
    if (c - 48 >= 10) return 0;
    do c = load<u8>(++p);
    while (c - 48 < 10);
  }
  return p;
}

/** An integer at `p` (no fraction or exponent, at most 15 digits): sets `count` (negative: 0); past it, or 0. */
function integer(p: usize): usize {
  let c = <u32>load<u8>(p);
  const negative = c == 45;
  if (negative) c = load<u8>(++p);
  let value: i64 = 0;
  if (c == 48) c = load<u8>(++p);
  else if (c - 49 < 9) {
    const start = p;
    do {
      value = value * 10 + <i64>(c - 48);
      c = load<u8>(++p);
    } while (c - 48 < 10);
    if (p - start > MAX_DIGITS) return 0;
  } else return 0;
  if (c == 46 || c == 101 || c == 69) return 0;
  count = negative ? 0 : <f64>value;
  return p;
}

/** A count sent as a string of digits (empty: absent), `p` past its quote: sets `count`; past it, or 0. */
function digitString(p: usize): usize {
  const start = p;
  let value: i64 = 0;
  let c = <u32>load<u8>(p);
  while (c - 48 < 10) {
    value = value * 10 + <i64>(c - 48);
    c = load<u8>(++p);
  }
  if (c != 34 || p - start > MAX_DIGITS) return 0;
  count = <f64>value;
  return p + 1;
}

/** Whether the 4 bytes at `p` are `word` (little-endian). */
function is4(p: usize, word: u32): bool {
  return load<u32>(p) == word;
}

const NULL: u32 = 0x6c6c756e; // "null"
const TRUE: u32 = 0x65757274; // "true"
const ALSE: u32 = 0x65736c61; // "alse", of "false"

/** The id of the client IP of the address `[s, e)`, as `clientIpOf` gives it (src/api/wire-page.ts). */
function ipOf(s: usize, e: usize): i32 {
  let ipStart = s;
  let ipEnd = e;
  if (load<u8>(s) == 91) {
    // "[::1]:5000" → "::1"
    for (let k = s + 1; k < e; k++) {
      if (load<u8>(k) == 93) {
        if (k > s + 1) {
          ipStart = s + 1;
          ipEnd = k;
        }
        break;
      }
    }
  } else {
    // "10.0.0.1:5000" → "10.0.0.1": the last colon, when digits follow it to the end
    let colon = e - 1;
    while (colon > s && load<u8>(colon) != 58) colon--;
    if (colon > s && colon + 1 < e) {
      let k = colon + 1;
      while (k < e && <u32>load<u8>(k) - 48 < 10) k++;
      if (k == e) ipEnd = colon;
    }
  }
  return intern(ipStart, ipEnd);
}

/**
 * Whether the `length` bytes at `p` are those at `q` (an earlier client of the same input). The input is
 * followed by zeros, which no run holds, so the compare stops within 16 bytes past the input's end.
 */
function sameRun(p: usize, q: usize, length: i32): bool {
  let k: i32 = 0;
  for (; k + 16 <= length; k += 16) {
    if (i8x16.bitmask(i8x16.eq(v128.load(p + <usize>k), v128.load(q + <usize>k))) != 0xffff) return false;
  }
  const rest = length - k;
  if (rest == 0) return true;
  const wanted = (1 << rest) - 1;
  return (i8x16.bitmask(i8x16.eq(v128.load(p + <usize>k), v128.load(q + <usize>k))) & wanted) == wanted;
}

/**
 * The skipped fields read one by one from rank `from` to rank `to` (not included), whose key starts at `end`,
 * make a run from each of those ranks: the next client whose bytes from that rank are the same skips them all
 * at once. The keys and values were checked, so the same bytes at the same place of a client are valid too.
 */
function closeStretch(from: i32, to: i32, end: usize): void {
  for (let rank = from; rank < to; rank++) {
    const run = RUNS + ((<usize>rank) << 4);
    const start = <usize>load<i32>(run, 12);
    store<i32>(run, <i32>start);
    store<i32>(run, <i32>(end - start), 4);
    store<i32>(run, to - rank, 8);
  }
}

/** `p` is on the `{` of a client: its record written at `out`, and the position past its `}`, or 0. */
function client(p: usize): usize {
  if (load<u8>(p) != 123) return 0;
  p = ws(p + 1);
  let addrStart: usize = 0;
  let addrEnd: usize = 0;
  let peerStart: usize = 0;
  let peerEnd: usize = 0;
  let name: i32 = 0;
  let user: i32 = 0;
  let db: i32 = 0;
  let cmd: i32 = 0;
  let idle: f64 = 0;
  let age: f64 = 0;
  let sub: f64 = 0;
  let psub: f64 = 0;
  // The first rank of the skipped fields read one by one just before, or -1.
  let stretch: i32 = -1;
  if (load<u8>(p) != 125) {
    for (let rank: i32 = 0; ; rank++) {
      if (load<u8>(p) != 34) return 0;
      const keyStart = p + 1;
      if (rank < KEY_SLOTS - 1) {
        // The skipped fields of an earlier client from this rank, byte for byte: taken at once.
        const run = RUNS + ((<usize>rank) << 4);
        const length = load<i32>(run, 4);
        if (length != 0 && sameRun(p, <usize>load<i32>(run), length)) {
          p += <usize>length;
          rank += load<i32>(run, 8) - 1;
          stretch = -1;
          continue;
        }
      }
      let field = knownKey(keyStart, rank);
      if (field >= 0) {
        p = keyEnd;
      } else {
        p = endOfString(keyStart, false);
        if (p == 0) return 0;
        field = fieldOf(keyStart, p);
        rememberKey(keyStart, p, rank, field);
      }
      if (rank < KEY_SLOTS - 1) {
        if (field == 0) {
          if (stretch < 0) stretch = rank;
          store<i32>(RUNS + ((<usize>rank) << 4), <i32>(keyStart - 1), 12);
        } else if (stretch >= 0) {
          closeStretch(stretch, rank, keyStart - 1);
          stretch = -1;
        }
      }
      if (load<u8>(++p) != 58) {
        p = ws(p);
        if (load<u8>(p) != 58) return 0;
      }
      let c = <u32>load<u8>(++p);
      if (c <= 32) c = load<u8>((p = ws(p)));
      if (field == 0) {
        // Skipped, but checked: a value of the same bytes as the last one checked at this rank, ended there,
        // is valid too.
        const slot = keySlot(rank);
        const known = <usize>load<i32>(slot, 40);
        const after = load<u8>(p + known);
        if (
          known != 0 &&
          (load<u64>(p) & load<u64>(slot, 56)) == load<u64>(slot, 48) &&
          (after == 44 || after == 125)
        ) {
          p += known;
        } else {
          const start = p;
          if (c == 34) {
            p = endOfString(p + 1, false);
            if (p == 0) return 0;
            p++;
          } else if (c == 45 || c - 48 < 10) {
            p = skipNumber(p);
            if (p == 0) return 0;
          } else if (c == 110 && is4(p, NULL)) p += 4;
          else if (c == 116 && is4(p, TRUE)) p += 4;
          else if (c == 102 && is4(p + 1, ALSE)) p += 5;
          else return 0;
          rememberValue(slot, start, p);
        }
      } else if (field <= PEER) {
        let start: usize = 0;
        let end: usize = 0;
        if (c == 34) {
          start = p + 1;
          end = endOfString(start, true);
          if (end == 0) return 0;
          p = end + 1;
        } else if (c == 110 && is4(p, NULL)) p += 4;
        else return 0;
        if (field == ADDR) {
          addrStart = start;
          addrEnd = end;
        } else {
          peerStart = start;
          peerEnd = end;
        }
      } else if (field <= CMD) {
        let id: i32 = 0;
        if (c == 34) {
          const start = p + 1;
          p = endOfString(start, true);
          if (p == 0) return 0;
          id = intern(start, p);
          p++;
        } else if (c == 110 && is4(p, NULL)) p += 4;
        else return 0;
        if (field == NAME) name = id;
        else if (field == USER) user = id;
        else if (field == DB) db = id;
        else cmd = id;
      } else {
        if (c == 34) p = digitString(p + 1);
        else if (c == 110 && is4(p, NULL)) {
          p += 4;
          count = 0;
        } else p = integer(p);
        if (p == 0) return 0;
        if (field == IDLE) idle = count;
        else if (field == AGE) age = count;
        else if (field == SUB) sub = count;
        else psub = count;
      }
      c = load<u8>(p);
      if (c != 44 && c != 125) c = load<u8>((p = ws(p)));
      if (c == 125) break;
      if (c != 44) return 0;
      if (load<u8>(++p) != 34) p = ws(p);
    }
  }
  // `peer || addr`: an empty peer gives way to the address.
  if (peerEnd > peerStart) {
    addrStart = peerStart;
    addrEnd = peerEnd;
  }
  const hasAddr = addrEnd > addrStart;
  let addrAt: i32 = -1;
  if (hasAddr) {
    // Copied 16 bytes at a time: the input's padding and the room after the addresses take the overrun.
    addrAt = <i32>(outAddrs - addrs);
    const length = addrEnd - addrStart;
    for (let k: usize = 0; k < length; k += 16) v128.store(outAddrs + k, v128.load(addrStart + k));
    outAddrs += length;
  }
  const r = outIds;
  const c = outCounts;
  // The records grow with the clients: memory is added as they need it, not reserved for the worst case.
  const needed = max(r + ((<usize>ID_WORDS) << 2), c + ((<usize>COUNT_WORDS) << 3));
  const have = (<usize>memory.size()) << 16;
  if (needed > have && memory.grow(<i32>((needed - have + 0xffff) >> 16)) < 0) return 0;
  store<i32>(r, hasAddr ? ipOf(addrStart, addrEnd) : 0);
  store<i32>(r, name, 4);
  store<i32>(r, user, 8);
  store<i32>(r, db, 12);
  store<i32>(r, cmd, 16);
  store<i32>(r, addrAt, 20);
  store<i32>(r, hasAddr ? addrAt + <i32>(addrEnd - addrStart) : -1, 24);
  store<f64>(c, idle);
  store<f64>(c, age, 8);
  store<f64>(c, sub + psub, 16);
  outIds = r + ((<usize>ID_WORDS) << 2);
  outCounts = c + ((<usize>COUNT_WORDS) << 3);
  return p + 1;
}

/**
 * Reads the clients at `from` (at or past INPUT: the body just past the `[` of `clients`, then at least 32
 * zero bytes) into the addresses from `addresses` (room for as many bytes as the input, plus 16), records of
 * ids from `ids` and records of counts from `counts` (8-byte aligned, the first far enough from the second
 * for every client the input can hold; memory grows to hold them): how many, DECLINED, or TABLE_FULL (then
 * `reset` and read again). `stoppedAt` tells where it stopped: the caller checks that the `]` is there.
 */
export function read(from: usize, addresses: usize, ids: usize, counts: usize): i32 {
  // Runs point into the input they were read from: none is known at the start of another.
  memory.fill(RUNS, 0, <usize>KEY_SLOTS * 16);
  input = from;
  fresh = 0;
  full = false;
  addrs = addresses;
  outAddrs = addresses;
  outIds = ids;
  outCounts = counts;
  let p = ws(input);
  let n: i32 = 0;
  if (load<u8>(p) != 93) {
    for (;;) {
      p = client(p);
      if (p == 0) return DECLINED;
      n++;
      p = ws(p);
      if (load<u8>(p) != 44) break;
      p = ws(p + 1);
    }
  }
  if (full) return TABLE_FULL;
  stop = p;
  return n;
}
