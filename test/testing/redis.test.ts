import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import ts from "typescript";
import {
  findRedisServer,
  openClients,
  rawConnection,
  redisServerArgs,
  startRedisServers,
  type RedisServers,
} from "../../src/testing/redis";
import { describeWithRedis } from "../support/redis";

/** A process that has exited but is not yet reaped (a zombie, state Z) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Polls `check` every 20 ms, at most `ms`. */
async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe("redisServerArgs", () => {
  test("binds loopback only and writes nothing to disk", () => {
    const args = redisServerArgs(6390, "/tmp/x");
    const value = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    expect(value("--port")).toBe("6390");
    expect(value("--bind")).toBe("127.0.0.1");
    expect(value("--save")).toBe("");
    expect(value("--appendonly")).toBe("no");
    expect(value("--dir")).toBe("/tmp/x");
  });
});

describeWithRedis("startRedisServers and openClients (real redis-server)", () => {
  let cluster: RedisServers | undefined;
  let exitHooksBefore = 0;

  afterAll(async () => {
    await cluster?.stop();
  });

  test("findRedisServer finds an executable", () => {
    expect(findRedisServer()).toMatch(/redis-server$/);
  });

  test("rejects a count that is not a positive integer", async () => {
    await expect(startRedisServers(0)).rejects.toThrow(RangeError);
  });

  test("starts servers on distinct loopback ports, without persistence, in their own directories", async () => {
    exitHooksBefore = process.listenerCount("exit");
    cluster = await startRedisServers(3);
    expect(process.listenerCount("exit")).toBe(exitHooksBefore + 1);
    const ports = cluster.servers.map((s) => s.port);
    expect(new Set(ports).size).toBe(3);
    expect(cluster.urls).toEqual(ports.map((p) => `redis://127.0.0.1:${p}`));
    for (const server of cluster.servers) {
      expect(existsSync(server.dir)).toBe(true);
      const admin = rawConnection(server.url);
      try {
        await admin.connect();
        expect(await admin.call("PING")).toBe("PONG");
        expect(await admin.call("CONFIG", "GET", "save")).toEqual(["save", ""]);
        expect(await admin.call("CONFIG", "GET", "appendonly")).toEqual(["appendonly", "no"]);
        expect(await admin.call("CONFIG", "GET", "bind")).toEqual(["bind", "127.0.0.1"]);
        expect(await admin.call("CONFIG", "GET", "dir")).toEqual(["dir", server.dir]);
      } finally {
        admin.disconnect();
      }
    }
  });

  test("opens named connections on their dbs, each with its last command and its own addr", async () => {
    const url = cluster!.urls[0]!;
    const opened = await openClients(url, [
      { name: "app-a", db: 0 },
      { name: "app-b", db: 2, lastCommand: ["GET", "k"] },
      { name: "app-c", db: 3, lastCommand: ["SET", "k", "v"] },
    ]);
    const admin = rawConnection(url);
    try {
      await admin.connect();
      const list = String(await admin.call("CLIENT", "LIST"));
      const lines = new Map(
        list
          .trim()
          .split("\n")
          .map((line) => [/ addr=(\S+)/.exec(line)![1]!, line] as const),
      );
      const expected = [
        { name: "app-a", db: 0, cmd: "ping" },
        { name: "app-b", db: 2, cmd: "get" },
        { name: "app-c", db: 3, cmd: "set" },
      ];
      expected.forEach((want, i) => {
        const client = opened.clients[i]!;
        expect(client).toMatchObject({ name: want.name, db: want.db });
        const line = lines.get(client.addr);
        expect(line).toBeDefined();
        expect(line).toContain(`id=${client.id} `);
        expect(line).toContain(` name=${want.name} `);
        expect(line).toContain(` db=${want.db} `);
        expect(line).toContain(` cmd=${want.cmd} `);
      });
    } finally {
      admin.disconnect();
      await opened.closeAll();
    }
  });

  test("closedByServer resolves when the server kills a connection, and only for that one", async () => {
    const url = cluster!.urls[1]!;
    const opened = await openClients(url, [{ name: "victim" }, { name: "bystander" }]);
    const [victim, bystander] = opened.clients as [(typeof opened.clients)[0], (typeof opened.clients)[0]];
    const admin = rawConnection(url);
    try {
      await admin.connect();
      expect(await admin.call("CLIENT", "KILL", "ADDR", victim.addr)).toBe(1);
      await victim.closedByServer;
      expect(victim.isClosed()).toBe(true);
      expect(bystander.isClosed()).toBe(false);
      const list = String(await admin.call("CLIENT", "LIST"));
      expect(list).toContain(`addr=${bystander.addr} `);
      expect(list).not.toContain(`addr=${victim.addr} `);
    } finally {
      admin.disconnect();
      await opened.closeAll();
    }
    expect(bystander.isClosed()).toBe(true);
    // Closed by us, not by the server: its closedByServer stays pending.
    const marker = Symbol("pending");
    await expect(Promise.race([bystander.closedByServer, Promise.resolve(marker)])).resolves.toBe(marker);
    await opened.closeAll();
  });

  test("a failed command closes the connections already opened and rejects", async () => {
    const url = cluster!.urls[2]!;
    await expect(
      openClients(url, [{ name: "ok" }, { name: "bad", lastCommand: ["NOSUCHCOMMAND"] }]),
    ).rejects.toThrow(/unknown command/i);
    const admin = rawConnection(url);
    try {
      await admin.connect();
      expect(String(await admin.call("CLIENT", "LIST"))).not.toMatch(/ name=(ok|bad) /);
    } finally {
      admin.disconnect();
    }
  });

  test("stop ends every process, removes its directory and is safe to call twice", async () => {
    const servers = cluster!.servers;
    await cluster!.stop();
    await cluster!.stop();
    for (const server of servers) {
      expect(isAlive(server.pid)).toBe(false);
      expect(existsSync(server.dir)).toBe(false);
    }
    cluster = undefined;
    // The safety net goes away with the last server, so test files sharing a worker do not pile hooks up.
    expect(process.listenerCount("exit")).toBe(exitHooksBefore);
  });

  test("a process that exits without stopping its servers leaves no redis-server behind", async () => {
    // Run the helper, compiled on the fly, in a child node process that exits without calling stop().
    const work = mkdtempSync(join(tmpdir(), "dcs-sessions-exit-hook-"));
    try {
      const source = readFileSync(resolve(__dirname, "../../src/testing/redis.ts"), "utf8");
      const js = ts.transpileModule(source, {
        compilerOptions: {
          module: ts.ModuleKind.CommonJS,
          target: ts.ScriptTarget.ES2022,
          esModuleInterop: true,
        },
      }).outputText;
      writeFileSync(join(work, "redis.js"), js);
      const script =
        `require("./redis.js").startRedisServers(2).then((c) => {` +
        ` console.log(JSON.stringify(c.servers.map((s) => ({ pid: s.pid, dir: s.dir })))); process.exit(0); });`;
      writeFileSync(join(work, "main.js"), script);
      const run = spawnSync(process.execPath, [join(work, "main.js")], {
        cwd: work,
        env: { ...process.env, NODE_PATH: resolve(__dirname, "../../node_modules") },
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(run.status).toBe(0);
      const started = JSON.parse(run.stdout.trim()) as Array<{ pid: number; dir: string }>;
      expect(started).toHaveLength(2);
      expect(await eventually(() => started.every((s) => !isAlive(s.pid)))).toBe(true);
      for (const s of started) expect(existsSync(s.dir)).toBe(false);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
