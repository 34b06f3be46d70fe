/**
 * The emulator over HTTP with real redis-server nodes: what the issue asks to be shown, end to end through
 * signed requests (the backend itself is tested in redis-backend.test.ts).
 */
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator/types";
import { openClients, startRedisServers, type OpenClients, type RedisServers } from "../../src/testing/redis";
import { describeWithRedis } from "../support/redis";
import { paths, scanNode, signed, waitForJob } from "./signed-request";

const COMMANDS: string[][] = [["GET", "k"], ["SET", "k", "v"], ["PING"], ["EXISTS", "k"]];

describeWithRedis("the emulator with real redis-server nodes", () => {
  let servers: RedisServers | undefined;
  const opened: OpenClients[] = [];
  let emulator: EmulatorHandle | undefined;

  beforeAll(async () => {
    servers = await startRedisServers(3);
    for (let node = 0; node < 3; node++) {
      const specs = [];
      for (let i = node; i < 40; i += 3) {
        specs.push({ name: `app-${i}`, db: i % 4, lastCommand: COMMANDS[i % COMMANDS.length] as string[] });
      }
      opened.push(await openClients(servers.urls[node] as string, specs));
    }
    emulator = await startEmulator({ redis: servers.urls, jobMs: 20 });
  });

  afterAll(async () => {
    await emulator?.close();
    await Promise.all(opened.map((o) => o.closeAll()));
    await servers?.stop();
  });

  const e = () => emulator as EmulatorHandle;
  async function list(nodeId: string, query: Record<string, string | number> = {}) {
    await scanNode(e(), nodeId);
    const reply = await signed(e(), "GET", paths(e()).clients, {
      query: { node_id: nodeId, limit: 1000, ...query },
    });
    expect(reply.status).toBe(200);
    return reply.json as { count: number; clients: Array<Record<string, unknown>> };
  }

  test("nodes are data nodes (master) whose ids the clients APIs take", async () => {
    const reply = await signed(e(), "GET", paths(e()).nodes);
    expect(reply.json.nodes.map((n: { node_type: string }) => n.node_type)).toEqual([
      "master",
      "master",
      "master",
    ]);
    expect(reply.json.nodes.map((n: { node_id: string }) => n.node_id)).toEqual(e().nodeIds);
  });

  test("scan + list returns exactly the 40 sessions with their names, dbs and last commands", async () => {
    const seen: Array<{ name: unknown; db: unknown; cmd: unknown }> = [];
    for (let node = 0; node < 3; node++) {
      const page = await list(e().nodeIds[node] as string);
      expect(page.count).toBe(opened[node]?.clients.length);
      seen.push(...page.clients.map((c) => ({ name: c.name, db: c.db, cmd: c.cmd })));
    }
    expect(seen).toHaveLength(40);
    for (let i = 0; i < 40; i++) {
      const cmd = (COMMANDS[i % COMMANDS.length] as string[])[0]?.toLowerCase();
      expect(seen).toContainEqual({ name: `app-${i}`, db: String(i % 4), cmd });
    }
  });

  test("addr filter and sort=idle&order=desc", async () => {
    const nodeId = e().nodeIds[0] as string;
    const target = opened[0]?.clients[2]?.addr as string;
    const filtered = await list(nodeId, { addr: target });
    expect(filtered.count).toBe(1);
    expect(filtered.clients[0]?.addr).toBe(target);
    const sorted = await list(nodeId, { sort: "idle", order: "desc" });
    const idles = sorted.clients.map((c) => c.idle as number);
    expect(idles).toEqual([...idles].sort((a, b) => b - a));
  });

  test("kill-chosen closes only the chosen addresses", async () => {
    const clients = opened[1]?.clients ?? [];
    const chosen = [clients[0], clients[1]].map((c) => c?.addr as string);
    const reply = await signed(e(), "POST", paths(e()).kill, {
      body: { node_id: e().nodeIds[1], client_addrs: chosen },
    });
    expect(reply.status).toBe(204);
    await Promise.all([clients[0]?.closedByServer, clients[1]?.closedByServer]);
    expect(clients.slice(2).every((c) => !c.isClosed())).toBe(true);
    expect((await list(e().nodeIds[1] as string)).count).toBe(clients.length - 2);
  });

  test("kill-all on one node closes that node's connections and leaves the others", async () => {
    const reply = await signed(e(), "POST", paths(e()).killAll, { body: { node_id: e().nodeIds[2] } });
    expect((await waitForJob(e(), reply.json.job_id)).json.status).toBe("SUCCESS");
    await Promise.all((opened[2]?.clients ?? []).map((c) => c.closedByServer));
    expect(opened[0]?.clients.every((c) => !c.isClosed())).toBe(true);
    expect((await list(e().nodeIds[2] as string)).count).toBe(0);
  });

  test("kill_all_nodes closes them all", async () => {
    const reply = await signed(e(), "POST", paths(e()).killAll, { body: { kill_all_nodes: true } });
    expect((await waitForJob(e(), reply.json.job_id)).json.status).toBe("SUCCESS");
    await Promise.all(opened.flatMap((o) => o.clients.map((c) => c.closedByServer)));
    for (const nodeId of e().nodeIds) expect((await list(nodeId)).count).toBe(0);
  });
});
