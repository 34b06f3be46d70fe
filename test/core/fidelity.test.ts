/**
 * The scan where the service differs from a naive reading (issue 9, "Fidelity fixes"), against the emulator
 * over loopback HTTP: the list-time fallback reads the server's clock, and nodes listed without a `node_id`
 * are skipped out loud, never counted silently.
 */
import { createClient } from "../../src/api/client";
import type { SessionsClient } from "../../src/api/types";
import { purgeSessions } from "../../src/core/purge";
import { scanSessions } from "../../src/core/scan";
import type { ProgressEvent } from "../../src/core/types";
import { startEmulator } from "../../src/emulator";
import { createSyntheticNodes } from "../../src/emulator/synthetic";
import type { EmulatorHandle, EmulatorOptions, InstanceSpec } from "../../src/emulator/types";

const INSTANCE = "dcs-clock-1";
const PER_NODE = 30;
/** Within the 15 minutes a signature tolerates, far beyond any scan's duration. */
const SKEW_MS = 7 * 60_000;

function instance(now: () => number, withoutId: number[] = []): InstanceSpec {
  const nodes = createSyntheticNodes({ nodes: 3, sessionsPerNode: PER_NODE, seed: 21 }, now);
  return {
    instanceId: INSTANCE,
    engine: "dcs",
    nodes: nodes.map((backend, i) => ({
      nodeId: `proxy-${i}`,
      name: `proxy-${i}`,
      role: "redis-proxy" as const,
      type: "proxy" as const,
      backend,
      listedWithoutId: withoutId.includes(i),
    })),
  };
}

async function withEmulator<T>(
  options: EmulatorOptions & { withoutId?: number[] },
  work: (emulator: EmulatorHandle, client: SessionsClient) => Promise<T>,
): Promise<T> {
  const now = options.now ?? Date.now;
  const emulator = await startEmulator({ ...options, instances: [instance(now, options.withoutId)] });
  const client = createClient({ env: emulator.env, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  try {
    return await work(emulator, client);
  } finally {
    await client.close();
    await emulator.close();
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the list-time fallback compares with the server's clock", () => {
  test("server clock behind this machine's: the scan still completes with every session", async () => {
    await withEmulator({ now: () => Date.now() - SKEW_MS, jobMs: 100 }, async (emulator, client) => {
      // The job API knows none of the scans: only the list's `time` can say when each is done.
      await emulator.control.setFaults([{ route: "scanClients", fault: { kind: "job-unknown" } }]);
      const snapshot = await scanSessions({ instanceId: INSTANCE, client, waitTimeoutSeconds: 10 });
      expect(snapshot.totalSessions).toBe(3 * PER_NODE);
      const counters = await emulator.control.counters();
      expect(counters.scanClients).toBe(3);
      expect(counters.showJob).toBe(3); // each asked once, then the list was polled
    });
  });

  test("server clock ahead: an older list is not taken for the new scan's", async () => {
    await withEmulator({ now: () => Date.now() + SKEW_MS, jobMs: 400 }, async (emulator, client) => {
      const first = await scanSessions({ instanceId: INSTANCE, client, nodeIds: ["proxy-0"] });
      expect(first.totalSessions).toBe(PER_NODE);
      const page = await client.dcs.listClients(INSTANCE, { nodeId: "proxy-0", limit: 5 });
      await client.dcs.killClients(INSTANCE, {
        nodeId: "proxy-0",
        clientAddrs: page.clients.map((c) => c.addr as string),
      });
      await pause(1_100); // the Date header counts whole seconds: the next scan starts in a later one
      await emulator.control.setFaults([{ route: "scanClients", fault: { kind: "job-unknown" } }]);
      const second = await scanSessions({
        instanceId: INSTANCE,
        client,
        nodeIds: ["proxy-0"],
        waitTimeoutSeconds: 10,
      });
      // By this machine's clock the first list (7 minutes "ahead") would already count as the new one.
      expect(second.totalSessions).toBe(PER_NODE - 5);
      expect(Date.parse(second.nodes[0]!.dataTime!)).toBeGreaterThan(Date.parse(first.nodes[0]!.dataTime!));
    });
  });
});

describe("nodes listed without a node_id", () => {
  test("a scan skips them, counts only the others, reports them and says so", async () => {
    await withEmulator({ jobMs: 20, withoutId: [1] }, async (_emulator, client) => {
      const events: ProgressEvent[] = [];
      const snapshot = await scanSessions({
        instanceId: INSTANCE,
        client,
        onProgress: (e) => events.push(e),
      });
      expect(snapshot.nodes.map((n) => n.nodeId)).toEqual(["proxy-0", "proxy-2"]);
      expect(snapshot.totalSessions).toBe(2 * PER_NODE);
      expect(snapshot.skippedNodes).toEqual([
        {
          name: "proxy-1",
          logicalNodeId: expect.any(String),
          role: "redis-proxy",
          reason: expect.stringMatching(/without a node_id/),
        },
      ]);
      const messages = events.flatMap((e) => (e.kind === "message" ? [e.message] : []));
      expect(messages).toEqual([
        expect.stringMatching(/1 node\(s\).*without a node_id \(proxy-1\).*not counted/),
      ]);
    });
  });

  test("a scan of an instance whose nodes all have ids reports no skipped nodes", async () => {
    await withEmulator({ jobMs: 20 }, async (_emulator, client) => {
      const snapshot = await scanSessions({ instanceId: INSTANCE, client });
      expect(snapshot.totalSessions).toBe(3 * PER_NODE);
      expect(snapshot).not.toHaveProperty("skippedNodes");
    });
  });

  test("a purge's dry run says so too", async () => {
    await withEmulator({ jobMs: 20, withoutId: [2] }, async (_emulator, client) => {
      const events: ProgressEvent[] = [];
      const report = await purgeSessions({
        instanceId: INSTANCE,
        client,
        allNodes: true,
        dryRun: true,
        onProgress: (e) => events.push(e),
      });
      expect(report.status).toBe("dry-run");
      expect(report.nodes.map((n) => n.nodeId)).toEqual(["proxy-0", "proxy-1"]);
      expect(events).toContainEqual({ kind: "message", message: expect.stringMatching(/proxy-2/) });
    });
  });
});
