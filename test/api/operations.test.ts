/**
 * Every operation of DESIGN §1 through `createClient`, against a loopback HTTP server that checks what
 * arrives: method, path, query, body and a signature that verifies.
 */
import type { ServerResponse } from "node:http";
import { ApiError, JobFailedError, TimeoutError, ValidationError } from "../../src/api/errors";
import { USER_AGENT, requestIdOf } from "../../src/api/http";
import { signRequest } from "../../src/api/signer";
import type { ClientInfo } from "../../src/api/schemas";
import type { SessionsClient } from "../../src/api/types";
import {
  GEMINIDB_SESSIONS_RESPONSE,
  KILL_ALL_RESPONSE,
  LIST_RESPONSE,
  SCAN_RESPONSE,
} from "./fixtures/seeds";
import {
  ACCESS_KEY,
  AUTH_TOKEN,
  PROJECT_ID,
  SECRET_KEY,
  SECURITY_TOKEN,
  clientFor,
  json,
  parseSdkDate,
  startServer,
  type Recorded,
  type TestServer,
} from "./helpers";

const INSTANCE = "inst-1";
const NODE = "8f7ee181-88e2-49b7-a4bf-81f18f93a135";
const V2 = `/v2/${PROJECT_ID}`;
const V3 = `/v3/${PROJECT_ID}`;

/** Recomputes the signature from what the server received: it must equal the Authorization header. */
function expectValidSignature(server: TestServer, rec: Recorded): void {
  const auth = String(rec.headers.authorization);
  const m = /^SDK-HMAC-SHA256 Access=(\S+), SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
    auth,
  );
  expect(m).not.toBeNull();
  expect(m![1]).toBe(ACCESS_KEY);
  const names = m![2]!.split(";");
  expect(names).toEqual(expect.arrayContaining(["host", "x-project-id", "x-sdk-date"]));
  const headers = Object.fromEntries(
    names
      .filter((n) => n !== "x-sdk-date" && n !== "x-security-token")
      .map((n) => [n, String(rec.headers[n])]),
  );
  const securityToken = rec.headers["x-security-token"] as string | undefined;
  const expected = signRequest(
    {
      method: rec.method,
      url: `${server.url}${rec.path}${rec.rawQuery ? `?${rec.rawQuery}` : ""}`,
      headers,
      body: rec.body,
    },
    { accessKey: ACCESS_KEY, secretKey: SECRET_KEY, securityToken },
    parseSdkDate(String(rec.headers["x-sdk-date"])),
  );
  expect(expected.Authorization).toBe(auth);
}

function expectCommonHeaders(rec: Recorded): void {
  expect(rec.headers["x-project-id"]).toBe(PROJECT_ID);
  expect(rec.headers["user-agent"]).toBe(USER_AGENT);
  expect(USER_AGENT).toMatch(/^dcs-sessions\/\d+\.\d+\.\d+/);
  if (rec.body) expect(rec.headers["content-type"]).toBe("application/json");
}

/** A fixed API: each route answers one of the reference page examples. */
function api(rec: Recorded, res: ServerResponse): void {
  const route = `${rec.method} ${rec.path}`;
  switch (route) {
    case `GET ${V2}/instances/${INSTANCE}/logical-nodes`:
      return json(res, 200, {
        instance_id: INSTANCE,
        total: "2",
        nodes: [
          {
            node_id: "p1",
            logical_node_id: "l1",
            name: "proxy-1",
            node_role: "redis-proxy",
            node_type: "proxy",
            node_ip: "10.0.0.1",
            node_port: "6379",
            group_id: "g",
            group_name: "grp",
            az_code: "az1",
          },
          { node_id: 7, node_role: "redis-server", node_type: "master" },
        ],
      });
    case `POST ${V2}/instances/${INSTANCE}/clients`:
      return json(res, 200, SCAN_RESPONSE);
    case `GET ${V2}/instances/${INSTANCE}/clients`:
      return json(res, 200, LIST_RESPONSE, { "x-request-id": "req-list-1" });
    case `POST ${V2}/instances/${INSTANCE}/clients/kill-all`:
      return json(res, 200, KILL_ALL_RESPONSE);
    case `POST ${V2}/instances/${INSTANCE}/clients/kill`:
      res.writeHead(204).end();
      return;
    case `GET ${V2}/jobs/job-1`:
      return json(res, 200, {
        job_id: "job-1",
        job_type: "scanClients",
        status: "SUCCESS",
        begin_time: "b",
        end_time: "e",
        fail_reason: "",
      });
    case `GET ${V3}/instances/${INSTANCE}/sessions`:
      return json(res, 200, GEMINIDB_SESSIONS_RESPONSE);
    case `DELETE ${V3}/instances/${INSTANCE}/sessions`:
      return json(res, 200, {});
    case `GET ${V3}/redis/nodes/${NODE}/sessions`:
      return json(res, 200, {
        total_count: "2",
        sessions: [
          { id: 1, addr: "10.0.0.9:5000" },
          { id: "2", idle: "9" },
        ],
      });
    case `DELETE ${V3}/redis/nodes/${NODE}/sessions`:
      return json(res, 200, {});
    default:
      return json(res, 404, { error_code: "TEST.404", error_msg: `no route ${route}` });
  }
}

describe("each operation sends the documented request and maps the answer", () => {
  let server: TestServer;
  let client: SessionsClient;
  const logLines: { message: string; fields?: Record<string, unknown> }[] = [];
  beforeAll(async () => {
    server = await startServer(api);
    client = clientFor(server.url, {
      logger: (_level, message, fields) => logLines.push({ message, fields }),
    });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });
  beforeEach(() => {
    server.reset();
  });
  afterEach(() => {
    for (const rec of server.requests) {
      expectCommonHeaders(rec);
      expectValidSignature(server, rec);
    }
  });

  test("listNodes", async () => {
    const list = await client.dcs.listNodes(INSTANCE);
    expect(server.requests.map((r) => `${r.method} ${r.path}?${r.rawQuery}`)).toEqual([
      `GET ${V2}/instances/${INSTANCE}/logical-nodes?`,
    ]);
    expect(server.requests[0]!.body).toBe("");
    expect(list).toEqual({
      instanceId: INSTANCE,
      total: 2,
      nodes: [
        {
          nodeId: "p1",
          logicalNodeId: "l1",
          name: "proxy-1",
          status: undefined,
          nodeRole: "redis-proxy",
          nodeType: "proxy",
          nodeIp: "10.0.0.1",
          nodePort: 6379,
          groupId: "g",
          groupName: "grp",
        },
        expect.objectContaining({ nodeId: "7", nodeRole: "redis-server", nodeType: "master" }),
      ],
    });
  });

  test("scanClients", async () => {
    const before = Date.now();
    const scan = await client.dcs.scanClients(INSTANCE, { nodeId: NODE, cleanCache: true });
    // serverTime: the answer's Date header (whole seconds), the server's clock for the list-time fallback.
    expect(scan).toEqual({ jobId: "8abf6e1e824e204401824e3e621b0042", serverTime: expect.any(Date) });
    expect(scan.serverTime!.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(scan.serverTime!.getTime()).toBeLessThanOrEqual(Date.now());
    const [rec] = server.requests;
    expect(`${rec!.method} ${rec!.path}`).toBe(`POST ${V2}/instances/${INSTANCE}/clients`);
    expect(JSON.parse(rec!.body)).toEqual({ node_id: NODE, clean_cache: true });
  });

  test("listClients with every query parameter", async () => {
    const page = await client.dcs.listClients(INSTANCE, {
      nodeId: NODE,
      offset: 20,
      limit: 10,
      addr: "198.19.131.14",
      sort: "idle",
      order: "desc",
    });
    const [rec] = server.requests;
    expect(`${rec!.method} ${rec!.path}`).toBe(`GET ${V2}/instances/${INSTANCE}/clients`);
    expect(Object.fromEntries(rec!.query)).toEqual({
      node_id: NODE,
      offset: "20",
      limit: "10",
      addr: "198.19.131.14",
      sort: "idle",
      order: "desc",
    });
    expect(page.time).toBe("2023-06-15T03:10:01.332Z");
    expect(page.count).toBe(1);
    expect(page.clients[0]).toMatchObject({ id: "11677", fd: "16", db: "0", idle: 376 });
    const line = logLines.find((l) => l.fields?.requestId === "req-list-1");
    expect(line?.fields).toMatchObject({ operation: "listClients", method: "GET", status: 200, attempt: 1 });
  });

  test("query values are percent-encoded where they must be, left as they are where they need not", async () => {
    await client.dcs.listClients(INSTANCE, {
      nodeId: NODE,
      offset: 0,
      limit: 5,
      addr: "[::1]:6379 a!*'()~_.",
    });
    const [rec] = server.requests;
    // Unreserved characters (ids, numbers, `-_.~`) as sent; everything else as %XX, `!*'()` included.
    expect(rec!.rawQuery).toBe(
      `node_id=${NODE}&offset=0&limit=5&addr=%5B%3A%3A1%5D%3A6379%20a%21%2A%27%28%29~_.`,
    );
    expect(rec!.query.get("addr")).toBe("[::1]:6379 a!*'()~_.");
    expectValidSignature(server, rec!);
  });

  test("killAllClients for one node and for every node (the page's unquoted job_id)", async () => {
    await expect(client.dcs.killAllClients(INSTANCE, { nodeId: NODE })).resolves.toEqual({
      jobId: "8abf6e1e824dfcb201824e02ee9a0015",
    });
    await client.dcs.killAllClients(INSTANCE, { allNodes: true });
    expect(server.requests.map((r) => [r.method, r.path, JSON.parse(r.body)])).toEqual([
      ["POST", `${V2}/instances/${INSTANCE}/clients/kill-all`, { node_id: NODE }],
      ["POST", `${V2}/instances/${INSTANCE}/clients/kill-all`, { kill_all_nodes: true }],
    ]);
  });

  test("killClients answers 204 with no body", async () => {
    await expect(
      client.dcs.killClients(INSTANCE, { nodeId: NODE, clientAddrs: ["10.0.0.9:5000", "[::1]:6000"] }),
    ).resolves.toBeUndefined();
    const [rec] = server.requests;
    expect(`${rec!.method} ${rec!.path}`).toBe(`POST ${V2}/instances/${INSTANCE}/clients/kill`);
    expect(JSON.parse(rec!.body)).toEqual({ node_id: NODE, client_addrs: ["10.0.0.9:5000", "[::1]:6000"] });
  });

  test("showJob", async () => {
    await expect(client.dcs.showJob("job-1")).resolves.toEqual({
      jobId: "job-1",
      jobType: "scanClients",
      status: "SUCCESS",
      beginTime: "b",
      endTime: "e",
      failReason: "",
    });
    expect(server.requests[0]!.path).toBe(`${V2}/jobs/job-1`);
  });

  test("GeminiDB listSessions, for the instance and for one node", async () => {
    const all = await client.geminidb.listSessions(INSTANCE);
    await client.geminidb.listSessions(INSTANCE, { nodeId: NODE });
    expect(server.requests.map((r) => `${r.method} ${r.path}?${r.rawQuery}`)).toEqual([
      `GET ${V3}/instances/${INSTANCE}/sessions?`,
      `GET ${V3}/instances/${INSTANCE}/sessions?node_id=${NODE}`,
    ]);
    expect(all.nodeSessions).toHaveLength(2);
    expect(all.nodeSessions[0]).toMatchObject({
      nodeId: "8436a91546294036b75931e879882200in06",
      totalCount: 1,
    });
    expect(all.nodeSessions[0]!.sessions[0]).toMatchObject({
      id: "54487",
      db: "0",
      fd: "1311",
      age: 8888581,
    });
  });

  test("GeminiDB closeSessions is a DELETE with no body", async () => {
    await expect(client.geminidb.closeSessions(INSTANCE, { nodeId: NODE })).resolves.toBeUndefined();
    await client.geminidb.closeSessions(INSTANCE);
    expect(server.requests.map((r) => [r.method, `${r.path}?${r.rawQuery}`, r.body])).toEqual([
      ["DELETE", `${V3}/instances/${INSTANCE}/sessions?node_id=${NODE}`, ""],
      ["DELETE", `${V3}/instances/${INSTANCE}/sessions?`, ""],
    ]);
  });

  test("GeminiDB node sessions: list a page and close some or all", async () => {
    const page = await client.geminidb.listNodeSessions(NODE, { offset: 0, limit: 50, addrPrefix: "10.0." });
    expect(page).toEqual({
      totalCount: 2,
      sessions: [
        { id: "1", addr: "10.0.0.9:5000" },
        { id: "2", idle: 9 },
      ],
    });
    await client.geminidb.closeNodeSessions(NODE, { isAll: false, sessionIds: ["1", "2"] });
    await client.geminidb.closeNodeSessions(NODE, { isAll: true });
    expect(server.requests.map((r) => [r.method, `${r.path}?${r.rawQuery}`, r.body])).toEqual([
      ["GET", `${V3}/redis/nodes/${NODE}/sessions?offset=0&limit=50&addr_prefix=10.0.`, ""],
      ["DELETE", `${V3}/redis/nodes/${NODE}/sessions?`, `{"is_all":false,"session_ids":["1","2"]}`],
      ["DELETE", `${V3}/redis/nodes/${NODE}/sessions?`, `{"is_all":true}`],
    ]);
  });

  test("query values are percent-encoded as the signature expects (space, *, unicode)", async () => {
    await client.dcs.listClients(INSTANCE, { nodeId: NODE, addr: "a b*ü(~)" });
    expect(server.requests[0]!.rawQuery).toBe(`node_id=${NODE}&addr=a%20b%2A%C3%BC%28~%29`);
    expect(server.requests[0]!.query.get("addr")).toBe("a b*ü(~)");
  });

  test("sequential calls reuse kept-alive connections instead of opening one each", async () => {
    for (let i = 0; i < 10; i++) {
      await client.dcs.showJob("job-1");
      await client.geminidb.listSessions(INSTANCE);
    }
    expect(server.requests).toHaveLength(20);
    // undici may open a second connection when a call starts just before the previous one is released.
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
  });

  test("the request id is read from X-Request-Id or X-Openstack-Request-Id", () => {
    expect(requestIdOf({ "x-request-id": "a" })).toBe("a");
    expect(requestIdOf({ "x-openstack-request-id": "b" })).toBe("b");
    expect(requestIdOf({ "x-request-id": ["c", "d"] })).toBe("c");
    expect(requestIdOf({})).toBeUndefined();
  });

  test("the configuration shown holds no secret", () => {
    expect(client.config).toEqual({
      region: undefined,
      projectId: PROJECT_ID,
      endpoint: server.url,
      geminidbEndpoint: server.url,
      auth: "aksk",
    });
  });
});

describe("credentials on the wire", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(api);
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.reset();
  });

  test("temporary AK/SK sends and signs X-Security-Token", async () => {
    const client = clientFor(server.url, {
      credentials: {
        kind: "aksk",
        accessKey: ACCESS_KEY,
        secretKey: SECRET_KEY,
        securityToken: SECURITY_TOKEN,
      },
    });
    try {
      expect(client.config.auth).toBe("temporary-aksk");
      await client.dcs.showJob("job-1");
      const [rec] = server.requests;
      expect(rec!.headers["x-security-token"]).toBe(SECURITY_TOKEN);
      expect(String(rec!.headers.authorization)).toContain("x-security-token");
      expectValidSignature(server, rec!);
    } finally {
      await client.close();
    }
  });

  test("an IAM token goes in X-Auth-Token and nothing is signed", async () => {
    const client = clientFor(server.url, { credentials: { kind: "token", authToken: AUTH_TOKEN } });
    try {
      await client.dcs.showJob("job-1");
      const [rec] = server.requests;
      expect(rec!.headers["x-auth-token"]).toBe(AUTH_TOKEN);
      expect(rec!.headers.authorization).toBeUndefined();
      expect(rec!.headers["x-sdk-date"]).toBeUndefined();
      expect(rec!.headers["x-project-id"]).toBe(PROJECT_ID);
    } finally {
      await client.close();
    }
  });
});

describe("input validation happens before any request", () => {
  let server: TestServer;
  let client: SessionsClient;
  beforeAll(async () => {
    server = await startServer(api);
    client = clientFor(server.url);
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  // Every row has four entries: Jest reads a shorter row as a test that takes a `done` callback.
  const cases: [string, (c: SessionsClient) => unknown, string, RegExp | undefined][] = [
    ["empty instance id", (c) => c.dcs.listNodes(""), "instanceId", /A-Z a-z 0-9/],
    ["instance id with a slash", (c) => c.dcs.listNodes("a/../b"), "instanceId", undefined],
    ["missing node id", (c) => c.dcs.scanClients(INSTANCE, {} as never), "nodeId", /string/],
    [
      "cleanCache not a boolean",
      (c) => c.dcs.scanClients(INSTANCE, { nodeId: NODE, cleanCache: "yes" as never }),
      "cleanCache",
      /boolean/,
    ],
    ["limit 0", (c) => c.dcs.listClients(INSTANCE, { nodeId: NODE, limit: 0 }), "limit", />= 1/],
    ["limit 1001", (c) => c.dcs.listClients(INSTANCE, { nodeId: NODE, limit: 1001 }), "limit", /<= 1000/],
    ["offset -1", (c) => c.dcs.listClients(INSTANCE, { nodeId: NODE, offset: -1 }), "offset", />= 0/],
    [
      "order",
      (c) => c.dcs.listClients(INSTANCE, { nodeId: NODE, order: "up" as never }),
      "order",
      /asc, desc/,
    ],
    ["sort", (c) => c.dcs.listClients(INSTANCE, { nodeId: NODE, sort: "mem" as never }), "sort", /idle/],
    [
      "a typo in a field",
      (c) => c.dcs.listClients(INSTANCE, { nodeId: NODE, ofset: 3 } as never),
      "request.ofset",
      /nodeId, offset/,
    ],
    ["node id with a space", (c) => c.dcs.listClients(INSTANCE, { nodeId: "a b" }), "nodeId", undefined],
    ["pageSize 0", (c) => c.dcs.listAllClients(INSTANCE, { nodeId: NODE, pageSize: 0 }), "pageSize", />= 1/],
    [
      "concurrency 0",
      (c) => c.dcs.listAllClients(INSTANCE, { nodeId: NODE, concurrency: 0 }),
      "concurrency",
      />= 1/,
    ],
    [
      "kill-all with no target",
      (c) => c.dcs.killAllClients(INSTANCE, {} as never),
      "nodeId",
      /kill_all_nodes|required/,
    ],
    [
      "kill-all allNodes false",
      (c) => c.dcs.killAllClients(INSTANCE, { allNodes: false } as never),
      "allNodes",
      /true/,
    ],
    [
      "kill with no addresses",
      (c) => c.dcs.killClients(INSTANCE, { nodeId: NODE, clientAddrs: [] }),
      "clientAddrs",
      /at least 1/,
    ],
    [
      "kill with a bad address",
      (c) => c.dcs.killClients(INSTANCE, { nodeId: NODE, clientAddrs: ["nope"] }),
      "clientAddrs[0]",
      /ip:port/,
    ],
    [
      "kill-all with both a node and every node",
      (c) => c.dcs.killAllClients(INSTANCE, { nodeId: NODE, allNodes: true } as never),
      "nodeId",
      /not both/,
    ],
    [
      "kill with port 99999",
      (c) => c.dcs.killClients(INSTANCE, { nodeId: NODE, clientAddrs: ["10.0.0.1:99999"] }),
      "clientAddrs[0]",
      /port 1-65535/,
    ],
    [
      "kill with port 0",
      (c) => c.dcs.killClients(INSTANCE, { nodeId: NODE, clientAddrs: ["10.0.0.1:6379", "10.0.0.1:0"] }),
      "clientAddrs[1]",
      /port 1-65535/,
    ],
    [
      "kill with an IPv4 part above 255",
      (c) => c.dcs.killClients(INSTANCE, { nodeId: NODE, clientAddrs: ["10.0.0.256:6379"] }),
      "clientAddrs[0]",
      /0-255/,
    ],
    [
      "a lone surrogate in addr",
      (c) => c.dcs.listClients(INSTANCE, { nodeId: NODE, addr: "10.0.0.1:\uDC00" }),
      "addr",
      /lone UTF-16 surrogates/,
    ],
    [
      "a lone surrogate in a listAll addr",
      (c) => c.dcs.listAllClients(INSTANCE, { nodeId: NODE, addr: "\uD83D" }),
      "addr",
      /surrogate/,
    ],
    [
      "a newline in a GeminiDB address prefix",
      (c) => c.geminidb.listNodeSessions(NODE, { addrPrefix: "10.0.0.1\r\n" }),
      "addrPrefix",
      /control characters/,
    ],
    ["job id", (c) => c.dcs.showJob("job?x=1"), "jobId", undefined],
    ["wait timeout", (c) => c.dcs.waitForJob("job-1", { timeoutMs: 0 }), "timeoutMs", />= 1/],
    ["GeminiDB node id", (c) => c.geminidb.listSessions(INSTANCE, { nodeId: "" }), "nodeId", undefined],
    ["GeminiDB page limit", (c) => c.geminidb.listNodeSessions(NODE, { limit: 101 }), "limit", /<= 100/],
    [
      "GeminiDB close without ids",
      (c) => c.geminidb.closeNodeSessions(NODE, { isAll: false, sessionIds: [] }),
      "sessionIds",
      undefined,
    ],
  ];

  test.each(cases)("%s", async (_name, call, field, allowed) => {
    let caught: unknown;
    try {
      // listAllClients throws at the call; the others reject.
      const result = call(client);
      if (result && typeof (result as Promise<unknown>).then === "function") await result;
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).field).toBe(field);
    if (allowed) expect((caught as ValidationError).message).toMatch(allowed);
    expect(server.requests).toHaveLength(0);
  });
});

/** A node with `total` sessions, served in pages by offset/limit, ids "0".."total-1". */
function sessionsApi(total: number, opts: { emptyFrom?: number; delayMs?: number } = {}) {
  return async (rec: Recorded, res: ServerResponse) => {
    const offset = Number(rec.query.get("offset") ?? 0);
    const limit = Number(rec.query.get("limit") ?? 10);
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    const end =
      opts.emptyFrom !== undefined && offset >= opts.emptyFrom ? offset : Math.min(total, offset + limit);
    const clients = [];
    for (let i = offset; i < end; i++)
      clients.push({ id: String(i), addr: `10.0.${(i >> 8) & 255}.${i & 255}:1000`, idle: i });
    json(res, 200, { time: "2026-01-01T00:00:00Z", count: total, clients });
  };
}

describe("listAllClients", () => {
  let server: TestServer;
  let client: SessionsClient;
  beforeAll(async () => {
    server = await startServer(sessionsApi(0));
    client = clientFor(server.url);
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });
  beforeEach(() => {
    server.reset();
  });

  test("5,500 sessions: 6 pages of 1000, yielded in order, fetched ahead but never more than `concurrency` held", async () => {
    server.setHandler(sessionsApi(5500, { delayMs: 15 }));
    const concurrency = 3;
    const seen: string[] = [];
    let maxAhead = 0;
    let first: { time: string; count: number } | undefined;
    for await (const c of client.dcs.listAllClients(INSTANCE, {
      nodeId: NODE,
      concurrency,
      onFirstPage: (i) => (first = i),
    })) {
      // Pages requested so far minus the page being consumed: never more than concurrency - 1 ahead.
      const consuming = Math.floor(seen.length / 1000);
      maxAhead = Math.max(maxAhead, server.requests.length - 1 - consuming);
      seen.push(c.id!);
    }
    expect(first).toEqual({ time: "2026-01-01T00:00:00Z", count: 5500 });
    expect(seen).toHaveLength(5500);
    expect(seen).toEqual(Array.from({ length: 5500 }, (_v, i) => String(i)));
    expect(server.requests.map((r) => `${r.query.get("offset")}/${r.query.get("limit")}`)).toEqual([
      "0/1000",
      "1000/1000",
      "2000/1000",
      "3000/1000",
      "4000/1000",
      "5000/1000",
    ]);
    expect(maxAhead).toBeLessThanOrEqual(concurrency - 1);
    expect(maxAhead).toBeGreaterThan(0);
    expect(server.maxInFlight()).toBeLessThanOrEqual(concurrency);
  });

  test("every page's query carries the request's filter and order, then its own offset", async () => {
    server.setHandler(sessionsApi(25));
    const request = { nodeId: NODE, addr: "10.0.0.1", sort: "idle", order: "desc", pageSize: 10 } as const;
    let n = 0;
    for await (const _c of client.dcs.listAllClients(INSTANCE, { ...request, concurrency: 1 })) n++;
    const listClientPages = client.dcs.listClientPages!.bind(client.dcs);
    for await (const page of listClientPages(INSTANCE, request)) n += page.size;
    expect(n).toBe(50);
    const queries = server.requests.map((r) => r.rawQuery);
    const expected = [0, 10, 20].map(
      (offset) => `node_id=${NODE}&limit=10&addr=10.0.0.1&sort=idle&order=desc&offset=${offset}`,
    );
    expect(queries.slice(0, 3)).toEqual(expected);
    expect([...queries.slice(3)].sort()).toEqual(expected);
    for (const rec of server.requests) expectValidSignature(server, rec);
  });

  test("with concurrency 1 pages are fetched one at a time", async () => {
    server.setHandler(sessionsApi(25, { delayMs: 2 }));
    const ids: string[] = [];
    for await (const c of client.dcs.listAllClients(INSTANCE, { nodeId: NODE, pageSize: 10, concurrency: 1 }))
      ids.push(c.id!);
    expect(ids).toHaveLength(25);
    expect(server.requests.map((r) => r.query.get("offset"))).toEqual(["0", "10", "20"]);
    expect(server.maxInFlight()).toBe(1);
  });

  test("stops at an empty page even though count says more (the cache quirk)", async () => {
    server.setHandler(sessionsApi(5500, { emptyFrom: 3000 }));
    let n = 0;
    for await (const _c of client.dcs.listAllClients(INSTANCE, { nodeId: NODE, concurrency: 2 })) n++;
    expect(n).toBe(3000);
    // Pages past the empty one are not asked for beyond what was already in flight.
    expect(server.requests.length).toBeLessThanOrEqual(5);
  });

  test("no sessions: one request, nothing yielded", async () => {
    server.setHandler(sessionsApi(0));
    const got: ClientInfo[] = [];
    for await (const c of client.dcs.listAllClients(INSTANCE, { nodeId: NODE })) got.push(c);
    expect(got).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  test("a consumer that stops early leaves nothing running", async () => {
    server.setHandler(sessionsApi(5000, { delayMs: 10 }));
    let n = 0;
    for await (const _c of client.dcs.listAllClients(INSTANCE, {
      nodeId: NODE,
      pageSize: 100,
      concurrency: 4,
    })) {
      if (++n === 150) break;
    }
    expect(n).toBe(150);
    await new Promise((r) => setTimeout(r, 30));
    expect(server.requests.length).toBeLessThanOrEqual(5);
  });

  test("a page that fails ends the iteration with its error", async () => {
    server.setHandler(async (rec, res) => {
      if (rec.query.get("offset") === "20")
        return json(res, 500, { error_code: "DCS.5000", error_msg: "boom" });
      return sessionsApi(50)(rec, res);
    });
    const ids: string[] = [];
    const run = async () => {
      for await (const c of client.dcs.listAllClients(INSTANCE, {
        nodeId: NODE,
        pageSize: 10,
        concurrency: 3,
      }))
        ids.push(c.id!);
    };
    await expect(run()).rejects.toMatchObject({
      name: "ApiError",
      status: 500,
      errorCode: "DCS.5000",
      operation: "listClients",
    });
    expect(ids).toHaveLength(20);
  });
});

describe("waitForJob", () => {
  let server: TestServer;
  let client: SessionsClient;
  beforeAll(async () => {
    server = await startServer(api);
    client = clientFor(server.url);
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });
  beforeEach(() => {
    server.reset();
  });
  const fast = { initialIntervalMs: 2, maxIntervalMs: 8 };

  test("INIT → RUNNING → SUCCESS", async () => {
    const states = ["INIT", "RUNNING", "RUNNING", "SUCCESS"];
    server.setHandler((_rec, res) =>
      json(res, 200, { job_id: "j1", status: states[Math.min(server.requests.length - 1, 3)] }),
    );
    await expect(client.dcs.waitForJob("j1", fast)).resolves.toMatchObject({
      jobId: "j1",
      status: "SUCCESS",
    });
    expect(server.requests).toHaveLength(4);
    expect(server.requests.every((r) => r.path === `${V2}/jobs/j1`)).toBe(true);
  });

  test("FAIL → JobFailedError with fail_reason", async () => {
    server.setHandler((_rec, res) =>
      json(res, 200, { job_id: "j2", status: "FAIL", fail_reason: "node is busy" }),
    );
    const error = await client.dcs.waitForJob("j2", fast).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error).toMatchObject({ jobId: "j2", failReason: "node is busy" });
    expect(String(error)).toContain("node is busy");
  });

  test("a job that never ends → TimeoutError", async () => {
    server.setHandler((_rec, res) => json(res, 200, { job_id: "j3", status: "RUNNING" }));
    const error = await client.dcs.waitForJob("j3", { ...fast, timeoutMs: 60 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ operation: "waitForJob", timeoutMs: 60 });
    expect(String(error)).toContain("RUNNING");
    expect(server.requests.length).toBeGreaterThan(1);
  });

  test("the poll interval doubles from the first interval up to the cap", async () => {
    server.setHandler((_rec, res) => json(res, 200, { job_id: "j4", status: "RUNNING" }));
    const spy = jest.spyOn(global, "setTimeout");
    try {
      await client.dcs
        .waitForJob("j4", { initialIntervalMs: 3, maxIntervalMs: 12, timeoutMs: 150 })
        .catch(() => undefined);
      const delays = spy.mock.calls
        .map((c) => c[1])
        .filter((d): d is number => typeof d === "number" && d <= 12);
      expect(delays.slice(0, 4)).toEqual([3, 6, 12, 12]);
    } finally {
      spy.mockRestore();
    }
  });

  test("an unknown job (404) without a fallback is the 404 error, asked once", async () => {
    server.setHandler((_rec, res) => json(res, 404, { error_code: "DCS.4133", error_msg: "job not found" }));
    await expect(client.dcs.waitForJob("j5", fast)).rejects.toMatchObject({
      name: "ApiError",
      status: 404,
      errorCode: "DCS.4133",
    });
    expect(server.requests).toHaveLength(1);
  });

  test("an unknown job with a fallback polls the list until its time reaches the scan's start", async () => {
    const since = new Date("2026-03-01T10:00:00Z");
    const times = ["2026-03-01T09:59:00Z", "2026-03-01T09:59:59.900Z", "2026-03-01T10:00:01Z"];
    let lists = 0;
    server.setHandler((rec, res) => {
      if (rec.path.startsWith(`${V2}/jobs/`))
        return json(res, 404, { error_code: "DCS.4133", error_msg: "no such job" });
      if (lists === 0) {
        lists++;
        return json(res, 500, { error_code: "DCS.5001", error_msg: "no cached list yet" });
      }
      return json(res, 200, { time: times[Math.min(lists++ - 1, 2)], clients: [], count: 0 });
    });
    const job = await client.dcs.waitForJob("j6", {
      ...fast,
      fallback: { instanceId: INSTANCE, nodeId: NODE, since },
    });
    expect(job).toEqual({ jobId: "j6", status: "SUCCESS", endTime: "2026-03-01T10:00:01Z" });
    const lists_ = server.requests.filter((r) => r.path === `${V2}/instances/${INSTANCE}/clients`);
    expect(lists_).toHaveLength(4);
    expect(Object.fromEntries(lists_[0]!.query)).toEqual({ node_id: NODE, limit: "1" });
  });
});

describe("unexpected answers", () => {
  let server: TestServer;
  let client: SessionsClient;
  beforeAll(async () => {
    server = await startServer(api);
    client = clientFor(server.url);
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  test("a body that is not JSON is an ApiError naming the operation, after the read was asked again", async () => {
    server.reset();
    server.setHandler((_rec, res) => json(res, 200, "{ not json"));
    await expect(client.dcs.showJob("j")).rejects.toThrow(
      /showJob failed: GET .*jobs\/j — HTTP 200 — the response body is not valid JSON.*after 4 attempts/,
    );
    expect(server.requests).toHaveLength(4);
  });

  test("a read cut off mid-body is asked again and succeeds; a kill answered so is not repeated", async () => {
    server.reset();
    let calls = 0;
    server.setHandler((_rec, res) =>
      json(res, 200, ++calls === 1 ? '{"job_id": "j", "status": ' : { job_id: "j", status: "SUCCESS" }),
    );
    expect(await client.dcs.showJob("j")).toMatchObject({ status: "SUCCESS" });
    expect(server.requests).toHaveLength(2);
    server.reset();
    server.setHandler((_rec, res) => json(res, 200, '{"job_id": "k'));
    const error = await client.dcs.killAllClients(INSTANCE, { allNodes: true }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/not valid JSON.*may have taken effect/);
    expect(server.requests).toHaveLength(1);
  });

  test.each<[string, (c: SessionsClient) => Promise<unknown>, unknown, RegExp]>([
    [
      "list nodes answered with an error document",
      (c) => c.dcs.listNodes(INSTANCE),
      { error_code: "DCS.4004", error_msg: "instance gone" },
      /unexpected response: nodes: .*the body says: instance gone/,
    ],
    [
      "list clients without clients",
      (c) => c.dcs.listClients(INSTANCE, { nodeId: NODE }),
      { count: 3 },
      /clients/,
    ],
    ["a scan without a job id", (c) => c.dcs.scanClients(INSTANCE, { nodeId: NODE }), {}, /job_id/],
    ["a job without a status", (c) => c.dcs.showJob("j"), { job_id: "j" }, /status/],
    [
      "GeminiDB sessions without node_sessions",
      (c) => c.geminidb.listSessions(INSTANCE),
      {},
      /node_sessions/,
    ],
    [
      "a GeminiDB page without sessions",
      (c) => c.geminidb.listNodeSessions(NODE),
      { total_count: 1 },
      /sessions/,
    ],
  ])(
    "a 200 answer missing its required field is a typed error, never empty: %s",
    async (_w, call, body, message) => {
      server.setHandler((_rec, res) => json(res, 200, body));
      const error = await call(client).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(200);
      expect(String(error)).toMatch(message);
    },
  );

  test("a null list is read as empty (a present field, no sessions)", async () => {
    server.setHandler((_rec, res) => json(res, 200, { clients: null, count: 0 }));
    expect(await client.dcs.listClients(INSTANCE, { nodeId: NODE })).toMatchObject({ clients: [], count: 0 });
  });

  test("a body of the wrong shape is an ApiError naming the field", async () => {
    server.setHandler((_rec, res) => json(res, 200, { job_id: "j", job_type: "scan" }));
    const error = await client.dcs.showJob("j").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(String(error)).toMatch(/unexpected response: status/);
  });

  test("a closed client refuses further calls", async () => {
    const other = clientFor(server.url);
    await other.close();
    await expect(other.dcs.showJob("j")).rejects.toThrow(/closed/);
  });
});
