/**
 * scanSessions and purgeSessions on real `redis-server` processes behind the emulator, with real named client
 * connections on several dbs: the counts are the connections, and a purge really closes them.
 */
import { createClient } from "../../src/api/client";
import type { SessionsClient } from "../../src/api/types";
import { purgeSessions } from "../../src/core/purge";
import { scanSessions } from "../../src/core/scan";
import { startEmulator, type EmulatorHandle } from "../../src/emulator";
import { openClients, startRedisServers, type OpenClients, type RedisServers } from "../../src/testing/redis";
import { settlesWithin } from "../support/clients";
import { describeWithRedis } from "../support/redis";

describeWithRedis("scan and purge on real redis-server nodes", () => {
  let servers: RedisServers;
  let emulator: EmulatorHandle;
  let client: SessionsClient;
  let opened: OpenClients[] = [];

  beforeAll(async () => {
    servers = await startRedisServers(2);
    emulator = await startEmulator({ redis: servers.urls, redisTopology: "data", jobMs: 20 });
    client = createClient({ env: emulator.env });
  });
  afterAll(async () => {
    for (const o of opened) await o.closeAll();
    await client?.close();
    await emulator?.close();
    await servers?.stop();
  });
  afterEach(async () => {
    for (const o of opened) await o.closeAll();
    opened = [];
    await emulator.control.resetCounters();
  });

  async function connect(): Promise<[OpenClients, OpenClients]> {
    const first = await openClients(servers.urls[0]!, [
      { name: "web-1" },
      { name: "web-2" },
      { name: "worker", db: 3, lastCommand: ["GET", "k"] },
    ]);
    opened.push(first);
    const second = await openClients(servers.urls[1]!, [{ name: "cron", db: 5 }, { name: "web-1" }]);
    opened.push(second);
    return [first, second];
  }

  it("counts the real connections by name, db and command", async () => {
    await connect();
    const snap = await scanSessions({ instanceId: emulator.instanceId, client });
    expect(snap.totalSessions).toBe(5);
    expect(snap.nodes.map((n) => [n.role, n.sessions])).toEqual([
      ["redis-server", 3],
      ["redis-server", 2],
    ]);
    expect(snap.byName).toEqual({ "web-1": 2, cron: 1, "web-2": 1, worker: 1 });
    expect(snap.byDb).toEqual({ "0": 3, "3": 1, "5": 1 });
    expect(snap.byClientIp).toEqual({ "127.0.0.1": 5 });
    expect(snap.byCommand.get).toBe(1);
  });

  it("a dry run leaves every connection open", async () => {
    const [first, second] = await connect();
    const report = await purgeSessions({
      instanceId: emulator.instanceId,
      client,
      allNodes: true,
      dryRun: true,
    });
    expect(report).toMatchObject({ status: "dry-run", sessionsBefore: 5 });
    expect([...first.clients, ...second.clients].some((c) => c.isClosed())).toBe(false);
    expect((await emulator.control.counters()).killAllClients ?? 0).toBe(0);
  });

  it("a purge of one node closes its connections only", async () => {
    const [first, second] = await connect();
    const report = await purgeSessions({
      instanceId: emulator.instanceId,
      client,
      nodeIds: [emulator.nodeIds[0]!],
    });
    expect(report).toMatchObject({ status: "purged", sessionsBefore: 3, sessionsAfter: 0 });
    for (const c of first.clients) expect(await settlesWithin(c.closedByServer, 5000)).toBe(true);
    expect(second.clients.some((c) => c.isClosed())).toBe(false);
  });

  it("a purge of every node closes every connection with one kill-all", async () => {
    const [first, second] = await connect();
    const report = await purgeSessions({
      instanceId: emulator.instanceId,
      client,
      allNodes: true,
      maxSessions: 10,
    });
    expect(report).toMatchObject({ status: "purged", sessionsBefore: 5, sessionsAfter: 0 });
    for (const c of [...first.clients, ...second.clients]) {
      expect(await settlesWithin(c.closedByServer, 5000)).toBe(true);
    }
    expect((await emulator.control.counters()).killAllClients).toBe(1);
  });
});
