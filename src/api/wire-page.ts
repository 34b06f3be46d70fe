/**
 * A list page's sessions as the scan reads them: the fields its figures need, coerced as the zod schemas
 * would (`looseString`, `looseInt`), from one of three sources:
 *   - `JsonClientPage`: the page parsed by `JSON.parse`, each client read where it lies (the fallback);
 *   - `ScannedClientPage`: the page's bytes read in place by `scanClientList` (page-scan.ts), with no object
 *     and no throwaway string built per session (the fast path);
 *   - `TalliedClientPage`: the same, by the WebAssembly reader (wasm-clients.ts), counted as it is read.
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
   * The whole page (all of its `tallied.size` sessions) already counted, when the WebAssembly reader read it: a
   * page that is not cut is then added a distinct value at a time.
   */
  readonly tallied?: TalliedPage;
}

/** The text fields of a `TalliedPage`, in the order of its values and of a kept session's ids. */
export const TALLY_IP = 0;
export const TALLY_NAME = 1;
export const TALLY_USER = 2;
export const TALLY_DB = 3;
export const TALLY_CMD = 4;
export const TALLY_FIELDS = 5;
/** A kept session's counts (each already `positiveOrZero`), in `keptCounts`. */
export const TALLY_IDLE = 0;
export const TALLY_AGE = 1;
export const TALLY_SUBSCRIPTIONS = 2;
/** The words of a kept session: in `kept`, its index on the page then the ids of its text fields (and more); in `keptCounts`, its counts. */
export const KEPT_STRIDE = 8;
export const KEPT_COUNT_STRIDE = 3;

/**
 * A page's sessions counted by the WebAssembly reader, its text fields as ids into `strings` (id 0 is
 * `(none)`), with the figures `read` of each session would give:
 *   - `values`: for each text field (`TALLY_IP`…), from `valuesAt[field]` to `valuesAt[field + 1]`, its
 *     distinct ids each followed by how many sessions have it, in the order they first appear;
 *   - the page's idle buckets (in `IDLE_BUCKETS`' order), subscribers and largest idle and age times;
 *   - whole, only the sessions idling at least `keptFrom` seconds, the only ones the most-idle list could
 *     still take (`kept`, `keptCounts`, in page order; `readKept`).
 */
export interface TalliedPage {
  readonly size: number;
  readonly strings: readonly string[];
  readonly values: readonly number[];
  readonly valuesAt: readonly number[];
  readonly idleBuckets: readonly number[];
  readonly subscribers: number;
  readonly maxIdle: number;
  readonly maxAge: number;
  readonly keptFrom: number;
  readonly kept: readonly number[];
  readonly keptCounts: readonly number[];
}

/** Reads kept session `k` of a tallied page (the `k`-th kept, not the `k`-th of the page) into `into`. */
export function readKept(page: TalliedPage, k: number, into: WireSessionFacts): void {
  const { strings, kept, keptCounts } = page;
  const id = k * KEPT_STRIDE + 1;
  const count = k * KEPT_COUNT_STRIDE;
  into.clientIp = strings[kept[id + TALLY_IP]!]!;
  into.name = strings[kept[id + TALLY_NAME]!]!;
  into.user = strings[kept[id + TALLY_USER]!]!;
  into.db = strings[kept[id + TALLY_DB]!]!;
  into.cmd = strings[kept[id + TALLY_CMD]!]!;
  into.idleSeconds = keptCounts[count + TALLY_IDLE]!;
  into.ageSeconds = keptCounts[count + TALLY_AGE]!;
  into.subscriptions = keptCounts[count + TALLY_SUBSCRIPTIONS]!;
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
