import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ADMIN_CONNECTION_NAME,
  createRedisBackend,
  parseClientList,
  toClientInfo,
} from "../../src/emulator/backends/redis";
import type { NodeBackend, SessionView } from "../../src/emulator/types";
import {
  findRedisServer,
  freePort,
  openClients,
  redisServerArgs,
  startRedisServers,
  type ClientSpec,
  type OpenClient,
  type OpenClients,
  type RedisServers,
} from "../../src/testing/redis";
import { describeWithRedis } from "../support/redis";

// Real lines of `CLIENT LIST` from redis-server 7.0.15: a pub/sub client and a normal one on db 3.
const REDIS7_LIST =
  "id=4 addr=127.0.0.1:36736 laddr=127.0.0.1:6491 fd=7 name= age=0 idle=0 flags=P db=0 sub=1 psub=0 ssub=0 " +
  "multi=-1 qbuf=0 qbuf-free=20474 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22328 " +
  "events=r cmd=subscribe user=default redir=-1 resp=2\n" +
  "id=5 addr=127.0.0.1:36746 laddr=127.0.0.1:6491 fd=8 name=billing-worker age=376 idle=12 flags=N db=3 " +
  "sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 multi-mem=0 rbs=16384 rbp=16384 obl=0 " +
  "oll=0 omem=0 tot-mem=37658 events=r cmd=client|list user=default redir=-1 resp=2\n";

describe("parseClientList", () => {
  test("reads every field of every line, with Redis' own names", () => {
    const rows = parseClientList(REDIS7_LIST);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ id: "4", name: "", flags: "P", sub: "1", cmd: "subscribe", resp: "2" });
    expect(rows[1]).toMatchObject({
      id: "5",
      addr: "127.0.0.1:36746",
      laddr: "127.0.0.1:6491",
      name: "billing-worker",
      "qbuf-free": "20448",
      "tot-mem": "37658",
      cmd: "client|list",
    });
  });

  test("accepts CRLF line ends and ignores blank lines; empty output is no clients", () => {
    expect(parseClientList(REDIS7_LIST.replace(/\n/g, "\r\n") + "\r\n")).toEqual(
      parseClientList(REDIS7_LIST),
    );
    expect(parseClientList("")).toEqual([]);
  });
});

describe("toClientInfo", () => {
  test("maps a CLIENT LIST line to exactly the documented ClientInfo fields, numbers as numbers", () => {
    const [, normal] = parseClientList(REDIS7_LIST);
    expect(toClientInfo(normal!)).toEqual({
      id: "5",
      addr: "127.0.0.1:36746",
      fd: "8",
      name: "billing-worker",
      cmd: "client|list",
      age: 376,
      idle: 12,
      db: "3",
      flags: "N",
      sub: 0,
      psub: 0,
      multi: -1,
      qbuf: 26,
      qbuf_free: 20448,
      obl: 0,
      oll: 0,
      omem: 0,
      events: "r",
      network: "vpc",
      peer: "127.0.0.1:36746",
      user: "default",
    });
  });

  test("leaves out what an older server does not report, rather than inventing it", () => {
    // Redis 5 has no `user`; a number field that is not a number is dropped, not NaN.
    const info = toClientInfo({ id: "1", addr: "10.0.0.1:5000", age: "7", idle: "x" });
    expect(info).toEqual({ id: "1", addr: "10.0.0.1:5000", age: 7, network: "vpc", peer: "10.0.0.1:5000" });
  });
});

const LAST_COMMANDS: Array<{ command: string[]; cmd: string }> = [
  { command: ["PING"], cmd: "ping" },
  { command: ["GET", "k"], cmd: "get" },
  { command: ["SET", "k", "v"], cmd: "set" },
  { command: ["INCR", "counter"], cmd: "incr" },
  { command: ["EXISTS", "k"], cmd: "exists" },
];

/** 40 named connections: connection i on node i % 3, db i % 4, with the (i % 5)-th last command. */
function specsOf(node: number): Array<ClientSpec & { cmd: string }> {
  return Array.from({ length: 40 }, (_, i) => i)
    .filter((i) => i % 3 === node)
    .map((i) => {
      const last = LAST_COMMANDS[i % LAST_COMMANDS.length]!;
      return { name: `app-${i}`, db: i % 4, lastCommand: last.command, cmd: last.cmd };
    });
}

describeWithRedis("redis backend against real redis-server nodes", () => {
  let servers: RedisServers | undefined;
  const opened: OpenClients[] = [];
  const backends: NodeBackend[] = [];
  const expected = [0, 1, 2].map(specsOf);

  beforeAll(async () => {
    servers = await startRedisServers(3);
    for (let node = 0; node < 3; node++) {
      opened.push(await openClients(servers.urls[node]!, expected[node]!));
      backends.push(await createRedisBackend(servers.urls[node]!));
    }
  });

  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await Promise.all(opened.map((o) => o.closeAll()));
    await servers?.stop();
  });

  async function sessionsOf(node: number) {
    const view = await backends[node]!.snapshot();
    return Array.from({ length: view.count }, (_, i) => view.at(i));
  }

  test("the 40 connections are spread over the 3 nodes and the dbs 0–3", () => {
    expect(expected.map((e) => e.length)).toEqual([14, 13, 13]);
    expect(new Set(expected.flat().map((s) => s.db))).toEqual(new Set([0, 1, 2, 3]));
  });

  test("a snapshot returns exactly the node's client sessions, with names, dbs, last commands and addrs", async () => {
    for (let node = 0; node < 3; node++) {
      const sessions = await sessionsOf(node);
      const addrOf = new Map(opened[node]!.clients.map((c) => [c.name, c.addr]));
      const got = sessions.map((s) => ({ name: s.name, db: s.db, cmd: s.cmd, addr: s.addr, peer: s.peer }));
      const want = expected[node]!.map((s) => ({
        name: s.name,
        db: String(s.db),
        cmd: s.cmd,
        addr: addrOf.get(s.name),
        peer: addrOf.get(s.name),
      }));
      const byName = (a: { name?: string }, b: { name?: string }) => (a.name! < b.name! ? -1 : 1);
      expect(got.sort(byName)).toEqual(want.sort(byName));
      for (const s of sessions) {
        expect(typeof s.age).toBe("number");
        expect(typeof s.idle).toBe("number");
        expect(typeof s.qbuf_free).toBe("number");
      }
    }
  });

  test("the emulator's own admin connection is not in the snapshot", async () => {
    const sessions = await sessionsOf(0);
    expect(sessions.map((s) => s.name)).not.toContain(ADMIN_CONNECTION_NAME);
    expect(sessions).toHaveLength(expected[0]!.length);
  });

  test("kill-chosen closes only the chosen addresses and counts only those found", async () => {
    const clients = opened[1]!.clients;
    const chosen = [clients[0]!, clients[4]!, clients[7]!];
    const unknown = `127.0.0.1:${await freePort()}`;
    const killed = await backends[1]!.killByAddrs([...chosen.map((c) => c.addr), chosen[0]!.addr, unknown]);
    expect(killed).toBe(3);
    await Promise.all(chosen.map((c) => c.closedByServer));
    const rest = clients.filter((c) => !chosen.includes(c));
    expect(rest.filter((c) => c.isClosed())).toEqual([]);
    const remaining = (await sessionsOf(1)).map((s) => s.addr).sort();
    expect(remaining).toEqual(rest.map((c) => c.addr).sort());
  });

  test("kill by ids closes only the sessions with those ids; unknown or malformed ids count nothing", async () => {
    const clients = opened[2]!.clients;
    const chosen = [clients[1]!, clients[2]!];
    expect(await backends[2]!.killByIds!([...chosen.map((c) => c.id), "999999", "abc", "0"])).toBe(2);
    await Promise.all(chosen.map((c) => c.closedByServer));
    const rest = clients.filter((c) => !chosen.includes(c));
    expect(rest.filter((c) => c.isClosed())).toEqual([]);
    expect((await sessionsOf(2)).map((s) => s.id).sort()).toEqual(rest.map((c) => c.id).sort());
  });

  test("kill-all closes every client session of its node, pub/sub ones too, and leaves the other nodes", async () => {
    const subscriber = await openClients(servers!.urls[0]!, [
      { name: "listener", lastCommand: ["SUBSCRIBE", "news"] },
    ]);
    opened.push(subscriber);
    const node0 = [...opened[0]!.clients, ...subscriber.clients];
    expect(await sessionsOf(0)).toHaveLength(node0.length);

    expect(await backends[0]!.killAll()).toBe(node0.length);
    await Promise.all(node0.map((c: OpenClient) => c.closedByServer));
    expect(node0.every((c) => c.isClosed())).toBe(true);
    // The admin connection survived its own kill-all: it can still take a snapshot, which is now empty.
    expect(await sessionsOf(0)).toEqual([]);

    // Node 2 lost only the two sessions killed by id in the previous test.
    const node2 = opened[2]!.clients;
    expect(node2.filter((c) => c.isClosed())).toEqual([node2[1], node2[2]]);
    expect(await sessionsOf(2)).toHaveLength(expected[2]!.length - 2);
  });

  test("a node that cannot be reached is refused when the backend is created", async () => {
    const port = await freePort();
    await expect(createRedisBackend(`redis://127.0.0.1:${port}`)).rejects.toThrow(
      `cannot connect to redis-server at redis://127.0.0.1:${port}`,
    );
  });
});

describeWithRedis("redis backend when its node goes away and comes back", () => {
  let servers: RedisServers | undefined;
  let backend: NodeBackend | undefined;
  let restarted: ChildProcess | undefined;
  let restartedDir: string | undefined;

  afterAll(async () => {
    await backend?.close();
    if (restarted && restarted.exitCode === null && restarted.signalCode === null) {
      const exited = new Promise((resolve) => restarted!.once("exit", resolve));
      restarted.kill("SIGTERM");
      await exited;
    }
    if (restartedDir) rmSync(restartedDir, { recursive: true, force: true });
    await servers?.stop();
  });

  test("a snapshot fails while the node is down, and works again once it is back on the same port", async () => {
    servers = await startRedisServers(1);
    const [server] = servers.servers;
    backend = await createRedisBackend(server!.url);
    const apps = await openClients(server!.url, [{ name: "before-restart" }]);
    expect((await backend.snapshot()).count).toBe(1);

    await server!.stop();
    await apps.closeAll();
    await expect(backend.snapshot()).rejects.toThrow(`on redis-server at redis://127.0.0.1:${server!.port}`);

    restartedDir = mkdtempSync(join(tmpdir(), "dcs-sessions-redis-restart-"));
    restarted = spawn(findRedisServer()!, redisServerArgs(server!.port, restartedDir), { stdio: "ignore" });
    let view: SessionView | undefined;
    for (let attempt = 0; attempt < 100 && !view; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      view = await backend.snapshot().catch(() => undefined);
    }
    expect(view?.count).toBe(0);
    const again = await openClients(server!.url, [{ name: "after-restart" }]);
    try {
      const after = await backend.snapshot();
      expect(after.count).toBe(1);
      expect(after.at(0).name).toBe("after-restart");
    } finally {
      await again.closeAll();
    }
  });
});
