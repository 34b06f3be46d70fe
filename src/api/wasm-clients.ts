/**
 * The clients of a list page read by WebAssembly (`wasm/clients.ts`, built to `clients.wasm` beside this
 * file): the byte reader's first try on a page's `clients` array. It reads plain JSON only and declines the
 * rest, which the JavaScript reader of page-scan.ts then reads as before; where the module cannot be found or
 * compiled, that reader reads every page. The module counts the page as it reads it (`TalliedPage`: the
 * distinct values of each text field, as ids into its string table, with their counts), and keeps whole only
 * the sessions idle long enough for the most-idle list; any other session is read again, by JavaScript, only
 * when asked for. Measured in docs/performance.md.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  KEPT_STRIDE,
  NONE_KEY,
  TALLY_FIELDS,
  readKept,
  type TalliedPage,
  type WireClientPage,
  type WireSessionFacts,
} from "./wire-page";

/** The part of WebAssembly's JavaScript API used here (the ES2022 library of tsconfig.json has none of it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

/** What the module exports (see wasm/clients.ts). */
interface ClientsExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  INPUT: { readonly value: number };
  ID_WORDS: { readonly value: number };
  FRESH_AT: { readonly value: number };
  CAPACITY: { readonly value: number };
  read(ids: number, counts: number, keepFrom: number): number;
  summaryIntsAt(): number;
  summaryIntsCount(): number;
  summaryFloatsAt(): number;
  summaryFloatsCount(): number;
  freshCount(): number;
  stoppedAt(): number;
  heldCount(): number;
  reset(): void;
}

/** What `read` answers when the string table filled up during the page. */
const TABLE_FULL = -2;

/** Zero bytes after the input: the module reads 16 bytes at a time and stops at a zero. */
const INPUT_PADDING = 32;

const PAGE_BYTES = 65536;

/** `Buffer`'s latin1 decoder, called on a plain Uint8Array. */
const { latin1Slice } = Buffer.prototype as unknown as {
  latin1Slice(this: Uint8Array, start: number, end: number): string;
};

/**
 * One instance of the module, with the strings of its table by id (id 0 is none: an empty or absent value).
 * Pages are read one at a time, synchronously, so one instance serves every listing of the process.
 */
export class WasmClientsReader {
  private readonly input: number;
  private readonly idWords: number;
  private readonly freshAt: number;
  private readonly capacity: number;
  private strings: string[] = [NONE_KEY];

  constructor(private readonly x: ClientsExports) {
    this.input = x.INPUT.value;
    this.idWords = x.ID_WORDS.value;
    this.freshAt = x.FRESH_AT.value;
    this.capacity = x.CAPACITY.value;
  }

  /**
   * Reads the clients of `b` from `start` (just past the `[` of `clients`) to `end` (the body's end): the page
   * counted, with whole the sessions idle for `keepFrom` seconds or more (-1: all), and where the clients stop
   * (past the last one and its whitespace; the caller checks for the `]`), or undefined to decline.
   */
  read(
    b: Uint8Array,
    start: number,
    end: number,
    keepFrom = -1,
  ): { sessions: TalliedSessions; stop: number } | undefined {
    const x = this.x;
    const length = end - start;
    // The records of ids, then those of counts, past room for as many ids as the input can hold clients (3
    // bytes at least each: `{}` and a comma). Memory is only reserved here; the module grows what it fills.
    const ids = align8(this.input + length + INPUT_PADDING);
    const counts = align8(ids + (Math.floor(length / 3) + 1) * this.idWords * 4);
    this.reserve(ids);
    // Past half its capacity the table starts again, so that a page rarely fills it.
    if (x.heldCount() * 2 > this.capacity) this.reset();
    const memory = new Uint8Array(x.memory.buffer);
    memory.set(b.subarray(start, end), this.input);
    memory.fill(0, this.input + length, this.input + length + INPUT_PADDING);
    let n: number;
    try {
      n = x.read(ids, counts, keepFrom);
      if (n === TABLE_FULL) {
        this.reset();
        n = x.read(ids, counts, keepFrom);
      }
    } catch {
      // A trap (memory that could not grow, a fault of the module): the table may be half written, so it
      // starts again, and the page is left to the JavaScript reader.
      this.reset();
      return undefined;
    }
    // A page declined half way has added strings to the table too: they are learnt all the same.
    this.learn(b, start);
    if (n < 0) return undefined;
    const sessions = new TalliedSessions(
      n,
      this.strings,
      keepFrom,
      new Int32Array(x.memory.buffer, x.summaryIntsAt(), x.summaryIntsCount()),
      new Float64Array(x.memory.buffer, x.summaryFloatsAt(), x.summaryFloatsCount()),
      b,
      start,
      end,
    );
    return { sessions, stop: start + x.stoppedAt() };
  }

  /** The strings the page added to the table, decoded from the body (their offsets are the input's). */
  private learn(b: Uint8Array, start: number): void {
    const fresh = this.x.freshCount();
    if (fresh === 0) return;
    const triples = new Int32Array(this.x.memory.buffer, this.freshAt, fresh * 3);
    for (let k = 0; k < triples.length; k += 3) {
      this.strings[triples[k]!] = latin1Slice.call(b, start + triples[k + 1]!, start + triples[k + 2]!);
    }
  }

  /** Empties the table. A new array of strings: the pages read before keep theirs, ids and all. */
  private reset(): void {
    this.x.reset();
    this.strings = [NONE_KEY];
  }

  /** Grows the module's memory to `bytes` at least. */
  private reserve(bytes: number): void {
    const memory = this.x.memory;
    const have = memory.buffer.byteLength;
    if (have < bytes) memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
  }
}

/** Where a kept session's address is in its words of `kept` (its index, then its record of ids). */
const ADDR_START = 6;
const ADDR_END = 7;

/** The summary's header (wasm/clients.ts): distinct ids of each field, idle buckets, subscribers, kept. */
const HEADER_WORDS = 12;
const BUCKETS_AT = 5;
const BUCKETS = 5;
const SUBSCRIBERS_AT = 10;
/** The summary's floats: the largest idle and age times, then the kept sessions' counts. */
const FLOAT_HEADER = 2;

/** The most values `push` is given at once (each is an argument of the call, on the stack). */
const PUSH_CHUNK = 8192;

/**
 * `push.apply(into, values)`, in chunks: V8 copies a typed array given as `apply`'s arguments in one builtin,
 * fast before it has compiled anything (a loop is slow until then; a spread goes through the iterator).
 */
function pushAll(into: number[], values: Int32Array | Float64Array): void {
  for (let at = 0; at < values.length; at += PUSH_CHUNK) {
    const chunk = values.subarray(at, at + PUSH_CHUNK) as unknown as number[];
    Array.prototype.push.apply(into, chunk);
  }
}

/**
 * A page as the module counted it (`TalliedPage`), copied out of its memory (which the next page overwrites)
 * into arrays of V8's heap: a few hundred numbers for a page of 1,000 sessions, against 10,000 for every
 * session's record. Not into buffers of their own: buffers outside V8's heap that live until their page is
 * counted made V8 collect its whole heap every few pages (measured in docs/performance.md).
 */
export class TalliedSessions implements TalliedPage {
  readonly values: number[] = [];
  readonly valuesAt: number[] = [0];
  readonly idleBuckets: number[] = [];
  readonly subscribers: number;
  readonly maxIdle: number;
  readonly maxAge: number;
  readonly kept: number[] = [];
  readonly keptCounts: number[] = [];

  constructor(
    readonly size: number,
    /** The reader's strings by id as the page left them (a table that starts again makes a new array). */
    readonly strings: readonly string[],
    readonly keptFrom: number,
    ints: Int32Array,
    floats: Float64Array,
    /** The body (and its padding), whose bytes the addresses are read from, and the page read again from. */
    readonly bytes: Uint8Array,
    /** Where in `bytes` the module's input started (its offsets are from there). */
    private readonly start: number,
    /** Where the body ends. */
    readonly end: number,
  ) {
    let at = 0;
    for (let field = 0; field < TALLY_FIELDS; field++) {
      at += 2 * ints[field]!;
      this.valuesAt.push(at);
    }
    pushAll(this.values, ints.subarray(HEADER_WORDS, HEADER_WORDS + at));
    pushAll(this.kept, ints.subarray(HEADER_WORDS + at));
    pushAll(this.idleBuckets, ints.subarray(BUCKETS_AT, BUCKETS_AT + BUCKETS));
    this.subscribers = ints[SUBSCRIBERS_AT]!;
    this.maxIdle = floats[0]!;
    this.maxAge = floats[1]!;
    pushAll(this.keptCounts, floats.subarray(FLOAT_HEADER));
  }

  /** Which kept session is session `index` of the page, or -1 when it was not kept. */
  keptAt(index: number): number {
    let low = 0;
    let high = this.kept.length / KEPT_STRIDE - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const at = this.kept[middle * KEPT_STRIDE]!;
      if (at === index) return middle;
      if (at < index) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  /** The address of kept session `k` (`peer`, else `addr`: plain ASCII), "" when it has none. */
  keptAddr(k: number): string {
    const at = k * KEPT_STRIDE;
    const start = this.kept[at + ADDR_START]!;
    if (start < 0) return "";
    return latin1Slice.call(this.bytes, this.start + start, this.start + this.kept[at + ADDR_END]!);
  }
}

/**
 * A page read by the WebAssembly reader: counted as `tallied`; a session read one by one comes from its kept
 * record, or else from the page read again by `readAgain` (JavaScript: a cut page, a map that could fold, a
 * test), made once.
 */
export class TalliedClientPage implements WireClientPage {
  readonly size: number;
  private again: WireClientPage | undefined;

  constructor(
    readonly time: string,
    readonly count: number,
    readonly tallied: TalliedSessions,
    readonly reject: (index: number) => never,
    private readonly readAgain: () => WireClientPage,
    size = tallied.size,
  ) {
    this.size = size;
  }

  read(index: number, into: WireSessionFacts): boolean {
    const k = this.tallied.keptAt(index);
    if (k < 0) return this.plain().read(index, into);
    readKept(this.tallied, k, into);
    return true;
  }

  addrAt(index: number): string {
    const k = this.tallied.keptAt(index);
    return k < 0 ? this.plain().addrAt(index) : this.tallied.keptAddr(k);
  }

  cut(size: number): WireClientPage {
    const s = this.tallied;
    return new TalliedClientPage(
      this.time,
      this.count,
      s,
      this.reject,
      this.readAgain,
      Math.min(size, this.size),
    );
  }

  private plain(): WireClientPage {
    return (this.again ??= this.readAgain());
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Where the built module is: beside this file in the package, in dist/api when run from the sources. */
function modulePaths(): string[] {
  return [join(__dirname, "clients.wasm"), join(__dirname, "..", "..", "dist", "api", "clients.wasm")];
}

let loaded: WasmClientsReader | null | undefined;

/**
 * The process's reader, made at its first use; null where the module is missing or this Node.js cannot
 * compile it (it needs WebAssembly's 128-bit SIMD), and the JavaScript reader then reads every page.
 */
export function wasmClientsReader(): WasmClientsReader | null {
  if (loaded === undefined) loaded = load();
  return loaded;
}

function load(): WasmClientsReader | null {
  for (const path of modulePaths()) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      continue;
    }
    try {
      const instance = new wasmApi.Instance(new wasmApi.Module(bytes), {});
      return new WasmClientsReader(instance.exports as unknown as ClientsExports);
    } catch {
      return null;
    }
  }
  return null;
}
