/**
 * The scan's pipeline: `concurrency` nodes are listed at once while up to SCANS_AHEAD × as many are scanned
 * and waited for, so that job waits overlap the listing; `concurrency: 1` runs one node at a time.
 */
import type { SessionNode } from "../../src/api/types";
import { SCANS_AHEAD, createLimiter, scanSessions } from "../../src/core/scan";
import { fakeClient, sessions } from "./fake-client";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("createLimiter", () => {
  it("runs every function, never more than the limit at once, in the order given", async () => {
    const limit = createLimiter(3);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limit(async () => {
          started.push(i);
          most = Math.max(most, ++running);
          await sleep(5 + (i % 3));
          running--;
          return i * 2;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => i * 2));
    expect(most).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("frees the slot of a function that throws", async () => {
    const limit = createLimiter(1);
    await expect(limit(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(limit(async () => "next")).resolves.toBe("next");
  });
});

describe("a scan overlaps job waits with the listing", () => {
  const NODES = 12;
  const nodes: SessionNode[] = Array.from({ length: NODES }, (_, i) => ({
    nodeId: `proxy-${i}`,
    nodeRole: "redis-proxy",
    nodeType: "proxy",
  }));

  /** A fake whose jobs take 30 ms and whose listing takes 10 ms, counting what runs at once. */
  function timedClient() {
    const client = fakeClient({
      nodes,
      sessions: Object.fromEntries(nodes.map((n) => [n.nodeId, sessions(3)])),
    });
    const seen = { waiting: 0, mostWaiting: 0, listing: 0, mostListing: 0 };
    const { waitForJob, listAllClients } = client.dcs;
    client.dcs.waitForJob = async (jobId, options) => {
      seen.mostWaiting = Math.max(seen.mostWaiting, ++seen.waiting);
      await sleep(30);
      seen.waiting--;
      return waitForJob(jobId, options);
    };
    client.dcs.listAllClients = (instanceId, request, options) => ({
      async *[Symbol.asyncIterator]() {
        seen.mostListing = Math.max(seen.mostListing, ++seen.listing);
        try {
          await sleep(10);
          yield* listAllClients(instanceId, request, options);
        } finally {
          seen.listing--;
        }
      },
    });
    return { client, seen };
  }

  it.each([1, 2, 3])(
    "concurrency %i: that many listings at once, up to 4 × as many jobs",
    async (concurrency) => {
      const { client, seen } = timedClient();
      const snapshot = await scanSessions({ instanceId: "i", client, concurrency });
      expect(snapshot.totalSessions).toBe(NODES * 3);
      expect(seen.mostListing).toBe(concurrency);
      expect(seen.mostWaiting).toBe(concurrency === 1 ? 1 : Math.min(NODES, concurrency * SCANS_AHEAD));
    },
  );
});
