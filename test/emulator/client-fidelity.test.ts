/**
 * Where the APIs differ from a naive reading, the client and the emulator must agree with the reference pages
 * (issue 9, "Fidelity fixes"), over real loopback HTTP: GeminiDB's error shape and codes, the types the pages
 * give, undocumented job statuses, job reads that fail for a while, and nodes listed without a `node_id`.
 */
import { createClient } from "../../src/api/client";
import { ApiError, TimeoutError } from "../../src/api/errors";
import type { Logger, SessionsClient } from "../../src/api/types";
import { startEmulator } from "../../src/emulator";
import { createSyntheticNodes } from "../../src/emulator/synthetic";
import type { EmulatorHandle, InstanceSpec } from "../../src/emulator/types";
import { openClients, startRedisServers, type OpenClients, type RedisServers } from "../../src/testing/redis";
import { describeWithRedis } from "../support/redis";

const DCS = "dcs-fidelity-1";
const GEM = "gem-fidelity-1";

function instances(): InstanceSpec[] {
  const dcs = createSyntheticNodes({ nodes: 3, sessionsPerNode: 25, seed: 11 }, Date.now);
  const gem = createSyntheticNodes({ nodes: 2, sessionsPerNode: 60, seed: 12 }, Date.now);
  return [
    {
      instanceId: DCS,
      engine: "dcs",
      nodes: [
        ...dcs.map((backend, i) => ({
          nodeId: `proxy-${i}`,
          name: `proxy-${i}`,
          role: "redis-proxy" as const,
          type: "proxy" as const,
          backend,
          port: 6380 + i,
          // The third proxy is listed as a node being created: no node_id.
          listedWithoutId: i === 2,
        })),
        { nodeId: "data-master", role: "redis-server", type: "master" },
      ],
    },
    {
      instanceId: GEM,
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
let client: SessionsClient;
const logged: Array<{ level: string; message: string }> = [];

function clientOf(handle: EmulatorHandle, logger?: Logger): SessionsClient {
  return createClient({
    endpoint: handle.endpoint,
    geminidbEndpoint: handle.geminidbEndpoint,
    projectId: handle.projectId,
    region: handle.region,
    credentials: { kind: "aksk", accessKey: handle.accessKey, secretKey: handle.secretKey },
    env: {},
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    logger,
  });
}

/** What a promise rejects with (the test fails if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

beforeAll(async () => {
  emulator = await startEmulator({ instances: instances(), jobMs: 60 });
  client = clientOf(emulator, (level, message) => logged.push({ level, message }));
});
afterAll(async () => {
  await client.close();
  await emulator.close();
});
beforeEach(async () => {
  await emulator.control.clearFaults();
  await emulator.control.resetCounters();
  logged.length = 0;
});

describe("GeminiDB errors {errCode, externalMessage} are typed like DCS's", () => {
  test("an unknown node: 404 DBS.200013 with the service's message, in the ApiError and its text", async () => {
    const error = await rejectionOf(client.geminidb.listNodeSessions("no-such-node"));
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      operation: "geminidbListNodeSessions",
      status: 404,
      errorCode: "DBS.200013",
      errorMsg: "node no-such-node does not exist",
    });
    expect(String(error)).toMatch(/HTTP 404 — DBS\.200013 — node no-such-node does not exist/);
  });

  test("an unknown instance: 404 DBS.200002", async () => {
    const error = await rejectionOf(client.geminidb.listSessions("no-such-instance"));
    expect(error).toMatchObject({ name: "ApiError", status: 404, errorCode: "DBS.200002" });
  });

  test("a parameter error (injected 400): DBS.200001, asked once", async () => {
    await emulator.control.setFaults([
      { route: "geminidbListSessions", times: 1, fault: { kind: "status", status: 400 } },
    ]);
    const error = await rejectionOf(client.geminidb.listSessions(GEM));
    expect(error).toMatchObject({ status: 400, errorCode: "DBS.200001", errorMsg: expect.any(String) });
    expect((await emulator.control.counters()).geminidbListSessions).toBe(1);
  });

  test("DCS errors keep {error_code, error_msg}", async () => {
    const error = await rejectionOf(client.dcs.scanClients(DCS, { nodeId: "no-such-node" }));
    expect(error).toMatchObject({
      status: 404,
      errorCode: "DCS.4004",
      errorMsg: expect.stringMatching(/node/),
    });
  });
});

describe("the types the reference pages give", () => {
  test("GeminiDB session fields sent as Strings are read as numbers, newest session first", async () => {
    const { nodeSessions } = await client.geminidb.listSessions(GEM, { nodeId: "gem-0" });
    const sessions = nodeSessions[0]!.sessions;
    expect(sessions).toHaveLength(60);
    for (const s of sessions) {
      expect(typeof s.age).toBe("number");
      expect(typeof s.idle).toBe("number");
      expect(typeof s.sub).toBe("number");
      expect(typeof s.id).toBe("string");
    }
    const ages = sessions.map((s) => s.age as number);
    expect(ages).toEqual([...ages].sort((a, b) => a - b));
    const page = await client.geminidb.listNodeSessions("gem-0", { limit: 100 });
    expect(page.sessions.map((s) => s.age)).toEqual(ages);
  });

  test("node_port sent as a String is read as a number", async () => {
    const { nodes } = await client.dcs.listNodes(DCS);
    expect(nodes.find((n) => n.nodeId === "proxy-0")?.nodePort).toBe(6380);
  });
});

describe("GeminiDB session-statistics: a cheap count of a node", () => {
  test("the total and the busiest client IPs agree with the node's session list", async () => {
    const stats = await client.geminidb.nodeSessionStatistics("gem-1");
    const { nodeSessions } = await client.geminidb.listSessions(GEM, { nodeId: "gem-1" });
    const sessions = nodeSessions[0]!.sessions;
    expect(stats.totalConnections).toBe(sessions.length);
    const byIp = new Map<string, number>();
    for (const s of sessions) {
      const ip = (s.addr as string).slice(0, (s.addr as string).lastIndexOf(":"));
      byIp.set(ip, (byIp.get(ip) ?? 0) + 1);
    }
    expect(stats.topSourceIps.length).toBe(Math.min(10, byIp.size));
    const counts = stats.topSourceIps.map((t) => t.connections);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    for (const { clientIp, connections } of stats.topSourceIps) expect(byIp.get(clientIp)).toBe(connections);
    expect(Math.max(...byIp.values())).toBe(counts[0]);
    expect(stats.activeConnections).toBe(sessions.filter((s) => (s.idle ?? 0) < 1).length);
    expect((await emulator.control.counters()).geminidbNodeSessionStatistics).toBe(1);
  });

  test("an unknown node: 404 DBS.200013", async () => {
    const error = await rejectionOf(client.geminidb.nodeSessionStatistics("no-such-node"));
    expect(error).toMatchObject({ operation: "geminidbNodeSessionStatistics", errorCode: "DBS.200013" });
  });
});

describe("nodes listed without a node_id", () => {
  test("are left out of `nodes`, kept in `withoutNodeId`, and a warning is logged", async () => {
    const list = await client.dcs.listNodes(DCS);
    expect(list.nodes.map((n) => n.nodeId)).toEqual(["proxy-0", "proxy-1", "data-master"]);
    expect(list.withoutNodeId).toEqual([
      expect.objectContaining({ name: "proxy-2", nodeRole: "redis-proxy" }),
    ]);
    expect(list.total).toBe(4);
    const warnings = logged.filter((l) => l.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/1 node\(s\).*without a node_id.*proxy-2/);
  });
});

describe("job status", () => {
  async function scan(nodeId = "proxy-0"): Promise<string> {
    return (await client.dcs.scanClients(DCS, { nodeId })).jobId;
  }

  test("an undocumented status is still running: the wait goes on to SUCCESS", async () => {
    await emulator.control.setFaults([
      { route: "scanClients", times: 1, fault: { kind: "job-status", status: "QUEUED" } },
    ]);
    const jobId = await scan();
    expect((await client.dcs.showJob(jobId)).status).toBe("QUEUED");
    const job = await client.dcs.waitForJob(jobId, { timeoutMs: 10_000, initialIntervalMs: 5 });
    expect(job.status).toBe("SUCCESS");
    expect(job.beginTime).toMatch(/^\d{13}$/);
    expect(Number(job.endTime)).toBeGreaterThanOrEqual(Number(job.beginTime));
  });

  test("a job that never ends: a TimeoutError naming the job and the last status seen", async () => {
    await emulator.control.setFaults([{ route: "scanClients", times: 1, fault: { kind: "job-never-ends" } }]);
    const jobId = await scan();
    const error = await rejectionOf(
      client.dcs.waitForJob(jobId, { timeoutMs: 300, initialIntervalMs: 5, maxIntervalMs: 20 }),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect(String(error)).toContain(`job ${jobId}`);
    expect(String(error)).toMatch(/last status seen: RUNNING/);
  });

  test("an undocumented status until the deadline: the TimeoutError names it", async () => {
    const slow = await startEmulator({ instances: instances(), jobMs: 5_000 });
    const slowClient = clientOf(slow);
    try {
      await slow.control.setFaults([
        { route: "scanClients", times: 1, fault: { kind: "job-status", status: "WAITING_FOR_LOCK" } },
      ]);
      const { jobId } = await slowClient.dcs.scanClients(DCS, { nodeId: "proxy-0" });
      const error = await rejectionOf(
        slowClient.dcs.waitForJob(jobId, { timeoutMs: 300, initialIntervalMs: 5, maxIntervalMs: 20 }),
      );
      expect(error).toBeInstanceOf(TimeoutError);
      expect(String(error)).toMatch(new RegExp(`job ${jobId}.*last status seen: WAITING_FOR_LOCK`));
    } finally {
      await slowClient.close();
      await slow.close();
    }
  });

  test.each([
    ["500 twice", { kind: "status", status: 500 } as const, 2],
    ["503 six times (past the transport's own retries)", { kind: "status", status: 503 } as const, 6],
    ["429 six times", { kind: "status", status: 429, retryAfterSeconds: 0 } as const, 6],
    ["malformed JSON six times", { kind: "malformed-json" } as const, 6],
    ["truncated JSON six times", { kind: "truncated-json" } as const, 6],
  ])(
    "a job read answered %s is asked again as a read, and the wait ends in SUCCESS",
    async (_n, fault, times) => {
      const jobId = await scan();
      await emulator.control.setFaults([{ route: "showJob", times, fault }]);
      const job = await client.dcs.waitForJob(jobId, {
        timeoutMs: 20_000,
        initialIntervalMs: 5,
        maxIntervalMs: 20,
      });
      expect(job.status).toBe("SUCCESS");
      expect((await emulator.control.counters()).showJob).toBeGreaterThan(times);
    },
  );

  test.each([
    [400, "DCS.4000"],
    [403, "APIGW.0302"],
  ] as const)("a job read answered %i is not asked again", async (status, code) => {
    const jobId = await scan();
    await emulator.control.setFaults([{ route: "showJob", fault: { kind: "status", status } }]);
    const error = await rejectionOf(client.dcs.waitForJob(jobId, { timeoutMs: 5_000, initialIntervalMs: 5 }));
    expect(error).toMatchObject({ status, errorCode: code });
    expect((await emulator.control.counters()).showJob).toBe(1);
  });
});

describeWithRedis("GeminiDB on a real redis-server lists a node's sessions newest first", () => {
  let servers: RedisServers;
  let gem: EmulatorHandle;
  let gemClient: SessionsClient;
  const opened: OpenClients[] = [];

  beforeAll(async () => {
    servers = await startRedisServers(1);
    gem = await startEmulator({ engine: "geminidb", redis: servers.urls });
    gemClient = clientOf(gem);
  });
  afterAll(async () => {
    for (const o of opened) await o.closeAll();
    await gemClient?.close();
    await gem?.close();
    await servers?.stop();
  });

  test("connections opened one after another come back last-opened first, in both listings", async () => {
    for (const name of ["first", "second", "third"])
      opened.push(await openClients(servers.urls[0]!, [{ name }]));
    const { nodeSessions } = await gemClient.geminidb.listSessions(gem.instanceId);
    expect(nodeSessions[0]!.sessions.map((s) => s.name)).toEqual(["third", "second", "first"]);
    const page = await gemClient.geminidb.listNodeSessions(gem.nodeIds[0]!, { limit: 2 });
    expect(page.sessions.map((s) => s.name)).toEqual(["third", "second"]);
    expect(page.totalCount).toBe(3);
  });
});
