/**
 * The BUILT `dcs-sessions` as a child process against the emulator, whose nodes are real redis-server
 * processes holding real named client connections: each command's JSON, the exit codes 0/1/2/3 on real
 * situations, progress kept off stdout, and the terminal behaviour (confirmation, colour) through a PTY.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator";
import { openClients, startRedisServers } from "../../src/testing/redis";
import type { OpenClients, RedisServers } from "../../src/testing/redis";
import { describeWithRedis } from "../support/redis";
import { CLI_MAIN, assertBuilt, runCliProcess, runProcess } from "./support";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output, read by path
type Json = Record<string, any>;

const hasScript = spawnSync("script", ["--version"]).status === 0;
const SCRIPT_INSTALL_HINT = "apt-get install -y util-linux (it provides script)";

/**
 * The terminal tests need util-linux `script` for a pseudo-terminal. Without it they skip with a hint,
 * except under CI=true, where a missing `script` must fail the run rather than hide the TTY behaviour.
 */
function describeWithScript(name: string, fn: () => void): void {
  if (hasScript) describe(name, fn);
  else if (process.env.CI === "true") {
    describe(name, () => {
      test("util-linux script is installed (required under CI=true)", () => {
        throw new Error(`script was not found on PATH and CI=true; install it: ${SCRIPT_INSTALL_HINT}`);
      });
    });
  } else describe.skip(`${name} [skipped: script not found on PATH; install it: ${SCRIPT_INSTALL_HINT}]`, fn);
}

/** A one-minute window twelve hours from now, every day, in UTC: certainly closed while the test runs. */
function closedWindow(): string {
  const at = new Date(Date.now() + 12 * 3600_000);
  const hhmm = (d: Date): string => d.toISOString().slice(11, 16);
  const end = new Date(at.getTime() + 60_000);
  return `${hhmm(at)}-${hhmm(end) === "00:00" ? "24:00" : hhmm(end)} UTC`;
}

/** A shell word for `script -c` (the test's own fixed values only). */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

describeWithRedis("dcs-sessions (built) against the emulator and real redis-server nodes", () => {
  let servers: RedisServers;
  let emulator: EmulatorHandle;
  const opened: OpenClients[] = [];
  let env: Record<string, string>;
  let instance: string;
  let node0: string;
  let node1: string;

  /** Opens fresh named connections: three on node 0 (dbs 0, 2, 3), two on node 1. */
  async function connect(): Promise<[OpenClients, OpenClients]> {
    const a = await openClients(servers.urls[0]!, [
      { name: "app-a", db: 0 },
      { name: "app-b", db: 2, lastCommand: ["GET", "k"] },
      { name: "app-c", db: 3 },
    ]);
    const b = await openClients(servers.urls[1]!, [{ name: "worker-a" }, { name: "worker-b", db: 1 }]);
    opened.push(a, b);
    return [a, b];
  }

  async function closeOpened(): Promise<void> {
    while (opened.length > 0) await opened.pop()!.closeAll();
  }

  const cli = (args: string[], extra: Record<string, string> = {}, input?: string) =>
    runCliProcess(args, { env: { ...env, ...extra }, ...(input !== undefined ? { input } : {}) });

  beforeAll(async () => {
    assertBuilt();
    servers = await startRedisServers(2);
    emulator = await startEmulator({ redis: servers.urls, redisTopology: "proxy", jobMs: 50 });
    env = emulator.env;
    instance = emulator.instanceId;
    [node0, node1] = emulator.nodeIds as [string, string];
  });

  afterAll(async () => {
    await closeOpened();
    await emulator?.close();
    await servers?.stop();
  });

  afterEach(async () => {
    await closeOpened();
    await emulator.control.clearFaults();
  });

  test("nodes: the logical nodes as JSON, proxies holding the sessions", async () => {
    const r = await cli(["nodes", instance]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      instanceId: string;
      nodes: Array<{ nodeId: string; nodeRole: string }>;
    };
    expect(doc.instanceId).toBe(instance);
    expect(doc.nodes.filter((n) => n.nodeRole === "redis-proxy").map((n) => n.nodeId)).toEqual([
      node0,
      node1,
    ]);
  });

  test("scan: the counts of the real connections, progress on stderr only", async () => {
    await connect();
    const r = await cli(["scan", instance, "--top", "3"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Json; // exactly one JSON document
    expect(s.byName).toMatchObject({ "app-a": 1, "app-b": 1, "app-c": 1, "worker-a": 1, "worker-b": 1 });
    expect(s.byDb["2"]).toBeGreaterThanOrEqual(1);
    const perNode = Object.fromEntries(
      (s.nodes as Array<{ nodeId: string; sessions: number }>).map((n) => [n.nodeId, n.sessions]),
    );
    expect(perNode[node0]).toBeGreaterThanOrEqual(3);
    expect(perNode[node1]).toBeGreaterThanOrEqual(2);
    expect(s.totalSessions).toBe(perNode[node0] + perNode[node1]);
    expect(s.topIdle.length).toBeLessThanOrEqual(3);
    for (const key of [
      "idleBuckets",
      "maxIdleSeconds",
      "maxAgeSeconds",
      "subscribers",
      "scannedAt",
      "byClientIp",
      "byUser",
      "byCommand",
    ]) {
      expect(s).toHaveProperty(key);
    }
    // Not a terminal: plain timestamped lines on stderr.
    expect(r.stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z scan of node /m);
    const quiet = await cli(["scan", instance, "--quiet"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
  });

  test("list: one page, and every page streamed as one JSON document", async () => {
    const [a] = await connect();
    const page = await cli([
      "list",
      instance,
      "--node",
      node0,
      "--refresh",
      "--limit",
      "2",
      "--sort",
      "name",
      "--order",
      "asc",
    ]);
    expect(page.code).toBe(0);
    const p = JSON.parse(page.stdout) as { count: number; clients: Array<{ name: string }> };
    expect(p.clients).toHaveLength(2);
    expect(p.count).toBeGreaterThanOrEqual(3);
    const all = await cli(["list", instance, "--node", node0, "--all"]);
    expect(all.code).toBe(0);
    const doc = JSON.parse(all.stdout) as { count: number; clients: Array<{ addr: string }> };
    expect(doc.clients).toHaveLength(doc.count);
    const addrs = doc.clients.map((c) => c.addr);
    for (const c of a.clients) expect(addrs).toContain(c.addr);
  });

  test("purge without a terminal and without --yes runs when the guards allow, and closes the node's connections", async () => {
    const [a, b] = await connect();
    await emulator.control.resetCounters();
    const r = await cli(["purge", instance, "--node", node0, "--max-sessions", "1000"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Json;
    expect(report).toMatchObject({ instanceId: instance, status: "purged" });
    expect(report.sessionsBefore).toBeGreaterThanOrEqual(3);
    expect(report.sessionsAfter).toBe(0);
    expect(report.jobIds).toHaveLength(1);
    await Promise.all(a.clients.map((c) => c.closedByServer)); // resolves only when the server closed them
    expect(b.clients.every((c) => !c.isClosed())).toBe(true);
    expect((await emulator.control.counters()).killAllClients).toBe(1);
  });

  test("a dry run exits 0 and kills nothing", async () => {
    const [a] = await connect();
    await emulator.control.resetCounters();
    const r = await cli(["purge", instance, "--all-nodes", "--dry-run", "--quiet"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "dry-run", sessionsAfter: null });
    expect(a.clients.every((c) => !c.isClosed())).toBe(true);
    expect((await emulator.control.counters()).killAllClients ?? 0).toBe(0);
  });

  test("exit 3: a guard refuses (max sessions, outside the window); skip exits 0; nothing is killed", async () => {
    const [a] = await connect();
    await emulator.control.resetCounters();
    const tooMany = await cli(["purge", instance, "--all-nodes", "--max-sessions", "1", "--yes"]);
    expect(tooMany.code).toBe(3);
    expect(tooMany.stdout).toBe("");
    expect(tooMany.stderr.trim().split("\n").pop()).toMatch(
      /^dcs-sessions: purge refused: \d+ sessions .*maxSessions \(1\)/,
    );

    const window = closedWindow();
    const outside = await cli(["purge", instance, "--all-nodes", "--window", window, "--quiet"]);
    expect(outside.code).toBe(3);
    expect(outside.stdout).toBe("");
    expect(outside.stderr).toMatch(/outside the maintenance window/);
    expect(outside.stderr.trim().split("\n")).toHaveLength(1);

    const skipped = await cli([
      "purge",
      instance,
      "--all-nodes",
      "--window",
      window,
      "--outside-window",
      "skip",
      "--quiet",
    ]);
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.stdout)).toMatchObject({
      status: "skipped-outside-window",
      sessionsBefore: null,
    });

    const below = await cli(["purge", instance, "--all-nodes", "--min-sessions", "100000", "--quiet"]);
    expect(below.code).toBe(0);
    expect(JSON.parse(below.stdout)).toMatchObject({ status: "skipped-below-minimum" });

    expect(a.clients.every((c) => !c.isClosed())).toBe(true);
    expect((await emulator.control.counters()).killAllClients ?? 0).toBe(0);
  });

  test("exit 1: an API failure (a wrong key, a server fault) is one line with the status and code, no secret, no stack", async () => {
    const wrongSecret = "wrong-secret-0123456789";
    const unauthorized = await cli(["nodes", instance], { HW_SECRET_KEY: wrongSecret });
    expect(unauthorized.code).toBe(1);
    expect(unauthorized.stdout).toBe("");
    const line = unauthorized.stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toMatch(/^dcs-sessions: listNodes failed: GET .* — HTTP 401 — APIGW\.0301 .*request id \S+/);
    expect(line).not.toContain(wrongSecret);
    expect(line).not.toContain(env.HW_SECRET_KEY!);
    expect(line).not.toMatch(/\n\s+at /);

    await emulator.control.addFault({
      route: "listNodes",
      fault: { kind: "status", status: 500, errorCode: "DCS.5000", errorMsg: "internal error" },
    });
    const fault = await cli(["scan", instance, "--quiet"]);
    expect(fault.code).toBe(1);
    expect(fault.stdout).toBe("");
    expect(fault.stderr).toMatch(/HTTP 500 — DCS\.5000 — internal error/);
    const debug = await cli(["scan", instance, "--quiet"], { DEBUG: "dcs-sessions" });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /); // DEBUG asks for the stack
  });

  test("exit 2: a bad flag or bad input fails before any remote call", async () => {
    await emulator.control.resetCounters();
    const cases = [
      ["scan", instance, "--engine", "memcached"],
      ["purge", instance, "--all-nodes", "--window", "someday 25:00"],
      ["purge", instance, "--node", node0, "--all-nodes"],
      ["list", instance, "--node", "a;b"],
      ["scan", "$(touch /tmp/x)"],
    ];
    for (const args of cases) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    const noCredentials = await runCliProcess(["nodes", instance], {
      env: { HW_DCS_ENDPOINT: env.HW_DCS_ENDPOINT!, HW_PROJECT_ID: env.HW_PROJECT_ID! },
    });
    expect(noCredentials.code).toBe(2);
    expect(noCredentials.stderr).toMatch(/HW_ACCESS_KEY/);
    const counters = await emulator.control.counters();
    expect(Object.values(counters).reduce((sum, n) => sum + (n ?? 0), 0)).toBe(0);
  });

  test("the environment mode of purge (what the CDKTF construct runs) and flags winning over it", async () => {
    const [a, b] = await connect();
    const vars = {
      DCS_SESSIONS_INSTANCE_ID: instance,
      DCS_SESSIONS_NODE_IDS: node1,
      DCS_SESSIONS_DRY_RUN: "true",
    };
    const dry = await cli(["purge"], vars);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ status: "dry-run", instanceId: instance });
    // An instance argument turns the variables off: this purge has no target and is refused as usage.
    const ignored = await cli(["purge", instance], vars);
    expect(ignored.code).toBe(2);
    // A flag wins over its variable.
    const flagWins = await cli(["purge", "--dry-run", "--quiet"], { ...vars, DCS_SESSIONS_DRY_RUN: "false" });
    expect(JSON.parse(flagWins.stdout)).toMatchObject({ status: "dry-run" });
    expect(b.clients.every((c) => !c.isClosed())).toBe(true);
    const real = await cli(["purge", "--quiet"], { ...vars, DCS_SESSIONS_DRY_RUN: "false" });
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({ status: "purged", sessionsAfter: 0 });
    await Promise.all(b.clients.map((c) => c.closedByServer));
    expect(a.clients.every((c) => !c.isClosed())).toBe(true);
  });

  test("terraform-external scan: strings in, flat strings out; one line and non-zero on failure", async () => {
    await connect();
    const r = await runProcess(process.execPath, [CLI_MAIN, "terraform-external", "scan"], {
      env,
      input: JSON.stringify({
        instance_id: instance,
        node_ids: `${node0},${node1}`,
        top_n: "2",
        clean_cache: "true",
      }),
    });
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const value of Object.values(result)) expect(typeof value).toBe("string");
    expect(Number(result.total_sessions)).toBeGreaterThanOrEqual(5);
    const buckets = ["idle_lt_1m", "idle_1m_10m", "idle_10m_1h", "idle_1h_24h", "idle_ge_24h"].map((k) =>
      Number(result[k]),
    );
    expect(buckets.reduce((x, y) => x + y, 0)).toBe(Number(result.total_sessions));
    expect(JSON.parse(result.by_name as string)).toMatchObject({ "app-a": 1, "worker-b": 1 });
    expect(JSON.parse(result.top_idle as string)).toHaveLength(2);

    const missing = await runProcess(process.execPath, [CLI_MAIN, "terraform-external", "scan"], {
      env,
      input: JSON.stringify({ instance_id: "no-such-instance" }),
    });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/HTTP 404/);
  });

  test("emulator: prints its JSON line, serves, and stops on SIGTERM", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(
      process.execPath,
      [CLI_MAIN, "emulator", "--synthetic-nodes", "1", "--sessions-per-node", "7", "--job-ms", "20"],
      {
        env: { PATH: process.env.PATH ?? "" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buffered = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => {
          buffered += d;
          if (buffered.includes("\n")) resolve(buffered.split("\n")[0]!);
        });
        child.on("exit", (code) => reject(new Error(`emulator exited ${code}`)));
      });
      const info = JSON.parse(line) as Json;
      expect(Object.keys(info)).toEqual([
        "endpoint",
        "geminidbEndpoint",
        "projectId",
        "instanceId",
        "nodeIds",
        "accessKey",
        "secretKey",
        "region",
      ]);
      const scan = await runCliProcess(["scan", info.instanceId, "--quiet"], {
        env: {
          HW_ACCESS_KEY: info.accessKey,
          HW_SECRET_KEY: info.secretKey,
          HW_DCS_ENDPOINT: info.endpoint,
          HW_PROJECT_ID: info.projectId,
        },
      });
      expect(scan.code).toBe(0);
      expect(JSON.parse(scan.stdout).totalSessions).toBe(7);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });

  describeWithScript("on a terminal (util-linux script gives a PTY)", () => {
    const onTty = (command: string, input: string, extra: Record<string, string> = {}) =>
      runProcess("script", ["-qec", command, "/dev/null"], {
        env: { ...env, TERM: "xterm", ...extra },
        input,
        timeoutMs: 30_000,
      });
    const base = `${shellQuote(process.execPath)} ${shellQuote(CLI_MAIN)}`;

    test("a purge asks, showing the instance, the node and the count; 'no' refuses with exit 3 and kills nothing", async () => {
      const [a] = await connect();
      const r = await onTty(`${base} purge ${instance} --node ${node0}`, "no\n");
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(
        new RegExp(
          `Kill \\d+ session\\(s\\) on node\\(s\\) ${node0} of dcs instance ${instance}\\? Type "yes"`,
        ),
      );
      expect(r.stdout).toMatch(/purge not confirmed/);
      expect(a.clients.every((c) => !c.isClosed())).toBe(true);
    });

    test("'yes' purges; the table is coloured on a terminal", async () => {
      const [a] = await connect();
      const r = await onTty(`${base} purge ${instance} --node ${node0}`, "yes\n");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Kill \d+ session/);
      expect(r.stdout).toContain("\u001b[1mPurge\u001b[0m");
      expect(r.stdout).toMatch(/status .*purged/);
      await Promise.all(a.clients.map((c) => c.closedByServer));
    });

    test("--yes does not ask; NO_COLOR removes every colour; --output json stays one document", async () => {
      await connect();
      const plain = await onTty(`${base} scan ${instance} --quiet`, "", { NO_COLOR: "1" });
      expect(plain.code).toBe(0);
      expect(plain.stdout).toContain("Sessions per node");
      expect(plain.stdout).not.toContain("\u001b[");
      const coloured = await onTty(`${base} scan ${instance} --quiet`, "");
      expect(coloured.stdout).toContain("\u001b[");
      const yes = await onTty(`${base} purge ${instance} --node ${node1} --yes --quiet --output json`, "");
      expect(yes.code).toBe(0);
      expect(yes.stdout).not.toMatch(/Kill \d+/);
      expect(JSON.parse(yes.stdout.replace(/\r\n/g, "\n"))).toMatchObject({ status: "purged" });
    });

    test("the live progress line is on the terminal, never in the JSON", async () => {
      await connect();
      // stdout to a file (not a TTY) while stderr stays on the PTY: the file must hold the JSON alone.
      const dir = mkdtempSync(join(tmpdir(), "dcs-sessions-cli-"));
      try {
        const file = join(dir, "scan.json");
        const r = await onTty(`${base} scan ${instance} > ${shellQuote(file)}`, "");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("\r\u001b[K"); // the live line rewrites itself
        expect(r.stdout).toMatch(/\d+\/\d+ node\(s\) scanned, \d+ page\(s\)/);
        expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ instanceId: instance });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
