/**
 * Reads a DCS list page (`{"time": …, "count": …, "clients": [{…}, …]}`) straight from its bytes: the
 * envelope's fields are parsed, and of each client only the ten fields the scan's figures need are read, in
 * place, into columns. No text of the body, no object per client, and no string per field that the figures
 * would throw away: the few distinct names, users, dbs, commands and client IPs of a page are strings held in
 * a `StringTable` and found again by their bytes. A client's keys are recognised by comparing their bytes,
 * four at a time, with the keys of the same rank in the client before (`KnownKeys`: DCS sends every client's
 * keys in the same order); a key that differs is read byte by byte, checked, and remembered in turn.
 *
 * The clients are first offered to the WebAssembly reader (wasm-clients.ts), which reads plain JSON only;
 * what it declines is read here.
 *
 * It accepts a subset of JSON and gives, on that subset, exactly what `JSON.parse` then `readParsedClient`
 * give. Anything else (a syntax error, an escaped key, a field of a type the schemas refuse or that is merely
 * rare here, nesting past 64 levels, a byte-order mark) makes it decline with `undefined`, and the body goes
 * the general way: its text, `JSON.parse`, the schemas and their error messages. Declining is always safe.
 */
import { BODY_PADDING, joinBody, type BodyChunks } from "./http";
import {
  TalliedClientPage,
  TalliedSessions,
  wasmClientsReader,
  type WasmClientsReader,
} from "./wasm-clients";
import {
  NONE_KEY,
  UNREADABLE,
  clientIpOf,
  orNone,
  positiveOrZero,
  wireInt,
  type WireClientPage,
  type WireSessionFacts,
} from "./wire-page";

/** Field ids of the client fields read (0: any other field, skipped after it is checked). */
const ADDR = 1;
const PEER = 2;
const NAME = 3;
const USER = 4;
const DB = 5;
const CMD = 6;
const IDLE = 7;
const AGE = 8;
const SUB = 9;
const PSUB = 10;

/** Bit flags of a string value: how it must be decoded. */
const ESCAPED = 1;
const NON_ASCII = 2;

const MAX_DEPTH = 64;

/** How many keys of a client are remembered, by rank, to recognise the next client's keys. */
const KEY_SLOTS = 32;

/** The longest key remembered, in bytes: a longer one is always read byte by byte. */
const MAX_KNOWN_KEY = 32;

/** 1 for the four bytes JSON allows between tokens (space, tab, line feed, carriage return). */
const WHITESPACE = new Uint8Array(256);
for (const c of [32, 9, 10, 13]) WHITESPACE[c] = 1;

/** Zero bytes after the body: an escape or a literal reads at most 5 bytes past where it starts. */
const PADDING = BODY_PADDING;

/** The longest run of digits read as an integer in place: past it, `Number` reads the token (exact). */
const MAX_INLINE_DIGITS = 15;

/** The multiplier of the table's hash (FNV's), applied to 4 bytes at a time. */
const HASH_PRIME = 16777619;

/** The bytes of the strings a `StringTable` holds, at most: past them it starts again, as when half full. */
const TABLE_BYTES = 64 * 1024;

/** The hash a `StringTable` files the bytes `b[start, end)` under (`v` views `b`), 4 bytes at a time. */
export function tableHash(b: Uint8Array, v: DataView, start: number, end: number): number {
  let hash = end - start;
  let k = start;
  for (; k + 4 <= end; k += 4) hash = Math.imul(hash ^ v.getInt32(k), HASH_PRIME);
  for (; k < end; k++) hash = Math.imul(hash ^ b[k]!, HASH_PRIME);
  return hash ^ (hash >>> 16); // the slot is taken from the low bits: the high ones mixed in
}

/**
 * Strings found again by their bytes: open addressing over ASCII strings, each slot with a copy of its bytes,
 * so that a lookup compares bytes with bytes, 4 at a time. Cleared when half full or when its copies fill
 * `TABLE_BYTES`, so that it stays bounded whatever the keys (a page of unique names costs one string each, as
 * it must).
 */
export class StringTable {
  private readonly hashes: Int32Array;
  private readonly strings: (string | undefined)[];
  /** Where the bytes of each slot's string start in `bytes`. */
  private readonly at: Int32Array;
  private readonly bytes = new Uint8Array(TABLE_BYTES);
  private readonly view = new DataView(this.bytes.buffer);
  /** Bytes of `bytes` in use. */
  private used = 0;
  private held = 0;

  constructor(private readonly slots = 4096) {
    this.hashes = new Int32Array(slots);
    this.at = new Int32Array(slots);
    this.strings = new Array<string | undefined>(slots).fill(undefined);
  }

  /** The string of the ASCII bytes `b[start, end)`; `v` views the same bytes as `b`. */
  get(b: Uint8Array, v: DataView, start: number, end: number): string {
    const length = end - start;
    const hash = tableHash(b, v, start, end);
    const mask = this.slots - 1;
    let slot = hash & mask;
    for (;;) {
      const held = this.strings[slot];
      if (held === undefined) break;
      if (this.hashes[slot] === hash && held.length === length && this.holds(slot, b, v, start, length)) {
        return held;
      }
      slot = (slot + 1) & mask;
    }
    const text = latin1(b, start, end);
    if (length > TABLE_BYTES) return text; // never held: no copy of it fits
    if (this.held * 2 >= this.slots || this.used + length > TABLE_BYTES) {
      this.strings.fill(undefined);
      this.held = 0;
      this.used = 0;
      slot = hash & mask;
    }
    this.bytes.set(b.subarray(start, end), this.used);
    this.at[slot] = this.used;
    this.used += length;
    this.strings[slot] = text;
    this.hashes[slot] = hash;
    this.held++;
    return text;
  }

  /** Whether the string held at `slot` has the `length` bytes at `start`. */
  private holds(slot: number, b: Uint8Array, v: DataView, start: number, length: number): boolean {
    const from = this.at[slot]!;
    const own = this.view;
    let k = 0;
    for (; k + 4 <= length; k += 4) if (v.getInt32(start + k) !== own.getInt32(from + k)) return false;
    const bytes = this.bytes;
    for (; k < length; k++) if (b[start + k] !== bytes[from + k]) return false;
    return true;
  }
}

/**
 * The keys of the last client read, by rank, kept from one page to the next of a client's listings: a key
 * whose bytes are those remembered at its rank is known without being read byte by byte (DCS sends every
 * client's keys in the same order). Only keys already checked are remembered, so equal bytes are a valid key.
 * A rank never filled holds the empty key, whose field is 0 as it is for any key read.
 */
export class KnownKeys {
  readonly bytes = new Uint8Array(KEY_SLOTS * MAX_KNOWN_KEY);
  readonly view = new DataView(this.bytes.buffer);
  readonly length = new Int32Array(KEY_SLOTS);
  readonly field = new Int32Array(KEY_SLOTS);

  /** Remembers the key `b[start, end)`, of field `field`, at `slot` (a key too long leaves it empty). */
  remember(slot: number, b: Uint8Array, start: number, end: number, field: number): void {
    const length = end - start;
    if (length > MAX_KNOWN_KEY) {
      this.length[slot] = 0;
      this.field[slot] = 0;
      return;
    }
    this.bytes.set(b.subarray(start, end), slot * MAX_KNOWN_KEY);
    this.length[slot] = length;
    this.field[slot] = field;
  }
}

/** `Buffer`'s own decoders, called on a plain Uint8Array: no Buffer object is made per string. */
const { latin1Slice, utf8Slice } = Buffer.prototype as unknown as {
  latin1Slice(this: Uint8Array, start: number, end: number): string;
  utf8Slice(this: Uint8Array, start: number, end: number): string;
};

/** ASCII bytes as a string. */
function latin1(b: Uint8Array, start: number, end: number): string {
  return latin1Slice.call(b, start, end);
}

/** UTF-8 bytes as a string, decoded as undici's `text()` decodes a body (invalid bytes become U+FFFD). */
function utf8(b: Uint8Array, start: number, end: number): string {
  return utf8Slice.call(b, start, end);
}

/** The string a JSON string value stands for: `b[start, end)` lies between its quotes. */
function decodeString(b: Uint8Array, start: number, end: number, flags: number): string {
  if (flags & ESCAPED) return JSON.parse(utf8(b, start - 1, end + 1)) as string;
  if (flags & NON_ASCII) return utf8(b, start, end);
  return latin1(b, start, end);
}

/** The field id of the key `b[start, end)`, by length then bytes. */
function fieldOf(b: Uint8Array, s: number, e: number): number {
  switch (e - s) {
    case 2:
      return b[s] === 100 && b[s + 1] === 98 ? DB : 0;
    case 3: {
      const c0 = b[s];
      const c1 = b[s + 1];
      const c2 = b[s + 2];
      if (c0 === 99 && c1 === 109 && c2 === 100) return CMD;
      if (c0 === 97 && c1 === 103 && c2 === 101) return AGE;
      if (c0 === 115 && c1 === 117 && c2 === 98) return SUB;
      return 0;
    }
    case 4: {
      const c0 = b[s];
      const c1 = b[s + 1];
      const c2 = b[s + 2];
      const c3 = b[s + 3];
      if (c0 === 97) return c1 === 100 && c2 === 100 && c3 === 114 ? ADDR : 0;
      if (c0 === 112) {
        if (c1 === 101 && c2 === 101 && c3 === 114) return PEER;
        return c1 === 115 && c2 === 117 && c3 === 98 ? PSUB : 0;
      }
      if (c0 === 110) return c1 === 97 && c2 === 109 && c3 === 101 ? NAME : 0;
      if (c0 === 117) return c1 === 115 && c2 === 101 && c3 === 114 ? USER : 0;
      if (c0 === 105) return c1 === 100 && c2 === 108 && c3 === 101 ? IDLE : 0;
      return 0;
    }
    default:
      return 0;
  }
}

/** A page's sessions, one column per fact, read by `ScannedClientPage`. */
export interface ScannedSessions {
  size: number;
  clientIp: string[];
  name: string[];
  user: string[];
  db: string[];
  cmd: string[];
  idle: number[];
  age: number[];
  subscriptions: number[];
  /** Where each session's address (`peer`, else `addr`) lies in `bytes`: -1 when it has none. */
  addrStart: number[];
  addrEnd: number[];
  addrFlags: number[];
  bytes: Uint8Array;
}

/** What `scanClientList` makes of a body: the envelope (clients left out) and the sessions. */
export class ScannedList {
  constructor(
    /** Every top-level field but `clients`, as `JSON.parse` gives it, and `clients: []` for the schema. */
    readonly envelope: Record<string, unknown>,
    /** Columns when the JavaScript reader read the clients, records when the WebAssembly reader did. */
    readonly sessions: ScannedSessions | TalliedSessions,
  ) {}

  /**
   * The body, when it is kept: the JavaScript reader reads its addresses from it. The WebAssembly reader
   * keeps none (its addresses are copied out), and every session it read reads, so none is rejected.
   */
  get bytes(): Uint8Array | undefined {
    const s = this.sessions;
    return s instanceof TalliedSessions ? undefined : s.bytes;
  }

  /** The page of these sessions. */
  page(time: string, count: number, reject: (index: number) => never): WireClientPage {
    const s = this.sessions;
    return s instanceof TalliedSessions
      ? new TalliedClientPage(time, count, s, reject)
      : new ScannedClientPage(time, count, s, reject);
  }
}

/** The address of session `index` of scanned sessions (`peer`, else `addr`), "" when it has none. */
export function scannedAddrAt(s: ScannedSessions, index: number): string {
  const start = s.addrStart[index]!;
  return start < 0 ? "" : decodeString(s.bytes, start, s.addrEnd[index]!, s.addrFlags[index]!);
}

/**
 * An empty column for strings that is an array of strings from the start. An empty `[]` is an array of small
 * integers until its first string, and V8 compiles the reader after it has seen that change on some pages but
 * not on a page whose arrays it made before it tracked them: that page would throw the compiled reader away.
 */
function textColumn(): string[] {
  const column = [NONE_KEY];
  column.pop();
  return column;
}

/** Empty columns over the body `bytes`. */
function emptySessions(bytes: Uint8Array): ScannedSessions {
  return {
    size: 0,
    clientIp: textColumn(),
    name: textColumn(),
    user: textColumn(),
    db: textColumn(),
    cmd: textColumn(),
    idle: [],
    age: [],
    subscriptions: [],
    addrStart: [],
    addrEnd: [],
    addrFlags: [],
    bytes,
  };
}

/**
 * One pass over a body. Positions are kept in locals of `scan`; the rare paths are methods that take a
 * position and return the next one, or -1 to decline.
 */
class Scanner {
  /** Flags of the last string `endOfString` read. */
  flags = 0;
  /** The value of the last number `endOfNumber` read. */
  number = 0;
  /** Where the last `clients`, `text` or `integer` stopped. */
  private at = 0;
  private readonly view: DataView;

  constructor(
    /** The body, then at least `PADDING` zero bytes: a zero stops every loop, so none reads past the end. */
    private readonly b: Uint8Array,
    /** The body's own length. */
    private readonly length: number,
    private readonly strings: StringTable,
    private readonly keys: KnownKeys,
    /** The WebAssembly reader, tried first on the clients; null where it is not loaded or not wanted. */
    private readonly wasm: WasmClientsReader | null,
    /**
     * Whether `b` is the WebAssembly reader's memory (`WasmClientsReader.load`), which its next page
     * overwrites: a page it declines is then declined, not read by the JavaScript reader, whose sessions
     * would point into it.
     */
    private readonly inModule = false,
  ) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  ws(p: number): number {
    const b = this.b;
    // A table rather than four comparisons: the same test runs whatever the byte, so code compiled before
    // the first whitespace (or the padding's zero) is seen need not be thrown away when it is.
    while (WHITESPACE[b[p]!] === 1) p++;
    return p;
  }

  /** `p` is just past an opening quote: the position of the closing one, or -1. Sets `flags`. */
  endOfString(p: number): number {
    const b = this.b;
    let flags = 0;
    for (;;) {
      const c = b[p];
      if (c === 34) break;
      if (c < 32) return -1;
      if (c === 92) {
        p = this.endOfEscape(p);
        if (p < 0) return -1;
        flags |= ESCAPED;
        continue;
      }
      if (c >= 128) flags |= NON_ASCII;
      p++;
    }
    this.flags = flags;
    return p;
  }

  /** `p` is on a backslash: the position past the escape, or -1 when JSON has no such escape. */
  endOfEscape(p: number): number {
    const b = this.b;
    const c = b[p + 1];
    if (c === 34 || c === 92 || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116) {
      return p + 2;
    }
    if (c !== 117) return -1;
    for (let k = p + 2; k < p + 6; k++) {
      const h = b[k];
      const hex = (h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102);
      if (!hex) return -1;
    }
    return p + 6;
  }

  /** A JSON number at `p`: the position past it, or -1. Sets `number` to its value. */
  endOfNumber(p: number): number {
    const b = this.b;
    const start = p;
    let c = b[p];
    const negative = c === 45;
    if (negative) c = b[++p];
    if (c < 48 || c > 57) return -1;
    const digitsAt = p;
    let value = 0;
    if (c === 48) {
      c = b[++p];
    } else {
      while (c >= 48 && c <= 57) {
        value = value * 10 + (c - 48);
        c = b[++p];
      }
    }
    let plain = p - digitsAt <= MAX_INLINE_DIGITS;
    if (c === 46) {
      plain = false;
      c = b[++p];
      if (c < 48 || c > 57) return -1;
      while (c >= 48 && c <= 57) c = b[++p];
    }
    if (c === 101 || c === 69) {
      plain = false;
      c = b[++p];
      if (c === 43 || c === 45) c = b[++p];
      if (c < 48 || c > 57) return -1;
      while (c >= 48 && c <= 57) c = b[++p];
    }
    this.number = plain ? (negative ? -value : value) : Number(latin1(b, start, p));
    return p;
  }

  /** Any JSON value at `p`, checked and skipped: the position past it, or -1. */
  endOfValue(p: number, depth: number): number {
    const b = this.b;
    const c = b[p];
    if (c === 34) {
      const end = this.endOfString(p + 1);
      return end < 0 ? -1 : end + 1;
    }
    if (c === 123 || c === 91) {
      if (depth >= MAX_DEPTH) return -1;
      return c === 123 ? this.endOfObject(p + 1, depth + 1) : this.endOfArray(p + 1, depth + 1);
    }
    if (c === 116) return this.literal(p, "true");
    if (c === 102) return this.literal(p, "false");
    if (c === 110) return this.literal(p, "null");
    return this.endOfNumber(p);
  }

  /** `p` is just past `{`. */
  private endOfObject(p: number, depth: number): number {
    const b = this.b;
    p = this.ws(p);
    if (b[p] === 125) return p + 1;
    for (;;) {
      if (b[p] !== 34) return -1;
      p = this.endOfString(p + 1);
      if (p < 0) return -1;
      p = this.ws(p + 1);
      if (b[p] !== 58) return -1;
      p = this.endOfValue(this.ws(p + 1), depth);
      if (p < 0) return -1;
      p = this.ws(p);
      if (b[p] === 125) return p + 1;
      if (b[p] !== 44) return -1;
      p = this.ws(p + 1);
    }
  }

  /** `p` is just past `[`. */
  private endOfArray(p: number, depth: number): number {
    const b = this.b;
    p = this.ws(p);
    if (b[p] === 93) return p + 1;
    for (;;) {
      p = this.endOfValue(p, depth);
      if (p < 0) return -1;
      p = this.ws(p);
      if (b[p] === 93) return p + 1;
      if (b[p] !== 44) return -1;
      p = this.ws(p + 1);
    }
  }

  /** `p` is on the first letter of `word`: the position past it, or -1. */
  literal(p: number, word: string): number {
    for (let k = 0; k < word.length; k++) if (this.b[p + k] !== word.charCodeAt(k)) return -1;
    return p + word.length;
  }

  /** The whole body: the envelope and the sessions, or undefined to decline. */
  body(): ScannedList | undefined {
    const b = this.b;
    let p = this.ws(0);
    if (b[p] !== 123) return undefined;
    p = this.ws(p + 1);
    const envelope: Record<string, unknown> = {};
    let sessions: ScannedSessions | TalliedSessions | undefined;
    if (b[p] !== 125) {
      for (;;) {
        if (b[p] !== 34) return undefined;
        const keyStart = p + 1;
        p = this.endOfString(keyStart);
        if (p < 0 || this.flags & ESCAPED) return undefined;
        const key = decodeString(b, keyStart, p, this.flags);
        p = this.ws(p + 1);
        if (b[p] !== 58) return undefined;
        p = this.ws(p + 1);
        if (key === "clients") {
          if (sessions !== undefined || b[p] !== 91) return undefined;
          const read = this.clients(p + 1);
          if (read === undefined) return undefined;
          sessions = read;
          p = this.at;
          if (b[p] !== 93) return undefined;
          p++;
        } else {
          // A key JSON.parse would make an own property but an assignment would not: left to it.
          if (key === "__proto__") return undefined;
          const end = this.endOfValue(p, 1);
          if (end < 0) return undefined;
          envelope[key] = JSON.parse(utf8(b, p, end));
          p = end;
        }
        p = this.ws(p);
        if (b[p] === 125) break;
        if (b[p] !== 44) return undefined;
        p = this.ws(p + 1);
      }
    }
    if (sessions === undefined) return undefined;
    if (this.ws(p + 1) !== this.length) return undefined;
    envelope.clients = [];
    return new ScannedList(envelope, sessions);
  }

  /**
   * `p` is just past the `[` of `clients`: every client read, into the WebAssembly reader's records or else
   * into columns, or undefined to decline. Sets `at` on the byte after the last client, which the caller
   * checks is the `]`.
   */
  private clients(p: number): ScannedSessions | TalliedSessions | undefined {
    const b = this.b;
    if (this.wasm !== null) {
      const read = this.wasm.read(b, p, this.length);
      if (read !== undefined) {
        this.at = read.stop;
        return read.sessions;
      }
      if (this.inModule) return undefined;
    }
    const s = emptySessions(b);
    p = this.ws(p);
    if (b[p] === 93) {
      this.at = p;
      return s;
    }
    for (;;) {
      p = this.client(p, s);
      if (p < 0) return undefined;
      p = this.ws(p);
      // Every client passes here, the last one too: the end of the page runs no operation that the code
      // V8 compiled during the first page has not seen, and so does not throw that code away.
      this.at = p;
      if (b[p] !== 44) return s;
      p = this.ws(p + 1);
    }
  }

  /**
   * `p` is on the `{` of a client: its facts appended to `s`, and the position past its `}`, or -1 to decline.
   * A method of its own, too long for V8 to inline: the loop over the clients stays small, so that the copy
   * of it V8 compiles in the middle of the first page is quick to make, and this method is compiled once, as
   * an ordinary function (measured in docs/performance.md).
   */
  private client(p: number, s: ScannedSessions): number {
    const b = this.b;
    if (b[p] !== 123) return -1;
    p = this.ws(p + 1);
    let addrStart = -1;
    let addrEnd = -1;
    let addrFlags = 0;
    let peerStart = -1;
    let peerEnd = -1;
    let peerFlags = 0;
    let name: string | undefined;
    let user: string | undefined;
    let db: string | undefined;
    let cmd: string | undefined;
    let idle: number | undefined;
    let age: number | undefined;
    let sub: number | undefined;
    let psub: number | undefined;
    if (b[p] !== 125) {
      for (let rank = 0; ; rank++) {
        if (b[p] !== 34) return -1;
        const keyStart = ++p;
        let field: number;
        const slot = rank < KEY_SLOTS ? rank : KEY_SLOTS - 1;
        const length = this.keys.length[slot]!;
        if (b[keyStart + length] === 34 && this.knownKey(keyStart, slot, length)) {
          field = this.keys.field[slot]!;
          p = keyStart + length;
        } else {
          // The key, read here rather than by endOfString: an escaped key is declined anyway.
          let k = b[p];
          while (k !== 34) {
            if (k < 32 || k === 92) return -1;
            k = b[++p];
          }
          field = fieldOf(b, keyStart, p);
          this.keys.remember(slot, b, keyStart, p, field);
        }
        // Whitespace is looked for only where the expected byte is not: compact JSON never needs it.
        if (b[++p] !== 58) {
          p = this.ws(p);
          if (b[p] !== 58) return -1;
        }
        let c = b[++p];
        if (c <= 32) c = b[(p = this.ws(p))];
        if (field === 0) {
          // Skipped, but checked: strings and numbers (nearly every field) without a call through endOfValue.
          if (c === 34) {
            let v = b[++p];
            while (v !== 34) {
              if (v < 32) return -1;
              if (v === 92) {
                p = this.endOfEscape(p);
                if (p < 0) return -1;
              } else {
                p++;
              }
              v = b[p];
            }
            p++;
          } else if (c >= 49 && c <= 57) {
            // A positive integer, the common case, read here; a fraction or an exponent by endOfNumber.
            const start = p;
            let d = b[++p];
            while (d >= 48 && d <= 57) d = b[++p];
            if (d === 46 || d === 101 || d === 69) {
              p = this.endOfNumber(start);
              if (p < 0) return -1;
            }
          } else {
            p = c === 45 || c === 48 ? this.endOfNumber(p) : this.endOfValue(p, 2);
            if (p < 0) return -1;
          }
        } else if (field <= PEER) {
          // An address: a string, or null for none. Anything else is left to the general way.
          if (c === 34) {
            const start = p + 1;
            p = this.endOfString(start);
            if (p < 0) return -1;
            if (field === ADDR) {
              addrStart = start;
              addrEnd = p;
              addrFlags = this.flags;
            } else {
              peerStart = start;
              peerEnd = p;
              peerFlags = this.flags;
            }
            p++;
          } else {
            p = this.literal(p, "null");
            if (p < 0) return -1;
            if (field === ADDR) addrStart = -1;
            else peerStart = -1;
          }
        } else if (field <= CMD) {
          const text = this.text(p);
          if (text === UNREADABLE) return -1;
          p = this.at;
          if (field === NAME) name = text;
          else if (field === USER) user = text;
          else if (field === DB) db = text;
          else cmd = text;
        } else {
          const n = this.integer(p);
          if (n === UNREADABLE) return -1;
          p = this.at;
          if (field === IDLE) idle = n;
          else if (field === AGE) age = n;
          else if (field === SUB) sub = n;
          else psub = n;
        }
        let after = b[p];
        if (after !== 44 && after !== 125) after = b[(p = this.ws(p))];
        if (after === 125) break;
        if (after !== 44) return -1;
        if (b[++p] !== 34) p = this.ws(p);
      }
    }
    // `peer || addr`: an empty peer gives way to the address.
    if (peerStart >= 0 && peerEnd > peerStart) {
      addrStart = peerStart;
      addrEnd = peerEnd;
      addrFlags = peerFlags;
    } else if (addrEnd <= addrStart) {
      addrStart = -1;
    }
    const i = s.size++;
    s.clientIp[i] = addrStart < 0 ? NONE_KEY : this.ipOf(addrStart, addrEnd, addrFlags);
    s.name[i] = orNone(name);
    s.user[i] = orNone(user);
    s.db[i] = orNone(db);
    s.cmd[i] = orNone(cmd);
    s.idle[i] = positiveOrZero(idle);
    s.age[i] = positiveOrZero(age);
    s.subscriptions[i] = positiveOrZero(sub) + positiveOrZero(psub);
    s.addrStart[i] = addrStart;
    s.addrEnd[i] = addrEnd;
    s.addrFlags[i] = addrFlags;
    return p + 1;
  }

  /** Whether the `length` bytes at `at` are those of the key known at `slot`, compared 4 bytes at a time. */
  private knownKey(at: number, slot: number, length: number): boolean {
    const v = this.view;
    const known = this.keys.view;
    const from = slot * MAX_KNOWN_KEY;
    let k = 0;
    for (; k + 4 <= length; k += 4) if (v.getInt32(at + k) !== known.getInt32(from + k)) return false;
    const b = this.b;
    const bytes = this.keys.bytes;
    for (; k < length; k++) if (b[at + k] !== bytes[from + k]) return false;
    return true;
  }

  /**
   * A text field at `p` as `looseString` reads it: a string, a number's text, `true`/`false`, or undefined
   * for null. Sets `at` past it; UNREADABLE to decline.
   */
  private text(p: number): string | undefined | typeof UNREADABLE {
    const b = this.b;
    const c = b[p];
    if (c === 34) {
      const start = p + 1;
      const end = this.endOfString(start);
      if (end < 0) return UNREADABLE;
      this.at = end + 1;
      return this.flags === 0
        ? this.strings.get(b, this.view, start, end)
        : decodeString(b, start, end, this.flags);
    }
    if (c === 110 || c === 116 || c === 102) {
      const word = c === 110 ? "null" : c === 116 ? "true" : "false";
      const end = this.literal(p, word);
      if (end < 0) return UNREADABLE;
      this.at = end;
      return c === 110 ? undefined : word;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      const end = this.endOfNumber(p);
      if (end < 0) return UNREADABLE;
      this.at = end;
      return String(this.number);
    }
    return UNREADABLE;
  }

  /**
   * A count at `p` as `looseInt` reads it: a finite number, a string that `Number` reads as one (trimmed;
   * empty is absent), or undefined for null. Sets `at` past it; UNREADABLE to decline.
   */
  private integer(p: number): number | undefined | typeof UNREADABLE {
    const b = this.b;
    const c = b[p];
    if (c === 34) {
      const start = p + 1;
      const end = this.endOfString(start);
      if (end < 0) return UNREADABLE;
      this.at = end + 1;
      return wireInt(decodeString(b, start, end, this.flags));
    }
    if (c === 110) {
      const end = this.literal(p, "null");
      if (end < 0) return UNREADABLE;
      this.at = end;
      return undefined;
    }
    const end = this.endOfNumber(p);
    if (end < 0 || !Number.isFinite(this.number)) return UNREADABLE;
    this.at = end;
    return this.number;
  }

  /** `clientIpOf` of the address `b[start, end)`, found in the string table when it is plain ASCII. */
  private ipOf(start: number, end: number, flags: number): string {
    const b = this.b;
    if (flags !== 0) return clientIpOf(decodeString(b, start, end, flags));
    let ipStart = start;
    let ipEnd = end;
    if (b[start] === 91) {
      let close = -1;
      for (let k = start + 1; k < end; k++) {
        if (b[k] === 93) {
          close = k;
          break;
        }
      }
      if (close > start + 1) {
        ipStart = start + 1;
        ipEnd = close;
      }
    } else {
      let colon = -1;
      for (let k = end - 1; k > start; k--) {
        if (b[k] === 58) {
          colon = k;
          break;
        }
      }
      if (colon > start && colon + 1 < end) {
        let digits = true;
        for (let k = colon + 1; k < end; k++) {
          const d = b[k]!;
          if (d < 48 || d > 57) {
            digits = false;
            break;
          }
        }
        if (digits) ipEnd = colon;
      }
    }
    return this.strings.get(b, this.view, ipStart, ipEnd);
  }
}

/** The body with `PADDING` zero bytes after it: its own buffer when the transport left them there, else a copy. */
function padded(bytes: Uint8Array): Uint8Array {
  const end = bytes.byteOffset + bytes.length;
  if (bytes.buffer.byteLength >= end + PADDING) {
    const after = new Uint8Array(bytes.buffer, end, PADDING);
    if (after.every((b) => b === 0))
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length + PADDING);
  }
  const copy = new Uint8Array(bytes.length + PADDING);
  copy.set(bytes);
  return copy;
}

/**
 * Reads a list page's body in place (see the top of this file), or declines with undefined: the caller then
 * parses its text. `strings` and `keys` are kept across the pages of a listing, so that each distinct value
 * is made once and the keys are read byte by byte once (a page of its own, in a test, may leave `keys` out).
 */
export function scanClientList(
  bytes: Uint8Array,
  strings: StringTable,
  keys: KnownKeys = new KnownKeys(),
  wasm: WasmClientsReader | null = wasmClientsReader(),
): ScannedList | undefined {
  if (bytes[0] === 0xef) return undefined; // a byte-order mark: left to the text decoder
  return new Scanner(padded(bytes), bytes.length, strings, keys, wasm).body();
}

/**
 * Reads a list page's body as its chunks arrived (the transport's `readBody`): copied once into the memory of
 * the WebAssembly reader, which reads its clients there, in place. A body it declines is joined into a buffer
 * of its own and read by `scanClientList` with the JavaScript reader (which may decline in turn).
 */
export function scanClientBody(
  body: BodyChunks,
  strings: StringTable,
  keys: KnownKeys = new KnownKeys(),
  wasm: WasmClientsReader | null = wasmClientsReader(),
): ScannedList | undefined {
  if (wasm !== null) {
    const view = wasm.load(body);
    if (view[0] === 0xef) return undefined; // a byte-order mark: left to the text decoder, as scanClientList does
    const scanned = new Scanner(view, body.length, strings, keys, wasm, true).body();
    // A view whose memory grew since has no bytes left: not expected (`load` reserves), but then read again.
    if (scanned !== undefined && view.byteLength > 0) return scanned;
  }
  return scanClientList(joinBody(body), strings, keys, null);
}

/** A page read by `scanClientList`: every session it holds is readable (it declines otherwise). */
export class ScannedClientPage implements WireClientPage {
  readonly size: number;

  constructor(
    readonly time: string,
    readonly count: number,
    private readonly sessions: ScannedSessions,
    readonly reject: (index: number) => never,
    size = sessions.size,
  ) {
    this.size = size;
  }

  read(index: number, into: WireSessionFacts): boolean {
    const s = this.sessions;
    into.clientIp = s.clientIp[index]!;
    into.name = s.name[index]!;
    into.user = s.user[index]!;
    into.db = s.db[index]!;
    into.cmd = s.cmd[index]!;
    into.idleSeconds = s.idle[index]!;
    into.ageSeconds = s.age[index]!;
    into.subscriptions = s.subscriptions[index]!;
    return true;
  }

  addrAt(index: number): string {
    return scannedAddrAt(this.sessions, index);
  }

  cut(size: number): WireClientPage {
    return new ScannedClientPage(
      this.time,
      this.count,
      this.sessions,
      this.reject,
      Math.min(size, this.size),
    );
  }
}
