/**
 * SessionScan and SessionPurge through the real dynamic-provider host, against the emulator whose two nodes
 * are real redis-server processes holding real, named client connections. The emulator's counters say
 * which API calls each lifecycle step made: preview, refresh and destroy never send a kill-all.
 */
import { createClient } from "../../src/api/client";
import type { SessionsClient } from "../../src/api/types";
import type { Counters } from "../../src/emulator/types";
import { UNKNOWN } from "../../src/testing/provider-host";
import { openClients, startRedisServers, type OpenClients, type RedisServers } from "../../src/testing/redis";
import { describeWithRedis } from "../support/redis";
import { useProviderHostStack } from "./support/host-stack";
import type { ResourceState } from "./support/stack";

/** A window that opens in two hours and lasts one, every day: closed now, whatever the time. */
function closedWindow(now = new Date()): { start: string; end: string; timeZone: string } {
  const at = (hours: number): string => {
    const h = (now.getUTCHours() + hours) % 24;
    return `${String(h).padStart(2, "0")}:00`;
  };
  return { start: at(2), end: at(3), timeZone: "UTC" };
}

describeWithRedis("SessionScan and SessionPurge through the provider host, against the emulator", () => {
  let servers: RedisServers | undefined;
  let client: SessionsClient | undefined;
  const connections: OpenClients[] = [];
  let scan: ResourceState;

  async function open(server: number, names: string[], db = 0): Promise<OpenClients> {
    const opened = await openClients(
      servers!.urls[server]!,
      names.map((name) => ({ name, db })),
    );
    connections.push(opened);
    return opened;
  }

  const counters = (): Promise<Counters> => rig.emulator.control.counters();
  const killAlls = async (): Promise<number> => (await counters()).killAllClients ?? 0;
  const allOpen = (): boolean => connections.every((c) => c.clients.every((client) => !client.isClosed()));
  /** Counters changed since `before` (calls made in between), zero entries left out. */
  async function callsSince(before: Counters): Promise<Counters> {
    const now = await counters();
    const out: Counters = {};
    for (const [key, value] of Object.entries(now) as [keyof Counters, number][]) {
      const delta = value - (before[key] ?? 0);
      if (delta !== 0) out[key] = delta;
    }
    return out;
  }

  /** A scan made outside the stack (as another tool would): it refreshes the service's cached lists. */
  async function externalScan(): Promise<void> {
    for (const nodeId of rig.emulator.nodeIds) {
      const { jobId } = await client!.dcs.scanClients(rig.emulator.instanceId, { nodeId });
      await client!.dcs.waitForJob(jobId, { timeoutMs: 15_000, initialIntervalMs: 20 });
    }
  }

  beforeAll(async () => {
    servers = await startRedisServers(2);
    await open(0, ["orders-1", "orders-2"], 0);
    await open(0, ["billing-1", "billing-2"], 1);
    await open(1, ["search-1", "search-2"], 2);
  });
  const rig = useProviderHostStack(() => ({ redis: servers!.urls, jobMs: 50 }));
  beforeAll(() => {
    const emulator = rig.emulator;
    client = createClient({
      endpoint: emulator.endpoint,
      projectId: emulator.projectId,
      region: emulator.region,
      credentials: { kind: "aksk", accessKey: emulator.accessKey, secretKey: emulator.secretKey },
      env: {},
    });
  });
  afterAll(async () => {
    await client?.close();
    await Promise.all(connections.map((c) => c.closeAll()));
    await servers?.stop();
  });

  test("a preview of new resources (Check, and a Create the engine does not send) calls nothing remote", async () => {
    const before = await counters();
    const scanUrn = rig.stack.urn("SessionScan", "before");
    const purgeUrn = rig.stack.urn("SessionPurge", "purge");
    const scanCheck = await rig.host.check(
      scanUrn,
      {},
      await rig.stack.news("SessionScan", { instanceId: rig.emulator.instanceId }),
    );
    const purgeNews = await rig.stack.news("SessionPurge", {
      instanceId: rig.emulator.instanceId,
      allNodes: true,
      triggers: [UNKNOWN],
    });
    const purgeCheck = await rig.host.check(purgeUrn, {}, purgeNews);
    expect(scanCheck.failures).toEqual([]);
    expect(purgeCheck.failures).toEqual([]);
    await rig.host.create(purgeUrn, purgeCheck.inputs, { preview: true });
    expect(await callsSince(before)).toEqual({});
    expect(allOpen()).toBe(true);
  });

  test("create of a scan returns the true counts", async () => {
    const before = await counters();
    scan = await rig.stack.create("SessionScan", "before", { instanceId: rig.emulator.instanceId, topN: 3 });
    const out = scan.outputs;
    expect(out.totalSessions).toBe(6);
    expect(out.byName).toEqual({
      "orders-1": 1,
      "orders-2": 1,
      "billing-1": 1,
      "billing-2": 1,
      "search-1": 1,
      "search-2": 1,
    });
    expect(out.byDb).toEqual({ "0": 2, "1": 2, "2": 2 });
    expect(out.byClientIp).toEqual({ "127.0.0.1": 6 });
    expect(
      (out.nodes as Array<{ nodeId: string; sessions: number }>).map((n) => [n.nodeId, n.sessions]),
    ).toEqual([
      [rig.emulator.nodeIds[0], 4],
      [rig.emulator.nodeIds[1], 2],
    ]);
    expect(out.topIdle).toHaveLength(3);
    expect(out.instanceId).toBe(rig.emulator.instanceId);
    expect(out.topN).toBe(3);
    expect(typeof out.scannedAt).toBe("string");
    expect(scan.id).toMatch(/^scan-/);
    const calls = await callsSince(before);
    expect(calls.scanClients).toBe(2);
    expect(calls.killAllClients).toBeUndefined();
  });

  test("refresh re-lists a scan's counts from the service's cache, without a new scan", async () => {
    await open(1, ["search-3", "search-4"], 2);
    let before = await counters();
    // Nothing has scanned since the new connections: the cache still holds six.
    const stale = await rig.stack.refresh(scan);
    expect(stale.outputs.totalSessions).toBe(6);
    expect((await callsSince(before)).scanClients).toBeUndefined();

    await externalScan();
    before = await counters();
    const refreshed = await rig.stack.refresh(scan);
    expect(refreshed.outputs.totalSessions).toBe(8);
    expect(refreshed.outputs.byName).toMatchObject({ "search-3": 1, "search-4": 1 });
    expect(refreshed.outputs.instanceId).toBe(rig.emulator.instanceId);
    expect(refreshed.id).toBe(scan.id);
    const calls = await callsSince(before);
    expect(calls.scanClients).toBeUndefined();
    expect(calls.listClients).toBeGreaterThan(0);
    expect(calls.killAllClients).toBeUndefined();
    scan = refreshed;
  });

  test("update re-runs a scan only when an input or a trigger changes, and always with alwaysRun", async () => {
    const args = { instanceId: rig.emulator.instanceId, topN: 3 };
    let before = await counters();
    const same = await rig.stack.up(scan, args);
    expect(same.updated).toBe(false);
    expect(await callsSince(before)).toEqual({});

    const { diff: triggered } = await rig.stack.preview(scan, { ...args, triggers: ["release-2"] });
    expect(triggered).toMatchObject({ changes: "some", replaces: [] });
    const retriggered = await rig.stack.up(scan, { ...args, triggers: ["release-2"] });
    expect(retriggered.updated).toBe(true);
    expect(retriggered.state.outputs.totalSessions).toBe(8);
    expect((await callsSince(before)).scanClients).toBe(2);

    before = await counters();
    expect((await rig.stack.up(retriggered.state, { ...args, triggers: ["release-2"] })).updated).toBe(false);
    const always = await rig.stack.up(retriggered.state, {
      ...args,
      triggers: ["release-2"],
      alwaysRun: true,
    });
    expect(always.updated).toBe(true);
    const again = await rig.stack.up(always.state, { ...args, triggers: ["release-2"], alwaysRun: true });
    expect(again.updated).toBe(true);
    expect((await callsSince(before)).scanClients).toBe(4);
    scan = again.state;
  });

  test("a new instanceId or engine replaces the resource rather than updating it", async () => {
    const { diff: moved } = await rig.stack.preview(scan, { instanceId: "another-instance", topN: 3 });
    expect(moved).toMatchObject({ changes: "some", replaces: ["instanceId"], deleteBeforeReplace: true });
    const { diff: engine } = await rig.stack.preview(scan, {
      instanceId: rig.emulator.instanceId,
      topN: 3,
      engine: "geminidb",
    });
    expect(engine.replaces).toEqual(["engine"]);
  });

  test("Check reports every bad input by property, before anything remote", async () => {
    const before = await counters();
    const urn = rig.stack.urn("SessionPurge", "bad");
    const checked = await rig.host.check(
      urn,
      {},
      await rig.stack.news("SessionPurge", {
        instanceId: "bad id!",
        allNodes: true,
        maxSessions: -1,
        outsideWindow: "later",
        maintenanceWindow: { start: "25:00", end: "04:00" },
      }),
    );
    const properties = checked.failures.map((f) => f.property).sort();
    expect(properties).toEqual(["instanceId", "maintenanceWindow", "maxSessions", "outsideWindow"]);
    expect(checked.failures.find((f) => f.property === "outsideWindow")?.reason).toContain("fail, skip");
    expect(checked.failures.find((f) => f.property === "maintenanceWindow")?.reason).toContain(
      "maintenanceWindow.start",
    );
    expect(await callsSince(before)).toEqual({});
  });

  describe("purge guards: none sends a kill-all", () => {
    const purgeArgs = (extra: Record<string, unknown>) => ({
      instanceId: rig.emulator.instanceId,
      allNodes: true,
      ...extra,
    });

    afterEach(async () => {
      expect(await killAlls()).toBe(0);
      expect(allOpen()).toBe(true);
    });

    test("dryRun counts and kills nothing", async () => {
      const purge = await rig.stack.create("SessionPurge", "dry", purgeArgs({ dryRun: true }));
      expect(purge.outputs).toMatchObject({
        status: "dry-run",
        sessionsBefore: 8,
        sessionsAfter: null,
        jobIds: [],
      });
    });

    test("maxSessions refuses with a message naming the count and the limit", async () => {
      const refused = rig.stack.create("SessionPurge", "max", purgeArgs({ maxSessions: 5 }));
      await expect(refused).rejects.toThrow(/8 sessions are connected.*maxSessions \(5\)/);
    });

    test("minSessions skips", async () => {
      const purge = await rig.stack.create("SessionPurge", "min", purgeArgs({ minSessions: 100 }));
      expect(purge.outputs).toMatchObject({ status: "skipped-below-minimum", sessionsBefore: 8 });
    });

    test("outside the maintenance window: fails by default, skips with outsideWindow: skip", async () => {
      const before = await counters();
      const window = closedWindow();
      const failed = rig.stack.create(
        "SessionPurge",
        "window-fail",
        purgeArgs({ maintenanceWindow: window }),
      );
      await expect(failed).rejects.toThrow(/maintenance window/);
      const skipped = await rig.stack.create(
        "SessionPurge",
        "window-skip",
        purgeArgs({ maintenanceWindow: window, outsideWindow: "skip" }),
      );
      expect(skipped.outputs).toMatchObject({ status: "skipped-outside-window", sessionsBefore: null });
      // The window is judged before any remote call.
      expect(await callsSince(before)).toEqual({});
    });
  });

  describe("a purge that runs", () => {
    let purge: ResourceState;

    test("closes the clients' connections and reports the sessions before and after", async () => {
      const expected = connections.flatMap((c) => c.clients);
      purge = await rig.stack.create("SessionPurge", "purge", {
        instanceId: rig.emulator.instanceId,
        allNodes: true,
        maxSessions: 5000,
        triggers: ["release-1"],
      });
      expect(purge.outputs).toMatchObject({ status: "purged", sessionsBefore: 8, sessionsAfter: 0 });
      expect(purge.outputs.jobIds).toHaveLength(1);
      expect(purge.outputs.nodes).toEqual([
        { nodeId: rig.emulator.nodeIds[0], before: 4, after: 0 },
        { nodeId: rig.emulator.nodeIds[1], before: 4, after: 0 },
      ]);
      await Promise.all(expected.map((c) => c.closedByServer));
      expect(expected.every((c) => c.isClosed())).toBe(true);
      expect(await killAlls()).toBe(1);
    });

    test("refresh returns a purge unchanged and calls nothing remote", async () => {
      const before = await counters();
      const refreshed = await rig.stack.refresh(purge);
      expect(refreshed.outputs).toEqual(purge.outputs);
      expect(await callsSince(before)).toEqual({});
    });

    test("update runs the purge again only when its triggers change", async () => {
      const late = await open(0, ["late-1", "late-2"], 0);
      const args = { instanceId: rig.emulator.instanceId, allNodes: true, maxSessions: 5000 };
      const same = await rig.stack.up(purge, { ...args, triggers: ["release-1"] });
      expect(same.updated).toBe(false);
      expect(late.clients.every((c) => !c.isClosed())).toBe(true);
      expect(await killAlls()).toBe(1);

      // A preview of that change: Check and Diff say it would run, and nothing remote is called.
      const beforePreview = await counters();
      const { diff } = await rig.stack.preview(purge, { ...args, triggers: ["release-2"] });
      expect(diff).toMatchObject({ changes: "some", replaces: [] });
      expect(await callsSince(beforePreview)).toEqual({});
      expect(late.clients.every((c) => !c.isClosed())).toBe(true);

      const next = await rig.stack.up(purge, { ...args, triggers: ["release-2"] });
      expect(next.updated).toBe(true);
      expect(next.state.outputs).toMatchObject({ status: "purged", sessionsBefore: 2, sessionsAfter: 0 });
      await Promise.all(late.clients.map((c) => c.closedByServer));
      expect(await killAlls()).toBe(2);
      purge = next.state;
    });

    test("destroy calls nothing remote and leaves every connection open", async () => {
      const survivors = await open(1, ["after-destroy-1", "after-destroy-2"], 0);
      const before = await counters();
      await rig.stack.destroy(purge);
      await rig.stack.destroy(scan);
      expect(await callsSince(before)).toEqual({});
      expect(survivors.clients.every((c) => !c.isClosed())).toBe(true);
    });
  });
});
