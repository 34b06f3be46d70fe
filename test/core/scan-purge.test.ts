/**
 * scanSessions and purgeSessions against the real emulator over loopback, through the real client: counts
 * match the synthetic totals, every guard holds (checked on the emulator's own counters), a purge sends
 * exactly one kill-all, and the after snapshot shows the drop.
 */
import { ApiError, GuardRefusedError, JobFailedError, ValidationError } from "../../src/api/errors";
import { createClient } from "../../src/api/client";
import type { ClientInfo } from "../../src/api/schemas";
import type { SessionsClient } from "../../src/api/types";
import { clientIpOf, idleBucketOf, NONE_KEY } from "../../src/core/aggregate";
import { purgeSessions } from "../../src/core/purge";
import { scanSessions } from "../../src/core/scan";
import type { ProgressEvent, PurgeOptions } from "../../src/core/types";
import { startEmulator, type Counters, type EmulatorHandle, type EmulatorOptions } from "../../src/emulator";

const NODES = 3;
const PER_NODE = 700;

interface Env {
  emulator: EmulatorHandle;
  client: SessionsClient;
  /** Proxies: the nodes that hold sessions. */
  sessionNodes: string[];
}

async function start(options: EmulatorOptions): Promise<Env> {
  const emulator = await startEmulator({ jobMs: 20, ...options });
  const client = createClient({ env: emulator.env, retry: { baseDelayMs: 10 } });
  const listed = await client.dcs.listNodes(emulator.instanceId).catch(() => undefined);
  const sessionNodes = listed
    ? listed.nodes.filter((n) => n.nodeRole === "redis-proxy").map((n) => n.nodeId)
    : emulator.nodeIds;
  await emulator.control.resetCounters();
  return { emulator, client, sessionNodes };
}

async function stop(env: Env | undefined): Promise<void> {
  if (!env) return;
  await env.client.close();
  await env.emulator.close();
}

function calls(counters: Counters): number {
  return Object.values(counters).reduce((a, b) => a + (b ?? 0), 0);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** Every session of a node read straight from the API, for an independent recount (small nodes only). */
async function everySession(env: Env, nodeId: string): Promise<ClientInfo[]> {
  const out: ClientInfo[] = [];
  for await (const c of env.client.dcs.listAllClients(env.emulator.instanceId, { nodeId })) out.push(c);
  return out;
}

function tally(values: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

// The emulator's wall clock is real; the window is judged on the purge's own clock, given here.
const insideWindow = {
  maintenanceWindow: { days: ["mon" as const], start: "02:00", end: "04:00", timeZone: "Europe/Paris" },
  now: () => new Date("2026-11-23T02:30:00Z"),
};
const outsideWindow = { ...insideWindow, now: () => new Date("2026-11-21T12:00:00Z") };

describe("scanSessions against the emulator (synthetic, proxy cluster)", () => {
  let env: Env;
  beforeAll(async () => {
    env = await start({ synthetic: { nodes: NODES, sessionsPerNode: PER_NODE, seed: 11 } });
  });
  afterAll(() => stop(env));
  beforeEach(() => env.emulator.control.resetCounters());

  it("counts every session of every proxy, with exact maps, buckets and maxima", async () => {
    const events: ProgressEvent[] = [];
    const snap = await scanSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      topN: 5,
      onProgress: (e) => events.push(e),
    });
    expect(snap.totalSessions).toBe(NODES * PER_NODE);
    expect(snap.nodes.map((n) => n.nodeId)).toEqual(env.sessionNodes);
    for (const node of snap.nodes) {
      expect(node).toMatchObject({ role: "redis-proxy", sessions: PER_NODE });
      expect(Date.parse(node.dataTime ?? "")).not.toBeNaN();
    }
    const counters = await env.emulator.control.counters();
    expect(counters.listNodes).toBe(1);
    expect(counters.scanClients).toBe(NODES);
    expect(counters.killAllClients ?? 0).toBe(0);
    expect(events.filter((e) => e.kind === "scan-started")).toHaveLength(NODES);

    // Recount independently from the cached lists the scan left behind.
    const all = (await Promise.all(env.sessionNodes.map((id) => everySession(env, id)))).flat();
    expect(all).toHaveLength(NODES * PER_NODE);
    const users = tally(all.map((c) => c.user || NONE_KEY));
    const expectUsers = Object.fromEntries(
      [...users].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 20),
    );
    expect(Object.entries(snap.byUser).filter(([k]) => k !== "other")).toEqual(Object.entries(expectUsers));
    for (const [field, key] of [
      ["byClientIp", (c: ClientInfo) => clientIpOf(c.addr ?? "")],
      ["byCommand", (c: ClientInfo) => c.cmd || NONE_KEY],
      ["byName", (c: ClientInfo) => c.name || NONE_KEY],
      ["byDb", (c: ClientInfo) => c.db || NONE_KEY],
    ] as const) {
      const map = snap[field];
      expect(Object.values(map).reduce((a, b) => a + b, 0)).toBe(all.length);
      const counts = tally(all.map(key));
      for (const [k, v] of Object.entries(map)) if (k !== "other") expect(v).toBe(counts.get(k));
    }
    const buckets = tally(all.map((c) => idleBucketOf(c.idle ?? 0)));
    expect(snap.idleBuckets).toEqual({
      "<1m": buckets.get("<1m") ?? 0,
      "1m-10m": buckets.get("1m-10m") ?? 0,
      "10m-1h": buckets.get("10m-1h") ?? 0,
      "1h-24h": buckets.get("1h-24h") ?? 0,
      ">=24h": buckets.get(">=24h") ?? 0,
    });
    expect(snap.maxIdleSeconds).toBe(Math.max(...all.map((c) => c.idle ?? 0)));
    expect(snap.maxAgeSeconds).toBe(Math.max(...all.map((c) => c.age ?? 0)));
    expect(snap.subscribers).toBe(all.filter((c) => (c.sub ?? 0) + (c.psub ?? 0) > 0).length);
    expect(snap.topIdle).toHaveLength(5);
    const idles = all.map((c) => c.idle ?? 0).sort((a, b) => b - a);
    expect(snap.topIdle.map((s) => s.idleSeconds)).toEqual(idles.slice(0, 5));
  });

  it("scans only the given nodes", async () => {
    const snap = await scanSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      nodeIds: [env.sessionNodes[1]!],
    });
    expect(snap.totalSessions).toBe(PER_NODE);
    expect((await env.emulator.control.counters()).scanClients).toBe(1);
  });

  it("rejects an unknown node id naming nodeIds[i] and the known ids, with no scan sent", async () => {
    const error = await rejection(
      scanSessions({
        instanceId: env.emulator.instanceId,
        client: env.client,
        nodeIds: [env.sessionNodes[0]!, "no-such-node"],
      }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("nodeIds[1]");
    expect((error as ValidationError).allowed).toContain(env.sessionNodes[0]);
    expect((await env.emulator.control.counters()).scanClients ?? 0).toBe(0);
  });

  it("rescan: false re-reads the cached lists without a new scan", async () => {
    const snap = await scanSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      rescan: false,
    });
    expect(snap.totalSessions).toBe(NODES * PER_NODE);
    const counters = await env.emulator.control.counters();
    expect(counters.scanClients ?? 0).toBe(0);
    expect(counters.listClients).toBeGreaterThanOrEqual(NODES);
  });

  it("creates its own client from clientOptions and closes it", async () => {
    const snap = await scanSessions({
      instanceId: env.emulator.instanceId,
      clientOptions: { env: env.emulator.env },
    });
    expect(snap.totalSessions).toBe(NODES * PER_NODE);
  });

  it("fails with the job's reason when a scan job fails", async () => {
    await env.emulator.control.setFaults([
      { route: "scanClients", times: 1, fault: { kind: "job-fails", reason: "node busy" } },
    ]);
    try {
      const error = await rejection(
        scanSessions({ instanceId: env.emulator.instanceId, client: env.client }),
      );
      expect(error).toBeInstanceOf(JobFailedError);
      expect(error.message).toContain("node busy");
    } finally {
      await env.emulator.control.clearFaults();
    }
  });
});

describe("scanSessions over many pages", () => {
  let env: Env;
  beforeAll(async () => {
    env = await start({ synthetic: { nodes: 2, sessionsPerNode: 25_000, seed: 3 } });
  });
  afterAll(() => stop(env));

  it("lists every page of 50 000 sessions and keeps the output bounded", async () => {
    const snap = await scanSessions({ instanceId: env.emulator.instanceId, client: env.client, topN: 100 });
    expect(snap.totalSessions).toBe(50_000);
    expect(snap.nodes.map((n) => n.sessions)).toEqual([25_000, 25_000]);
    expect((await env.emulator.control.counters()).listClients).toBeGreaterThanOrEqual(50);
    for (const map of [snap.byClientIp, snap.byUser, snap.byDb, snap.byCommand, snap.byName]) {
      expect(Object.keys(map).length).toBeLessThanOrEqual(21);
      expect(Object.values(map).reduce((a, b) => a + b, 0)).toBe(50_000);
    }
    expect(snap.topIdle).toHaveLength(100);
    expect(JSON.stringify(snap).length).toBeLessThan(30_000);
  });
});

describe("purgeSessions guards against the emulator", () => {
  let env: Env;
  const purge = (over: Partial<PurgeOptions>) =>
    purgeSessions({ instanceId: env.emulator.instanceId, client: env.client, allNodes: true, ...over });
  beforeAll(async () => {
    env = await start({ synthetic: { nodes: NODES, sessionsPerNode: PER_NODE, seed: 5 } });
  });
  afterAll(() => stop(env));
  beforeEach(() => env.emulator.control.resetCounters());

  it("outside the window with fail: refuses with no remote call at all", async () => {
    const error = await rejection(purge({ ...outsideWindow }));
    expect(error).toBeInstanceOf(GuardRefusedError);
    expect((error as GuardRefusedError).guard).toBe("maintenanceWindow");
    expect(error.message).toContain('"mon 02:00-04:00 Europe/Paris"');
    expect(error.message).toContain("sat 2026-11-21 13:00 Europe/Paris");
    expect(calls(await env.emulator.control.counters())).toBe(0);
  });

  it("outside the window with skip: skips with no remote call at all", async () => {
    const report = await purge({ ...outsideWindow, outsideWindow: "skip" });
    expect(report.status).toBe("skipped-outside-window");
    expect(report.sessionsBefore).toBeNull();
    expect(calls(await env.emulator.control.counters())).toBe(0);
  });

  it("dry run: reports the before figures and kills nothing", async () => {
    const report = await purge({ ...insideWindow, dryRun: true });
    expect(report).toMatchObject({
      status: "dry-run",
      sessionsBefore: NODES * PER_NODE,
      sessionsAfter: null,
      jobIds: [],
    });
    expect(report.nodes).toEqual(
      env.sessionNodes.map((nodeId) => ({ nodeId, before: PER_NODE, after: null })),
    );
    expect(report.before?.totalSessions).toBe(NODES * PER_NODE);
    const counters = await env.emulator.control.counters();
    expect(counters.killAllClients ?? 0).toBe(0);
    expect(counters.scanClients).toBe(NODES);
  });

  it("maxSessions: refuses naming the count and the limit, kills nothing", async () => {
    const error = await rejection(purge({ maxSessions: 2000 }));
    expect(error).toBeInstanceOf(GuardRefusedError);
    expect((error as GuardRefusedError).guard).toBe("maxSessions");
    expect(error.message).toContain(`${NODES * PER_NODE} sessions are connected`);
    expect(error.message).toContain("maxSessions (2000)");
    expect((await env.emulator.control.counters()).killAllClients ?? 0).toBe(0);
  });

  it("minSessions: skips, kills nothing", async () => {
    const report = await purge({ minSessions: 5000 });
    expect(report).toMatchObject({ status: "skipped-below-minimum", sessionsBefore: NODES * PER_NODE });
    expect(report.reason).toContain("fewer than minSessions (5000)");
    expect((await env.emulator.control.counters()).killAllClients ?? 0).toBe(0);
  });

  it("a declined confirmation kills nothing", async () => {
    const error = await rejection(purge({ confirm: async () => false }));
    expect((error as GuardRefusedError).guard).toBe("confirmation");
    expect((await env.emulator.control.counters()).killAllClients ?? 0).toBe(0);
  });

  it("a kill-all answered 503 is not sent again, and the purge is recorded as unverified", async () => {
    await env.emulator.control.setFaults([
      { route: "killAllClients", fault: { kind: "status", status: 503 } },
    ]);
    try {
      const report = await purge({});
      expect(report).toMatchObject({ status: "purged-unverified", sessionsBefore: NODES * PER_NODE });
      expect(report.verificationError).toMatch(/HTTP 503/);
      expect((await env.emulator.control.counters()).killAllClients).toBe(1);
    } finally {
      await env.emulator.control.clearFaults();
    }
  });

  it("a kill-all answered 400 (DCS.4957) did nothing: it throws, sent once", async () => {
    await env.emulator.control.setFaults([
      { route: "killAllClients", times: 1, fault: { kind: "dcs-4957" } },
    ]);
    try {
      const error = await rejection(purge({}));
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).errorCode).toBe("DCS.4957");
      expect((await env.emulator.control.counters()).killAllClients).toBe(1);
    } finally {
      await env.emulator.control.clearFaults();
    }
  });

  it("a kill job that fails is reported with its job id, and the kill-all was sent once", async () => {
    await env.emulator.control.setFaults([
      { route: "killAllClients", times: 1, fault: { kind: "job-fails", reason: "kill refused" } },
    ]);
    try {
      const report = await purge({});
      expect(report).toMatchObject({ status: "purged-unverified", sessionsBefore: NODES * PER_NODE });
      expect(report.jobIds).toHaveLength(1);
      expect(report.verificationError).toContain("kill refused");
      expect((await env.emulator.control.counters()).killAllClients).toBe(1);
    } finally {
      await env.emulator.control.clearFaults();
    }
  });
});

describe("purgeSessions kills against the emulator", () => {
  let env: Env | undefined;
  afterEach(async () => {
    await stop(env);
    env = undefined;
  });

  it("every node: exactly one kill-all, and the after snapshot shows the drop to zero", async () => {
    env = await start({ synthetic: { nodes: NODES, sessionsPerNode: PER_NODE, seed: 1 } });
    const report = await purgeSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      allNodes: true,
      maxSessions: 10_000,
      minSessions: 1,
      ...insideWindow,
    });
    expect(report).toMatchObject({
      status: "purged",
      sessionsBefore: NODES * PER_NODE,
      sessionsAfter: 0,
      purgedAt: "2026-11-23T02:30:00.000Z",
    });
    expect(report.jobIds).toHaveLength(1);
    expect(report.nodes).toEqual(env.sessionNodes.map((nodeId) => ({ nodeId, before: PER_NODE, after: 0 })));
    const counters = await env.emulator.control.counters();
    expect(counters.killAllClients).toBe(1);
    expect(counters.scanClients).toBe(2 * NODES);
  });

  it("sessions that reconnect show in the after snapshot", async () => {
    env = await start({ synthetic: { nodes: 2, sessionsPerNode: 400, seed: 2, reconnectFraction: 0.25 } });
    const report = await purgeSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      allNodes: true,
    });
    expect(report.sessionsBefore).toBe(800);
    expect(report.sessionsAfter).toBe(200);
    expect(report.nodes.map((n) => n.after)).toEqual([100, 100]);
  });

  it("chosen nodes: one kill-all per node; the other nodes keep their sessions", async () => {
    env = await start({ synthetic: { nodes: NODES, sessionsPerNode: PER_NODE, seed: 4 } });
    const [a, b, c] = env.sessionNodes as [string, string, string];
    const report = await purgeSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      nodeIds: [a, b, a],
      verify: false,
    });
    expect(report).toMatchObject({ status: "purged", sessionsBefore: 2 * PER_NODE, sessionsAfter: null });
    expect(report.jobIds).toHaveLength(2);
    expect((await env.emulator.control.counters()).killAllClients).toBe(2);
    const left = await scanSessions({ instanceId: env.emulator.instanceId, client: env.client });
    expect(left.nodes.map((n) => [n.nodeId, n.sessions])).toEqual([
      [a, 0],
      [b, 0],
      [c, PER_NODE],
    ]);
  });

  it("an instance without proxies: every data node is scanned and purged", async () => {
    env = await start({ synthetic: { nodes: 2, sessionsPerNode: 300, seed: 9, topology: "data" } });
    const report = await purgeSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      allNodes: true,
    });
    expect(report).toMatchObject({ status: "purged", sessionsBefore: 600, sessionsAfter: 0 });
    expect(report.before?.nodes.every((n) => n.role === "redis-server")).toBe(true);
    expect((await env.emulator.control.counters()).killAllClients).toBe(1);
  });
});

describe("GeminiDB against the emulator", () => {
  let env: Env | undefined;
  afterEach(async () => {
    await stop(env);
    env = undefined;
  });

  it("scans with one list call and purges node by node, never with the instance-wide close", async () => {
    env = await start({ engine: "geminidb", synthetic: { nodes: 2, sessionsPerNode: 500, seed: 6 } });
    const id = env.emulator.instanceId;
    const snap = await scanSessions({ instanceId: id, engine: "geminidb", client: env.client });
    expect(snap.totalSessions).toBe(1000);
    expect(snap.engine).toBe("geminidb");
    expect(snap.byUser).toEqual({ [NONE_KEY]: 1000 });
    expect((await env.emulator.control.counters()).geminidbListSessions).toBe(1);

    const dry = await purgeSessions({
      instanceId: id,
      engine: "geminidb",
      client: env.client,
      allNodes: true,
      dryRun: true,
    });
    expect(dry).toMatchObject({ status: "dry-run", sessionsBefore: 1000 });
    expect((await env.emulator.control.counters()).geminidbCloseNodeSessions ?? 0).toBe(0);

    const report = await purgeSessions({
      instanceId: id,
      engine: "geminidb",
      client: env.client,
      allNodes: true,
    });
    expect(report).toMatchObject({ status: "purged", sessionsBefore: 1000, sessionsAfter: 0, jobIds: [] });
    const counters = await env.emulator.control.counters();
    expect(counters.geminidbCloseNodeSessions).toBe(2);
    expect(counters.geminidbCloseSessions ?? 0).toBe(0);
  });

  it("purges one node: the other keeps its sessions", async () => {
    env = await start({ engine: "geminidb", synthetic: { nodes: 2, sessionsPerNode: 300, seed: 8 } });
    const [first, second] = env.emulator.nodeIds as [string, string];
    const report = await purgeSessions({
      instanceId: env.emulator.instanceId,
      engine: "geminidb",
      client: env.client,
      nodeIds: [first],
    });
    expect(report).toMatchObject({
      sessionsBefore: 300,
      sessionsAfter: 0,
      nodes: [{ nodeId: first, before: 300, after: 0 }],
    });
    const left = await scanSessions({
      instanceId: env.emulator.instanceId,
      engine: "geminidb",
      client: env.client,
      nodeIds: [second],
    });
    expect(left.totalSessions).toBe(300);
  });
});
