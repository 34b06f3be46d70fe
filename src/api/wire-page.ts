/**
 * A list page's sessions as the scan reads them: the fields its figures need, coerced as the zod schemas
 * would (`looseString`, `looseInt`), from one of three sources:
 *   - `JsonClientPage`: the page parsed by `JSON.parse`, each client read where it lies (the fallback);
 *   - `ScannedClientPage`: the page's bytes read in place by `scanClientList` (page-scan.ts), with no object
 *     and no throwaway string built per session (the fast path);
 *   - `TalliedClientPage`: the same, by the WebAssembly reader (wasm-clients.ts), its text fields left as ids.
 * All answer the same questions the same way; tests feed them the same bodies and compare every field.
 */

/** The key of an empty or absent value (a session without a name, a user, …). */
export const NONE_KEY = "(none)";

/** The fields of one session the scan's figures read, with the client's IP worked out of its address. */
export interface WireSessionFacts {
  /** `clientIpOf(peer || addr)`: behind a proxy `addr` is the proxy's side and `peer` the real client. */
  clientIp: string;
  name: string;
  user: string;
  db: string;
  cmd: string;
  idleSeconds: number;
  ageSeconds: number;
  /** `sub + psub`. */
  subscriptions: number;
}

/**
 * A list page with its envelope validated and its sessions left where the wire put them (the scan's fast
 * path): `read` one into a reused `WireSessionFacts`, and `addrAt` for its full address only when needed.
 */
export interface WireClientPage {
  time: string;
  /** Total number of sessions in the cached list (not the page). */
  count: number;
  /** How many sessions this page gives, already cut so that no more than `count` come out in all. */
  size: number;
  /** Reads session `index` into `into`; false when the schema would refuse it (then call `reject`). */
  read(index: number, into: WireSessionFacts): boolean;
  /** Session `index`'s address as the facts name it: `peer`, else `addr`, else "". */
  addrAt(index: number): string;
  /** The same page giving only its first `size` sessions. */
  cut(size: number): WireClientPage;
  /** Throws the error a full validation of the page gives, naming the client at `index` when it passes. */
  reject(index: number): never;
  /**
   * The same sessions (the first `size`) with their text fields as ids, when the reader made them so: they are
   * then counted a page at a time.
   */
  readonly tallied?: TalliedPage;
}

/** Where a session's values are in a `TalliedPage`'s records: the ids of its text fields, in `ids`. */
export const TALLY_IP = 0;
export const TALLY_NAME = 1;
export const TALLY_USER = 2;
export const TALLY_DB = 3;
export const TALLY_CMD = 4;
/** …and its counts, in `counts` (each already `positiveOrZero`). */
export const TALLY_IDLE = 0;
export const TALLY_AGE = 1;
export const TALLY_SUBSCRIPTIONS = 2;

/**
 * A page's sessions as two arrays of records (the WebAssembly reader's): session `i`'s name is
 * `strings[ids[i * idStride + TALLY_NAME]]`, its idle time `counts[i * countStride + TALLY_IDLE]`. Id 0 is
 * `(none)`. The facts are those `read` gives, so that a page can be counted a distinct value at a time.
 */
export interface TalliedPage {
  readonly strings: readonly string[];
  readonly ids: ArrayLike<number>;
  readonly idStride: number;
  readonly counts: ArrayLike<number>;
  readonly countStride: number;
  /** The page is counted: its records are not read again, and the memory that holds them may serve another. */
  release?(): void;
  /**
   * The first `size` sessions counted by the reader itself, with the candidates for the most idle list taken
   * from those whose idle time is at least `floorIdle`; undefined where it does not count them. The answer is
   * valid until the next call of any page's `tally`.
   */
  tally?(size: number, floorIdle: number): PageTally | undefined;
}

/** What a reader counted of a page's sessions (`TalliedPage.tally`). */
export interface PageTally {
  /** How many distinct ids text field `field` (`TALLY_IP`…) has. */
  distinct(field: number): number;
  /** The `k`th distinct id of field `field`, in the order the ids first appear, … */
  idAt(field: number, k: number): number;
  /** …and how many sessions have it. */
  sessionsAt(field: number, k: number): number;
  /** Sessions by idle bucket, in the order of `IDLE_BUCKETS` (lower bounds inclusive). */
  inBucket(bucket: number): number;
  /** Sessions with a subscription. */
  readonly subscribers: number;
  readonly maxIdleSeconds: number;
  readonly maxAgeSeconds: number;
  /** How many sessions idle at least the floor given, and the index of the `k`th of them, in their order. */
  readonly candidates: number;
  candidateAt(k: number): number;
}

/** Reads session `index` of a tallied page into `into`, as `WireClientPage.read` gives it. */
export function readTallied(page: TalliedPage, index: number, into: WireSessionFacts): void {
  const { strings, ids, counts } = page;
  const id = index * page.idStride;
  const count = index * page.countStride;
  into.clientIp = strings[ids[id + TALLY_IP]!]!;
  into.name = strings[ids[id + TALLY_NAME]!]!;
  into.user = strings[ids[id + TALLY_USER]!]!;
  into.db = strings[ids[id + TALLY_DB]!]!;
  into.cmd = strings[ids[id + TALLY_CMD]!]!;
  into.idleSeconds = counts[count + TALLY_IDLE]!;
  into.ageSeconds = counts[count + TALLY_AGE]!;
  into.subscriptions = counts[count + TALLY_SUBSCRIPTIONS]!;
}

/** A text field as a key: `(none)` when empty or absent. */
export function orNone(value: string | undefined): string {
  return value === undefined || value === "" ? NONE_KEY : value;
}

/** A count as the figures use it: a positive finite number, else 0. */
export function positiveOrZero(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * The client IP of an `ip:port` address: `10.0.0.1:5000` → `10.0.0.1`, `[::1]:5000` → `::1`, and the old
 * unbracketed Redis form `::1:5000` → `::1` (Redis always appends the port). Empty → `(none)`.
 */
export function clientIpOf(addr: string): string {
  if (!addr) return NONE_KEY;
  if (addr.startsWith("[")) {
    const close = addr.indexOf("]");
    return close > 1 ? addr.slice(1, close) : addr;
  }
  const colon = addr.lastIndexOf(":");
  if (colon <= 0) return addr;
  return isDigits(addr, colon + 1) ? addr.slice(0, colon) : addr;
}

/** Whether `text` from `start` to its end is one or more ASCII digits (a port), without slicing it. */
function isDigits(text: string, start: number): boolean {
  if (start >= text.length) return false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// The fallback: a client as `JSON.parse` left it
// ---------------------------------------------------------------------------------------------------------

/** What the wire sent that the zod schemas would refuse: the page is then handed to them. */
export const UNREADABLE = Symbol("unreadable");

/** `looseString` of schemas.ts, without building anything: a number becomes its text, null is absent. */
export function wireText(v: unknown): string | undefined | typeof UNREADABLE {
  if (typeof v === "string") return v;
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return UNREADABLE;
}

/** `looseInt` of schemas.ts: a number, a numeric string, or absent (empty, null). */
export function wireInt(v: unknown): number | undefined | typeof UNREADABLE {
  if (typeof v === "number") return Number.isFinite(v) ? v : UNREADABLE;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") return UNREADABLE;
  const t = v.trim();
  if (t === "") return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : UNREADABLE;
}

/**
 * Reads a DCS client as `JSON.parse` left it into `into`: only the fields the figures need, coerced as
 * `ClientInfoSchema` would. False for a client the schema would refuse.
 */
export function readParsedClient(raw: unknown, into: WireSessionFacts): boolean {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return false;
  const c = raw as Record<string, unknown>;
  const addr = wireText(c.addr);
  const peer = wireText(c.peer);
  const name = wireText(c.name);
  const user = wireText(c.user);
  const db = wireText(c.db);
  const cmd = wireText(c.cmd);
  const idle = wireInt(c.idle);
  const age = wireInt(c.age);
  const sub = wireInt(c.sub);
  const psub = wireInt(c.psub);
  if (
    addr === UNREADABLE ||
    peer === UNREADABLE ||
    name === UNREADABLE ||
    user === UNREADABLE ||
    db === UNREADABLE ||
    cmd === UNREADABLE ||
    idle === UNREADABLE ||
    age === UNREADABLE ||
    sub === UNREADABLE ||
    psub === UNREADABLE
  ) {
    return false;
  }
  into.clientIp = clientIpOf(peer || addr || "");
  into.name = orNone(name);
  into.user = orNone(user);
  into.db = orNone(db);
  into.cmd = orNone(cmd);
  into.idleSeconds = positiveOrZero(idle);
  into.ageSeconds = positiveOrZero(age);
  into.subscriptions = positiveOrZero(sub) + positiveOrZero(psub);
  return true;
}

/** The address of a client as `JSON.parse` left it (`peer`, else `addr`), "" when it has none it can read. */
function parsedAddrOf(raw: unknown): string {
  if (typeof raw !== "object" || raw === null) return "";
  const c = raw as Record<string, unknown>;
  const peer = wireText(c.peer);
  const addr = wireText(c.addr);
  return (peer !== UNREADABLE && peer) || (addr !== UNREADABLE && addr) || "";
}

/** A page parsed by `JSON.parse`: the fallback for a body the byte reader leaves alone. */
export class JsonClientPage implements WireClientPage {
  readonly size: number;

  constructor(
    readonly time: string,
    readonly count: number,
    private readonly clients: readonly unknown[],
    readonly reject: (index: number) => never,
    size = clients.length,
  ) {
    this.size = size;
  }

  read(index: number, into: WireSessionFacts): boolean {
    return readParsedClient(this.clients[index], into);
  }

  addrAt(index: number): string {
    return parsedAddrOf(this.clients[index]);
  }

  cut(size: number): WireClientPage {
    return new JsonClientPage(this.time, this.count, this.clients, this.reject, Math.min(size, this.size));
  }
}
