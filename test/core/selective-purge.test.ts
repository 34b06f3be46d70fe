/**
 * The selective purge against the emulator's synthetic backend over real HTTP: many sessions per node, so the
 * batching shows in the emulator's request counts; kill safety when a batch fails (never repeated, the report
 * kept); GeminiDB kill by session id; and proxies without client-IP pass-through.
 */
import { ApiError } from "../../src/api/errors";
import { createClient } from "../../src/api/client";
import type { ClientInfo } from "../../src/api/schemas";
import type { SessionsClient } from "../../src/api/types";
import { purgeSessions } from "../../src/core/purge";
import { scanSessions } from "../../src/core/scan";
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from "../../src/emulator";

interface Env {
  emulator: EmulatorHandle;
  client: SessionsClient;
}

async function start(options: EmulatorOptions): Promise<Env> {
  const emulator = await startEmulator({ jobMs: 10, ...options });
  const client = createClient({ env: emulator.env, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  return { emulator, client };
}

async function stop(env: Env | undefined): Promise<void> {
  await env?.client.close();
  await env?.emulator.close();
}

/** Every session of each DCS node, as a fresh scan lists it (the test's own reading, not the purge's). */
async function listEveryNode(env: Env): Promise<Map<string, ClientInfo[]>> {
  const out = new Map<string, ClientInfo[]>();
  const { emulator, client } = env;
  for (const nodeId of emulator.nodeIds) {
    const { jobId } = await client.dcs.scanClients(emulator.instanceId, { nodeId });
    await client.dcs.waitForJob(jobId);
    const sessions: ClientInfo[] = [];
    for await (const s of client.dcs.listAllClients(emulator.instanceId, { nodeId })) sessions.push(s);
    if (sessions.length > 0) out.set(nodeId, sessions);
  }
  return out;
}

const batchesOf = (n: number): number => Math.ceil(n / 100);

describe("selective purge on synthetic DCS sessions", () => {
  let env: Env | undefined;
  afterEach(async () => {
    await stop(env);
    env = undefined;
  });

  it("kills exactly the matching sessions, in batches of at most 100 per node", async () => {
    env = await start({ synthetic: { nodes: 3, sessionsPerNode: 1500, seed: 21 } });
    const listed = await listEveryNode(env);
    const isApp = (s: ClientInfo) => s.user === "app";
    const expected = [...listed].map(([nodeId, all]) => [nodeId, all.filter(isApp).length] as const);
    const matched = expected.reduce((sum, [, n]) => sum + n, 0);
    expect(matched).toBeGreaterThan(600); // a quarter of the users: several batches on every node
    await env.emulator.control.resetCounters();

    const report = await purgeSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      allNodes: true,
      match: { users: ["app"] },
    });
    expect(report).toMatchObject({ status: "purged", sessionsBefore: 4500, matchedSessions: matched });
    expect(report.sessionsAfter).toBe(4500 - matched);
    expect(report.nodes.map((n) => [n.nodeId, n.matched])).toEqual(expected);
    expect(report.after?.byUser.app).toBeUndefined();
    expect(report.selectedSessions).toHaveLength(10);
    expect(report.selectedSessions?.every((s) => s.user === "app")).toBe(true);

    const counters = await env.emulator.control.counters();
    expect(counters.killClients).toBe(expected.reduce((sum, [, n]) => sum + batchesOf(n), 0));
    expect(counters.killAllClients ?? 0).toBe(0);

    // Everything else is still there, address for address.
    const left = await listEveryNode(env);
    for (const [nodeId, all] of listed) {
      const survivors = all.filter((s) => !isApp(s)).map((s) => s.addr);
      expect((left.get(nodeId) ?? []).map((s) => s.addr).sort()).toEqual(survivors.sort());
    }
  });

  it("a batch that fails after others were sent ends in purged-unverified, with the report; never repeated", async () => {
    env = await start({
      synthetic: { nodes: 1, sessionsPerNode: 400, seed: 5 },
      faults: [{ route: "killClients", calls: [2], fault: { kind: "status", status: 503 } }],
    });
    const report = await purgeSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      allNodes: true,
      match: { idleOverSeconds: 0 },
    });
    expect(report.status).toBe("purged-unverified");
    expect(report.matchedSessions).toBeGreaterThan(200);
    expect(report.verificationError).toMatch(/may have reached the server.*HTTP 503/);
    // The first batch went through, the second failed and was not sent again, the rest were not sent.
    expect((await env.emulator.control.counters()).killClients).toBe(2);
    const after = await scanSessions({ instanceId: env.emulator.instanceId, client: env.client });
    expect(after.totalSessions).toBe(400 - 100);
  });

  it("a first batch that took effect before its error is recorded, not thrown", async () => {
    env = await start({
      synthetic: { nodes: 1, sessionsPerNode: 50, seed: 5 },
      faults: [{ route: "killClients", calls: [1], fault: { kind: "status", status: 502, after: true } }],
    });
    const report = await purgeSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      allNodes: true,
      match: { clients: ["10.0.0.0/8"] },
    });
    expect(report).toMatchObject({ status: "purged-unverified", matchedSessions: 50 });
    expect((await env.emulator.control.counters()).killClients).toBe(1);
  });

  it("a first batch the service refused (4xx) throws: nothing was killed", async () => {
    env = await start({
      synthetic: { nodes: 1, sessionsPerNode: 50, seed: 5 },
      faults: [{ route: "killClients", calls: [1], fault: { kind: "status", status: 403 } }],
    });
    const error = await purgeSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      allNodes: true,
      match: { clients: ["10.0.0.0/8"] },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(403);
    expect((await env.emulator.control.counters()).killClients).toBe(1);
    const after = await scanSessions({ instanceId: env.emulator.instanceId, client: env.client });
    expect(after.totalSessions).toBe(50);
  });

  it("a match that selects nothing sends no kill", async () => {
    env = await start({ synthetic: { nodes: 2, sessionsPerNode: 100, seed: 9 } });
    const report = await purgeSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      allNodes: true,
      match: { clients: ["192.0.2.0/24"] },
    });
    expect(report).toMatchObject({
      status: "purged",
      matchedSessions: 0,
      sessionsBefore: 200,
      sessionsAfter: 200,
    });
    const counters = await env.emulator.control.counters();
    expect((counters.killClients ?? 0) + (counters.killAllClients ?? 0)).toBe(0);
  });

  it("behind proxies without client-IP pass-through, byClientIp and the kill use the real clients", async () => {
    env = await start({ synthetic: { nodes: 2, sessionsPerNode: 300, seed: 4 }, clientIpPassThrough: false });
    const listed = await listEveryNode(env);
    const all = [...listed.values()].flat();
    expect(all.every((s) => s.addr !== s.peer && s.addr!.startsWith("192.168.0."))).toBe(true);
    const snapshot = await scanSessions({ instanceId: env.emulator.instanceId, client: env.client });
    expect(Object.keys(snapshot.byClientIp).some((ip) => ip.startsWith("192.168."))).toBe(false);
    expect(Object.keys(snapshot.byClientIp).every((ip) => ip === "other" || ip.startsWith("10.2"))).toBe(
      true,
    );

    const inRange = all.filter((s) => /^10\.20\.0\./.test(s.peer ?? "")).length;
    expect(inRange).toBeGreaterThan(0);
    const report = await purgeSessions({
      instanceId: env.emulator.instanceId,
      client: env.client,
      allNodes: true,
      match: { clients: ["10.20.0.0/24"] },
    });
    expect(report).toMatchObject({ matchedSessions: inRange, sessionsAfter: 600 - inRange });
  });
});

describe("selective purge on synthetic GeminiDB sessions", () => {
  let env: Env | undefined;
  afterEach(async () => {
    await stop(env);
    env = undefined;
  });

  it("closes the matching sessions by id, per node, in batches of at most 100", async () => {
    env = await start({ engine: "geminidb", synthetic: { nodes: 2, sessionsPerNode: 2000, seed: 12 } });
    const { instanceId } = env.emulator;
    const listed = await env.client.geminidb.listSessions(instanceId);
    const expected = listed.nodeSessions.map(
      (n) => [n.nodeId, n.sessions.filter((s) => s.cmd === "get" && s.db === "0").length] as const,
    );
    const matched = expected.reduce((sum, [, n]) => sum + n, 0);
    expect(matched).toBeGreaterThan(200);
    await env.emulator.control.resetCounters();

    const report = await purgeSessions({
      instanceId,
      engine: "geminidb",
      client: env.client,
      allNodes: true,
      match: { cmds: ["GET"], dbs: [0] },
    });
    expect(report).toMatchObject({
      status: "purged",
      matchedSessions: matched,
      sessionsAfter: 4000 - matched,
    });
    expect(report.nodes.map((n) => [n.nodeId, n.matched])).toEqual(expected);
    const counters = await env.emulator.control.counters();
    expect(counters.geminidbCloseNodeSessions).toBe(expected.reduce((sum, [, n]) => sum + batchesOf(n), 0));
    expect(counters.geminidbCloseSessions ?? 0).toBe(0);
    const after = await env.client.geminidb.listSessions(instanceId);
    const left = after.nodeSessions.flatMap((n) => n.sessions);
    expect(left.some((s) => s.cmd === "get" && s.db === "0")).toBe(false);
    expect(left).toHaveLength(4000 - matched);
  });
});
