/**
 * A selective purge through the BUILT `dcs-sessions` against the emulator, whose two proxies are real
 * redis-server processes holding real connections from several source addresses, users, names and dbs, some
 * idle and some busy: the dry run's table and JSON list exactly the matching sessions and close none; the
 * purge closes exactly those (kill-chosen, never a kill-all) and every other client still answers PING.
 */
import { spawnSync } from "node:child_process";
import { startEmulator, type EmulatorHandle } from "../../src/emulator";
import { startRedisServers, type RedisServers } from "../../src/testing/redis";
import {
  expectExactlyMatchedClosed,
  expectNoneClosed,
  openSelectiveClients,
  SELECTIVE,
  type SelectiveClients,
} from "../support/clients";
import { describeWithRedis } from "../support/redis";
import { assertBuilt, CLI_MAIN, runCliProcess, runProcess } from "./support";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output, read by path
type Json = Record<string, any>;

jest.setTimeout(60_000);

/** The selectors of `SELECTIVE.match` as flags, each form once: repeated flags and `a,b` lists. */
function selectorFlags(): string[] {
  const m = SELECTIVE.match;
  return [
    "--idle-over",
    String(m.idleOverSeconds),
    "--client",
    m.clients[0],
    "--client",
    m.clients.slice(1).join(","),
    ...m.users.flatMap((u) => ["--user", u]),
    ...m.names.flatMap((n) => ["--name", n]),
    "--db",
    m.dbs.join(","),
    ...m.cmds.flatMap((c) => ["--cmd", c]),
  ];
}

describeWithRedis("dcs-sessions purge with selectors, against real redis-server connections", () => {
  let servers: RedisServers;
  let emulator: EmulatorHandle;
  let clients: SelectiveClients | undefined;
  let node0: string;
  let node1: string;

  const cli = (args: string[]) => runCliProcess(args, { env: emulator.env, timeoutMs: 60_000 });

  beforeAll(async () => {
    assertBuilt();
    servers = await startRedisServers(2);
    emulator = await startEmulator({ redis: servers.urls, redisTopology: "proxy", jobMs: 30 });
    [node0, node1] = emulator.nodeIds as [string, string];
  });

  afterAll(async () => {
    await clients?.closeAll();
    await emulator?.close();
    await servers?.stop();
  });

  test("a dry run lists the matches per node and closes none; the purge closes exactly them", async () => {
    clients = await openSelectiveClients([servers.urls[0]!, servers.urls[1]!]);
    await emulator.control.resetCounters();
    const base = ["purge", emulator.instanceId, "--all-nodes", ...selectorFlags(), "--quiet"];

    const table = await cli([...base, "--dry-run", "--output", "table"]);
    expect(table.code).toBe(0);
    const lines = table.stdout.split("\n").map((l) => l.trim());
    expect(lines.find((l) => l.startsWith("NODE") && l.includes("MATCHED"))).toMatch(
      /^NODE\s+BEFORE\s+MATCHED\s+AFTER$/,
    );
    expect(lines.find((l) => l.startsWith(`${node0} `))).toMatch(/^\S+\s+\d+\s+2\s+-$/);
    expect(lines.find((l) => l.startsWith(`${node1} `))).toMatch(/^\S+\s+\d+\s+1\s+-$/);
    expect(table.stdout).toContain("Matched sessions (3)");
    const rows = lines.filter((l) => / old-\d /.test(l));
    expect(rows.map((l) => l.split(/\s+/)[3]).sort()).toEqual([...SELECTIVE.matched]);
    for (const row of rows) {
      // node, peer, user, name, db, cmd, idle: the peer is the client's own source address.
      expect(row).toMatch(/^\S+\s+127\.0\.0\.[23]:\d+\s+batch\s+old-\d\s+2\s+get\s+\d+s$/);
    }

    const json = await cli([...base, "--dry-run", "--output", "json"]);
    expect(json.code).toBe(0);
    const dry = JSON.parse(json.stdout) as Json;
    expect(dry).toMatchObject({ status: "dry-run", matchedSessions: 3, sessionsAfter: null });
    expect(dry.selectedSessions.map((s: { name: string }) => s.name).sort()).toEqual([...SELECTIVE.matched]);
    const byNode = Object.fromEntries(dry.nodes.map((n: Json) => [n.nodeId, n.matched]));
    expect(byNode).toEqual({ [node0]: 2, [node1]: 1 });
    await expectNoneClosed(clients, { ping: false }); // a PING now would make the idle clients busy

    const purge = await cli([...base, "--max-sessions", "3"]);
    expect(purge.code).toBe(0);
    const report = JSON.parse(purge.stdout) as Json;
    expect(report).toMatchObject({ status: "purged", matchedSessions: 3, jobIds: [] });
    expect(report.sessionsAfter).toBe(report.sessionsBefore - 3);
    await expectExactlyMatchedClosed(clients);
    const counters = await emulator.control.counters();
    expect(counters.killAllClients ?? 0).toBe(0);
    expect(counters.killClients).toBe(2); // one kill-chosen per node with matches
  });

  test("the guards count matched sessions: --max-sessions below the matches refuses and closes none", async () => {
    await clients?.closeAll();
    clients = await openSelectiveClients([servers.urls[0]!, servers.urls[1]!]);
    await emulator.control.resetCounters();
    const refused = await cli([
      "purge",
      emulator.instanceId,
      "--all-nodes",
      ...selectorFlags(),
      "--max-sessions",
      "2",
      "--quiet",
    ]);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(/maxSessions \(2\)/);
    await expectNoneClosed(clients);
    const counters = await emulator.control.counters();
    expect((counters.killClients ?? 0) + (counters.killAllClients ?? 0)).toBe(0);
  });

  // On a terminal (util-linux `script` gives a PTY; cli.test.ts says how to install it) the question counts
  // the matched sessions, and a "no" closes nothing.
  const onTerminal = spawnSync("script", ["--version"]).status === 0 ? test : test.skip;
  onTerminal("the confirmation on a terminal says how many matched sessions the kill closes", async () => {
    clients ??= await openSelectiveClients([servers.urls[0]!, servers.urls[1]!]);
    const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, CLI_MAIN, "purge", emulator.instanceId, "--node", node0]
      .concat(["--name", "keep-me", "--quiet"])
      .map(quote)
      .join(" ");
    const r = await runProcess("script", ["-qec", command, "/dev/null"], {
      env: { ...emulator.env, TERM: "xterm" },
      input: "no\n",
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(
      `Kill 1 matched session(s) on node(s) ${node0} of dcs instance ${emulator.instanceId}? Type "yes"`,
    );
    expect(clients.all.filter((c) => c.connection.isClosed())).toEqual([]);
  });
});
