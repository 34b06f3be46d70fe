/**
 * The emulator's headline test, through HTTP: the real client signs requests to the emulator, whose nodes are
 * three real redis-server processes holding 40 named connections over dbs 0–3.
 */
import { createClient } from "../../src/api/client";
import type { ClientInfo } from "../../src/api/schemas";
import type { SessionsClient } from "../../src/api/types";
import { startEmulator } from "../../src/emulator/server";
import type { EmulatorHandle } from "../../src/emulator/types";
import {
  openClients,
  startRedisServers,
  type ClientSpec,
  type OpenClient,
  type OpenClients,
  type RedisServers,
} from "../../src/testing/redis";
import { describeWithRedis } from "../support/redis";

const LAST_COMMANDS: Array<{ command: string[]; cmd: string }> = [
  { command: ["PING"], cmd: "ping" },
  { command: ["GET", "k"], cmd: "get" },
  { command: ["SET", "k", "v"], cmd: "set" },
  { command: ["INCR", "counter"], cmd: "incr" },
  { command: ["EXISTS", "k"], cmd: "exists" },
];

interface Expected extends ClientSpec {
  node: number;
  cmd: string;
  /** Opened before the pause: these sessions are the idlest. */
  early: boolean;
}

/** Connection i: node i % 3, db i % 4, the (i % 5)-th last command; the first 20 opened before a pause. */
const EXPECTED: Expected[] = Array.from({ length: 40 }, (_, i) => {
  const last = LAST_COMMANDS[i % LAST_COMMANDS.length]!;
  return {
    name: `app-${i}`,
    node: i % 3,
    db: i % 4,
    lastCommand: last.command,
    cmd: last.cmd,
    early: i < 20,
  };
});

/** Redis reports `idle` in whole seconds: a pause of a bit over 2 s makes early sessions strictly idler. */
const IDLE_GAP_MS = 2100;

/** Fails with a message, rather than hanging the suite, if `promise` does not settle within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describeWithRedis("emulator over HTTP with real redis-server nodes", () => {
  let servers: RedisServers | undefined;
  let emulator: EmulatorHandle | undefined;
  let client: SessionsClient | undefined;
  /** Open connections per redis-server, in the order of `servers.urls`. */
  const byServer: OpenClient[][] = [[], [], []];
  const opened: OpenClients[] = [];
  /** The emulator node id of each redis-server, learned from the sessions each node reports. */
  const nodeOf: string[] = [];

  async function open(early: boolean): Promise<void> {
    for (let node = 0; node < 3; node++) {
      const specs = EXPECTED.filter((e) => e.node === node && e.early === early);
      const batch = await openClients(servers!.urls[node]!, specs);
      opened.push(batch);
      byServer[node]!.push(...batch.clients);
    }
  }

  async function scan(nodeId: string): Promise<void> {
    const { jobId } = await client!.dcs.scanClients(emulator!.instanceId, { nodeId });
    const job = await client!.dcs.waitForJob(jobId, {
      timeoutMs: 15_000,
      initialIntervalMs: 20,
      maxIntervalMs: 200,
    });
    expect(job.status).toBe("SUCCESS");
  }

  async function listAll(nodeId: string, query: { addr?: string } = {}): Promise<ClientInfo[]> {
    const out: ClientInfo[] = [];
    for await (const session of client!.dcs.listAllClients(emulator!.instanceId, { nodeId, ...query })) {
      out.push(session);
    }
    return out;
  }

  async function runJob(start: Promise<{ jobId: string }>): Promise<void> {
    const { jobId } = await start;
    const job = await client!.dcs.waitForJob(jobId, {
      timeoutMs: 15_000,
      initialIntervalMs: 20,
      maxIntervalMs: 200,
    });
    expect(job.status).toBe("SUCCESS");
  }

  beforeAll(async () => {
    servers = await startRedisServers(3);
    await open(true);
    await new Promise((resolve) => setTimeout(resolve, IDLE_GAP_MS));
    await open(false);
    emulator = await startEmulator({ redis: servers.urls, jobMs: 50 });
    client = createClient({
      endpoint: emulator.endpoint,
      geminidbEndpoint: emulator.geminidbEndpoint,
      projectId: emulator.projectId,
      region: emulator.region,
      credentials: { kind: "aksk", accessKey: emulator.accessKey, secretKey: emulator.secretKey },
      env: {},
      retry: { maxAttempts: 1 },
    });
  });

  afterAll(async () => {
    await client?.close();
    await emulator?.close();
    await Promise.all(opened.map((o) => o.closeAll()));
    await servers?.stop();
  });

  test("scan + list returns exactly the 40 sessions, with their names, dbs and last commands", async () => {
    const nodes = emulator!.nodeIds;
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    // The addresses of the connections opened to each server. An address alone does not name a server: Linux
    // may give two connections the same local port when they go to different servers (a 4-tuple is unique, a
    // local port need not be), so `127.0.0.1:40123` can be a client of two of these servers at once.
    const addrsOf = byServer.map((clients) => new Set(clients.map((c) => c.addr)));
    for (const nodeId of nodes.slice(0, 3)) {
      await scan(nodeId);
      const sessions = await listAll(nodeId);
      // Which redis-server is behind this node: the one that holds every address the node reports.
      const owners = addrsOf.flatMap((addrs, server) =>
        sessions.every((s) => addrs.has(s.addr ?? "")) ? [server] : [],
      );
      expect(owners).toHaveLength(1);
      const server = owners[0]!;
      nodeOf[server] = nodeId;

      const got = sessions.map((s) => ({ name: s.name, db: s.db, cmd: s.cmd })).sort(byName);
      const want = EXPECTED.filter((e) => e.node === server)
        .map((e) => ({ name: e.name, db: String(e.db), cmd: e.cmd }))
        .sort(byName);
      expect(got).toEqual(want);
      expect(sessions.map((s) => s.addr).sort()).toEqual(byServer[server]!.map((c) => c.addr).sort());
    }
    expect(new Set(nodeOf).size).toBe(3);
    // The nodes follow the order of the `redis` URLs, which is what lets users pick a node by its server.
    expect(nodeOf).toEqual(nodes.slice(0, 3));
  });

  test("the addr filter keeps only the matching session", async () => {
    const target = byServer[1]![3]!;
    const page = await client!.dcs.listClients(emulator!.instanceId, {
      nodeId: nodeOf[1]!,
      addr: target.addr,
      limit: 100,
    });
    expect(page.count).toBe(1);
    expect(page.clients.map((s) => [s.addr, s.name])).toEqual([[target.addr, target.name]]);
    const none = await client!.dcs.listClients(emulator!.instanceId, {
      nodeId: nodeOf[1]!,
      addr: "10.255.255.1:",
    });
    expect(none).toMatchObject({ count: 0, clients: [] });
  });

  test("sort=idle&order=desc lists the idlest sessions first", async () => {
    const page = await client!.dcs.listClients(emulator!.instanceId, {
      nodeId: nodeOf[0]!,
      sort: "idle",
      order: "desc",
      limit: 100,
    });
    const idles = page.clients.map((s) => s.idle!);
    expect(idles).toEqual([...idles].sort((a, b) => b - a));
    // The connections opened before the pause come first, every one of them.
    const early = new Set(EXPECTED.filter((e) => e.node === 0 && e.early).map((e) => e.name));
    const flags = page.clients.map((s) => early.has(s.name ?? ""));
    expect(flags).toEqual([...flags].sort((a, b) => Number(b) - Number(a)));
    expect(flags.filter(Boolean)).toHaveLength(early.size);
    expect(idles[0]).toBeGreaterThan(idles[idles.length - 1]!);
  });

  test("kill-chosen closes only the chosen addresses", async () => {
    const clients = byServer[2]!;
    const chosen = [clients[0]!, clients[5]!, clients[9]!];
    await client!.dcs.killClients(emulator!.instanceId, {
      nodeId: nodeOf[2]!,
      clientAddrs: chosen.map((c) => c.addr),
    });
    await within(Promise.all(chosen.map((c) => c.closedByServer)), 10_000, "the chosen clients' close");
    expect(clients.filter((c) => c.isClosed()).map((c) => c.name)).toEqual(chosen.map((c) => c.name));
    expect(
      byServer
        .flat()
        .filter((c) => c.isClosed())
        .map((c) => c.name),
    ).toEqual(chosen.map((c) => c.name));
  });

  test("kill-all on one node closes exactly that node's connections and leaves the others", async () => {
    await runJob(client!.dcs.killAllClients(emulator!.instanceId, { nodeId: nodeOf[0]! }));
    await within(Promise.all(byServer[0]!.map((c) => c.closedByServer)), 10_000, "node 0's clients' close");
    expect(byServer[1]!.filter((c) => c.isClosed())).toEqual([]);
    expect(byServer[2]!.filter((c) => c.isClosed())).toHaveLength(3);

    await scan(nodeOf[0]!);
    expect(await listAll(nodeOf[0]!)).toEqual([]);
    await scan(nodeOf[1]!);
    expect(await listAll(nodeOf[1]!)).toHaveLength(byServer[1]!.length);
  });

  test("kill-all with kill_all_nodes closes every connection of every node", async () => {
    await runJob(client!.dcs.killAllClients(emulator!.instanceId, { allNodes: true }));
    await within(Promise.all(byServer.flat().map((c) => c.closedByServer)), 10_000, "every client's close");
    expect(byServer.flat().every((c) => c.isClosed())).toBe(true);
    for (const nodeId of nodeOf) {
      await scan(nodeId);
      expect(await listAll(nodeId)).toEqual([]);
    }
  });
});

function byName(a: { name?: string }, b: { name?: string }): number {
  return (a.name ?? "").localeCompare(b.name ?? "");
}
