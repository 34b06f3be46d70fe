/**
 * The clients of a list page read by WebAssembly (`wasm/clients.ts`, built to `clients.wasm` beside this
 * file): the byte reader's first try on a page's `clients` array. It reads plain JSON only and declines the
 * rest, which the JavaScript reader of page-scan.ts then reads as before; where the module cannot be found or
 * compiled, that reader reads every page. Measured in docs/performance.md.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ScannedSessions } from "./page-scan";
import { NONE_KEY } from "./wire-page";

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
  RECORD_BYTES: { readonly value: number };
  FRESH_AT: { readonly value: number };
  CAPACITY: { readonly value: number };
  read(records: number): number;
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
  private readonly recordBytes: number;
  private readonly freshAt: number;
  private readonly capacity: number;
  private readonly strings: string[] = [NONE_KEY];

  constructor(private readonly x: ClientsExports) {
    this.input = x.INPUT.value;
    this.recordBytes = x.RECORD_BYTES.value;
    this.freshAt = x.FRESH_AT.value;
    this.capacity = x.CAPACITY.value;
  }

  /**
   * Reads the clients of `b` from `start` (just past the `[` of `clients`) to `end` (the body's end) into the
   * empty columns `into`: where they stop (past the last client and its whitespace; the caller checks for the
   * `]`), or -1 to decline, `into` then left as it was.
   */
  read(b: Uint8Array, start: number, end: number, into: ScannedSessions): number {
    const x = this.x;
    const length = end - start;
    const records = align8(this.input + length + INPUT_PADDING);
    this.reserve(records);
    // Past half its capacity the table starts again, so that a page rarely fills it.
    if (x.heldCount() * 2 > this.capacity) this.reset();
    const memory = new Uint8Array(x.memory.buffer);
    memory.set(b.subarray(start, end), this.input);
    memory.fill(0, this.input + length, this.input + length + INPUT_PADDING);
    let n = x.read(records);
    if (n === TABLE_FULL) {
      this.reset();
      n = x.read(records);
    }
    // A page declined half way has added strings to the table too: they are learnt all the same.
    this.learn(b, start);
    if (n < 0) return -1;
    this.columns(n, records, start, into);
    return start + x.stoppedAt();
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

  /** The records appended to the columns `c`: ids become strings, offsets the body's. */
  private columns(n: number, records: number, start: number, c: ScannedSessions): void {
    const words = this.recordBytes / 4;
    const ints = new Int32Array(this.x.memory.buffer, records, n * words);
    const counts = new Float64Array(this.x.memory.buffer, records, (n * words) / 2);
    const strings = this.strings;
    for (let i = 0, w = 0, d = 0; i < n; i++, w += words, d += words / 2) {
      c.clientIp[i] = strings[ints[w]!]!;
      c.name[i] = strings[ints[w + 1]!]!;
      c.user[i] = strings[ints[w + 2]!]!;
      c.db[i] = strings[ints[w + 3]!]!;
      c.cmd[i] = strings[ints[w + 4]!]!;
      const addrStart = ints[w + 5]!;
      c.addrStart[i] = addrStart < 0 ? -1 : start + addrStart;
      c.addrEnd[i] = addrStart < 0 ? -1 : start + ints[w + 6]!;
      c.addrFlags[i] = 0;
      c.idle[i] = counts[d + 4]!;
      c.age[i] = counts[d + 5]!;
      c.subscriptions[i] = counts[d + 6]!;
    }
    c.size = n;
  }

  private reset(): void {
    this.x.reset();
    this.strings.length = 1;
  }

  /** Grows the module's memory to `bytes` at least. */
  private reserve(bytes: number): void {
    const memory = this.x.memory;
    const have = memory.buffer.byteLength;
    if (have < bytes) memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
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
