/**
 * The real client (src/api) against the emulator with synthetic sessions: the two were written apart, and
 * here they must agree on signing, paths, bodies and the retry rules the emulator's faults provoke.
 */
import { createClient } from "../../src/api/client";
import { ApiError } from "../../src/api/errors";
import { scanSessions } from "../../src/core/scan";
import type { SessionsClient } from "../../src/api/types";
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator/types";

let emulator: EmulatorHandle;
let client: SessionsClient;

function clientFor(secretKey: string): SessionsClient {
  return createClient({
    endpoint: emulator.endpoint,
    geminidbEndpoint: emulator.geminidbEndpoint,
    projectId: emulator.projectId,
    region: emulator.region,
    credentials: { kind: "aksk", accessKey: emulator.accessKey, secretKey },
    env: {},
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  });
}

beforeAll(async () => {
  emulator = await startEmulator({ synthetic: { nodes: 3, sessionsPerNode: 2500, seed: 4 }, jobMs: 20 });
  client = clientFor(emulator.secretKey);
});
afterAll(async () => {
  await client.close();
  await emulator.close();
});
beforeEach(async () => {
  await emulator.control.clearFaults();
  await emulator.control.resetCounters();
});

test("nodes, scan, wait and every page of a node through the client", async () => {
  const nodes = await client.dcs.listNodes(emulator.instanceId);
  expect(nodes.nodes.filter((n) => n.nodeRole === "redis-proxy")).toHaveLength(3);
  const nodeId = emulator.nodeIds[0] as string;
  const { jobId } = await client.dcs.scanClients(emulator.instanceId, { nodeId, cleanCache: true });
  expect((await client.dcs.waitForJob(jobId, { timeoutMs: 10_000 })).status).toBe("SUCCESS");
  const addrs = new Set<string>();
  for await (const session of client.dcs.listAllClients(emulator.instanceId, { nodeId }))
    addrs.add(session.addr ?? "");
  expect(addrs.size).toBe(2500);
  expect((await emulator.control.counters()).listClients).toBe(3); // pages of 1000
});

test("a 429 with Retry-After is retried once and then succeeds", async () => {
  await emulator.control.setFaults([
    { route: "listNodes", times: 1, fault: { kind: "status", status: 429, retryAfterSeconds: 0 } },
  ]);
  await client.dcs.listNodes(emulator.instanceId);
  expect(await emulator.control.counters()).toEqual({ listNodes: 2, throttled: 1 });
});

test("a kill-all answered 503 is not sent twice", async () => {
  await emulator.control.setFaults([{ route: "killAllClients", fault: { kind: "status", status: 503 } }]);
  await expect(client.dcs.killAllClients(emulator.instanceId, { allNodes: true })).rejects.toBeInstanceOf(
    ApiError,
  );
  expect(await emulator.control.counters()).toEqual({ killAllClients: 1 });
});

test("a wrong secret is refused with APIGW.0301 and never retried", async () => {
  const wrong = clientFor("a-wrong-secret-key-for-this-emulator-000");
  try {
    const error = await wrong.dcs.listNodes(emulator.instanceId).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, errorCode: "APIGW.0301" });
    expect(await emulator.control.counters()).toEqual({ listNodes: 1, unauthorized: 1 });
  } finally {
    await wrong.close();
  }
});

test("GeminiDB sessions through the client", async () => {
  const gem = await startEmulator({ engine: "geminidb", synthetic: { nodes: 2, sessionsPerNode: 30 } });
  const gclient = createClient({
    endpoint: gem.endpoint,
    geminidbEndpoint: gem.geminidbEndpoint,
    projectId: gem.projectId,
    region: gem.region,
    credentials: { kind: "aksk", accessKey: gem.accessKey, secretKey: gem.secretKey },
    env: {},
  });
  try {
    const listed = await gclient.geminidb.listSessions(gem.instanceId);
    expect(listed.nodeSessions.map((n) => n.totalCount)).toEqual([30, 30]);
    await gclient.geminidb.closeSessions(gem.instanceId, { nodeId: gem.nodeIds[0] as string });
    const after = await gclient.geminidb.listSessions(gem.instanceId);
    expect(after.nodeSessions.map((n) => n.totalCount)).toEqual([0, 30]);
  } finally {
    await gclient.close();
    await gem.close();
  }
});

test("the docs/emulator.md example: scanSessions over the emulator counts every synthetic session", async () => {
  const emu = await startEmulator({ synthetic: { nodes: 3, sessionsPerNode: 500, seed: 42 }, jobMs: 50 });
  const c = createClient({
    endpoint: emu.endpoint,
    geminidbEndpoint: emu.geminidbEndpoint,
    projectId: emu.projectId,
    region: emu.region,
    credentials: { kind: "aksk", accessKey: emu.accessKey, secretKey: emu.secretKey },
    env: {},
  });
  try {
    const snapshot = await scanSessions({ instanceId: emu.instanceId, client: c });
    expect(snapshot.totalSessions).toBe(1500);
  } finally {
    await c.close();
    await emu.close();
  }
});
