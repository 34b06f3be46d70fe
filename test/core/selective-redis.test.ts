/**
 * The selective purge on real `redis-server` nodes behind the emulator, with real connections from several
 * loopback addresses (IPv4 and IPv6), ACL users, names, dbs and commands, some left idle: a purge closes
 * exactly the matching connections — the others still answer PING — on DCS and on GeminiDB, and behind a
 * proxy without client-IP pass-through it names the real clients (`peer`), not the proxy side (`addr`).
 */
import { ApiError, GuardRefusedError, ValidationError } from "../../src/api/errors";
import { createClient } from "../../src/api/client";
import type { SessionsClient } from "../../src/api/types";
import { purgeSessions } from "../../src/core/purge";
import { scanSessions } from "../../src/core/scan";
import type { PurgeOptions, SessionMatch } from "../../src/core/types";
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from "../../src/emulator";
import {
  openClients,
  rawConnection,
  startRedisServers,
  type ClientSpec,
  type OpenClient,
  type RedisServers,
} from "../../src/testing/redis";
import { settlesWithin } from "../support/clients";
import { describeWithRedis } from "../support/redis";

const PASSWORD = "reporting-test-password";

/** The connections opened on each node, with what the selection reads of them. */
const FLEET: ClientSpec[] = [
  { name: "batch-1", localAddress: "127.0.0.2" },
  { name: "batch-2", localAddress: "127.0.0.2", db: 2 },
  { name: "web-1", localAddress: "127.0.0.3" },
  { name: "web-2", localAddress: "127.0.0.3", db: 3, lastCommand: ["GET", "k"] },
  { name: "report-1", localAddress: "127.0.0.4", username: "reporting", password: PASSWORD, db: 5 },
  { name: "report-2", localAddress: "127.0.0.4", username: "reporting", password: PASSWORD },
  { name: "v6-1", host: "::1" },
  { name: "sleepy-1", localAddress: "127.0.0.5" },
];

interface Conn {
  node: number;
  spec: ClientSpec;
  client: OpenClient;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Adds the ACL user `reporting` on each server, on a connection closed right after. */
async function addReportingUser(urls: string[]): Promise<void> {
  for (const url of urls) {
    const admin = rawConnection(url);
    await admin.connect();
    await admin.call("ACL", "SETUSER", "reporting", "on", `>${PASSWORD}`, "~*", "&*", "+@all");
    await admin.quit();
  }
}

/** One test's connections and the checks on them; closes whatever is left at the end. */
class Fleet {
  readonly conns: Conn[] = [];
  private closers: Array<() => Promise<void>> = [];

  async open(urls: string[], specs: ClientSpec[] = FLEET): Promise<this> {
    for (const [node, url] of urls.entries()) {
      const opened = await openClients(url, specs);
      this.closers.push(opened.closeAll);
      opened.clients.forEach((client, i) => this.conns.push({ node, spec: specs[i]!, client }));
    }
    return this;
  }

  count(predicate: (c: Conn) => boolean): number {
    return this.conns.filter(predicate).length;
  }

  /** The connections the predicate picks are closed by the server; every other one still answers PING. */
  async expectOnlyClosed(predicate: (c: Conn) => boolean): Promise<void> {
    for (const c of this.conns) {
      const label = `${c.spec.name} on node ${c.node}`;
      if (predicate(c)) {
        expect([label, await settlesWithin(c.client.closedByServer, 5000)]).toEqual([label, true]);
      } else {
        expect([label, await c.client.ping()]).toEqual([label, "PONG"]);
      }
    }
  }

  async close(): Promise<void> {
    for (const close of this.closers) await close();
    this.closers = [];
  }
}

const named =
  (...names: string[]) =>
  (c: Conn): boolean =>
    names.includes(c.spec.name);

interface RealNodes {
  readonly servers: RedisServers;
  readonly emulator: EmulatorHandle;
  readonly client: SessionsClient;
  /** This test's connections, opened before it. */
  readonly fleet: Fleet;
}

interface RealNodesSetup {
  servers: number;
  ipv6?: boolean;
  /** Add the ACL user `reporting` (FLEET's report-* connections log in as it). */
  reportingUser?: boolean;
  emulator: Omit<EmulatorOptions, "redis">;
  specs?: ClientSpec[];
}

/**
 * Registers a describe's hooks: redis servers, an emulator over them and a client before all tests; before
 * each, the counters reset and a fresh fleet of connections; everything closed after. Returns accessors.
 */
function useRealNodes(setup: RealNodesSetup): RealNodes {
  let servers: RedisServers | undefined;
  let emulator: EmulatorHandle | undefined;
  let client: SessionsClient | undefined;
  let fleet: Fleet | undefined;

  beforeAll(async () => {
    servers = await startRedisServers(setup.servers, setup.ipv6 ? { ipv6: true } : {});
    if (setup.reportingUser) await addReportingUser(servers.urls);
    emulator = await startEmulator({ ...setup.emulator, redis: servers.urls });
    client = createClient({ env: emulator.env });
  });
  afterAll(async () => {
    await fleet?.close();
    await client?.close();
    await emulator?.close();
    await servers?.stop();
  });
  beforeEach(async () => {
    await emulator!.control.resetCounters();
    fleet = await new Fleet().open(servers!.urls, setup.specs);
  });
  afterEach(async () => {
    await fleet!.close();
  });

  return {
    get servers() {
      return servers!;
    },
    get emulator() {
      return emulator!;
    },
    get client() {
      return client!;
    },
    get fleet() {
      return fleet!;
    },
  };
}

describeWithRedis("selective purge on real redis-server nodes (DCS)", () => {
  const rig = useRealNodes({
    servers: 2,
    ipv6: true,
    reportingUser: true,
    emulator: { redisTopology: "data", jobMs: 20 },
  });

  const purge = (match: SessionMatch, over: Partial<PurgeOptions> = {}) =>
    purgeSessions({
      instanceId: rig.emulator.instanceId,
      client: rig.client,
      allNodes: true,
      match,
      ...over,
    });

  it("closes the connections of the chosen client IPs, IPv4 and IPv6, and no other", async () => {
    const report = await purge({ clients: ["127.0.0.2", "::1/128"] });
    const picked = named("batch-1", "batch-2", "v6-1");
    expect(report).toMatchObject({
      status: "purged",
      sessionsBefore: rig.fleet.conns.length,
      matchedSessions: rig.fleet.count(picked),
      sessionsAfter: rig.fleet.conns.length - rig.fleet.count(picked),
    });
    expect(report.nodes.map((n) => [n.before, n.matched, n.after])).toEqual([
      [FLEET.length, 3, FLEET.length - 3],
      [FLEET.length, 3, FLEET.length - 3],
    ]);
    for (const s of report.selectedSessions ?? []) expect(s.peer).toMatch(/^(127\.0\.0\.2:|\[::1\]:)\d+$/);
    await rig.fleet.expectOnlyClosed(picked);
    const counters = await rig.emulator.control.counters();
    expect(counters.killClients).toBe(2);
    expect(counters.killAllClients ?? 0).toBe(0);
  });

  it("ANDs the fields and ORs the values: an ACL user on one db", async () => {
    const report = await purge({ users: ["reporting"], dbs: [5, 9] });
    expect(report.matchedSessions).toBe(2);
    expect(report.selectedSessions?.map((s) => [s.user, s.name, s.db])).toEqual([
      ["reporting", "report-1", "5"],
      ["reporting", "report-1", "5"],
    ]);
    await rig.fleet.expectOnlyClosed(named("report-1"));
  });

  it("matches names and commands (case-insensitively) together", async () => {
    const report = await purge({ names: ["web-1", "web-2"], cmds: ["GET"] });
    expect(report.matchedSessions).toBe(2);
    await rig.fleet.expectOnlyClosed(named("web-2"));
  });

  it("closes the connections idle for more than N seconds, and not the busy ones", async () => {
    await sleep(3200);
    // Everyone but the sleepy ones does something now: their idle time starts again from 0.
    await Promise.all(rig.fleet.conns.filter((c) => c.spec.name !== "sleepy-1").map((c) => c.client.ping()));
    const report = await purge({ idleOverSeconds: 2 });
    expect(report.matchedSessions).toBe(2);
    expect(report.selectedSessions?.every((s) => s.name === "sleepy-1" && s.idle > 2)).toBe(true);
    await rig.fleet.expectOnlyClosed(named("sleepy-1"));
  });

  it("a dry run reports the selection and closes nothing", async () => {
    const report = await purge({ clients: ["127.0.0.0/8"] }, { dryRun: true, topN: 3 });
    expect(report).toMatchObject({
      status: "dry-run",
      matchedSessions: rig.fleet.count((c) => c.spec.host === undefined),
      sessionsAfter: null,
    });
    expect(report.selectedSessions).toHaveLength(3);
    // The first N, each with its node, real client, user, name and idle seconds, as listed.
    const names = FLEET.map((spec) => spec.name);
    for (const s of report.selectedSessions!) {
      expect(rig.emulator.nodeIds).toContain(s.nodeId);
      expect(s.peer).toMatch(/^127\.0\.0\.\d+:\d+$/);
      expect(["default", "reporting"]).toContain(s.user);
      expect(names).toContain(s.name);
      expect(s.idle).toEqual(expect.any(Number));
    }
    expect(report.selectedSessions!.map((s) => s.name)).toEqual(names.slice(0, 3));
    expect(report.nodes.map((n) => n.matched)).toEqual([FLEET.length - 1, FLEET.length - 1]);
    await rig.fleet.expectOnlyClosed(() => false);
    const counters = await rig.emulator.control.counters();
    expect((counters.killClients ?? 0) + (counters.killAllClients ?? 0)).toBe(0);
  });

  it("the guards count matched sessions, not connected ones", async () => {
    const match = { clients: ["127.0.0.2"] };
    const matched = rig.fleet.count(named("batch-1", "batch-2"));
    const refused = await purge(match, { maxSessions: matched - 1 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GuardRefusedError);
    expect(String(refused)).toContain(`${matched} sessions match, more than maxSessions (${matched - 1})`);
    const skipped = await purge(match, { minSessions: matched + 1 });
    expect(skipped).toMatchObject({ status: "skipped-below-minimum", matchedSessions: matched });
    await rig.fleet.expectOnlyClosed(() => false);
    expect((await rig.emulator.control.counters()).killClients ?? 0).toBe(0);

    // Fewer match than maxSessions although more are connected: the purge goes ahead.
    const plans: number[] = [];
    const report = await purge(match, {
      maxSessions: matched,
      confirm: async (plan) => {
        plans.push(plan.sessions);
        return true;
      },
    });
    expect(report.sessionsBefore).toBeGreaterThan(matched);
    expect(report.matchedSessions).toBe(matched);
    expect(plans).toEqual([matched]);
    await rig.fleet.expectOnlyClosed(named("batch-1", "batch-2"));
  });

  it("a selected connection that is gone before the kill is not an error; the after snapshot says so", async () => {
    const gone = rig.fleet.conns.filter((c) => c.spec.name === "batch-1");
    const report = await purge(
      { clients: ["127.0.0.2"] },
      {
        // Between the listing and the kill, the client leaves by itself.
        confirm: async () => {
          for (const c of gone) await c.client.close();
          return true;
        },
      },
    );
    expect(report).toMatchObject({
      status: "purged",
      matchedSessions: rig.fleet.count(named("batch-1", "batch-2")),
      sessionsAfter: rig.fleet.count((c) => !["batch-1", "batch-2"].includes(c.spec.name)),
    });
    // The ones that left were closed by us, not by the server: the rest is checked as usual.
    expect(gone.every((c) => c.client.isClosed())).toBe(true);
    for (const c of gone) rig.fleet.conns.splice(rig.fleet.conns.indexOf(c), 1);
    await rig.fleet.expectOnlyClosed(named("batch-2"));
  });

  it("kills 250 matching connections in batches of at most 100 addresses", async () => {
    const bulk = Array.from({ length: 250 }, (_, i) => ({ name: `bulk-${i}`, localAddress: "127.0.0.6" }));
    await rig.fleet.open([rig.servers.urls[0]!], bulk);
    const report = await purge({ clients: ["127.0.0.6"] });
    expect(report.matchedSessions).toBe(250);
    expect(report.nodes.map((n) => n.matched)).toEqual([250, 0]);
    expect((await rig.emulator.control.counters()).killClients).toBe(3);
    await rig.fleet.expectOnlyClosed((c) => c.spec.localAddress === "127.0.0.6");
  });
});

describeWithRedis("selective purge on real redis-server nodes (GeminiDB)", () => {
  const engine = "geminidb" as const;
  const rig = useRealNodes({
    servers: 2,
    ipv6: true,
    reportingUser: true,
    emulator: { engine, redisTopology: "data", jobMs: 20 },
  });

  it("closes exactly the matching sessions by id, node by node", async () => {
    const report = await purgeSessions({
      instanceId: rig.emulator.instanceId,
      engine,
      client: rig.client,
      allNodes: true,
      match: { clients: ["127.0.0.3", "::1"], cmds: ["get", "ping"], dbs: [0, 3] },
    });
    const picked = named("web-1", "web-2", "v6-1");
    expect(report).toMatchObject({ status: "purged", matchedSessions: rig.fleet.count(picked) });
    await rig.fleet.expectOnlyClosed(picked);
    const counters = await rig.emulator.control.counters();
    expect(counters.geminidbCloseNodeSessions).toBe(2);
    expect(counters.geminidbCloseSessions ?? 0).toBe(0);
  });

  it("a dry run closes nothing; a user filter is refused before any call", async () => {
    const report = await purgeSessions({
      instanceId: rig.emulator.instanceId,
      engine,
      client: rig.client,
      allNodes: true,
      dryRun: true,
      match: { names: ["sleepy-1", "web-1"] },
    });
    expect(report).toMatchObject({
      status: "dry-run",
      matchedSessions: rig.fleet.count(named("sleepy-1", "web-1")),
    });
    expect(report.nodes.map((n) => n.matched)).toEqual([2, 2]);
    const refused = await purgeSessions({
      instanceId: rig.emulator.instanceId,
      engine,
      client: rig.client,
      allNodes: true,
      match: { users: ["reporting"] },
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ValidationError);
    await rig.fleet.expectOnlyClosed(() => false);
    expect((await rig.emulator.control.counters()).geminidbCloseNodeSessions ?? 0).toBe(0);
  });

  it("a selected session that is gone before the kill is not an error; the after snapshot says so", async () => {
    const gone = rig.fleet.conns.filter((c) => c.spec.name === "web-1");
    const report = await purgeSessions({
      instanceId: rig.emulator.instanceId,
      engine,
      client: rig.client,
      allNodes: true,
      match: { names: ["web-1", "web-2"] },
      // Between the listing and the kill, one of the selected clients leaves by itself.
      confirm: async () => {
        for (const c of gone) await c.client.close();
        return true;
      },
    });
    expect(report).toMatchObject({
      status: "purged",
      matchedSessions: rig.fleet.count(named("web-1", "web-2")),
      sessionsAfter: rig.fleet.count((c) => !["web-1", "web-2"].includes(c.spec.name)),
    });
    expect((await rig.emulator.control.counters()).geminidbCloseNodeSessions).toBe(2);
    for (const c of gone) rig.fleet.conns.splice(rig.fleet.conns.indexOf(c), 1);
    await rig.fleet.expectOnlyClosed(named("web-2"));
  });

  it("a purge of one whole node closes it with is_all; the instance-wide close is refused here", async () => {
    const [first] = rig.emulator.nodeIds as [string];
    const report = await purgeSessions({
      instanceId: rig.emulator.instanceId,
      engine,
      client: rig.client,
      nodeIds: [first],
    });
    expect(report).toMatchObject({ status: "purged", sessionsBefore: FLEET.length, sessionsAfter: 0 });
    await rig.fleet.expectOnlyClosed((c) => c.node === 0);
    const counters = await rig.emulator.control.counters();
    expect(counters.geminidbCloseNodeSessions).toBe(1);
    expect(counters.geminidbCloseSessions ?? 0).toBe(0);

    // Not a proxy cluster: the service refuses to close the whole instance's sessions in one call.
    const refused = await rig.client.geminidb.closeSessions(rig.emulator.instanceId).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 400, errorCode: "DBS.200001" });
    expect(String(refused)).toMatch(/proxy-cluster instances only/);
    await rig.fleet.expectOnlyClosed((c) => c.node === 0);
  });
});

describeWithRedis("selective purge behind a proxy without client-IP pass-through", () => {
  const specs: ClientSpec[] = [
    { name: "a-1", localAddress: "127.0.0.2" },
    { name: "a-2", localAddress: "127.0.0.2" },
    { name: "b-1", localAddress: "127.0.0.3" },
    { name: "b-2", localAddress: "127.0.0.3" },
  ];

  const rig = useRealNodes({
    servers: 1,
    emulator: { redisTopology: "proxy", clientIpPassThrough: false, jobMs: 20 },
    specs,
  });

  it("lists the proxy side in addr and the real client in peer; byClientIp counts real clients", async () => {
    const snapshot = await scanSessions({ instanceId: rig.emulator.instanceId, client: rig.client });
    expect(snapshot.byClientIp).toEqual({ "127.0.0.2": 2, "127.0.0.3": 2 });
    const page = await rig.client.dcs.listClients(rig.emulator.instanceId, {
      nodeId: rig.emulator.nodeIds[0]!,
      limit: 10,
    });
    const peers = rig.fleet.conns.map((c) => c.client.addr).sort();
    expect(page.clients.map((c) => c.peer).sort()).toEqual(peers);
    for (const c of page.clients) {
      expect(c.addr).not.toBe(c.peer);
      expect(peers).not.toContain(c.addr);
    }
  });

  it("kills by peer: the matching real clients are closed, the others still answer", async () => {
    const report = await purgeSessions({
      instanceId: rig.emulator.instanceId,
      client: rig.client,
      allNodes: true,
      match: { clients: ["127.0.0.2/32"] },
    });
    expect(report).toMatchObject({ status: "purged", matchedSessions: 2, sessionsAfter: 2 });
    expect(report.selectedSessions?.map((s) => s.peer).sort()).toEqual(
      rig.fleet.conns
        .filter((c) => c.spec.localAddress === "127.0.0.2")
        .map((c) => c.client.addr)
        .sort(),
    );
    await rig.fleet.expectOnlyClosed((c) => c.spec.localAddress === "127.0.0.2");
  });

  it("a kill naming the proxy-side addr closes nothing: the service matches peers", async () => {
    const nodeId = rig.emulator.nodeIds[0]!;
    await scanSessions({ instanceId: rig.emulator.instanceId, client: rig.client, nodeIds: [nodeId] });
    const page = await rig.client.dcs.listClients(rig.emulator.instanceId, { nodeId, limit: 10 });
    await rig.client.dcs.killClients(rig.emulator.instanceId, {
      nodeId,
      clientAddrs: page.clients.map((c) => c.addr!),
    });
    await rig.fleet.expectOnlyClosed(() => false);
  });
});
