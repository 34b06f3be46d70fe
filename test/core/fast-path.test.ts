/**
 * The scan's fast path (list pages with only their envelope validated, each client read in place from the
 * page's bytes, or by `readParsedClient` when the byte reader declines a page) against a plain zod parse of the same pages (`ListClientsResponseSchema`, then
 * `factsOfClientInfo`): every figure of the snapshot agrees, on pages with the quirks of DESIGN §1 — numbers
 * as strings and strings as numbers, unknown extra fields, nulls, absent fields, an empty page with
 * `count > 0` — served over real HTTP on loopback to the real client.
 */
import type { ServerResponse } from "node:http";
import { ApiError } from "../../src/api/errors";
import { ListClientsResponseSchema } from "../../src/api/schemas";
import type { SessionsClient } from "../../src/api/types";
import { wasmClientsReader } from "../../src/api/wasm-clients";
import { readParsedClient, type WireSessionFacts } from "../../src/api/wire-page";
import { SessionAccumulator, clientIpOf, factsOfClientInfo } from "../../src/core/aggregate";
import { scanSessions } from "../../src/core/scan";
import { SCAN_OUTPUT_NAMES } from "../../src/core/types";
import { clientFor, json, startServer, type Recorded, type TestServer } from "../api/helpers";

const INSTANCE = "inst-1";
const TIME = "2026-12-05T10:00:00Z";
const PAGE = 1000;

/** A client as DCS might send it, varied by `i`: the quirks rotate so that every page mixes them. */
function wireClient(i: number): Record<string, unknown> {
  const ip = `10.0.${i % 7}.${(i * 13) % 250}`;
  const base: Record<string, unknown> = {
    id: i % 3 === 0 ? i : String(i),
    addr: i % 3 === 0 ? `192.168.0.${i % 5}:${6000 + (i % 900)}` : `${ip}:${40000 + (i % 20000)}`,
    fd: i % 2 === 0 ? String(8 + i) : 8 + i,
    // A name beyond ASCII: the bytes on the wire are UTF-8, and the scan must decode them as such.
    name: ["", "app", "worker-7", null, "café-東京"][i % 5],
    cmd: ["get", "set", "subscribe", "psubscribe", "ping"][i % 5],
    age: i % 4 === 0 ? String(100 + i) : 100 + i,
    idle: i % 5 === 0 ? ` ${(i * 37) % 100_000} ` : (i * 37) % 100_000,
    db: i % 3 === 1 ? i % 16 : String(i % 16),
    flags: "N",
    sub: i % 5 === 2 ? "2" : 0,
    psub: i % 5 === 3 ? 1 : "0",
    multi: -1,
    qbuf: "0",
    qbuf_free: 0,
    obl: 0,
    oll: 0,
    omem: 0,
    events: "r",
    network: "vpc",
    // Behind a proxy `addr` is the proxy's side and `peer` the real client; some sessions have no peer.
    peer: i % 7 === 6 ? undefined : `${ip}:${40000 + (i % 20000)}`,
    user: ["default", "app", 7, null][i % 4],
    // Unknown fields the service may add.
    extra_field: { nested: [i] },
    tot_mem: i,
  };
  // Absent, empty and null values where a field is optional.
  if (i % 11 === 0) delete base.user;
  if (i % 13 === 0) base.addr = "";
  if (i % 17 === 0) base.idle = "";
  if (i % 19 === 0) base.age = null;
  if (i % 23 === 0) delete base.sub;
  return base;
}

/**
 * A client as DCS sends most of them (every value plain: text as strings, counts as integers or digits in a
 * string, no escape): the pages that the WebAssembly reader reads itself. Still varied: empty and null
 * values, IPv6, no peer, a peer that is empty, the longest idle times shared by many (the top list's ties).
 */
function plainClient(i: number): Record<string, unknown> {
  const ip = i % 9 === 0 ? `fe80::${i % 11}` : `10.1.${i % 5}.${(i * 7) % 200}`;
  const addr = i % 9 === 0 ? `[${ip}]:${7000 + (i % 50)}` : `${ip}:${50000 + (i % 1000)}`;
  return {
    id: String(i),
    addr: i % 10 === 3 ? "172.16.0.1:6379" : addr,
    fd: String(10 + i),
    name: ["", "api", `batch-${i % 40}`, null, "(none)"][i % 5],
    cmd: ["get", "set", "hgetall", "eval"][i % 4],
    age: i % 6 === 0 ? String(500 + i) : 500 + i,
    idle: [0, 59, 600, 86_400, 86_400, (i * 31) % 86_400][i % 6],
    db: String(i % 4),
    flags: "N",
    sub: i % 8 === 0 ? 1 : 0,
    psub: i % 12 === 0 ? "2" : "",
    multi: -1,
    events: "r",
    // Behind the proxy the real client is the peer; some sessions have none, or an empty one.
    peer: i % 10 === 3 ? addr : i % 7 === 0 ? null : i % 13 === 0 ? "" : undefined,
    user: ["default", "app", ""][i % 3],
  };
}

/** The clients the scripted pages are made of: `wireClient` (every quirk), or `plainClient`. */
let clientAt = wireClient;

interface NodeScript {
  count: number;
  /**
   * Clients actually served: fewer than count (the cache answers empty pages past them), or more (the list
   * grew after its first page; no more than the first page's count are taken).
   */
  served: number;
  /** Sent as the list's `count`: a string on some nodes. */
  countOnWire: (count: number) => unknown;
}

const NODES: Record<string, NodeScript> = {
  "node-a": { count: 2500, served: 2500, countOnWire: (n) => n },
  "node-b": { count: 1200, served: 1200, countOnWire: (n) => String(n) },
  // count > 0 but the second page is empty: the reader stops there.
  "node-c": { count: 3000, served: 1000, countOnWire: (n) => n },
  "node-d": { count: 0, served: 0, countOnWire: (n) => n },
  // count 1500 but 1700 served: the second page's 700 sessions are cut to 500.
  "node-e": { count: 1500, served: 1700, countOnWire: (n) => n },
};

/** The body of one list page of the script, as text. */
function pageText(nodeId: string, offset: number, limit: number): string {
  const script = NODES[nodeId]!;
  const seed = Object.keys(NODES).indexOf(nodeId) * 100_000;
  const clients = [];
  for (let i = offset; i < Math.min(script.served, offset + limit); i++) clients.push(clientAt(seed + i));
  return JSON.stringify({
    time: TIME,
    count: script.countOnWire(script.count),
    clients: nodeId === "node-d" ? null : clients,
    server_extra: "ignored",
  });
}

function handler(req: Recorded, res: ServerResponse) {
  if (req.path.endsWith("/logical-nodes")) {
    return json(res, 200, {
      instance_id: INSTANCE,
      total: Object.keys(NODES).length,
      nodes: Object.keys(NODES).map((id) => ({ node_id: id, node_role: "redis-proxy", node_type: "proxy" })),
    });
  }
  if (req.path.endsWith("/clients") && req.method === "GET") {
    const nodeId = req.query.get("node_id") ?? "";
    const offset = Number(req.query.get("offset") ?? 0);
    const limit = Number(req.query.get("limit") ?? 10);
    return json(res, 200, pageText(nodeId, offset, limit));
  }
  return json(res, 404, { error_code: "DCS.4004", error_msg: `not scripted: ${req.method} ${req.path}` });
}

/** The same pages the scan reads, parsed whole by zod and folded as `listAllClients` users would. */
/** The scan outputs the accumulator computes (the total, the nodes and the time are checked on their own). */
const AGGREGATE_OUTPUT_NAMES = SCAN_OUTPUT_NAMES.filter(
  (name): name is Exclude<(typeof SCAN_OUTPUT_NAMES)[number], "totalSessions" | "nodes" | "scannedAt"> =>
    name !== "totalSessions" && name !== "nodes" && name !== "scannedAt",
);

function referenceSnapshot() {
  const acc = new SessionAccumulator({ topN: 20 });
  for (const nodeId of Object.keys(NODES)) {
    acc.addNode(nodeId);
    const script = NODES[nodeId]!;
    for (let offset = 0; offset < script.count; offset += PAGE) {
      const page = ListClientsResponseSchema.parse(JSON.parse(pageText(nodeId, offset, PAGE)));
      if (page.clients.length === 0) break;
      for (const client of page.clients.slice(0, script.count - offset)) {
        acc.add(nodeId, factsOfClientInfo(client));
      }
    }
  }
  return acc.result();
}

describe("the scan's fast path agrees with a plain zod parse of the same pages", () => {
  let server: TestServer;
  let client: SessionsClient;

  beforeAll(async () => {
    server = await startServer(handler);
    client = clientFor(server.url);
  });

  afterAll(async () => {
    await client.close();
    await server.close();
  });

  test("the real client offers the fast path (so the scan below takes it)", () => {
    expect(typeof client.dcs.listClientPages).toBe("function");
  });

  test("every figure agrees, quirks included", async () => {
    const snapshot = await scanSessions({ instanceId: INSTANCE, client, rescan: false, topN: 20 });
    const reference = referenceSnapshot();
    expect(snapshot.totalSessions).toBe(2500 + 1200 + 1000 + 1500);
    expect(snapshot.totalSessions).toBe(reference.totalSessions);
    expect(Object.fromEntries(snapshot.nodes.map((n) => [n.nodeId, n.sessions]))).toEqual(reference.perNode);
    expect(snapshot.nodes.every((n) => n.dataTime === TIME)).toBe(true);
    for (const key of AGGREGATE_OUTPUT_NAMES) {
      expect([key, snapshot[key]]).toEqual([key, reference[key]]);
    }
    // The quirks did reach the counts: numbers sent as strings and strings sent as numbers.
    expect(snapshot.byUser["7"]).toBeGreaterThan(0);
    expect(snapshot.byName["café-東京"]).toBe(reference.byName["café-東京"]);
    expect(snapshot.byName["café-東京"]).toBeGreaterThan(0);
    expect(snapshot.subscribers).toBeGreaterThan(0);
    expect(snapshot.maxIdleSeconds).toBeGreaterThan(0);
  });

  test("every figure agrees on plain pages, which the WebAssembly reader reads itself", async () => {
    const reader = wasmClientsReader();
    expect(reader).not.toBeNull(); // `npm test` builds it first
    const read = jest.spyOn(reader!, "read");
    clientAt = plainClient;
    try {
      const snapshot = await scanSessions({ instanceId: INSTANCE, client, rescan: false, topN: 20 });
      const reference = referenceSnapshot();
      expect(snapshot.totalSessions).toBe(2500 + 1200 + 1000 + 1500);
      expect(Object.fromEntries(snapshot.nodes.map((n) => [n.nodeId, n.sessions]))).toEqual(
        reference.perNode,
      );
      for (const key of AGGREGATE_OUTPUT_NAMES) {
        expect([key, snapshot[key]]).toEqual([key, reference[key]]);
      }
      // Every page with clients was read by the module (none declined), and the top list is of ties.
      const answers = read.mock.results.map((r) => r.value as unknown);
      expect(answers.length).toBeGreaterThanOrEqual(6);
      expect(answers.filter((a) => a === undefined)).toEqual([]);
      expect(snapshot.topIdle).toHaveLength(20);
      expect(snapshot.topIdle.every((s) => s.idleSeconds === 86_400)).toBe(true);
      expect(snapshot.byClientIp["fe80::0"]).toBeGreaterThan(0);
    } finally {
      clientAt = wireClient;
      read.mockRestore();
    }
  });

  test("the reader and the schema agree client by client, on every quirk", () => {
    const facts = {} as WireSessionFacts;
    for (let i = 0; i < 2000; i++) {
      const raw = wireClient(i);
      expect(readParsedClient(raw, facts)).toBe(true);
      const { addr, ...rest } = factsOfClientInfo(
        ListClientsResponseSchema.parse({ clients: [raw] }).clients[0]!,
      );
      expect({ ...facts }).toEqual({ clientIp: clientIpOf(addr), ...rest });
    }
  });

  test.each([
    ["an object where text is expected", { addr: { ip: "10.0.0.1" } }],
    ["an array where a number is expected", { idle: [1] }],
    ["text that is not a number", { age: "ten" }],
    ["a number that is not finite", { sub: Number.POSITIVE_INFINITY }],
    ["a client that is not an object", "10.0.0.1:5000"],
  ])("refuses %s, as the schema does", (_what, client) => {
    const raw = typeof client === "string" ? client : { ...wireClient(1), ...client };
    expect(readParsedClient(raw, {} as WireSessionFacts)).toBe(false);
    expect(ListClientsResponseSchema.safeParse({ clients: [raw] }).success).toBe(false);
  });

  test("a page the reader cannot read fails the scan with the schema's error, naming the field", async () => {
    server.setHandler((req, res) => {
      if (req.path.endsWith("/clients") && req.method === "GET") {
        const clients = [wireClient(1), { ...wireClient(2), idle: "soon" }];
        return json(res, 200, { time: TIME, count: 2, clients });
      }
      return handler(req, res);
    });
    try {
      const error = await scanSessions({
        instanceId: INSTANCE,
        client,
        rescan: false,
        nodeIds: ["node-a"],
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).message).toContain("clients.1.idle");
      expect((error as ApiError).operation).toBe("listClients");
    } finally {
      server.setHandler(handler);
    }
  });
});
