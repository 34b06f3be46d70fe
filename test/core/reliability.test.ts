/**
 * Reads that get a malformed or cut-off body are asked again within the deadline, through the core and the
 * real client against the emulator; a kill answered so is never sent again and the purge records it.
 */
import { createClient } from "../../src/api/client";
import type { SessionsClient } from "../../src/api/types";
import { purgeSessions } from "../../src/core/purge";
import { scanSessions } from "../../src/core/scan";
import { startEmulator, type EmulatorHandle, type FaultRule } from "../../src/emulator";

const NODES = 2;
const PER_NODE = 40;

describe("a malformed or truncated body", () => {
  let emulator: EmulatorHandle;
  let client: SessionsClient;

  beforeAll(async () => {
    emulator = await startEmulator({
      synthetic: { nodes: NODES, sessionsPerNode: PER_NODE, seed: 3 },
      jobMs: 20,
    });
    client = createClient({ env: emulator.env, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  });
  afterAll(async () => {
    await client.close();
    await emulator.close();
  });
  beforeEach(async () => {
    await emulator.control.clearFaults();
    await emulator.control.resetCounters();
  });

  const reads = ["listNodes", "scanClients", "showJob", "listClients"] as const;
  const kinds = ["truncated-json", "malformed-json"] as const;
  const cells = reads.flatMap((route) => kinds.map((kind) => [route, kind] as const));

  test.each(cells)("on %s (%s): asked again, and the scan counts every session", async (route, kind) => {
    const rule: FaultRule = { route, calls: [1], fault: { kind } };
    await emulator.control.setFaults([rule]);
    const snapshot = await scanSessions({ instanceId: emulator.instanceId, client, waitTimeoutSeconds: 30 });
    expect(snapshot.totalSessions).toBe(NODES * PER_NODE);
    const counters = await emulator.control.counters();
    // The faulty call plus the one that replaced it (a scan's job is polled until it ends: at least one more).
    const normal = { listNodes: 1, scanClients: NODES, listClients: NODES };
    if (route !== "showJob") expect(counters[route]).toBe(normal[route] + 1);
    else expect(counters.showJob).toBeGreaterThanOrEqual(NODES + 1);
  });

  test("a job status cut off mid-body on every poll: read again until the wait's deadline, which names why", async () => {
    await emulator.control.setFaults([{ route: "showJob", fault: { kind: "truncated-json" } }]);
    const error = await scanSessions({
      instanceId: emulator.instanceId,
      client,
      nodeIds: [emulator.nodeIds[0]!],
      waitTimeoutSeconds: 1,
    })
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(String(error)).toMatch(
      /waitForJob timed out after 1000 ms: job \w+ did not end; last status seen: not seen yet \(the last read failed: HTTP 200\)/,
    );
    // Each poll's read is itself retried by the transport (4 attempts), and the poll went on after it.
    expect((await emulator.control.counters()).showJob).toBeGreaterThan(4);
  });

  test("a kill-all whose answer is cut off is not sent again: the purge is recorded as unverified", async () => {
    await emulator.control.setFaults([{ route: "killAllClients", fault: { kind: "truncated-json" } }]);
    const report = await purgeSessions({ instanceId: emulator.instanceId, client, allNodes: true });
    expect(report).toMatchObject({
      status: "purged-unverified",
      sessionsBefore: NODES * PER_NODE,
      jobIds: [],
    });
    expect(report.verificationError).toMatch(/not valid JSON/);
    expect((await emulator.control.counters()).killAllClients).toBe(1);
  });
});
