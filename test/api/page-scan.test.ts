/**
 * The byte reader of list pages (`scanClientList`) against the general way (`JSON.parse` of the body's text,
 * then `readParsedClient`): wherever the byte reader accepts a body, every session's facts and address and the
 * envelope are what the general way gives; wherever `JSON.parse` fails, the byte reader declines. Checked on
 * pages the emulator renders, on hand-picked edge cases, on generated pages with random types and spacing,
 * and on thousands of corrupted bodies (seeded, so that a failure repeats). Every check runs three times: with
 * the JavaScript reader alone, with the WebAssembly reader of the clients tried first on the bytes, and on the
 * body's chunks as the transport hands them over (`scanClientBody`: copied into the module, read in place, as in
 * the product).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { utf8Text, type BodyChunks } from "../../src/api/http";
import {
  KnownKeys,
  ScannedList,
  StringTable,
  scanClientBody,
  scanClientList,
  tableHash,
} from "../../src/api/page-scan";
import {
  TalliedSessions,
  WasmClientsReader,
  loadWasmClientsReader,
  wasmClientsReader,
} from "../../src/api/wasm-clients";
import { readParsedClient, wireText, UNREADABLE, type WireSessionFacts } from "../../src/api/wire-page";
import { Snapshot } from "../../src/emulator/snapshot";
import { createSyntheticNodes } from "../../src/emulator/synthetic";
import { seededRandom as random } from "./helpers";

const encoder = new TextEncoder();
const bytesOf = (text: string): Uint8Array => encoder.encode(text);

type Outcome =
  | { kind: "declined" }
  | { kind: "read"; envelope: Record<string, unknown>; sessions: (WireSessionFacts & { addr: string })[] };

/**
 * The readers every check runs with: the JavaScript reader alone, the WebAssembly one tried first, and the
 * WebAssembly one on the body's chunks (true).
 */
const READERS: [string, () => WasmClientsReader | null, boolean][] = [
  ["the JavaScript reader alone", () => null, false],
  ["the WebAssembly reader first", () => wasmClientsReader(), false],
  ["the WebAssembly reader on the body's chunks", () => wasmClientsReader(), true],
];

/** The WebAssembly reader the checks of the current `describe` use, or null for the JavaScript reader alone. */
let wasm: WasmClientsReader | null = null;
/** Whether the checks of the current `describe` hand the body over in chunks (`scanClientBody`). */
let chunked = false;

/** `bytes` cut into chunks of 1 to 70,000 bytes (seeded by their length), as a socket might deliver them. */
function chunksOf(bytes: Uint8Array): BodyChunks {
  const next = random(bytes.length + 1);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(next() * (next() < 0.5 ? 64 : 70_000));
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return { chunks, length: bytes.length };
}

function byBytes(bytes: Uint8Array, strings = new StringTable(), keys = new KnownKeys()): Outcome {
  const scanned = chunked
    ? scanClientBody(chunksOf(bytes), strings, keys, wasm)
    : scanClientList(bytes, strings, keys, wasm);
  if (!scanned) return { kind: "declined" };
  const page = scanned.page("", 0, () => {
    throw new Error("not reached");
  });
  const sessions = [];
  for (let i = 0; i < page.size; i++) {
    const facts = {} as WireSessionFacts;
    expect(page.read(i, facts)).toBe(true);
    sessions.push({ ...facts, addr: page.addrAt(i) });
  }
  return { kind: "read", envelope: scanned.envelope, sessions };
}

/** What the general way makes of the same bytes; undefined when it would not give a page of sessions. */
function byJson(bytes: Uint8Array): Outcome | "not json" | "not a page" {
  let body: unknown;
  try {
    body = JSON.parse(utf8Text(bytes));
  } catch {
    return "not json";
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "not a page";
  const { clients, ...envelope } = body as Record<string, unknown>;
  if (!Array.isArray(clients)) return "not a page";
  const sessions = [];
  for (const raw of clients) {
    const facts = {} as WireSessionFacts;
    if (!readParsedClient(raw, facts)) return "not a page";
    const c = raw as Record<string, unknown>;
    const text = (v: unknown) => {
      const t = wireText(v);
      return t === UNREADABLE ? undefined : t;
    };
    sessions.push({ ...facts, addr: text(c.peer) || text(c.addr) || "" });
  }
  return { kind: "read", envelope: { ...envelope, clients: [] }, sessions };
}

/** The byte reader agrees with the general way on `text`; returns whether it read the body. */
function agrees(bytes: Uint8Array): boolean {
  const scanned = byBytes(bytes);
  const parsed = byJson(bytes);
  if (scanned.kind === "declined") return false;
  // It read the body: the general way must read it too, to the same figures.
  expect(parsed).toEqual(scanned);
  return true;
}

async function emulatorPage(offset: number): Promise<string> {
  const [node] = createSyntheticNodes({ nodes: 1, sessionsPerNode: 3000, seed: 11 }, () => Date.now());
  const snapshot = new Snapshot(await node!.snapshot(), "2026-12-05T10:00:00.000Z");
  const page = snapshot.page({ offset, limit: 1000 });
  return JSON.stringify({ time: snapshot.time, clients: page.clients, count: page.count });
}

describe.each(READERS)("the byte reader of list pages, %s", (_reader, readerOf, inChunks) => {
  beforeAll(() => {
    wasm = readerOf();
    chunked = inChunks;
  });

  test("reads the emulator's pages (the fast path is taken) and agrees on each session", async () => {
    for (const offset of [0, 1000, 2500]) {
      const text = await emulatorPage(offset);
      expect(agrees(bytesOf(text))).toBe(true);
    }
  });

  test("keeps one string per distinct value across pages (the table), and stays bounded", async () => {
    const strings = new StringTable(64);
    const first = byBytes(bytesOf(await emulatorPage(0)), strings);
    const second = byBytes(bytesOf(await emulatorPage(1000)), strings);
    if (first.kind !== "read" || second.kind !== "read") throw new Error("declined");
    // Far more distinct values than 32 (half the table): the table was cleared many times, and still agrees.
    expect(new Set(first.sessions.map((s) => s.name)).size).toBeGreaterThan(32);
    const parsed = byJson(bytesOf(await emulatorPage(1000)));
    expect(parsed).toEqual(second);
  });

  test("keeps no more than its bytes: long unique names, past the table's size, and one longer than it", () => {
    const strings = new StringTable();
    const name = (n: number) => `${String(n).padStart(6, "0")}-${"x".repeat(294)}`;
    const clients = Array.from({ length: 400 }, (_, n) => ({
      name: name(n),
      user: "u",
      addr: `10.0.${n}.1:1`,
    }));
    clients.push({ name: "y".repeat(70_000), user: "u", addr: "10.1.0.1:1" });
    const bytes = bytesOf(JSON.stringify({ time: "t", clients }));
    // 120 KB of names, twice with the same table: each copy it holds is still the bytes of its string.
    for (let round = 0; round < 2; round++) expect(byBytes(bytes, strings)).toEqual(byJson(bytes));
  });

  test("tells apart two strings of the same length and hash: the bytes are compared", () => {
    const [one, two] = collidingPair();
    expect(one).not.toBe(two);
    const bytes = bytesOf(
      JSON.stringify({
        clients: [
          { name: one, cmd: two },
          { name: two, cmd: one },
        ],
      }),
    );
    const read = byBytes(bytes);
    expect(read).toEqual(byJson(bytes));
    expect(read.kind === "read" && read.sessions.map((s) => [s.name, s.cmd])).toEqual([
      [one, two],
      [two, one],
    ]);
  });

  test.each([
    [
      "numbers as strings, with spaces",
      '{"clients":[{"idle":" 42 ","age":"7","sub":"1","psub":""}],"count":"1"}',
    ],
    ["strings as numbers and booleans", '{"clients":[{"db":0,"user":7,"name":true,"cmd":false}],"time":"t"}'],
    [
      "a number past 15 digits, exponents, -0",
      '{"clients":[{"idle":12345678901234567890,"age":1e3,"db":-0,"name":1.50}]}',
    ],
    ["nulls and absent fields", '{"clients":[{"addr":null,"peer":null,"name":null,"idle":null},{}]}'],
    ["an empty peer gives way to addr", '{"clients":[{"peer":"","addr":"10.0.0.1:5"}]}'],
    ["duplicate keys: the last wins", '{"clients":[{"name":"a","name":"b","addr":"1.1.1.1:1","addr":null}]}'],
    [
      "escapes in values",
      '{"clients":[{"name":"a\\"b\\\\c\\u00e9\\n","peer":"\\u0031.2.3.4:5","cmd":"\\/"}]}',
    ],
    ["UTF-8 beyond ASCII", '{"clients":[{"name":"café-東京","addr":"[fe80::1]:6379","user":"😀"}]}'],
    [
      "IPv6 and odd addresses",
      '{"clients":[{"addr":"::1:5000"},{"addr":"[::1]:x"},{"addr":":5"},{"addr":"[]:1"},{"addr":"h"}]}',
    ],
    [
      "unknown nested fields",
      '{"clients":[{"x":{"y":[1,{"z":[true,false,null,"s",-1.5e-3]}]},"flags":"N"}],"extra":{"a":[]}}',
    ],
    [
      "whitespace everywhere",
      ' \n{ "clients" : [ { "name" : "w" , "idle" : 3 } , { } ] , "count" : 2 } \r\n\t',
    ],
    ["an empty page with a count", '{"time":"t","count":5,"clients":[]}'],
    ["no count (counted from the page)", '{"clients":[{"name":"n"}]}'],
  ])("agrees on %s", (_what, text) => {
    expect(agrees(bytesOf(text))).toBe(true);
  });

  test.each([
    ["a byte-order mark", "\uFEFF" + '{"clients":[]}'],
    ["clients: null", '{"clients":null}'],
    ["no clients", '{"count":1}'],
    ["clients twice", '{"clients":[],"clients":[]}'],
    ["an escaped key", '{"clients":[{"n\\u0061me":"x"}]}'],
    ["a boolean count", '{"clients":[{"idle":true}]}'],
    ["text that is not a number", '{"clients":[{"age":"ten"}]}'],
    ["a number that is not finite", '{"clients":[{"sub":1e400}]}'],
    ["an object as an address", '{"clients":[{"addr":{"ip":"1"}}]}'],
    ["a number as an address", '{"clients":[{"peer":123}]}'],
    ["a client that is not an object", '{"clients":["10.0.0.1:5"]}'],
    ["a top-level __proto__", '{"__proto__":{},"clients":[]}'],
    ["nesting past 64 levels", `{"clients":[{"x":${"[".repeat(70)}${"]".repeat(70)}}]}`],
    ["a top-level array", "[]"],
    ["an empty body", ""],
  ])("declines %s (the general way decides)", (_what, text) => {
    expect(byBytes(bytesOf(text)).kind).toBe("declined");
  });

  test("agrees on 2,000 generated pages of random types and spacing, and reads most of them", () => {
    const next = random(20261205);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
    const space = () => pick(["", "", "", " ", "\n", "\t", " \r\n "]);
    const text = () =>
      pick([
        '""',
        '"get"',
        '"10.0.0.1:6379"',
        '"[::1]:1"',
        '"a\\"b"',
        '"é"',
        '"\\u00e9"',
        '"x y"',
        "null",
        "0",
        "12",
        "-3",
        "1.5",
        "true",
      ]);
    const address = () =>
      pick(['"10.0.0.1:6379"', '"[::1]:1"', '"::1:5"', '""', '"h"', '"\\u0031.0.0.2:3"', "null"]);
    const count = () =>
      pick(["0", "1", "42", "-7", "1e2", "2.5", '"8"', '" 9 "', '""', "null", "123456789012345678"]);
    const other = () =>
      pick(['"N"', "0", "-1", "[]", "{}", '{"a":[1,"b",null]}', "false", '"\\t"', "3.0E+2"]);
    const fields: [string, () => string][] = [
      ["addr", address], ["peer", address], ["name", text], ["user", text], ["db", text], ["cmd", text],
      ["idle", count], ["age", count], ["sub", count], ["psub", count], ["fd", other], ["flags", other],
    ]; // prettier-ignore
    let read = 0;
    for (let page = 0; page < 2000; page++) {
      const clients = [];
      for (let c = 0; c < 1 + Math.floor(next() * 5); c++) {
        const members = fields
          .filter(() => next() < 0.8)
          .map(([key, value]) => `${space()}"${key}"${space()}:${space()}${value()}${space()}`);
        clients.push(`{${members.join(",")}}`);
      }
      const body = `${space()}{"time":"t",${space()}"clients":[${clients.join(`,${space()}`)}],"count":${count()}}${space()}`;
      if (agrees(bytesOf(body))) read++;
    }
    // Every value the generator writes is one the byte reader takes: it read them all.
    expect(read).toBe(2000);
  });

  test("never reads a body that is not JSON: 20,000 corrupted pages", () => {
    const base = bytesOf(
      JSON.stringify({
        time: "t",
        count: 3,
        clients: [
          { addr: "10.0.0.1:1", name: 'a"b', idle: 5, db: "0", extra: [1, { x: null }] },
          { peer: "[::1]:2", cmd: "get", age: "7", sub: 1, psub: -2.5e1, user: "é" },
          {},
        ],
      }),
    );
    const { read, notJson } = corrupted(base, 7, 20_000);
    // Both kinds were met many times: the check above is not vacuous.
    expect(notJson).toBeGreaterThan(5000);
    expect(read).toBeGreaterThan(1000);
  });

  test("never reads a corrupted key that looks like the last client's: 10,000 pages of one shape", () => {
    // Clients with the same 21 keys in the same order, as DCS sends them: from the second client on, each key is
    // recognised by its bytes against the key of the same rank in the client before. A corrupted key must not be.
    const client = (id: number) => ({
      id: String(id), addr: `10.0.0.${id}:5${id}`, fd: "9", name: `app-${id}`, cmd: "get", age: id, idle: 1,
      db: "0", flags: "N", sub: 0, psub: 0, multi: -1, qbuf: 0, qbuf_free: 0, obl: 0, oll: 0, omem: 0,
      events: "r", network: "vpc", peer: `10.1.0.${id}:6${id}`, user: "default",
    }); // prettier-ignore
    const base = bytesOf(JSON.stringify({ time: "t", count: 4, clients: [1, 2, 3, 4].map(client) }));
    const { read, notJson } = corrupted(base, 11, 10_000);
    expect(notJson).toBeGreaterThan(2500);
    expect(read).toBeGreaterThan(500);
  });

  test.each([
    [
      "the same keys in another order",
      '[{"name":"a","addr":"1.1.1.1:1","idle":1},{"idle":2,"name":"b","addr":"2.2.2.2:2"}]',
    ],
    [
      "a key longer than the one of the same rank",
      '[{"addr":"1.1.1.1:1","db":"1"},{"addrx":"2.2.2.2:2","dbx":"2"}]',
    ],
    [
      "a key shorter than the one of the same rank",
      '[{"name":"a","user":"u"},{"nam":"b","use":"v"},{"name":"c"}]',
    ],
    [
      "a key that differs in its last byte",
      '[{"name":"a","db":"1","cmd":"get"},{"namf":"b","dc":"2","cmx":"set"},{"name":"c","db":"3","cmd":"del"}]',
    ],
    ["an empty key", '[{"":"x","name":"a"},{"":"y","name":"b"},{"name":"c","":1}]'],
    [
      "more keys than are remembered",
      `[${[1, 2, 3].map((n) => `{${Array.from({ length: 40 }, (_, k) => `"k${k}":${k},`).join("")}"name":"n${n}","idle":${n}}`).join(",")}]`,
    ],
  ])("agrees on clients whose keys change from one to the next: %s", (_what, clients) => {
    expect(agrees(bytesOf(`{"time":"t","clients":${clients}}`))).toBe(true);
  });
});

describe.each(READERS)("the keys kept from one page to the next, %s", (_reader, readerOf, inChunks) => {
  beforeAll(() => {
    wasm = readerOf();
    chunked = inChunks;
  });

  test("a page read with the keys of the pages before agrees, whatever their shapes", () => {
    const next = random(99);
    const keys = new KnownKeys();
    const strings = new StringTable();
    const names = [
      "addr",
      "peer",
      "name",
      "user",
      "db",
      "cmd",
      "idle",
      "age",
      "sub",
      "psub",
      "fd",
      "qbuf_free",
    ];
    const shapes = Array.from({ length: 6 }, () => names.filter(() => next() < 0.7).sort(() => next() - 0.5));
    for (let page = 0; page < 300; page++) {
      // Most pages repeat a shape met before (the keys are then known from the first client on); some mix two.
      const shape = shapes[Math.floor(next() * shapes.length)]!;
      const other = shapes[Math.floor(next() * shapes.length)]!;
      const clients = Array.from({ length: 1 + Math.floor(next() * 4) }, (_, c) => {
        const members = (c > 0 && next() < 0.2 ? other : shape).map((key) => {
          const value = ["idle", "age", "sub", "psub"].includes(key)
            ? String(c + page)
            : `"${key}-${c}:${page}"`;
          return `"${key}":${value}`;
        });
        return `{${members.join(",")}}`;
      });
      const bytes = bytesOf(`{"time":"t","clients":[${clients.join(",")}]}`);
      expect(byBytes(bytes, strings, keys)).toEqual(byJson(bytes));
    }
  });

  test("a key longer than can be remembered is read every time", () => {
    const keys = new KnownKeys();
    const long = "k".repeat(40);
    for (const name of ["a", "b"]) {
      const bytes = bytesOf(`{"clients":[{"${long}":1,"name":"${name}"},{"${long}x":2,"name":"${name}2"}]}`);
      expect(byBytes(bytes, new StringTable(), keys)).toEqual(byJson(bytes));
    }
  });
});

describe("the WebAssembly reader of the clients", () => {
  let reader: WasmClientsReader;
  let results: number[];

  beforeAll(() => {
    // `npm test` builds first: the module must load here, or the checks above ran the JavaScript reader twice.
    const loaded = wasmClientsReader();
    expect(loaded).not.toBeNull();
    reader = loaded!;
    wasm = reader;
    chunked = false;
  });

  /** What each call of the module's reader answered (-1: declined), from `watch` on. */
  function watch(): void {
    results = [];
    const read = reader.read;
    jest.spyOn(reader, "read").mockImplementation(function (this: WasmClientsReader, ...args) {
      const answer = read.apply(this, args);
      results.push(answer === undefined ? -1 : answer.stop);
      return answer;
    });
  }

  afterEach(() => jest.restoreAllMocks());

  test("reads the emulator's pages itself, and agrees on each session", async () => {
    watch();
    for (const offset of [0, 1000, 2500]) expect(agrees(bytesOf(await emulatorPage(offset)))).toBe(true);
    expect(results).toHaveLength(3);
    expect(results.every((stop) => stop > 0)).toBe(true);
  });

  test("reads 2,000 generated pages of plain values and random spacing itself, and agrees on each", () => {
    watch();
    const next = random(7);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
    const space = () => pick(["", "", "", " ", "\n", "\t", " \r\n "]);
    const text = () =>
      pick(['""', '"get"', '"(none)"', '"x y"', '"10.0.0.1:6379"', "null", `"${"long".repeat(9)}"`]);
    const address = () =>
      pick([
        '"10.0.0.1:6379"',
        '"[::1]:1"',
        '"[fe80::1]"',
        '"::1:5"',
        '"1.2.3.4:x"',
        '""',
        '"h"',
        '":5"',
        "null",
      ]);
    const count = () => pick(["0", "1", "42", "-7", "-0", '"8"', '""', '"0042"', "null", "999999999999999"]);
    const other = () => pick(['"N"', '"é"', "0", "-1", "false", "true", "null", "3.0E+2", "-0.5", '""']);
    const fields: [string, () => string][] = [
      ["addr", address], ["peer", address], ["name", text], ["user", text], ["db", text], ["cmd", text],
      ["idle", count], ["age", count], ["sub", count], ["psub", count], ["fd", other], ["flags", other],
      ["a_key_of_twenty_bytes", other], ["", other],
    ]; // prettier-ignore
    for (let page = 0; page < 2000; page++) {
      const clients = [];
      for (let c = 0; c < Math.floor(next() * 6); c++) {
        const members = fields
          .filter(() => next() < 0.8)
          .sort(() => (next() < 0.1 ? next() - 0.5 : 0))
          .map(([key, value]) => `${space()}"${key}"${space()}:${space()}${value()}${space()}`);
        clients.push(`{${members.join(",")}}`);
      }
      expect(
        agrees(bytesOf(`{"time":"t","clients":[${space()}${clients.join(`,${space()}`)}${space()}]}`)),
      ).toBe(true);
    }
    expect(results).toHaveLength(2000);
    expect(results.filter((stop) => stop < 0)).toEqual([]);
  });

  test.each([
    ["an escape in a value", '[{"name":"a\\"b"}]'],
    ["an escape in a key", '[{"n\\u0061me":"x"}]'],
    ["an escape in a skipped value", '[{"flags":"\\t"}]'],
    ["text beyond ASCII in a field read", '[{"name":"café"}]'],
    ["an address beyond ASCII", '[{"addr":"é:1"}]'],
    ["a number as text", '[{"db":0}]'],
    ["a boolean as text", '[{"name":true}]'],
    ["a count with spaces", '[{"idle":" 42 "}]'],
    ["a count with a fraction", '[{"idle":1.5}]'],
    ["a count with an exponent", '[{"age":1e3}]'],
    ["a count of 16 digits", '[{"age":1234567890123456}]'],
    ["a count of 16 digits as text", '[{"age":"1234567890123456"}]'],
    ["a negative count as text", '[{"sub":"-1"}]'],
    ["a nested value", '[{"x":{"y":[1]}}]'],
    ["a count with a leading zero", '[{"idle":01}]'],
  ])("leaves %s to the JavaScript reader, which reads it or declines as before", (_what, clients) => {
    watch();
    const bytes = bytesOf(`{"time":"t","clients":${clients}}`);
    const withWasm = byBytes(bytes);
    expect(results).toEqual([-1]);
    wasm = null;
    const alone = byBytes(bytes);
    wasm = reader;
    expect(withWasm).toEqual(alone);
    if (withWasm.kind === "read") expect(byJson(bytes)).toEqual(withWasm);
  });

  test("a module that traps is left alone for that page: its table starts again and the JavaScript reader reads it", () => {
    const bytes = bytesOf(`{"time":"t","clients":[{"name":"trap","addr":"10.0.0.9:1"}]}`);
    const exports = (reader as unknown as { x: Record<string, unknown> }).x;
    let resets = 0;
    const failing = new WasmClientsReader({
      ...exports,
      read: () => {
        throw new Error("unreachable");
      },
      reset: () => {
        resets++;
      },
      heldCount: () => 0,
    } as unknown as ConstructorParameters<typeof WasmClientsReader>[0]);
    wasm = failing;
    try {
      expect(failing.read(bytes, bytes.indexOf(91) + 1, bytes.length)).toBeUndefined();
      expect(resets).toBe(1);
      expect(agrees(bytes)).toBe(true);
    } finally {
      wasm = reader;
    }
  });

  test("a page declined half way leaves the strings it met known: the next page that has them agrees", () => {
    const names = Array.from({ length: 50 }, (_, n) => `half-way-${n}`);
    const first = names.map((name) => `{"name":"${name}","addr":"10.9.0.${names.indexOf(name)}:1"}`);
    // The escape after the 50 plain clients makes the module decline once it has added their strings.
    const declined = bytesOf(`{"clients":[${first.join(",")},{"name":"\\u0041"}]}`);
    const again = bytesOf(`{"clients":[${first.join(",")}]}`);
    watch();
    expect(agrees(declined)).toBe(true);
    expect(agrees(again)).toBe(true);
    expect(results[0]).toBe(-1);
    expect(results[1]).toBeGreaterThan(0);
  });

  test("a page with more distinct strings than the module's table holds is read by the JavaScript reader", () => {
    watch();
    const clients = Array.from({ length: 7000 }, (_, n) => ({
      name: `n${n}`, user: `u${n}`, db: `d${n}`, cmd: `c${n}`, addr: `10.${n >> 8}.${n & 255}.1:1`,
    })); // prettier-ignore
    const bytes = bytesOf(JSON.stringify({ time: "t", clients }));
    expect(agrees(bytes)).toBe(true);
    expect(results).toEqual([-1]);
  });

  test("the table starts again between pages once past half full, and every page still agrees", () => {
    watch();
    for (let page = 0; page < 4; page++) {
      const clients = Array.from({ length: 2500 }, (_, n) => ({
        name: `p${page}-${n}`, user: `u${n}`, cmd: "get", addr: `10.${page}.${n >> 8}.${n & 255}:1`,
        peer: n % 2 ? `[fe80::${page}:${n}]:7` : "",
      })); // prettier-ignore
      expect(agrees(bytesOf(JSON.stringify({ time: "t", clients })))).toBe(true);
    }
    expect(results.every((stop) => stop > 0)).toBe(true);
  });

  test.each([
    ["a number that goes on", '[{"fd":0,"x":1},{"fd":01,"x":1}]', false],
    ["a literal that goes on", '[{"x":true},{"x":truex}]', false],
    ["a number that goes on as a fraction, then an exponent", '[{"q":12},{"q":12.5},{"q":12.5e}]', false],
    ["a string of the same start, unclosed", '[{"f":"N"},{"f":"N]', false],
    ["the same string, then a space", '[{"f":"N"},{"f":"N" },{"f":"N"}]', true],
    ["a shorter and a longer value", '[{"f":"NN","n":10},{"f":"N","n":1},{"f":"NNN","n":100}]', true],
    ["the same value at another key of that rank", '[{"a":-1,"b":"r"},{"c":-1,"d":"r"}]', true],
  ])(
    "a skipped value of the bytes the client before had there is checked all the same: %s",
    (_what, clients, valid) => {
      watch();
      const bytes = bytesOf(`{"clients":${clients}}`);
      expect(byJson(bytes) !== "not json").toBe(valid);
      expect(agrees(bytes)).toBe(valid);
      // The module read each valid page itself, and declined the others (the JavaScript reader declined too).
      expect(results).toEqual([valid ? expect.any(Number) : -1]);
      if (valid) expect(results[0]).toBeGreaterThan(0);
    },
  );

  test("addresses of every length, the last one at the input's end, are read itself and agree", () => {
    watch();
    // 0 to 60 bytes: none, part of one, exactly one and several of the 16-byte blocks the module copies them in.
    const addresses = Array.from({ length: 61 }, (_, n) => `[${"f".repeat(Math.max(0, n - 4))}]:${n % 10}`);
    const clients = addresses.map((a, n) => (n % 3 ? { peer: a, addr: "10.0.0.1:1" } : { addr: a }));
    expect(agrees(bytesOf(JSON.stringify({ clients })))).toBe(true);
    // The last byte before the `]` is the address's closing quote: its copy runs into the input's padding.
    expect(agrees(bytesOf(`{"clients":[{"addr":"${addresses[60]}"}]}`))).toBe(true);
    expect(results.every((stop) => stop > 0)).toBe(true);
  });

  test("a page keeps its addresses, not its body: they read the same after the module read other pages", () => {
    const pageOf = (n: number) =>
      bytesOf(
        JSON.stringify({ clients: [{ addr: `10.0.${n}.1:6379`, peer: `[fe80::${n}]:${7000 + n}` }, {}] }),
      );
    const strings = new StringTable();
    const keys = new KnownKeys();
    const first = scanClientList(pageOf(1), strings, keys, reader)!;
    const page = first.page("", 0, () => {
      throw new Error("not reached");
    });
    // The WebAssembly reader read it: nothing of the body stays with the page (V8 frees such a buffer early).
    expect(first.bytes).toBeUndefined();
    for (let n = 2; n < 6; n++)
      expect(scanClientList(pageOf(n), strings, keys, reader)!.bytes).toBeUndefined();
    expect([page.addrAt(0), page.addrAt(1)]).toEqual(["[fe80::1]:7001", ""]);
    // The JavaScript reader's page keeps its body, from which it reads the addresses.
    expect(scanClientList(pageOf(1), new StringTable(), new KnownKeys(), null)!.bytes).toBeInstanceOf(
      Uint8Array,
    );
  });

  /** Pages of two sessions whose every field tells page `n` apart, read by `own` (a reader of its own). */
  const heldPageOf = (n: number) =>
    bytesOf(
      JSON.stringify({
        clients: [
          {
            addr: `10.1.${n}.1:1`,
            name: `n${n}`,
            user: `u${n}`,
            db: `${n}`,
            cmd: `c${n}`,
            idle: n,
            age: 2 * n,
            sub: n,
          },
          { peer: `10.2.${n}.2:2`, idle: 1000 + n, psub: 1 },
        ],
      }),
    );
  /** What page `n` must read: the general way's sessions of the same bytes. */
  const expectedOf = (n: number) => (byJson(heldPageOf(n)) as { sessions: unknown[] }).sessions;
  /** Every session of a scanned page, read back. */
  const sessionsOf = (sessions: TalliedSessions) => {
    const page = new ScannedList({}, sessions).page("", 0, () => {
      throw new Error("not reached");
    });
    return Array.from({ length: page.size }, (_, i) => {
      const facts = {} as WireSessionFacts;
      page.read(i, facts);
      return { ...facts, addr: page.addrAt(i) };
    });
  };
  const readHeld = (own: WasmClientsReader, n: number, strings: StringTable, keys: KnownKeys) =>
    scanClientList(heldPageOf(n), strings, keys, own)!.sessions as TalliedSessions;

  test("a page's records stay in a slot of the module's memory until it is released, and the slot then serves another", () => {
    const own = loadWasmClientsReader()!;
    const strings = new StringTable();
    const keys = new KnownKeys();
    const first = readHeld(own, 1, strings, keys);
    expect(first.held).toBe(true);
    const later = Array.from({ length: 10 }, (_, k) => readHeld(own, k + 2, strings, keys));
    // The module wrote ten pages since: the first one's records are where it left them.
    expect(sessionsOf(first)).toEqual(expectedOf(1));
    later.forEach((page, k) => expect(sessionsOf(page)).toEqual(expectedOf(k + 2)));
    first.release();
    first.release();
    expect(() => first.ids).toThrow("the records of a released page were read");
    expect(() => first.counts).toThrow("released");
    // The slot it gave back is taken again, and pages are read right into it and beside it.
    const again = Array.from({ length: 3 }, (_, k) => readHeld(own, k + 20, strings, keys));
    again.forEach((page, k) => {
      expect(page.held).toBe(true);
      expect(sessionsOf(page)).toEqual(expectedOf(k + 20));
    });
    later.forEach((page, k) => expect(sessionsOf(page)).toEqual(expectedOf(k + 2)));
  });

  test("pages read while every slot is held have their records copied out, and every page reads", () => {
    const own = loadWasmClientsReader()!;
    const strings = new StringTable();
    const keys = new KnownKeys();
    const pages = Array.from({ length: 80 }, (_, n) => readHeld(own, n, strings, keys));
    // 64 slots: the first pages hold them, the rest are copies; none is lost either way.
    expect(pages.slice(0, 64).every((page) => page.held)).toBe(true);
    expect(pages.slice(64).some((page) => page.held)).toBe(false);
    pages.forEach((page, n) => expect(sessionsOf(page)).toEqual(expectedOf(n)));
    // A copy is released like a held page, and a slot given back serves the next page.
    pages[70]!.release();
    expect(() => pages[70]!.ids).toThrow("released");
    pages[3]!.release();
    const next = readHeld(own, 90, strings, keys);
    expect(next.held).toBe(true);
    expect(sessionsOf(next)).toEqual(expectedOf(90));
  });

  test("a page dropped without being released gives its slot back once V8 has collected it", async () => {
    const own = loadWasmClientsReader()!;
    const strings = new StringTable();
    const keys = new KnownKeys();
    // Every slot taken by pages nobody keeps, as a page read and then declined would be.
    const tookEverySlot = (): boolean =>
      Array.from({ length: 64 }, (_, n) => readHeld(own, n, strings, keys)).every((page) => page.held);
    expect(tookEverySlot()).toBe(true);
    expect(readHeld(own, 100, strings, keys).held).toBe(false);
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // Collected, the pages' finalizers run on a later turn of the event loop: a bounded wait for a free slot.
    let page: TalliedSessions | undefined;
    let n = 200;
    for (; n < 250; n++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      page = readHeld(own, n, strings, keys);
      if (page.held) break;
    }
    expect(page?.held).toBe(true);
    expect(sessionsOf(page!)).toEqual(expectedOf(n));
  });

  test("a page's addresses stay in its slot, and those of a page with more than the slot holds in a string", () => {
    const own = loadWasmClientsReader()!;
    const strings = new StringTable();
    const keys = new KnownKeys();
    const small = readHeld(own, 7, strings, keys);
    // 1,000 addresses of 60 bytes: more than the slot's 48 a client.
    const long = Array.from({ length: 1000 }, (_, n) => ({
      addr: `10.4.${n >> 8}.${n & 255}:${"7".repeat(50)}`,
    }));
    const bytes = bytesOf(JSON.stringify({ clients: long }));
    const big = scanClientList(bytes, strings, keys, own)!.sessions as TalliedSessions;
    expect(big.held).toBe(true);
    const more = Array.from({ length: 5 }, (_, k) => readHeld(own, k + 30, strings, keys));
    expect(sessionsOf(small)).toEqual(expectedOf(7));
    expect(sessionsOf(big)).toEqual((byJson(bytes) as { sessions: unknown[] }).sessions);
    more.forEach((page, k) => expect(sessionsOf(page)).toEqual(expectedOf(k + 30)));
  });

  test("a held page reads the same after the module's memory grew (its views are made again)", () => {
    const own = loadWasmClientsReader()!;
    const strings = new StringTable();
    const keys = new KnownKeys();
    const first = readHeld(own, 5, strings, keys);
    expect(sessionsOf(first)).toEqual(expectedOf(5));
    const views = first.ids;
    const clients = Array.from({ length: 60_000 }, (_, n) => ({
      addr: `10.3.${n >> 8}.${n & 255}:1`,
      idle: n,
    }));
    const big = scanClientBody(chunksOf(bytesOf(JSON.stringify({ clients }))), strings, keys, own)!;
    expect(big.sessions.size).toBe(60_000);
    // The memory grew: the views made before are left without their bytes, and the page makes new ones.
    expect(views.length).toBe(0);
    expect(sessionsOf(first)).toEqual(expectedOf(5));
  });

  test("a body in chunks is read in place, 3 MB too: its memory grows before the read, never during it", () => {
    watch();
    const clients = Array.from({ length: 20_000 }, (_, n) => ({
      addr: `10.0.${n >> 8}.${n & 255}:1`,
      idle: n,
    }));
    const bytes = bytesOf(JSON.stringify({ time: "t", clients }));
    const scanned = scanClientBody(chunksOf(bytes), new StringTable(), new KnownKeys(), reader)!;
    // Read by the module itself (a view left without its bytes would have sent it to the JavaScript reader).
    expect(results).toHaveLength(1);
    expect(scanned.bytes).toBeUndefined();
    expect(scanned.sessions.size).toBe(20_000);
    const page = scanned.page("", 0, () => {
      throw new Error("not reached");
    });
    expect([page.addrAt(0), page.addrAt(19_999)]).toEqual(["10.0.0.0:1", "10.0.78.31:1"]);
  });

  test("a body in chunks the module declines is read by the JavaScript reader from a buffer of its own", () => {
    watch();
    const declined = bytesOf('{"clients":[{"name":"\\u0041","peer":"10.1.1.1:5"},{"addr":"10.1.1.2:6"}]}');
    const scanned = scanClientBody(chunksOf(declined), new StringTable(), new KnownKeys(), reader)!;
    expect(results).toEqual([-1]);
    // Its columns point into that buffer, which the module's next page does not overwrite.
    expect(scanned.bytes).toBeInstanceOf(Uint8Array);
    const page = scanned.page("", 0, () => {
      throw new Error("not reached");
    });
    scanClientBody(
      chunksOf(bytesOf('{"clients":[{"peer":"10.9.9.9:9999"}]}')),
      new StringTable(),
      undefined,
      reader,
    );
    expect([page.addrAt(0), page.addrAt(1)]).toEqual(["10.1.1.1:5", "10.1.1.2:6"]);
    const facts = {} as WireSessionFacts;
    page.read(0, facts);
    expect(facts.name).toBe("A");
  });

  test("a page of 3 MB (its memory grows) and long strings (kept as bytes) agree", () => {
    watch();
    const clients = Array.from({ length: 20_000 }, (_, n) => ({
      id: String(n), addr: `10.0.${n >> 8}.${n & 255}:${1024 + n}`, name: `worker-${n % 300}-${"x".repeat(n % 40)}`,
      cmd: "get", idle: n, age: n * 3, user: "default", db: String(n % 16), flags: "N", sub: n % 3, psub: 0,
    })); // prettier-ignore
    const bytes = bytesOf(JSON.stringify({ time: "t", count: 20_000, clients }));
    expect(bytes.length).toBeGreaterThan(3_000_000);
    expect(agrees(bytes)).toBe(true);
    expect(results).toHaveLength(1);
    expect(results[0]).toBeGreaterThan(0);
  });
});

/**
 * Two printable 5-byte strings with the same `tableHash`. That hash reads 5 bytes as a 4-byte word `w` then a
 * byte `c`: imul(imul(5 ^ w, P) ^ c, P), then mixed. Two strings give the same value when
 * imul(5 ^ w2, P) = imul(5 ^ w1, P) ^ c1 ^ c2, and P, odd, has an inverse: w2 is worked out from w1, c1 and
 * c2, and only tried again until its 4 bytes are printable.
 */
function collidingPair(): [string, string] {
  const P = 16777619;
  let inverse = P; // Newton's iteration: each step doubles the bits of the inverse modulo 2^32 that are right
  for (let k = 0; k < 5; k++) inverse = Math.imul(inverse, 2 - Math.imul(P, inverse));
  const printable = (c: number) => c > 32 && c < 127 && c !== 34 && c !== 92;
  const next = random(5);
  const letter = () => 97 + Math.floor(next() * 26);
  for (let tries = 0; tries < 100_000; tries++) {
    const word1 = [letter(), letter(), letter(), letter()];
    const [c1, c2] = [letter(), letter()];
    const w1 = new DataView(Uint8Array.from(word1).buffer).getInt32(0);
    const w2 = 5 ^ Math.imul(Math.imul(5 ^ w1, P) ^ c1 ^ c2, inverse);
    const word2 = [w2 >>> 24, (w2 >>> 16) & 255, (w2 >>> 8) & 255, w2 & 255];
    if (c1 === c2 || !word2.every(printable)) continue;
    const one = String.fromCharCode(...word1, c1);
    const two = String.fromCharCode(...word2, c2);
    const hash = (text: string) => {
      const b = bytesOf(text);
      return tableHash(b, new DataView(b.buffer), 0, b.length);
    };
    expect(hash(one)).toBe(hash(two));
    return [one, two];
  }
  throw new Error("no pair found");
}

/** Corrupts `base` `rounds` times (1 to 3 edits each) and checks each body both ways; counts the outcomes. */
function corrupted(base: Uint8Array, seed: number, rounds: number): { read: number; notJson: number } {
  const next = random(seed);
  const interesting = bytesOf('"{}[],:\\ 0-9e.Eu+nt\u0001\n');
  let read = 0;
  let notJson = 0;
  for (let round = 0; round < rounds; round++) {
    const bytes = Array.from(base);
    for (let edits = 1 + Math.floor(next() * 3); edits > 0; edits--) {
      const at = Math.floor(next() * (bytes.length + 1));
      const what = next();
      const byte = interesting[Math.floor(next() * interesting.length)]!;
      if (what < 0.3) bytes.splice(at, 1);
      else if (what < 0.6) bytes.splice(at, 0, byte);
      else if (what < 0.9) bytes[Math.min(at, bytes.length - 1)] = byte;
      else bytes.length = at; // cut off
    }
    const body = Uint8Array.from(bytes);
    const parsed = byJson(body);
    if (parsed === "not json") {
      notJson++;
      expect(byBytes(body).kind).toBe("declined");
    } else if (agrees(body)) {
      read++;
    }
  }
  return { read, notJson };
}
