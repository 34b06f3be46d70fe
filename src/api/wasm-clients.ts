/**
 * The clients of a list page read by WebAssembly (`wasm/clients.ts`, built to `clients.wasm` beside this
 * file): the byte reader's first try on a page's `clients` array. It reads plain JSON only and declines the
 * rest, which the JavaScript reader of page-scan.ts then reads as before; where the module cannot be found or
 * compiled, that reader reads every page. Its sessions are records whose text fields are ids into the
 * module's string table (`TalliedPage`), kept in a slot of the module's memory until the scan counts the page,
 * which the module then does itself (`tally`: a distinct value at a time). Measured in docs/performance.md.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BodyChunks } from "./http";
import {
  NONE_KEY,
  readTallied,
  type PageTally,
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
  COUNT_WORDS: { readonly value: number };
  FRESH_AT: { readonly value: number };
  CAPACITY: { readonly value: number };
  TALLIED_AT: { readonly value: number };
  TALLY_CLIENTS: { readonly value: number };
  read(from: number, addresses: number, ids: number, counts: number): number;
  tally(ids: number, counts: number, n: number, floorIdle: number): void;
  addressBytes(): number;
  freshCount(): number;
  stoppedAt(): number;
  heldCount(): number;
  reset(): void;
}

/** What `read` answers when the string table filled up during the page. */
const TABLE_FULL = -2;

/** Zero bytes after the input: the module reads 16 bytes at a time and stops at a zero. */
const INPUT_PADDING = 32;

/** Room after the addresses: the module copies them 16 bytes at a time. */
const ADDRESS_SLACK = 16;

const PAGE_BYTES = 65536;

/**
 * Pages whose records stay in the module's memory until they are counted, each in a slot of its own below the
 * input; a page read while every slot is taken has its records copied out. A scan holds a few pages a node
 * listed at once (4 by default, of 4 nodes by default).
 */
const HELD_SLOTS = 64;
/** The most clients a slot holds: a page of the largest size the API gives (`limit` ≤ 1000). */
const HELD_CLIENTS = 1000;
/**
 * The bytes of addresses a slot holds (48 a client: `[` an IPv6 address of 39 `]:` and a port fit); a page
 * with more keeps them in a string.
 */
const HELD_ADDRESS_BYTES = HELD_CLIENTS * 48;

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
  readonly idWords: number;
  readonly countWords: number;
  private readonly freshAt: number;
  private readonly capacity: number;
  private strings: string[] = [NONE_KEY];
  /** Where the held slots start, and each one's bytes: its records of ids, those of counts, its addresses. */
  private readonly heldAt: number;
  private readonly slotBytes: number;
  /** The slots no page holds. */
  private readonly free: number[] = [];
  /** What `tally` last counted, read from the module's memory. */
  private readonly counted: ModuleTally;
  /** Gives back the slot of a page dropped without `release` (a page read and then declined, a test's). */
  private readonly dropped = new FinalizationRegistry<number>((slot) => this.free.push(slot));

  constructor(private readonly x: ClientsExports) {
    this.idWords = x.ID_WORDS.value;
    this.countWords = x.COUNT_WORDS.value;
    this.freshAt = x.FRESH_AT.value;
    this.capacity = x.CAPACITY.value;
    this.heldAt = align8(x.INPUT.value);
    this.slotBytes = HELD_CLIENTS * (this.idWords * 4 + this.countWords * 8) + HELD_ADDRESS_BYTES;
    this.input = this.heldAt + HELD_SLOTS * this.slotBytes;
    for (let slot = HELD_SLOTS - 1; slot >= 0; slot--) this.free.push(slot);
    this.counted = new ModuleTally(x.TALLIED_AT.value, x.TALLY_CLIENTS.value);
  }

  /**
   * Copies `body` into the module's memory, followed by zeros, and returns it there: `read` of that view reads
   * its clients in place, without copying them again. The view is valid until the next `load` or `read` of
   * other bytes. Memory is reserved for as many records as the body could hold clients, so that reading it
   * never grows the memory (which would leave the view without its bytes); pages not written stay unused.
   */
  load(body: BodyChunks): Uint8Array {
    this.reserve(this.layout(this.input, body.length).end);
    const memory = new Uint8Array(this.x.memory.buffer);
    let at = this.input;
    for (const chunk of body.chunks) {
      memory.set(chunk, at);
      at += chunk.length;
    }
    memory.fill(0, at, at + INPUT_PADDING);
    return memory.subarray(this.input, at + INPUT_PADDING);
  }

  /**
   * Reads the clients of `b` from `start` (just past the `[` of `clients`) to `end` (the body's end): their
   * records, and where they stop (past the last client and its whitespace; the caller checks for the `]`), or
   * undefined to decline. `b` is read in place when `load` made it, else copied in first.
   */
  read(b: Uint8Array, start: number, end: number): { sessions: TalliedSessions; stop: number } | undefined {
    const x = this.x;
    const inPlace = b.buffer === x.memory.buffer && b.byteOffset === this.input;
    const from = inPlace ? this.input + start : this.input;
    const { addresses, ids, counts } = this.layout(from, end - start);
    if (!inPlace) {
      // Memory is only reserved up to the records here: the module grows what it fills.
      this.reserve(ids);
      const memory = new Uint8Array(x.memory.buffer);
      memory.set(b.subarray(start, end), from);
      memory.fill(0, from + end - start, from + end - start + INPUT_PADDING);
    }
    // Past half its capacity the table starts again, so that a page rarely fills it.
    if (x.heldCount() * 2 > this.capacity) this.reset();
    let n: number;
    try {
      n = x.read(from, addresses, ids, counts);
      if (n === TABLE_FULL) {
        this.reset();
        n = x.read(from, addresses, ids, counts);
      }
    } catch {
      // A trap (memory that could not grow, a fault of the module): the table may be half written, so it
      // starts again, and the page is left to the JavaScript reader.
      this.reset();
      return undefined;
    }
    // A page declined half way has added strings to the table too: they are learnt all the same.
    this.learn(from);
    if (n < 0) return undefined;
    // The views made after `read`: a memory that grew has a new buffer.
    const memory = new Uint8Array(x.memory.buffer);
    const addressBytes = x.addressBytes();
    const idBytes = n * this.idWords * 4;
    const countBytes = n * this.countWords * 8;
    const slot = n <= HELD_CLIENTS ? this.free.pop() : undefined;
    let sessions: TalliedSessions;
    if (slot === undefined) {
      // Every slot taken: the records are copied out, into buffers of their own, and the addresses into a string.
      const text = latin1Slice.call(memory, addresses, addresses + addressBytes);
      sessions = new TalliedSessions(n, this.strings, this, NO_SLOT, text);
      sessions.own(memory.slice(ids, ids + idBytes).buffer, memory.slice(counts, counts + countBytes).buffer);
    } else {
      const at = this.slotAt(slot);
      memory.copyWithin(at.ids, ids, ids + idBytes);
      memory.copyWithin(at.counts, counts, counts + countBytes);
      let text: string | undefined;
      if (addressBytes <= HELD_ADDRESS_BYTES)
        memory.copyWithin(at.addresses, addresses, addresses + addressBytes);
      else text = latin1Slice.call(memory, addresses, addresses + addressBytes);
      sessions = new TalliedSessions(n, this.strings, this, slot, text);
      this.dropped.register(sessions, slot, sessions);
    }
    return { sessions, stop: start + x.stoppedAt() };
  }

  /** Where slot `slot`'s records of ids, of counts and its addresses are. */
  private slotAt(slot: number): { ids: number; counts: number; addresses: number } {
    const ids = this.heldAt + slot * this.slotBytes;
    const counts = ids + HELD_CLIENTS * this.idWords * 4;
    return { ids, counts, addresses: counts + HELD_CLIENTS * this.countWords * 8 };
  }

  /** The bytes `[start, end)` of slot `slot`'s addresses, as a string (they are ASCII). */
  heldAddress(slot: number, start: number, end: number): string {
    const at = this.slotAt(slot).addresses;
    return latin1Slice.call(new Uint8Array(this.x.memory.buffer), at + start, at + end);
  }

  /** The views of the first `size` records of slot `slot`, on the memory as it is now. */
  heldViews(slot: number, size: number): { ids: Int32Array; counts: Float64Array } {
    const buffer = this.x.memory.buffer;
    const at = this.slotAt(slot);
    return {
      ids: new Int32Array(buffer, at.ids, size * this.idWords),
      counts: new Float64Array(buffer, at.counts, size * this.countWords),
    };
  }

  /** What the module counts of the first `size` records of slot `slot` (see `TalliedPage.tally`). */
  tallyOf(slot: number, size: number, floorIdle: number): PageTally | undefined {
    if (size > this.x.TALLY_CLIENTS.value) return undefined;
    const at = this.slotAt(slot);
    this.x.tally(at.ids, at.counts, size, floorIdle);
    return this.counted.refresh(this.x.memory.buffer);
  }

  /** Slot `slot` is free again: the page that held it is counted. */
  release(slot: number, page: TalliedSessions): void {
    this.dropped.unregister(page);
    this.free.push(slot);
  }

  /** The strings the page added to the table, decoded from its input, still at `from` in the module's memory. */
  private learn(from: number): void {
    const fresh = this.x.freshCount();
    if (fresh === 0) return;
    const buffer = this.x.memory.buffer;
    const memory = new Uint8Array(buffer);
    const triples = new Int32Array(buffer, this.freshAt, fresh * 3);
    for (let k = 0; k < triples.length; k += 3) {
      this.strings[triples[k]!] = latin1Slice.call(memory, from + triples[k + 1]!, from + triples[k + 2]!);
    }
  }

  /**
   * Where the module writes what it reads of an input at `from` of `length` bytes (zeros follow it): the
   * addresses (at most as many bytes as the input), the records of ids, then those of counts, each with room
   * for as many clients as the input can hold (3 bytes at least each: `{}` and a comma); `end` past them.
   */
  private layout(
    from: number,
    length: number,
  ): { addresses: number; ids: number; counts: number; end: number } {
    const clients = Math.floor(length / 3) + 1;
    const addresses = from + length + INPUT_PADDING;
    const ids = align8(addresses + length + ADDRESS_SLACK);
    const counts = align8(ids + clients * this.idWords * 4);
    return { addresses, ids, counts, end: counts + clients * this.countWords * 8 };
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

/** Where a session's address is among its page's (its ids are at `TALLY_IP`… of wire-page.ts). */
const ADDR_START = 5;
const ADDR_END = 6;

/** The slot of a page whose records are in buffers of their own. */
const NO_SLOT = -1;
const NO_IDS = new Int32Array(0);
const NO_COUNTS = new Float64Array(0);

/**
 * A page's sessions: two arrays of records, read as `TalliedPage`, and their addresses one after the other.
 * Records and addresses stay in a slot of the module's memory until the page is counted (`release`); where no
 * slot was free, the records are in buffers of their own and the addresses in a string. Nothing else outside
 * V8's heap is kept, not the body: buffers made a page at a time and held past a young collection can be freed
 * only by a full one, and V8 then ran one every few pages, on its other threads (measured in
 * docs/performance.md). A slot is made once: nothing of a held page but this object lives on V8's heap, so
 * that what outlives a young collection stays small and the young generation is slow to grow (a large one
 * also started full collections one after the other).
 */
export class TalliedSessions implements TalliedPage {
  readonly idStride: number;
  readonly countStride: number;
  private idView: Int32Array = NO_IDS;
  private countView: Float64Array = NO_COUNTS;
  private released = false;

  constructor(
    readonly size: number,
    /** The reader's strings by id as the page left them (a table that starts again makes a new array). */
    readonly strings: readonly string[],
    private readonly home: WasmClientsReader,
    /** The reader's slot that holds the records; `NO_SLOT` when they are in buffers of their own (`own`). */
    private readonly slot: number,
    /** The page's addresses one after the other, where each record's offsets point; undefined: in the slot. */
    private readonly addresses: string | undefined,
  ) {
    this.idStride = home.idWords;
    this.countStride = home.countWords;
  }

  /** Whether the records are in a slot of the module's memory (else in buffers of their own). */
  get held(): boolean {
    return this.slot !== NO_SLOT;
  }

  /** Takes `ids` and `counts` as the page's records (copied out of the module). */
  own(ids: ArrayBuffer, counts: ArrayBuffer): void {
    this.idView = new Int32Array(ids);
    this.countView = new Float64Array(counts);
  }

  get ids(): Int32Array {
    if (this.idView.length === 0 && this.size > 0) this.view();
    return this.idView;
  }

  get counts(): Float64Array {
    if (this.countView.length === 0 && this.size > 0) this.view();
    return this.countView;
  }

  /** Counted by the module where the records are in a slot (else undefined: they are counted in JavaScript). */
  tally(size: number, floorIdle: number): PageTally | undefined {
    this.checkLive();
    return this.slot === NO_SLOT ? undefined : this.home.tallyOf(this.slot, size, floorIdle);
  }

  /**
   * The page is counted and its records are not read again: their slot may hold another page's. Reading them
   * after this throws.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.idView = NO_IDS;
    this.countView = NO_COUNTS;
    if (this.slot !== NO_SLOT) this.home.release(this.slot, this);
  }

  /**
   * Makes the views of the slot: at the first read, and after the module's memory grew (which leaves the views
   * made before without their bytes).
   */
  private view(): void {
    this.checkLive();
    if (this.slot === NO_SLOT) return;
    const { ids, counts } = this.home.heldViews(this.slot, this.size);
    this.idView = ids;
    this.countView = counts;
  }

  /** Throws once the page is released: its slot may hold another page's records. */
  private checkLive(): void {
    if (this.released) throw new Error("the records of a released page were read");
  }

  /** The address of session `index` (`peer`, else `addr`: plain ASCII), "" when it has none. */
  addrAt(index: number): string {
    const ids = this.ids;
    const at = index * this.idStride;
    const start = ids[at + ADDR_START]!;
    if (start < 0) return "";
    const end = ids[at + ADDR_END]!;
    return this.addresses === undefined
      ? this.home.heldAddress(this.slot, start, end)
      : this.addresses.slice(start, end);
  }
}

/** `tally`'s answer in the module's memory (its layout is told at `TALLIED_AT` in wasm/clients.ts). */
class ModuleTally implements PageTally {
  private words = new Int32Array(0);
  private floats = new Float64Array(0);

  constructor(
    private readonly at: number,
    private readonly perField: number,
  ) {}

  /** Views on `buffer`, made again when the memory grew. */
  refresh(buffer: ArrayBuffer): this {
    if (this.words.buffer !== buffer) {
      this.words = new Int32Array(buffer, this.at, 32 + this.perField * 11);
      this.floats = new Float64Array(buffer, this.at, 8);
    }
    return this;
  }

  distinct(field: number): number {
    return this.words[field]!;
  }

  idAt(field: number, k: number): number {
    return this.words[32 + 2 * (field * this.perField + k)]!;
  }

  sessionsAt(field: number, k: number): number {
    return this.words[33 + 2 * (field * this.perField + k)]!;
  }

  inBucket(bucket: number): number {
    return this.words[5 + bucket]!;
  }

  get subscribers(): number {
    return this.words[10]!;
  }

  get candidates(): number {
    return this.words[11]!;
  }

  get maxIdleSeconds(): number {
    return this.floats[6]!;
  }

  get maxAgeSeconds(): number {
    return this.floats[7]!;
  }

  candidateAt(k: number): number {
    return this.words[32 + 10 * this.perField + k]!;
  }
}

/** A page read by the WebAssembly reader: its facts as `read` gives them, and the page as `tallied`. */
export class TalliedClientPage implements WireClientPage {
  readonly size: number;

  constructor(
    readonly time: string,
    readonly count: number,
    readonly tallied: TalliedSessions,
    readonly reject: (index: number) => never,
    size = tallied.size,
  ) {
    this.size = size;
  }

  read(index: number, into: WireSessionFacts): boolean {
    readTallied(this.tallied, index, into);
    return true;
  }

  addrAt(index: number): string {
    return this.tallied.addrAt(index);
  }

  cut(size: number): WireClientPage {
    const s = this.tallied;
    return new TalliedClientPage(this.time, this.count, s, this.reject, Math.min(size, this.size));
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
  if (loaded === undefined) loaded = loadWasmClientsReader();
  return loaded;
}

/** A new instance of the module and its reader (tests use one of their own); null as `wasmClientsReader`. */
export function loadWasmClientsReader(): WasmClientsReader | null {
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
