/**
 * The CLI's pure parts, in process: flag and query parsing, the Terraform result, the environment mode,
 * error lines and exit codes, progress and colour rules, and usage errors through commander.
 */
import { PassThrough } from "node:stream";
import { ApiError, GuardRefusedError, JobFailedError, ValidationError } from "../../src/api/errors";
import type { CliContext } from "../../src/cli/context";
import { colourEnabled, debugEnabled } from "../../src/cli/context";
import { describeFailure } from "../../src/cli/errors";
import { EXTERNAL_RESULT_KEYS, externalResult, parseExternalQuery } from "../../src/cli/external";
import {
  collectIds,
  collectIntegers,
  collectList,
  collectValues,
  idListFrom,
  integerArgument,
} from "../../src/cli/options";
import { renderPurge, renderSnapshot } from "../../src/cli/output/human";
import { snapshotMarkdown } from "../../src/cli/output/markdown";
import { bar, makeStyle, renderBars } from "../../src/cli/output/table";
import { hostileSnapshot } from "./report-fixtures";
import { createProgress, eventLine } from "../../src/cli/progress";
import { mergePurgeInputs, purgeInputsFromEnv } from "../../src/cli/purge-env";
import { confirmationQuestion, matchOf, purgeOptionsOf } from "../../src/cli/commands/purge";
import { emulatorOptionsOf } from "../../src/cli/commands/emulator";
import { runCli } from "../../src/cli/program";
import type { SessionSnapshot } from "../../src/core/types";

const HOSTILE = ['"; rm -rf /', "$(touch /tmp/pwned)", "a'b", "a\nb", "`id`", "../x"];

function sink(isTTY = false): { write(s: string): boolean; isTTY: boolean; text(): string } {
  let out = "";
  return {
    isTTY,
    write(s: string) {
      out += s;
      return true;
    },
    text: () => out,
  };
}

function context(
  env: Record<string, string> = {},
): CliContext & { out: ReturnType<typeof sink>; err: ReturnType<typeof sink> } {
  const out = sink();
  const err = sink();
  const stdin = new PassThrough();
  stdin.end();
  return { stdout: out, stderr: err, stdin, env, now: () => new Date("2026-03-01T10:00:00Z"), out, err };
}

const snapshot: SessionSnapshot = {
  instanceId: "inst-1",
  engine: "dcs",
  totalSessions: 7,
  nodes: [{ nodeId: "n1", sessions: 7, role: "redis-proxy" }],
  byClientIp: { "10.0.0.1": 5, other: 2 },
  byUser: { default: 7 },
  byDb: { "0": 7 },
  byCommand: { get: 7 },
  byName: { app: 7 },
  idleBuckets: { "<1m": 3, "1m-10m": 2, "10m-1h": 1, "1h-24h": 1, ">=24h": 0 },
  maxIdleSeconds: 7200,
  maxAgeSeconds: 9000,
  subscribers: 1,
  topIdle: [
    {
      nodeId: "n1",
      addr: "10.0.0.1:5000",
      name: "app",
      user: "default",
      db: "0",
      cmd: "get",
      idleSeconds: 7200,
      ageSeconds: 9000,
    },
  ],
  scannedAt: "2026-03-01T10:00:00.000Z",
};

describe("terraform-external query", () => {
  test("reads the documented keys as strings, with lists as a,b or JSON and empty strings as unset", () => {
    const r = parseExternalQuery(
      JSON.stringify({
        instance_id: "inst-1",
        engine: "dcs",
        node_ids: "n1, n2",
        clean_cache: "false",
        top_n: "3",
        region: "",
        endpoint: "http://127.0.0.1:1",
      }),
    );
    expect(r.scan).toEqual({
      instanceId: "inst-1",
      engine: "dcs",
      nodeIds: ["n1", "n2"],
      cleanCache: false,
      topN: 3,
    });
    expect(r.client).toEqual({ endpoint: "http://127.0.0.1:1" });
    expect(parseExternalQuery('{"instance_id":"i","node_ids":"[\\"a\\",\\"b\\"]"}').scan.nodeIds).toEqual([
      "a",
      "b",
    ]);
  });

  test.each([
    ["not json", "query"],
    ["[]", "query"],
    ['{"instance_id":"i","top_n":3}', "query.top_n"],
    ['{"instance_id":"i","bogus":"1"}', "query.bogus"],
    ["{}", "query.instance_id"],
    ['{"instance_id":"i","top_n":"101"}', "query.top_n"],
    ['{"instance_id":"i","clean_cache":"maybe"}', "query.clean_cache"],
    ['{"instance_id":"i","engine":"mysql"}', "query.engine"],
    ['{"instance_id":"i","node_ids":"a;b"}', "query.node_ids[0]"],
  ])("rejects %s naming %s", (text, field) => {
    expect(() => parseExternalQuery(text)).toThrow(ValidationError);
    try {
      parseExternalQuery(text);
    } catch (error) {
      expect((error as ValidationError).field).toBe(field);
    }
  });

  test.each(HOSTILE)("rejects the hostile instance id %j", (value) => {
    expect(() => parseExternalQuery(JSON.stringify({ instance_id: value }))).toThrow(/query\.instance_id/);
    expect(() => parseExternalQuery(JSON.stringify({ instance_id: "i", node_ids: value }))).toThrow(
      /query\.node_ids/,
    );
  });

  test("the result is a flat object of strings with a key per idle bucket and JSON-encoded maps", () => {
    const result = externalResult(snapshot);
    expect(Object.keys(result).sort()).toEqual([...EXTERNAL_RESULT_KEYS].sort());
    for (const value of Object.values(result)) expect(typeof value).toBe("string");
    expect(result).toMatchObject({
      total_sessions: "7",
      idle_lt_1m: "3",
      idle_1m_10m: "2",
      idle_ge_24h: "0",
      max_idle_seconds: "7200",
      subscribers: "1",
      node_count: "1",
    });
    expect(JSON.parse(result.by_client_ip!)).toEqual({ "10.0.0.1": 5, other: 2 });
    expect(JSON.parse(result.top_idle!)).toEqual(snapshot.topIdle);
  });
});

describe("flag parsers", () => {
  test("integer flags name the allowed range", () => {
    expect(integerArgument(0, 100)("42")).toBe(42);
    for (const bad of ["-1", "101", "1.5", "ten", "", "1e3"])
      expect(() => integerArgument(0, 100)(bad)).toThrow(/whole number from 0 to 100/);
  });

  test("node ids are repeatable and comma-separated, and hostile ones are refused", () => {
    expect(collectIds("b", collectIds("a", undefined))).toEqual(["a", "b"]);
    expect(collectIds("a,b", undefined)).toEqual(["a", "b"]);
    for (const value of HOSTILE) expect(() => collectIds(value, undefined)).toThrow(/must be/);
    expect(() => idListFrom("[1]", "X")).toThrow(/X\[0\]/);
  });
});

describe("purge environment mode", () => {
  const env = {
    DCS_SESSIONS_INSTANCE_ID: "inst-1",
    DCS_SESSIONS_NODE_IDS: "n1,n2",
    DCS_SESSIONS_DRY_RUN: "true",
    DCS_SESSIONS_MAX_SESSIONS: "500",
    DCS_SESSIONS_WINDOW: "sat,sun 02:00-04:00 Europe/Paris",
    DCS_SESSIONS_OUTSIDE_WINDOW: "skip",
    DCS_SESSIONS_VERIFY: "false",
    DCS_SESSIONS_ENGINE: "",
  };

  test("reads DCS_SESSIONS_* and builds the same options as the flags", () => {
    const options = purgeOptionsOf(purgeInputsFromEnv(env));
    expect(options).toEqual({
      instanceId: "inst-1",
      engine: "dcs",
      nodeIds: ["n1", "n2"],
      dryRun: true,
      maxSessions: 500,
      maintenanceWindow: { days: ["sat", "sun"], start: "02:00", end: "04:00", timeZone: "Europe/Paris" },
      outsideWindow: "skip",
      verify: false,
    });
  });

  test("a flag wins over its variable, and a target flag replaces the other target variable", () => {
    const merged = mergePurgeInputs({ allNodes: true, dryRun: false }, purgeInputsFromEnv(env));
    expect(merged).toMatchObject({ allNodes: true, dryRun: false, instanceId: "inst-1" });
    expect(merged.nodeIds).toBeUndefined();
  });

  test.each([
    [{ DCS_SESSIONS_MAX_SESSIONS: "lots" }, /DCS_SESSIONS_MAX_SESSIONS/],
    [{ DCS_SESSIONS_DRY_RUN: "perhaps" }, /DCS_SESSIONS_DRY_RUN/],
    [{ DCS_SESSIONS_INSTANCE_ID: '"; rm -rf /' }, /DCS_SESSIONS_INSTANCE_ID/],
    [{ DCS_SESSIONS_NODE_IDS: "$(reboot)" }, /DCS_SESSIONS_NODE_IDS\[0\]/],
    [{ DCS_SESSIONS_OUTSIDE_WINDOW: "ignore" }, /one of: fail, skip/],
  ])("a bad variable is a ValidationError naming it: %j", (bad, message) => {
    expect(() => purgeInputsFromEnv(bad)).toThrow(message);
  });

  test("exactly one target, and min <= max", () => {
    // The core's rules, worded with the flag and its variable.
    expect(() => purgeOptionsOf({ instanceId: "i" })).toThrow(
      /^--node \(DCS_SESSIONS_NODE_IDS\): is required/,
    );
    expect(() => purgeOptionsOf({ instanceId: "i", nodeIds: ["a"], allNodes: true })).toThrow(
      /^--node \(DCS_SESSIONS_NODE_IDS\): cannot be given with allNodes/,
    );
    expect(() => purgeOptionsOf({ instanceId: "i", allNodes: true, minSessions: 5, maxSessions: 2 })).toThrow(
      /^--min-sessions \(DCS_SESSIONS_MIN_SESSIONS\): must not exceed maxSessions \(2\)/,
    );
    expect(() => purgeOptionsOf({ allNodes: true })).toThrow(/DCS_SESSIONS_INSTANCE_ID/);
    expect(() => purgeOptionsOf({ instanceId: "i", allNodes: true, window: "someday" })).toThrow(/--window/);
  });

  test("the confirmation names the instance, the nodes and the count", () => {
    const q = confirmationQuestion({
      instanceId: "inst-1",
      engine: "dcs",
      allNodes: false,
      nodeIds: ["n1", "n2"],
      sessions: 1234,
    });
    expect(q).toContain("inst-1");
    expect(q).toContain("n1, n2");
    expect(q).toContain("1,234 session(s)");
  });
});

describe("selective purge flags", () => {
  test("selectors are repeatable; --client, --db and --cmd also take a,b; --user and --name keep commas", () => {
    expect(collectList("10.0.0.0/8,::1", collectList("192.0.2.7", undefined))).toEqual([
      "192.0.2.7",
      "10.0.0.0/8",
      "::1",
    ]);
    expect(collectIntegers(0)("3", collectIntegers(0)("0,1", undefined))).toEqual([0, 1, 3]);
    expect(() => collectIntegers(0)("1,-2", undefined)).toThrow(/"-2" is not a whole number >= 0/);
    expect(collectValues("a,b", ["x"])).toEqual(["x", "a,b"]);
  });

  test("any selector makes a match; none leaves the purge whole", () => {
    expect(matchOf({})).toBeUndefined();
    expect(matchOf({ idleOver: 0 })).toEqual({ idleOverSeconds: 0 });
    expect(
      matchOf({
        idleOver: 3600,
        client: ["10.20.0.0/16"],
        user: ["reporting"],
        name: ["n"],
        db: [2],
        cmd: ["get"],
      }),
    ).toEqual({
      idleOverSeconds: 3600,
      clients: ["10.20.0.0/16"],
      users: ["reporting"],
      names: ["n"],
      dbs: [2],
      cmds: ["get"],
    });
    const options = purgeOptionsOf({ instanceId: "i", allNodes: true, match: { users: ["app"] }, topN: 5 });
    expect(options).toMatchObject({ match: { users: ["app"] }, topN: 5 });
  });

  test("a bad selector value names its flag (and the value), before any remote call", () => {
    const purge = (match: object) => () => purgeOptionsOf({ instanceId: "i", allNodes: true, match });
    expect(purge({ clients: ["10.0.0.1", "300.1.1.1/8"] })).toThrow(
      /^--client: "300\.1\.1\.1\/8" is not an IP address or CIDR range/,
    );
    expect(purge({ names: ["ok", ""] })).toThrow(/^--name "": must be a non-empty string/);
    expect(purge({})).toThrow(/^--idle-over\/--client\/--user\/--name\/--db\/--cmd: must give at least one/);
    expect(() =>
      purgeOptionsOf({ instanceId: "i", engine: "geminidb", allNodes: true, match: { users: ["a"] } }),
    ).toThrow(/^--user: cannot select GeminiDB sessions/);
  });

  test("the confirmation of a selective purge counts matched sessions", () => {
    const q = confirmationQuestion({
      instanceId: "inst-1",
      engine: "dcs",
      allNodes: true,
      nodeIds: [],
      sessions: 7,
      match: { idleOverSeconds: 60 },
    });
    expect(q).toBe('Kill 7 matched session(s) on every node of dcs instance inst-1? Type "yes" to go on: ');
  });

  test("the table of a selective dry run: matched per node and the first matched sessions", () => {
    const text = renderPurge(
      {
        instanceId: "inst-1",
        engine: "dcs",
        status: "dry-run",
        sessionsBefore: 12,
        sessionsAfter: null,
        matchedSessions: 3,
        nodes: [
          { nodeId: "node-a", before: 8, matched: 3, after: null },
          { nodeId: "node-b", before: 4, matched: 0, after: null },
        ],
        selectedSessions: [
          {
            nodeId: "node-a",
            peer: "127.0.0.2:50001",
            user: "batch",
            name: "old-1",
            idle: 7300,
            db: "2",
            cmd: "get",
          },
          {
            nodeId: "node-a",
            peer: "127.0.0.2:50002",
            user: "batch",
            name: "old-2",
            idle: 65,
            db: "2",
            cmd: "ping",
          },
        ],
        jobIds: [],
        purgedAt: "2026-03-01T10:05:00.000Z",
      },
      makeStyle(false),
    );
    const lines = text.split("\n").map((l) => l.trim());
    expect(lines.find((l) => l.startsWith("INSTANCE"))).toMatch(/BEFORE\s+MATCHED\s+AFTER/);
    expect(lines.find((l) => l.startsWith("inst-1"))).toMatch(/dry-run\s+12\s+3\s+-/);
    expect(lines.find((l) => l.startsWith("node-b"))).toMatch(/^node-b\s+4\s+0\s+-$/);
    expect(text).toContain("Matched sessions (first 2 of 3)");
    expect(lines.find((l) => l.includes("old-1"))).toMatch(
      /^node-a\s+127\.0\.0\.2:50001\s+batch\s+old-1\s+2\s+get\s+2h 1m$/,
    );
  });
});

describe("errors", () => {
  test("map to the exit codes of DESIGN §5 as one line", () => {
    const api = new ApiError({
      operation: "listNodes",
      method: "GET",
      path: "/v2/p/instances/i/logical-nodes",
      status: 404,
      errorCode: "DCS.4004",
      errorMsg: "no such\ninstance",
      requestId: "req-9",
    });
    const r = describeFailure(api, {});
    expect(r.exitCode).toBe(1);
    expect(r.line).toMatch(
      /^dcs-sessions: listNodes failed: .*HTTP 404 — DCS\.4004 — no such instance — request id req-9 \(check the instance id/,
    );
    expect(r.line).not.toContain("\n");
    expect(describeFailure(new ValidationError("--top", "bad"), {}).exitCode).toBe(2);
    expect(
      describeFailure(new GuardRefusedError("maxSessions", "purge refused: too many"), {}),
    ).toMatchObject({ exitCode: 3, line: "dcs-sessions: purge refused: too many" });
    expect(describeFailure(new JobFailedError("j1", "boom"), {}).exitCode).toBe(1);
    const busy = new ApiError({
      operation: "killAllClients",
      method: "POST",
      path: "/x",
      status: 400,
      errorCode: "DCS.4957",
    });
    expect(describeFailure(busy, {}).line).toContain("another job is running");
  });

  test("a secret from the environment is redacted even if a remote message echoes it", () => {
    const secret = "S3cr3tK3yValue";
    const r = describeFailure(new Error(`server said ${secret}`), { HW_SECRET_KEY: secret });
    expect(r.line).not.toContain(secret);
    expect(r.stack).not.toContain(secret);
  });

  test("DEBUG asks for stacks; NO_COLOR and a pipe turn colour off", () => {
    expect(debugEnabled({})).toBe(false);
    expect(debugEnabled({ DEBUG: "dcs-sessions" })).toBe(true);
    expect(debugEnabled({ DEBUG: "express:*" })).toBe(false);
    expect(colourEnabled({ write: () => true, isTTY: true }, {})).toBe(true);
    expect(colourEnabled({ write: () => true, isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(colourEnabled({ write: () => true, isTTY: false }, {})).toBe(false);
  });
});

describe("progress", () => {
  test("plain timestamped lines without a terminal, one per node listing rather than per page", () => {
    const err = sink(false);
    const p = createProgress(err, { now: () => new Date("2026-03-01T10:00:00Z") });
    p.onProgress({ kind: "nodes", nodeIds: ["n1"] });
    p.onProgress({ kind: "page", nodeId: "n1", sessions: 1000, total: 1500 });
    p.onProgress({ kind: "page", nodeId: "n1", sessions: 1500, total: 1500 });
    p.done();
    expect(err.text().trim().split("\n")).toEqual([
      "2026-03-01T10:00:00.000Z nodes: n1",
      "2026-03-01T10:00:00.000Z node n1: 1500 session(s) listed",
    ]);
    expect(eventLine({ kind: "page", nodeId: "n", sessions: 1, total: 2 })).toBeUndefined();
  });

  test("a live line rewritten in place on a terminal, cleared when done; nothing with --quiet", () => {
    const err = sink(true);
    let t = 0;
    const p = createProgress(err, { now: () => new Date(1_000_000 + (t += 500)) });
    p.onProgress({ kind: "nodes", nodeIds: ["n1", "n2"] });
    p.onProgress({ kind: "scan-done", nodeId: "n1" });
    p.onProgress({ kind: "page", nodeId: "n1", sessions: 40, total: 40 });
    p.done();
    expect(err.text()).toContain("\r\u001b[K1/2 node(s) scanned, 1 page(s), 40 session(s), 1.5s");
    expect(err.text().endsWith("\r\u001b[K")).toBe(true);
    expect(err.text()).not.toContain("\n");
    const quiet = sink(true);
    createProgress(quiet, { quiet: true, now: () => new Date() }).onProgress({
      kind: "nodes",
      nodeIds: ["n"],
    });
    expect(quiet.text()).toBe("");
  });
});

describe("text rendering", () => {
  test("bars scale to the largest value and show small values", () => {
    expect(bar(10, 10, 4)).toBe("████");
    expect(bar(5, 10, 4)).toBe("██");
    expect(bar(1, 1000, 4)).toBe("▏");
    expect(bar(0, 10, 4)).toBe("");
    expect(
      renderBars(
        [
          ["a", 2],
          ["bb", 1],
        ],
        makeStyle(false),
        4,
      ),
    ).toBe("  a   2  ████\n  bb  1  ██");
    expect(renderBars([["a", 2]], makeStyle(true), 4)).toContain("\u001b[36m");
  });
});

describe("usage errors through commander (in process)", () => {
  test.each([
    [["scan", "inst-1", "--engine", "mysql"], /--engine.*Allowed choices are dcs, geminidb/],
    [["scan", "inst-1", "--top", "500"], /--top <n>.*whole number from 0 to 100/],
    [["scan", "inst-1", "--bogus"], /unknown option '--bogus'/],
    [["purge", "inst-1", "--outside-window", "later"], /--outside-window.*fail, skip/],
    [["list", "inst-1"], /required option '--node <id>'/],
    [["list", "inst-1", "--node", "n", "--all", "--offset", "3"], /--all.*--offset/],
    [["scan", '"; rm -rf /'], /argument 'instance'/],
    [["nope"], /unknown command 'nope'/],
  ])("%j exits 2 with one line on stderr and nothing on stdout", async (args, message) => {
    const ctx = context();
    expect(await runCli(["node", "dcs-sessions", ...args], ctx)).toBe(2);
    expect(ctx.out.text()).toBe("");
    expect(ctx.err.text()).toMatch(message);
    expect(ctx.err.text().trim().split("\n")).toHaveLength(1);
  });

  test("--version and --help exit 0 on stdout", async () => {
    const ctx = context();
    expect(await runCli(["node", "dcs-sessions", "--version"], ctx)).toBe(0);
    expect(ctx.out.text().trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = context();
    expect(await runCli(["node", "dcs-sessions", "purge", "--help"], help)).toBe(0);
    expect(help.out.text()).toContain("Example");
    expect(help.err.text()).toBe("");
  });

  test("no cloud credential is ever a flag", async () => {
    const ctx = context();
    for (const command of ["nodes", "scan", "list", "purge", ["terraform-external", "scan"]]) {
      await runCli(["node", "dcs-sessions", ...[command].flat(), "--help"], ctx);
    }
    expect(ctx.out.text()).not.toMatch(/--(access|secret|ak|sk|token|password)/i);
  });

  test("the emulator takes its own test keys as flags, a flag winning over the environment", () => {
    const env = { DCS_EMULATOR_ACCESS_KEY: "env-ak", DCS_EMULATOR_SECRET_KEY: "env-sk" };
    expect(emulatorOptionsOf({ accessKey: "flag-ak" }, env)).toMatchObject({
      accessKey: "flag-ak",
      secretKey: "env-sk",
    });
    expect(emulatorOptionsOf({}, {})).not.toHaveProperty("accessKey");
  });
});

describe("a snapshot with nodes listed without a node_id says so in every rendering", () => {
  const snapshot = {
    ...hostileSnapshot(),
    skippedNodes: [{ name: "proxy-7", role: "redis-proxy", reason: "listed without a node_id" }],
  };

  test("the terminal rendering names the skipped node under the per-node bars", () => {
    const text = renderSnapshot(snapshot, makeStyle(false));
    expect(text).toMatch(/not scanned \(listed without a node_id, sessions not counted\): proxy-7/);
    expect(renderSnapshot(hostileSnapshot(), makeStyle(false))).not.toMatch(/not scanned/);
  });

  test("the Markdown summary names it too", () => {
    expect(snapshotMarkdown(snapshot)).toMatch(
      /Not scanned \(listed without a node_id\), so not counted: proxy-7/,
    );
    expect(snapshotMarkdown(hostileSnapshot())).not.toMatch(/Not scanned/);
  });
});
