import { startEmulator } from "../../src/emulator";
import { createSyntheticNodes } from "../../src/emulator/synthetic";
import type { EmulatorHandle, InstanceSpec } from "../../src/emulator/types";
import { paths, rawRequest, scanNode, signed, waitForJob } from "./signed-request";

/** One DCS proxy-cluster instance (3 proxies × 40 sessions + 2 data nodes) and one GeminiDB instance. */
function instances(): InstanceSpec[] {
  const now = Date.now;
  const dcs = createSyntheticNodes({ nodes: 3, sessionsPerNode: 40, seed: 7 }, now);
  const gem = createSyntheticNodes({ nodes: 2, sessionsPerNode: 120, seed: 8 }, now);
  return [
    {
      instanceId: "dcs-instance-1",
      engine: "dcs",
      nodes: [
        ...dcs.map((backend, i) => ({
          nodeId: `proxy-${i}`,
          role: "redis-proxy" as const,
          type: "proxy" as const,
          backend,
        })),
        { nodeId: "data-master", role: "redis-server", type: "master" },
        { nodeId: "data-slave", role: "redis-server", type: "slave" },
      ],
    },
    {
      instanceId: "gemini-instance-1",
      engine: "geminidb",
      nodes: gem.map((backend, i) => ({
        nodeId: `gem-${i}`,
        role: "redis-proxy" as const,
        type: "proxy" as const,
        backend,
      })),
    },
  ];
}

let emulator: EmulatorHandle;
let p: ReturnType<typeof paths>;
let g: ReturnType<typeof paths>;

beforeAll(async () => {
  emulator = await startEmulator({ instances: instances(), jobMs: 20 });
  p = paths(emulator);
  g = paths(emulator, "gemini-instance-1");
});
afterAll(() => emulator.close());

describe("logical-nodes", () => {
  test("lists proxies and data nodes with the fields of the real answer", async () => {
    const reply = await signed(emulator, "GET", p.nodes);
    expect(reply.status).toBe(200);
    expect(reply.json.instance_id).toBe("dcs-instance-1");
    expect(reply.json.total).toBe(5);
    const roles = reply.json.nodes.map(
      (n: { node_role: string; node_type: string }) => `${n.node_role}/${n.node_type}`,
    );
    expect(roles).toEqual([
      "redis-proxy/proxy",
      "redis-proxy/proxy",
      "redis-proxy/proxy",
      "redis-server/master",
      "redis-server/slave",
    ]);
    for (const node of reply.json.nodes) {
      for (const field of [
        "node_id",
        "logical_node_id",
        "name",
        "status",
        "node_ip",
        "node_port",
        "group_id",
        "group_name",
      ]) {
        expect(node[field]).toBeDefined();
      }
      expect(node.logical_node_id).not.toBe(node.node_id);
      // The logical-nodes page types node_port as String.
      expect(node.node_port).toMatch(/^\d+$/);
    }
    expect(emulator.instances.map((i) => i.engine)).toEqual(["dcs", "geminidb"]);
    expect(emulator.nodeIds.slice(0, 3)).toEqual(["proxy-0", "proxy-1", "proxy-2"]);
  });
});

describe("validation: 400 naming the parameter", () => {
  const cases: Array<
    [
      string,
      string,
      () => string,
      { query?: Record<string, string | number>; body?: unknown; rawBody?: string },
      RegExp,
    ]
  > = [
    ["scan without node_id", "POST", () => p.clients, { body: {} }, /node_id/],
    [
      "scan with clean_cache not a boolean",
      "POST",
      () => p.clients,
      { body: { node_id: "proxy-0", clean_cache: "yes" } },
      /clean_cache/,
    ],
    [
      "scan with an unknown field",
      "POST",
      () => p.clients,
      { body: { node_id: "proxy-0", nodes: 1 } },
      /nodes: is not a known field/,
    ],
    ["scan with a body that is not JSON", "POST", () => p.clients, { rawBody: "{node_id" }, /not valid JSON/],
    ["list without node_id", "GET", () => p.clients, { query: {} }, /node_id/],
    ["list with limit 0", "GET", () => p.clients, { query: { node_id: "proxy-0", limit: 0 } }, /limit.*>= 1/],
    [
      "list with limit 1001",
      "GET",
      () => p.clients,
      { query: { node_id: "proxy-0", limit: 1001 } },
      /limit.*<= 1000/,
    ],
    [
      "list with a negative offset",
      "GET",
      () => p.clients,
      { query: { node_id: "proxy-0", offset: -1 } },
      /offset/,
    ],
    [
      "list with offset not a number",
      "GET",
      () => p.clients,
      { query: { node_id: "proxy-0", offset: "ten" } },
      /offset/,
    ],
    [
      "list sorted by an unknown field",
      "GET",
      () => p.clients,
      { query: { node_id: "proxy-0", sort: "color" } },
      /sort.*idle/,
    ],
    [
      "list with a bad order",
      "GET",
      () => p.clients,
      { query: { node_id: "proxy-0", order: "up" } },
      /order.*asc, desc/,
    ],
    [
      "list with an unknown parameter",
      "GET",
      () => p.clients,
      { query: { node_id: "proxy-0", page: 2 } },
      /page: is not a known field/,
    ],
    [
      "kill-all with neither node_id nor kill_all_nodes",
      "POST",
      () => p.killAll,
      { body: {} },
      /node_id is required when kill_all_nodes/,
    ],
    [
      "kill-all with kill_all_nodes false and no node",
      "POST",
      () => p.killAll,
      { body: { kill_all_nodes: false } },
      /node_id/,
    ],
    [
      "kill-all with kill_all_nodes not a boolean",
      "POST",
      () => p.killAll,
      { body: { kill_all_nodes: "true" } },
      /kill_all_nodes/,
    ],
    [
      "kill without addresses",
      "POST",
      () => p.kill,
      { body: { node_id: "proxy-0", client_addrs: [] } },
      /client_addrs/,
    ],
    [
      "kill with an address that is not ip:port",
      "POST",
      () => p.kill,
      { body: { node_id: "proxy-0", client_addrs: ["10.0.0.1"] } },
      /client_addrs\[0\].*ip:port/,
    ],
    [
      "GeminiDB list with an unknown parameter",
      "GET",
      () => g.sessions,
      { query: { node: "x" } },
      /node: is not a known field/,
    ],
    [
      "GeminiDB list with a bad node id",
      "GET",
      () => g.sessions,
      { query: { node_id: "a/b" } },
      /must be 1-128 characters/,
    ],
    [
      "GeminiDB node list with limit 101",
      "GET",
      () => g.nodeSessions("gem-0"),
      { query: { limit: 101 } },
      /limit.*<= 100/,
    ],
    ["GeminiDB node close without is_all", "DELETE", () => g.nodeSessions("gem-0"), { body: {} }, /is_all/],
    [
      "GeminiDB node close of chosen sessions without ids",
      "DELETE",
      () => g.nodeSessions("gem-0"),
      { body: { is_all: false } },
      /session_ids is required/,
    ],
  ];

  test.each(cases)("%s", async (name, method, path, options, message) => {
    const reply = await signed(emulator, method, path(), options);
    expect(reply.status).toBe(400);
    if (name.startsWith("GeminiDB")) {
      // GeminiDB's own shape and code for a parameter error, and nothing of DCS's shape.
      expect(reply.json).toEqual({ errCode: "DBS.200001", externalMessage: expect.stringMatching(message) });
    } else {
      expect(reply.json.error_code).toBe("DCS.4000");
      expect(reply.json.error_msg).toMatch(message);
    }
  });
});

describe("404 for what does not exist", () => {
  test("unknown instance, node, job, project and path", async () => {
    const unknownInstance = await signed(emulator, "GET", paths(emulator, "no-such-instance").nodes);
    expect(unknownInstance.status).toBe(404);
    expect(unknownInstance.json.error_msg).toMatch(/instance no-such-instance does not exist/);
    const geminiThroughDcs = await signed(emulator, "GET", paths(emulator, "gemini-instance-1").nodes);
    expect(geminiThroughDcs.status).toBe(404);
    const unknownNode = await signed(emulator, "POST", p.clients, { body: { node_id: "no-such-node" } });
    expect(unknownNode.status).toBe(404);
    expect(unknownNode.json.error_msg).toMatch(/node no-such-node/);
    const unknownKillNode = await signed(emulator, "POST", p.killAll, { body: { node_id: "no-such-node" } });
    expect(unknownKillNode.status).toBe(404);
    const unknownJob = await signed(emulator, "GET", p.job("0123456789abcdef"));
    expect(unknownJob.status).toBe(404);
    expect(unknownJob.json.error_code).toBe("DCS.4004");
    const unknownGeminiNode = await signed(emulator, "GET", g.nodeSessions("no-such-node"));
    expect(unknownGeminiNode.status).toBe(404);
    expect(unknownGeminiNode.json).toEqual({
      errCode: "DBS.200013",
      externalMessage: "node no-such-node does not exist",
    });
    const unknownGeminiInstance = await signed(emulator, "GET", paths(emulator, "no-such-instance").sessions);
    expect(unknownGeminiInstance.status).toBe(404);
    expect(unknownGeminiInstance.json.errCode).toBe("DBS.200002");
    expect(unknownGeminiInstance.json.error_code).toBeUndefined();
    const otherProject = await signed(
      emulator,
      "GET",
      "/v2/other-project/instances/dcs-instance-1/logical-nodes",
    );
    expect(otherProject.status).toBe(404);
    expect(otherProject.json.error_msg).toMatch(/project other-project/);
    const noSuchApi = await signed(emulator, "GET", `/v2/${emulator.projectId}/instances`);
    expect(noSuchApi.status).toBe(404);
    expect(noSuchApi.json.error_code).toBe("APIGW.0101");
  });
});

describe("the scan cache", () => {
  test("500 before any scan; a scan's job ends in SUCCESS and fills the list", async () => {
    const before = await signed(emulator, "GET", p.clients, { query: { node_id: "proxy-0" } });
    expect(before.status).toBe(500);
    expect(before.json.error_msg).toMatch(/scan it first/);

    const started = await signed(emulator, "POST", p.clients, {
      body: { node_id: "proxy-0", clean_cache: true },
    });
    const first = await signed(emulator, "GET", p.job(started.json.job_id));
    expect(["INIT", "RUNNING"]).toContain(first.json.status);
    expect(first.json.end_time).toBe("");
    const done = await waitForJob(emulator, started.json.job_id);
    expect(done.json).toMatchObject({
      job_id: started.json.job_id,
      job_type: "ScanClients",
      status: "SUCCESS",
      fail_reason: "",
    });
    expect(done.json.begin_time).toMatch(/^\d{13}$/);
    expect(Number(done.json.end_time)).toBeGreaterThanOrEqual(Number(done.json.begin_time));

    const list = await signed(emulator, "GET", p.clients, { query: { node_id: "proxy-0" } });
    expect(list.status).toBe(200);
    expect(list.json.count).toBe(40);
    expect(list.json.clients).toHaveLength(10); // the documented default limit
    expect(Date.parse(list.json.time)).toBeGreaterThanOrEqual(Number(done.json.begin_time));
  });

  test("the list keeps serving the snapshot until a scan job ends; only clean_cache false keeps it", async () => {
    await scanNode(emulator, "proxy-1");
    const cached = await signed(emulator, "GET", p.clients, { query: { node_id: "proxy-1" } });
    expect(cached.json.count).toBe(40);

    const kill = await signed(emulator, "POST", p.killAll, { body: { node_id: "proxy-1" } });
    expect((await waitForJob(emulator, kill.json.job_id)).json.status).toBe("SUCCESS");
    const stale = await signed(emulator, "GET", p.clients, { query: { node_id: "proxy-1" } });
    expect(stale.json.count).toBe(40);
    expect(stale.json.time).toBe(cached.json.time);

    await scanNode(emulator, "proxy-1", false);
    const kept = await signed(emulator, "GET", p.clients, { query: { node_id: "proxy-1" } });
    expect(kept.json).toMatchObject({ count: 40, time: cached.json.time });

    // Without clean_cache the scan re-reads the node, as with clean_cache: true.
    const omitted = await signed(emulator, "POST", p.clients, { body: { node_id: "proxy-1" } });
    expect((await waitForJob(emulator, omitted.json.job_id)).json.status).toBe("SUCCESS");
    const fresh = await signed(emulator, "GET", p.clients, { query: { node_id: "proxy-1" } });
    expect(fresh.json.count).toBe(0);
    expect(fresh.json.clients).toEqual([]);
    expect(Date.parse(fresh.json.time)).toBeGreaterThanOrEqual(Date.parse(cached.json.time));
  });

  test("clean_cache false on a node never scanned takes a snapshot", async () => {
    await scanNode(emulator, "data-master", false);
    const list = await signed(emulator, "GET", p.clients, { query: { node_id: "data-master" } });
    expect(list.json).toMatchObject({ count: 0, clients: [] });
  });
});

describe("paging, filter and sort", () => {
  beforeAll(() => scanNode(emulator, "proxy-2"));

  test("pages cover every session once; past the last page: empty clients, count kept", async () => {
    const seen = new Set<string>();
    for (let offset = 0; offset < 40; offset += 15) {
      const page = await signed(emulator, "GET", p.clients, {
        query: { node_id: "proxy-2", offset, limit: 15 },
      });
      expect(page.json.count).toBe(40);
      for (const c of page.json.clients) seen.add(c.addr);
    }
    expect(seen.size).toBe(40);
    const past = await signed(emulator, "GET", p.clients, {
      query: { node_id: "proxy-2", offset: 40, limit: 15 },
    });
    expect(past.json).toMatchObject({ count: 40, clients: [] });
  });

  test("every ClientInfo field is present with DCS types", async () => {
    const page = await signed(emulator, "GET", p.clients, { query: { node_id: "proxy-2", limit: 1 } });
    const client = page.json.clients[0];
    expect(Object.keys(client).sort()).toEqual(
      [
        "id",
        "addr",
        "fd",
        "name",
        "cmd",
        "age",
        "idle",
        "db",
        "flags",
        "sub",
        "psub",
        "multi",
        "qbuf",
        "qbuf_free",
        "obl",
        "oll",
        "omem",
        "events",
        "network",
        "peer",
        "user",
      ].sort(),
    );
    expect(typeof client.db).toBe("string");
    expect(typeof client.fd).toBe("string");
    expect(typeof client.idle).toBe("number");
    expect(client.addr).toMatch(/^\d+\.\d+\.\d+\.\d+:\d+$/);
  });

  test("sort=idle&order=desc is descending by number; sort=db asc compares numbers; names as text", async () => {
    const idle = await signed(emulator, "GET", p.clients, {
      query: { node_id: "proxy-2", sort: "idle", order: "desc", limit: 40 },
    });
    const idles: number[] = idle.json.clients.map((c: { idle: number }) => c.idle);
    expect(idles).toEqual([...idles].sort((a, b) => b - a));
    expect(new Set(idles).size).toBeGreaterThan(5);
    const db = await signed(emulator, "GET", p.clients, {
      query: { node_id: "proxy-2", sort: "db", limit: 40 },
    });
    const dbs: number[] = db.json.clients.map((c: { db: string }) => Number(c.db));
    expect(dbs).toEqual([...dbs].sort((a, b) => a - b));
    const names = await signed(emulator, "GET", p.clients, {
      query: { node_id: "proxy-2", sort: "name", order: "asc", limit: 40 },
    });
    const texts: string[] = names.json.clients.map((c: { name: string }) => c.name);
    expect(texts).toEqual([...texts].sort());
  });

  test("addr filters by substring and counts the matches", async () => {
    const all = await signed(emulator, "GET", p.clients, { query: { node_id: "proxy-2", limit: 40 } });
    const ip = all.json.clients[0].addr.split(":")[0] as string;
    const expected = all.json.clients.filter((c: { addr: string }) => c.addr.includes(`${ip}:`)).length;
    const filtered = await signed(emulator, "GET", p.clients, {
      query: { node_id: "proxy-2", addr: `${ip}:`, limit: 40 },
    });
    expect(filtered.json.count).toBe(expected);
    for (const c of filtered.json.clients) expect(c.addr.startsWith(`${ip}:`)).toBe(true);
    const none = await signed(emulator, "GET", p.clients, {
      query: { node_id: "proxy-2", addr: "192.0.2.1:" },
    });
    expect(none.json).toMatchObject({ count: 0, clients: [] });
  });

  test("kill-chosen answers 204 without a body and kills exactly those addresses", async () => {
    const page = await signed(emulator, "GET", p.clients, { query: { node_id: "proxy-2", limit: 3 } });
    const chosen: string[] = page.json.clients.map((c: { addr: string }) => c.addr);
    const reply = await signed(emulator, "POST", p.kill, {
      body: { node_id: "proxy-2", client_addrs: chosen },
    });
    expect(reply.status).toBe(204);
    expect(reply.text).toBe("");
    await scanNode(emulator, "proxy-2");
    const after = await signed(emulator, "GET", p.clients, { query: { node_id: "proxy-2", limit: 100 } });
    expect(after.json.count).toBe(37);
    const left = after.json.clients.map((c: { addr: string }) => c.addr);
    for (const addr of chosen) expect(left).not.toContain(addr);
  });
});

describe("kill-all of every node", () => {
  test("kill_all_nodes empties every proxy", async () => {
    const emu = await startEmulator({ synthetic: { nodes: 3, sessionsPerNode: 25 }, jobMs: 10 });
    try {
      const reply = await signed(emu, "POST", paths(emu).killAll, { body: { kill_all_nodes: true } });
      expect((await waitForJob(emu, reply.json.job_id)).json).toMatchObject({
        status: "SUCCESS",
        job_type: "KillAllClients",
      });
      const proxies = emu.nodeIds.slice(0, 3);
      for (const nodeId of proxies) {
        await scanNode(emu, nodeId);
        const list = await signed(emu, "GET", paths(emu).clients, { query: { node_id: nodeId } });
        expect(list.json.count).toBe(0);
      }
    } finally {
      await emu.close();
    }
  });
});

describe("GeminiDB", () => {
  test("sessions of every node or one, read live, each field a String as the page's table types them", async () => {
    const all = await signed(emulator, "GET", g.sessions);
    expect(all.status).toBe(200);
    expect(all.json.node_sessions.map((n: { node_id: string }) => n.node_id)).toEqual(["gem-0", "gem-1"]);
    expect(all.json.node_sessions[0].total_count).toBe(120);
    expect(all.json.node_sessions[0].sessions).toHaveLength(120);
    const s = all.json.node_sessions[0].sessions[0];
    expect(Object.keys(s).sort()).toEqual([
      "addr",
      "age",
      "cmd",
      "db",
      "fd",
      "id",
      "idle",
      "multi",
      "name",
      "psub",
      "sub",
    ]);
    for (const field of Object.keys(s)) expect(typeof s[field]).toBe("string");
    expect(s.age).toMatch(/^\d+$/);
    const one = await signed(emulator, "GET", g.sessions, { query: { node_id: "gem-1" } });
    expect(one.json.node_sessions).toHaveLength(1);
    expect(one.json.node_sessions[0].node_id).toBe("gem-1");
    const unknown = await signed(emulator, "GET", g.sessions, { query: { node_id: "gem-9" } });
    expect(unknown.status).toBe(404);
  });

  test("a node's sessions are listed newest first (smallest age first), in both listings", async () => {
    const ages = (sessions: Array<{ age: string }>) => sessions.map((x) => Number(x.age));
    const ascending = (list: number[]) => list.every((age, i) => i === 0 || list[i - 1]! <= age);
    const all = await signed(emulator, "GET", g.sessions, { query: { node_id: "gem-1" } });
    const listed = ages(all.json.node_sessions[0].sessions);
    expect(new Set(listed).size).toBeGreaterThan(10); // synthetic ages vary: the order is not an accident
    expect(ascending(listed)).toBe(true);
    const first = await signed(emulator, "GET", g.nodeSessions("gem-1"), { query: { limit: 100 } });
    const second = await signed(emulator, "GET", g.nodeSessions("gem-1"), {
      query: { offset: 100, limit: 100 },
    });
    const paged = [...ages(first.json.sessions), ...ages(second.json.sessions)];
    expect(paged).toHaveLength(listed.length);
    expect(ascending(paged)).toBe(true);
  });

  test("node sessions page (limit 50 by default) and filter by addr_prefix", async () => {
    const page = await signed(emulator, "GET", g.nodeSessions("gem-0"));
    expect(page.json.total_count).toBe(120);
    expect(page.json.sessions).toHaveLength(50);
    const prefix = (page.json.sessions[0].addr as string).split(":")[0] + ":";
    const filtered = await signed(emulator, "GET", g.nodeSessions("gem-0"), {
      query: { addr_prefix: prefix, limit: 100 },
    });
    expect(filtered.json.total_count).toBeGreaterThan(0);
    for (const session of filtered.json.sessions) expect(session.addr.startsWith(prefix)).toBe(true);
  });

  test("DELETE of chosen session ids, of a node, and of the instance", async () => {
    const page = await signed(emulator, "GET", g.nodeSessions("gem-0"), { query: { limit: 2 } });
    const ids = page.json.sessions.map((s: { id: number }) => String(s.id));
    const chosen = await signed(emulator, "DELETE", g.nodeSessions("gem-0"), {
      body: { is_all: false, session_ids: ids },
    });
    expect(chosen.status).toBe(200);
    expect(chosen.json).toEqual({});
    expect((await signed(emulator, "GET", g.nodeSessions("gem-0"))).json.total_count).toBe(118);

    const node = await signed(emulator, "DELETE", g.sessions, { query: { node_id: "gem-1" } });
    expect(node.json).toEqual({});
    const after = await signed(emulator, "GET", g.sessions);
    expect(after.json.node_sessions.map((n: { total_count: number }) => n.total_count)).toEqual([118, 0]);

    const all = await signed(emulator, "DELETE", g.nodeSessions("gem-0"), { body: { is_all: true } });
    expect(all.status).toBe(200);
    expect((await signed(emulator, "GET", g.nodeSessions("gem-0"))).json.total_count).toBe(0);
  });
});

test("responses carry a request id and JSON content type", async () => {
  const reply = await rawRequest(`${emulator.endpoint}${p.nodes}`, { method: "GET" });
  expect(reply.headers["x-request-id"]).toMatch(/^[0-9a-f]{32}$/);
  expect(reply.headers["content-type"]).toMatch(/application\/json/);
});

test("the Date header reads the emulator's clock, not the machine's", async () => {
  const behind = 7 * 60_000; // within the 15 minutes a signature tolerates
  const emu = await startEmulator({ now: () => Date.now() - behind, jobMs: 20 });
  try {
    const reply = await signed(emu, "GET", paths(emu).nodes);
    expect(reply.status).toBe(200);
    const date = Date.parse(String(reply.headers["date"]));
    expect(Math.abs(date - (Date.now() - behind))).toBeLessThan(5_000);
  } finally {
    await emu.close();
  }
});
