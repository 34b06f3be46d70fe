import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { startEmulator } from "../../src/emulator";
import { SyntheticNode, nthAlive } from "../../src/emulator/synthetic";
import type { SessionView } from "../../src/emulator/types";
import type { ClientInfo } from "../../src/api/schemas";
import { paths, signed, waitForJob } from "./signed-request";

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);

function all(view: SessionView): ClientInfo[] {
  return Array.from({ length: view.count }, (_, i) => view.at(i));
}

describe("nthAlive", () => {
  test("skips the killed offsets", () => {
    const killed = Uint32Array.from([0, 2, 3, 7]);
    const alive = [1, 4, 5, 6, 8, 9];
    alive.forEach((offset, k) => expect(nthAlive(killed, k)).toBe(offset));
    expect(nthAlive(new Uint32Array(0), 5)).toBe(5);
  });
});

describe("SyntheticNode", () => {
  test("is deterministic from the seed and differs between seeds and nodes", async () => {
    const a = all(await new SyntheticNode(42, 0, 500, 0, () => T0).snapshot());
    const b = all(await new SyntheticNode(42, 0, 500, 0, () => T0).snapshot());
    const otherSeed = all(await new SyntheticNode(43, 0, 500, 0, () => T0).snapshot());
    const otherNode = all(await new SyntheticNode(42, 1, 500, 0, () => T0).snapshot());
    expect(a).toEqual(b);
    expect(a.map((c) => c.addr)).not.toEqual(otherSeed.map((c) => c.addr));
    expect(a.map((c) => c.addr)).not.toEqual(otherNode.map((c) => c.addr));
  });

  test("has unique addresses over a few hundred client IPs, and a realistic spread", async () => {
    const sessions = all(await new SyntheticNode(1, 3, 70_000, 0, () => T0).snapshot());
    const addrs = new Set(sessions.map((c) => c.addr));
    expect(addrs.size).toBe(70_000);
    const ips = new Map<string, number>();
    for (const c of sessions) {
      const ip = (c.addr as string).split(":")[0] as string;
      ips.set(ip, (ips.get(ip) ?? 0) + 1);
    }
    expect(ips.size).toBeGreaterThan(200);
    expect(ips.size).toBeLessThanOrEqual(300);
    const counts = [...ips.values()].sort((x, y) => y - x);
    expect(counts[0]).toBeGreaterThan(3 * (counts[counts.length - 1] as number)); // a few hot client hosts
    const idles = sessions.map((c) => c.idle as number);
    expect(idles.filter((i) => i < 60).length).toBeGreaterThan(0);
    expect(idles.filter((i) => i >= 86400).length).toBeGreaterThan(0);
    expect(idles.reduce((m, i) => Math.max(m, i), 0)).toBeLessThanOrEqual(30 * 86400);
    for (const c of sessions.slice(0, 1000)) expect(c.idle as number).toBeLessThanOrEqual(c.age as number);
    expect(new Set(sessions.map((c) => c.db)).size).toBeGreaterThan(5);
    expect(new Set(sessions.map((c) => c.cmd)).size).toBeGreaterThan(10);
    expect(new Set(sessions.map((c) => c.user)).size).toBeGreaterThan(2);
    expect(sessions.some((c) => (c.sub as number) > 0)).toBe(true);
  });

  test("ages grow with the clock between snapshots", async () => {
    let now = T0;
    const node = new SyntheticNode(5, 0, 10, 0, () => now);
    const first = (await node.snapshot()).at(3);
    now += 90_000;
    const later = (await node.snapshot()).at(3);
    expect(later.age).toBe((first.age as number) + 90);
    expect(later.addr).toBe(first.addr);
  });

  test("kill by address removes exactly those; kill-all empties; a snapshot taken before is unchanged", async () => {
    const node = new SyntheticNode(9, 0, 1000, 0, () => T0);
    const before = await node.snapshot();
    const chosen = [before.at(0).addr, before.at(500).addr, before.at(999).addr, "10.99.0.1:1"] as string[];
    expect(await node.killByAddrs(chosen)).toBe(3);
    expect(await node.killByAddrs(chosen)).toBe(0);
    const after = all(await node.snapshot());
    expect(after).toHaveLength(997);
    for (const addr of chosen) expect(after.map((c) => c.addr)).not.toContain(addr);
    expect(before.count).toBe(1000);
    expect(await node.killByIds([String(after[10]?.id), "nope"])).toBe(1);
    expect(await node.killAll()).toBe(996);
    expect((await node.snapshot()).count).toBe(0);
    expect(node.footprint()).toEqual({ cohorts: 0, killed: 0 });
  });

  test("reconnectFraction brings back a share of the killed sessions on new ports", async () => {
    let now = T0;
    const node = new SyntheticNode(11, 0, 1000, 0.25, () => now);
    const old = new Set(all(await node.snapshot()).map((c) => c.addr));
    now += 5000;
    expect(await node.killAll()).toBe(1000);
    const back = all(await node.snapshot());
    expect(back).toHaveLength(250);
    for (const c of back) {
      expect(old.has(c.addr)).toBe(false);
      expect(c.age).toBe(0);
    }
    expect(await node.killAll()).toBe(250);
    expect((await node.snapshot()).count).toBe(62);
  });
});

/**
 * heapUsed after two full collections, so that it counts what is held and not garbage yet to be collected (a
 * peak of heapUsed depends on when V8 happens to collect, and varies from machine to machine).
 */
function retainedHeap(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe("a million synthetic sessions over 100 nodes", () => {
  test("are served page by page with stable totals, the emulator holding a few numbers per node", async () => {
    const heapBefore = retainedHeap();
    const emulator = await startEmulator({
      synthetic: { nodes: 100, sessionsPerNode: 10_000, seed: 3 },
      jobMs: 0,
    });
    try {
      const p = paths(emulator);
      const proxies = emulator.nodeIds.slice(0, 100);
      expect(proxies).toHaveLength(100);
      // Scan every node, then read the first page of each: the totals add up to a million.
      const jobs = await Promise.all(
        proxies.map((nodeId) =>
          signed(emulator, "POST", p.clients, { body: { node_id: nodeId, clean_cache: true } }),
        ),
      );
      for (const job of jobs)
        expect((await waitForJob(emulator, job.json.job_id)).json.status).toBe("SUCCESS");
      let total = 0;
      for (const nodeId of proxies) {
        const first = await signed(emulator, "GET", p.clients, { query: { node_id: nodeId, limit: 1000 } });
        total += first.json.count;
      }
      expect(total).toBe(1_000_000);

      // Page a sample of 10 nodes (100,000 sessions) fully: every page repeats the count, each session comes once.
      for (const nodeId of proxies.filter((_, i) => i % 10 === 3)) {
        const ids = new Set<string>();
        for (let offset = 0; offset < 10_000; offset += 1000) {
          const page = await signed(emulator, "GET", p.clients, {
            query: { node_id: nodeId, offset, limit: 1000 },
          });
          expect(page.json.count).toBe(10_000);
          expect(page.json.clients).toHaveLength(1000);
          for (const c of page.json.clients) ids.add(c.id);
        }
        expect(ids.size).toBe(10_000);
      }

      // With a million sessions scanned and cached, what the emulator keeps once garbage is collected: a
      // million ClientInfo objects would be several hundred MB; a few numbers per node are well under 32 MB.
      // (The memory figures, peak included, are measured by `npm run bench`.)
      const held = retainedHeap() - heapBefore;
      expect(held).toBeLessThan(32 * 1024 * 1024);
    } finally {
      await emulator.close();
    }
  });
});
