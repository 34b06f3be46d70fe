/**
 * `--output markdown`, `--summary` and `--report` end to end against the emulator (synthetic sessions):
 * the summary carries the figures of the same run's JSON, `--summary` appends to $GITHUB_STEP_SUMMARY,
 * and a flag that cannot work is refused, naming itself, before any remote call.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import MarkdownIt from "markdown-it";
import { runCli } from "../../src/cli/program";
import type { PurgeReport, SessionSnapshot } from "../../src/core/types";
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator";

const markdown = new MarkdownIt({ html: true });
const formatCount = (n: number): string => n.toLocaleString("en-US");

/** The rows of the rendered table that follows a bold section title (or the first table, for ""). */
function tableAfter(md: string, title: string): string[][] {
  const html = markdown.render(md);
  const from = title === "" ? 0 : html.indexOf(`<strong>${title}</strong>`);
  expect(from).toBeGreaterThanOrEqual(0);
  const table = /<table>([\s\S]*?)<\/table>/.exec(html.slice(from))![1]!;
  return [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) =>
      c[1]!
        .replace(/<[^>]+>/g, "")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&amp;/g, "&"),
    ),
  );
}

describe("dcs-sessions --output markdown, --summary and --report", () => {
  let emulator: EmulatorHandle;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dcs-sessions-summary-"));
    emulator = await startEmulator({ synthetic: { nodes: 2, sessionsPerNode: 150 }, jobMs: 10 });
  });

  afterAll(async () => {
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await emulator.control.resetCounters();
  });

  async function cli(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const stdin = new PassThrough();
    stdin.end();
    const code = await runCli(["node", "dcs-sessions", ...args, "--quiet"], {
      stdout: { write: (s: string) => (out += s), isTTY: false },
      stderr: { write: (s: string) => (err += s), isTTY: false },
      stdin,
      env: { ...emulator.env, ...env },
      now: () => new Date(),
    });
    return { code, out, err };
  }

  async function remoteCalls(): Promise<number> {
    const counters = await emulator.control.counters();
    return Object.values(counters).reduce<number>((sum, n) => sum + (n ?? 0), 0);
  }

  test("scan --output json --summary: the summary appended to GITHUB_STEP_SUMMARY has the JSON's figures", async () => {
    const summary = join(dir, "scan-summary.md");
    writeFileSync(summary, "## Earlier step\n\n");
    const r = await cli(["scan", emulator.instanceId, "--output", "json", "--summary"], {
      GITHUB_STEP_SUMMARY: summary,
    });
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    const s = JSON.parse(r.out) as SessionSnapshot;
    const md = readFileSync(summary, "utf8");
    expect(md.startsWith("## Earlier step\n\n### dcs-sessions scan: 300 session(s)\n")).toBe(true);
    expect(tableAfter(md, "")[1]!.slice(0, 5)).toEqual([
      s.instanceId,
      "dcs",
      formatCount(s.totalSessions),
      String(s.nodes.length),
      formatCount(s.subscribers),
    ]);
    expect(
      tableAfter(md, "Sessions per node")
        .slice(1)
        .map((row) => [row[0], row[2]]),
    ).toEqual(s.nodes.map((n) => [n.nodeId, formatCount(n.sessions)]));
    expect(
      tableAfter(md, "Idle time")
        .slice(1)
        .map((row) => [row[0], row[1]]),
    ).toEqual(Object.entries(s.idleBuckets).map(([b, n]) => [b, formatCount(n)]));
    const ips = tableAfter(md, "Top client IPs").slice(1);
    expect(ips.reduce((sum, row) => sum + Number(row[1]!.replace(/,/g, "")), 0)).toBe(s.totalSessions);

    // A second step appends; it does not replace.
    const again = await cli(["scan", emulator.instanceId, "--output", "markdown", "--summary"], {
      GITHUB_STEP_SUMMARY: summary,
    });
    expect(again.code).toBe(0);
    expect(again.out.startsWith("### dcs-sessions scan: 300 session(s)\n")).toBe(true);
    expect(readFileSync(summary, "utf8").match(/### dcs-sessions scan/g)).toHaveLength(2);
  });

  test("purge --dry-run --output markdown: the outcome and before per node, nothing killed", async () => {
    const r = await cli(["purge", emulator.instanceId, "--all-nodes", "--dry-run", "--output", "markdown"]);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    expect(r.out).toContain("### dcs-sessions purge: dry-run\n\n> Dry run: nothing was killed.\n");
    expect(tableAfter(r.out, "")[1]!.slice(2, 5)).toEqual(["dry-run", "300", "–"]);
    const perNode = tableAfter(r.out, "Per node").slice(1);
    expect(perNode.map((row) => row.slice(1))).toEqual([
      ["150", "–"],
      ["150", "–"],
    ]);
    expect(emulator.nodeIds).toEqual(expect.arrayContaining(perNode.map((row) => row[0])));
    expect((await emulator.control.counters()).killAllClients ?? 0).toBe(0);
  });

  // Before the purge below empties the instance.
  test("a purge refused by a guard still leaves its outcome in the summary and the report", async () => {
    const summary = join(dir, "refused-summary.md");
    const page = join(dir, "refused.html");
    const r = await cli(
      [
        "purge",
        emulator.instanceId,
        "--all-nodes",
        "--yes",
        "--max-sessions",
        "10",
        "--summary",
        "--report",
        page,
      ],
      { GITHUB_STEP_SUMMARY: summary },
    );
    expect(r.code).toBe(3);
    expect(r.out).toBe("");
    const md = readFileSync(summary, "utf8");
    expect(md).toBe(
      "### dcs-sessions purge: refused\n\n> **refused**: purge refused: 300 sessions are connected, more than " +
        "maxSessions (10); check the instance id, or raise maxSessions\n\n",
    );
    expect(readFileSync(page, "utf8")).toContain('data-field="status">refused</span>');
    expect((await emulator.control.counters()).killAllClients ?? 0).toBe(0);
  });

  test("purge --output json --summary --report: the JSON on stdout, the summary and the page agree", async () => {
    const summary = join(dir, "purge-summary.md");
    const page = join(dir, "purge.html");
    const r = await cli(
      [
        "purge",
        emulator.instanceId,
        "--all-nodes",
        "--yes",
        "--output",
        "json",
        "--summary",
        "--report",
        page,
      ],
      { GITHUB_STEP_SUMMARY: summary },
    );
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    const report = JSON.parse(r.out) as PurgeReport;
    expect(report.status).toBe("purged");
    const md = readFileSync(summary, "utf8");
    expect(tableAfter(md, "")[1]!.slice(2, 5)).toEqual([
      "purged",
      formatCount(report.sessionsBefore!),
      formatCount(report.sessionsAfter!),
    ]);
    expect(tableAfter(md, "Per node").slice(1)).toEqual(
      report.nodes.map((n) => [n.nodeId, formatCount(n.before), formatCount(n.after!)]),
    );
    const html = readFileSync(page, "utf8");
    expect(html).toContain(`data-field="sessionsBefore" data-value="${report.sessionsBefore}"`);
  });

  test("--summary without GITHUB_STEP_SUMMARY is refused naming the flag, before any remote call", async () => {
    const r = await cli(["purge", emulator.instanceId, "--all-nodes", "--yes", "--summary"]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^dcs-sessions: invalid input: --summary: GITHUB_STEP_SUMMARY is not set/);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(await remoteCalls()).toBe(0);
  });

  test("--report into a directory that does not exist is refused naming the flag, before any remote call", async () => {
    const target = join(dir, "missing", "report.html");
    const r = await cli(["scan", emulator.instanceId, "--report", target]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--report: ".*missing\/report\.html" is not in an existing directory/);
    expect(existsSync(target)).toBe(false);
    expect(await remoteCalls()).toBe(0);
  });

  test("a report that cannot be written after the result is an error naming the flag; the result stands", async () => {
    const r = await cli(["scan", emulator.instanceId, "--output", "json", "--report", dir]); // a directory
    expect(r.code).toBe(1);
    expect((JSON.parse(r.out) as SessionSnapshot).instanceId).toBe(emulator.instanceId);
    expect(r.err).toMatch(
      /^dcs-sessions: --report: could not write .*EISDIR.*\(the result printed above is complete\)\n$/,
    );
  });

  test("the listing commands keep json and table: markdown is a usage error there", async () => {
    const r = await cli(["nodes", emulator.instanceId, "--output", "markdown"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--output <format>.*markdown.*is invalid/);
    const report = await cli(["nodes", emulator.instanceId, "--report", join(dir, "x.html")]);
    expect(report.code).toBe(2);
    expect(report.err).toMatch(/unknown option '--report'/);
  });
});
