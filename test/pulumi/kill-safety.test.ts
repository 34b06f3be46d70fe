/**
 * At most one kill, recorded once: through the real dynamic-provider host against the emulator, a purge whose
 * kill may have reached the server ends in the state (status purged-unverified), the emulator receives
 * exactly one kill-all, and the next `up` sends none. A 401 or 403 is sent exactly once.
 */
import { createClient } from "../../src/api/client";
import { purgeSessions } from "../../src/core/purge";
import { startEmulator } from "../../src/emulator/server";
import type { EmulatorHandle, FaultRule } from "../../src/emulator/types";
import { useProviderHostStack } from "./support/host-stack";

const NODES = 2;

describe("a purge whose kill may have reached the server is recorded once, through the provider host", () => {
  const rig = useProviderHostStack(
    { synthetic: { nodes: NODES, sessionsPerNode: 25, seed: 7, reconnectFraction: 1 }, jobMs: 20 },
    { resetBeforeEach: true },
  );

  const killAlls = async (): Promise<number> => (await rig.emulator.control.counters()).killAllClients ?? 0;

  test.each<[string, FaultRule, RegExp]>([
    [
      "a reset after the kill was done",
      { route: "killAllClients", times: 1, fault: { kind: "reset", when: "after-operation" } },
      /may have reached the server/,
    ],
    [
      "a reset after the request was read",
      { route: "killAllClients", times: 1, fault: { kind: "reset", when: "after-body" } },
      /may have reached the server/,
    ],
    [
      "a 502 after the kill happened",
      { route: "killAllClients", times: 1, fault: { kind: "status", status: 502, after: true } },
      /HTTP 502/,
    ],
    [
      // The client waits 30 s for the answer's headers (its default headersMs), then gives up on it.
      "a timeout after sending (the answer held past the client's deadline)",
      { route: "killAllClients", times: 1, fault: { kind: "latency", ms: 32_000, after: true } },
      /timed out.*may have taken effect|may have reached the server/,
    ],
    [
      "a failure of the verify scan",
      // The before snapshot scans each node once; the after snapshot's first scan job fails.
      { route: "scanClients", calls: [NODES + 1], fault: { kind: "job-fails", reason: "node busy" } },
      /after snapshot failed: .*node busy/,
    ],
  ])(
    "%s: one kill-all, the state says purged-unverified, a second up sends none",
    async (_w, rule, why) => {
      await rig.emulator.control.setFaults([rule]);
      const args = { instanceId: rig.emulator.instanceId, allNodes: true };
      const created = await rig.stack.create("SessionPurge", `purge-${rule.route}-${Math.random()}`, args);
      expect(created.outputs).toMatchObject({ status: "purged-unverified", sessionsBefore: NODES * 25 });
      expect(created.outputs.verificationError).toMatch(why);
      expect(await killAlls()).toBe(1);
      await rig.host.waitForLog(/purged-unverified/);

      await rig.emulator.control.clearFaults();
      await rig.emulator.control.resetCounters();
      const again = await rig.stack.up(created, args);
      expect(again.updated).toBe(false);
      // Writing out a default or changing a guard records it without a kill, and without any remote call.
      const guarded = await rig.stack.up(created, {
        ...args,
        verify: true,
        waitTimeoutSeconds: 300,
        maxSessions: 9999,
      });
      expect(guarded.updated).toBe(true);
      expect(guarded.state.outputs.status).toBe("purged-unverified");
      expect(await rig.emulator.control.counters()).toEqual({});
    },
    90_000,
  );

  test("a refresh of a scan whose instance is gone keeps the last counts and warns, and sends nothing else", async () => {
    const scan = await rig.stack.create("SessionScan", "scan-of-a-gone-instance", {
      instanceId: rig.emulator.instanceId,
    });
    expect(scan.outputs.totalSessions).toBe(NODES * 25);
    // The state of a scan whose instance was deleted since: the emulator answers 404 for it.
    const goneId = "0a0b0c0d-0000-4000-8000-00000000dead";
    const state = {
      ...scan,
      inputs: { ...scan.inputs, instanceId: goneId },
      outputs: { ...scan.outputs, instanceId: goneId },
    };
    await rig.emulator.control.resetCounters();
    const refreshed = await rig.stack.refresh(state);
    expect(refreshed.id).toBe(scan.id);
    expect(refreshed.outputs.totalSessions).toBe(NODES * 25);
    expect(refreshed.outputs.instanceId).toBe(goneId);
    await rig.host.waitForLog(
      new RegExp(`SessionScan of ${goneId}: refresh kept the last counts: .*HTTP 404`),
    );
    const counters = await rig.emulator.control.counters();
    expect(counters.listNodes).toBe(1);
    expect(counters.scanClients ?? 0).toBe(0);
  });

  test.each([401, 403] as const)(
    "a kill-all answered %i is sent exactly once and fails the create",
    async (status) => {
      await rig.emulator.control.setFaults([{ route: "killAllClients", fault: { kind: "status", status } }]);
      await expect(
        rig.stack.create("SessionPurge", `purge-${status}`, {
          instanceId: rig.emulator.instanceId,
          allNodes: true,
        }),
      ).rejects.toThrow(new RegExp(`HTTP ${status}`));
      expect(await killAlls()).toBe(1);
    },
  );
});

describe("a timeout after sending, and two purges at once (core, against the emulator)", () => {
  let emulator: EmulatorHandle;
  beforeAll(async () => {
    emulator = await startEmulator({ synthetic: { nodes: NODES, sessionsPerNode: 25, seed: 8 }, jobMs: 20 });
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    await emulator.control.clearFaults();
    await emulator.control.resetCounters();
  });

  test("the kill-all is held past the client's deadline after it ran: recorded once, not repeated", async () => {
    const client = createClient({ env: emulator.env, timeouts: { callMs: 500 } });
    try {
      await emulator.control.setFaults([
        { route: "killAllClients", times: 1, fault: { kind: "latency", ms: 2000, after: true } },
      ]);
      const report = await purgeSessions({ instanceId: emulator.instanceId, client, allNodes: true });
      expect(report.status).toBe("purged-unverified");
      expect(report.verificationError).toMatch(/timed out.*may have taken effect/);
      expect((await emulator.control.counters()).killAllClients).toBe(1);
    } finally {
      await client.close();
    }
  });

  test("two purges of one instance at once, the second kill answered DCS.4957: both end clearly", async () => {
    const client = createClient({ env: emulator.env, retry: { baseDelayMs: 5 } });
    try {
      await emulator.control.setFaults([
        { route: "killAllClients", calls: [2], fault: { kind: "dcs-4957" } },
      ]);
      const run = () => purgeSessions({ instanceId: emulator.instanceId, client, allNodes: true });
      const [a, b] = await Promise.allSettled([run(), run()]);
      const outcomes = [a, b].map((r) => (r.status === "fulfilled" ? r.value.status : String(r.reason)));
      expect(outcomes.filter((o) => o === "purged")).toHaveLength(1);
      expect(outcomes.filter((o) => /DCS\.4957/.test(o))).toHaveLength(1);
      expect((await emulator.control.counters()).killAllClients).toBe(2);
    } finally {
      await client.close();
    }
  });

  test("a scan during a purge ends with its own counts; the purge still ends purged", async () => {
    // An instance of its own: the tests above killed the sessions of the shared one.
    const own = await startEmulator({ synthetic: { nodes: NODES, sessionsPerNode: 25, seed: 9 }, jobMs: 20 });
    const client = createClient({ env: own.env });
    try {
      const { scanSessions } = await import("../../src/core/scan");
      const [purge, scan] = await Promise.all([
        purgeSessions({ instanceId: own.instanceId, client, allNodes: true }),
        scanSessions({ instanceId: own.instanceId, client }),
      ]);
      expect(purge.status).toBe("purged");
      expect(purge.sessionsBefore).toBe(NODES * 25);
      // Each node was read at one moment, before or after the kill: all of its sessions or none.
      expect(scan.nodes).toHaveLength(NODES);
      for (const node of scan.nodes) expect([0, 25]).toContain(node.sessions);
      expect(scan.totalSessions).toBe(scan.nodes.reduce((sum, n) => sum + n.sessions, 0));
      expect((await own.control.counters()).killAllClients).toBe(1);
    } finally {
      await client.close();
      await own.close();
    }
  });
});
