/**
 * The HTML report in a real headless Chromium: `dcs-sessions scan|purge --report FILE.html` against the
 * emulator, the page opened from disk. It renders (its style is allowed by the CSP hash), the numbers read
 * back from the DOM are the JSON's of the same run, no request leaves the page, hostile client values stay
 * text, and a screenshot is written under the test's temporary folder.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { pathToFileURL } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { snapshotHtml } from "../../src/cli/output/html";
import { topOf } from "../../src/cli/output/values";
import { runCli } from "../../src/cli/program";
import { IDLE_BUCKETS } from "../../src/core/types";
import type { PurgeReport, SessionSnapshot } from "../../src/core/types";
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator";
import { openClients, startRedisServers } from "../../src/testing/redis";
import type { OpenClients, RedisServers } from "../../src/testing/redis";
import { describeWithChromium, launchChromium } from "../support/chromium";
import { describeWithRedis } from "../support/redis";
import { HOSTILE, hostileSnapshot } from "./report-fixtures";

interface PageFigures {
  heading: string;
  status: string | null;
  outcome: string | null;
  totals: Record<string, { value: string | null; text: string }>;
  charts: Record<
    string,
    Array<{ label: string; bars: Array<{ series: string; value: string | null }>; counts: string[] }>
  >;
  otherClientIpSessions: string | null;
  topIdleRows: string[][];
  pwned: unknown;
  ddFontWeight: string;
}

/** Read in the page through the DevTools protocol (the page itself runs no script). */
const READ_PAGE = `(() => {
  const attr = (el, name) => (el ? el.getAttribute(name) : null);
  const text = (el) => (el ? el.textContent.trim() : null);
  return {
    heading: text(document.querySelector("h1")),
    status: text(document.querySelector('[data-field="status"]')),
    outcome: text(document.querySelector("#outcome")),
    totals: Object.fromEntries([...document.querySelectorAll("dd[data-field]")].map((dd) => [
      dd.getAttribute("data-field"), { value: attr(dd, "data-value"), text: text(dd) },
    ])),
    charts: Object.fromEntries([...document.querySelectorAll("figure[data-chart]")].map((f) => [
      f.getAttribute("data-chart"),
      [...f.querySelectorAll("g.row")].map((g) => ({
        label: g.getAttribute("data-label"),
        bars: [...g.querySelectorAll("rect.bar")].map((r) => ({ series: attr(r, "data-series"), value: attr(r, "data-value") })),
        counts: [...g.querySelectorAll("text.count")].map(text),
      })),
    ])),
    otherClientIpSessions: attr(document.querySelector('[data-field="otherClientIpSessions"]'), "data-value"),
    topIdleRows: [...document.querySelectorAll("#top-idle tbody tr")].map((tr) => [...tr.children].map(text)),
    pwned: window.pwned,
    ddFontWeight: getComputedStyle(document.querySelector("dd")).fontWeight,
  };
})()`;

const formatCount = (n: number): string => n.toLocaleString("en-US");

describeWithChromium("the HTML report in headless Chromium", () => {
  let dir: string;
  let browser: BrowserContext;
  let emulator: EmulatorHandle;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dcs-sessions-report-"));
    browser = await launchChromium(dir);
    emulator = await startEmulator({ synthetic: { nodes: 3, sessionsPerNode: 400 }, jobMs: 10 });
  });

  afterAll(async () => {
    await browser?.close();
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function cli(
    args: string[],
    env: Record<string, string> = emulator.env,
  ): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const stdin = new PassThrough();
    stdin.end();
    const code = await runCli(["node", "dcs-sessions", ...args, "--quiet"], {
      stdout: { write: (s: string) => (out += s), isTTY: false },
      stderr: { write: (s: string) => (err += s), isTTY: false },
      stdin,
      env,
      now: () => new Date(),
    });
    return { code, out, err };
  }

  /** Opens the file with every request recorded and refused, reads the page, and screenshots it. */
  async function open(
    file: string,
  ): Promise<{ figures: PageFigures; requests: string[]; console: string[] }> {
    const page: Page = await browser.newPage();
    const requests: string[] = [];
    const console: string[] = [];
    const url = pathToFileURL(file).href;
    page.on("request", (r) => requests.push(r.url()));
    page.on("console", (m) => console.push(m.text()));
    page.on("pageerror", (e) => console.push(`pageerror: ${e.message}`));
    await page.route("**/*", (route) =>
      route.request().url() === url ? route.continue() : route.abort("blockedbyclient"),
    );
    try {
      await page.goto(url, { waitUntil: "load" });
      const figures = (await page.evaluate(READ_PAGE)) as PageFigures;
      const png = `${file}.png`;
      await page.screenshot({ path: png, fullPage: true });
      const bytes = readFileSync(png);
      expect(bytes.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a"); // a PNG
      expect(statSync(png).size).toBeGreaterThan(10_000); // a rendered page, not a blank one
      return { figures, requests: requests.filter((r) => r !== url), console };
    } finally {
      await page.close();
    }
  }

  function expectIdleChart(
    rows: PageFigures["charts"][string],
    ...snapshots: Array<Pick<SessionSnapshot, "idleBuckets">>
  ): void {
    expect(rows.map((r) => r.label)).toEqual([...IDLE_BUCKETS]);
    rows.forEach((row, i) => {
      const bucket = IDLE_BUCKETS[i]!;
      expect(row.bars.map((b) => Number(b.value))).toEqual(snapshots.map((s) => s.idleBuckets[bucket]));
      expect(row.counts).toEqual(snapshots.map((s) => formatCount(s.idleBuckets[bucket])));
    });
  }

  function expectClientIpChart(figures: PageFigures, s: SessionSnapshot): void {
    const { top, rest } = topOf(s.byClientIp, 10);
    expect(top.length).toBeGreaterThan(0);
    expect(figures.charts["client-ips"]!.map((r) => [r.label, Number(r.bars[0]!.value)])).toEqual(top);
    expect(figures.otherClientIpSessions === null ? 0 : Number(figures.otherClientIpSessions)).toBe(rest);
    const shown = top.reduce((sum, [, n]) => sum + n, 0);
    expect(shown + rest).toBe(s.totalSessions);
  }

  test("scan --report: the page shows the JSON's totals, nodes, idle buckets and top client IPs", async () => {
    const file = join(dir, "scan.html");
    const r = await cli(["scan", emulator.instanceId, "--output", "json", "--report", file]);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    const s = JSON.parse(r.out) as SessionSnapshot;
    expect(s.totalSessions).toBe(1200);

    const { figures, requests, console } = await open(file);
    expect(requests).toEqual([]);
    expect(console).toEqual([]); // no CSP violation: the style hash is right and nothing else was tried
    expect(figures.ddFontWeight).toBe("600"); // the inline style applied
    expect(figures.heading).toBe(`Sessions: ${formatCount(s.totalSessions)}`);
    expect(figures.totals).toEqual({
      totalSessions: { value: String(s.totalSessions), text: formatCount(s.totalSessions) },
      nodes: { value: String(s.nodes.length), text: String(s.nodes.length) },
      subscribers: { value: String(s.subscribers), text: formatCount(s.subscribers) },
      maxIdleSeconds: { value: String(s.maxIdleSeconds), text: expect.any(String) },
      maxAgeSeconds: { value: String(s.maxAgeSeconds), text: expect.any(String) },
    });
    expect(figures.charts.nodes!.map((n) => [n.label, Number(n.bars[0]!.value), n.counts[0]])).toEqual(
      s.nodes.map((n) => [n.nodeId, n.sessions, formatCount(n.sessions)]),
    );
    expectIdleChart(figures.charts.idle!, s);
    expectClientIpChart(figures, s);
    expect(figures.topIdleRows.map((row) => row.slice(0, 3))).toEqual(
      s.topIdle.map((t) => [t.nodeId, t.addr, t.name]),
    );
  });

  test("purge --report: status, before/after per node and per idle time match the JSON report", async () => {
    const file = join(dir, "purge.html");
    const r = await cli([
      "purge",
      emulator.instanceId,
      "--all-nodes",
      "--yes",
      "--output",
      "json",
      "--report",
      file,
    ]);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    const report = JSON.parse(r.out) as PurgeReport;
    expect(report.status).toBe("purged");
    expect(report.sessionsBefore).toBeGreaterThan(0);

    const { figures, requests, console } = await open(file);
    expect(requests).toEqual([]);
    expect(console).toEqual([]);
    expect(figures.status).toBe("purged");
    expect(figures.outcome).toBe("Sessions killed and verified by a scan after the kill.");
    expect(figures.totals).toEqual({
      sessionsBefore: { value: String(report.sessionsBefore), text: formatCount(report.sessionsBefore!) },
      sessionsAfter: { value: String(report.sessionsAfter), text: formatCount(report.sessionsAfter!) },
      jobs: { value: String(report.jobIds.length), text: String(report.jobIds.length) },
    });
    expect(
      figures.charts.nodes!.map((n) => [n.label, ...n.bars.map((b) => [b.series, Number(b.value)])]),
    ).toEqual(report.nodes.map((n) => [n.nodeId, ["before", n.before], ["after", n.after]]));
    expectIdleChart(figures.charts.idle!, report.before!, report.after!);
    expectClientIpChart(figures, report.before!);
  });

  test("a dry run's page has before figures only", async () => {
    const file = join(dir, "dry-run.html");
    const r = await cli([
      "purge",
      emulator.instanceId,
      "--all-nodes",
      "--dry-run",
      "--output",
      "json",
      "--report",
      file,
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as PurgeReport;
    const { figures, requests } = await open(file);
    expect(requests).toEqual([]);
    expect(figures.status).toBe("dry-run");
    expect(figures.totals.sessionsAfter).toEqual({ value: null, text: "–" });
    expect(figures.charts.nodes!.map((n) => [n.label, n.bars.map((b) => Number(b.value))])).toEqual(
      report.nodes.map((n) => [n.nodeId, [n.before]]),
    );
  });

  test("hostile client names, users and IPs are shown as text and run nothing", async () => {
    const file = join(dir, "hostile.html");
    writeFileSync(file, snapshotHtml(hostileSnapshot()));
    const { figures, requests, console } = await open(file);
    expect(requests).toEqual([]);
    expect(console).toEqual([]);
    expect(figures.pwned).toBeUndefined();
    expect(figures.charts["client-ips"]!.map((r) => r.label)).toContain(HOSTILE.image);
    expect(figures.charts.nodes!.map((r) => r.label)).toEqual(["node-a", "node-<b>"]);
    expect(figures.topIdleRows[0]!.slice(0, 6)).toEqual([
      "node-a",
      "10.0.0.1:5000",
      HOSTILE.name,
      HOSTILE.pipe,
      "0",
      HOSTILE.link,
    ]);
  });

  describeWithRedis("with real clients that named themselves with markup", () => {
    let servers: RedisServers;
    let redisEmulator: EmulatorHandle;
    let clients: OpenClients | undefined;
    // Redis refuses spaces in a client name; markup needs none.
    const NAMES = ["<img/src=x/onerror=window.pwned=3>", "<script>window.pwned=4</script>", "a|b`c`@all"];

    beforeAll(async () => {
      servers = await startRedisServers(1);
      redisEmulator = await startEmulator({ redis: servers.urls, jobMs: 10 });
      clients = await openClients(servers.urls[0]!, [
        ...NAMES.map((name) => ({ name })),
        { name: "plain", db: 2 },
      ]);
    });

    afterAll(async () => {
      await clients?.closeAll();
      await redisEmulator?.close();
      await servers?.stop();
    });

    test("scan --report of a real redis-server: the names are text in the page, nothing runs or loads", async () => {
      const file = join(dir, "redis-scan.html");
      const r = await cli(
        ["scan", redisEmulator.instanceId, "--output", "json", "--top", "20", "--report", file],
        redisEmulator.env,
      );
      expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
      const s = JSON.parse(r.out) as SessionSnapshot;
      for (const name of NAMES) expect(s.byName[name]).toBe(1);
      const { figures, requests, console } = await open(file);
      expect(requests).toEqual([]);
      expect(console).toEqual([]);
      expect(figures.pwned).toBeUndefined();
      expect(figures.totals.totalSessions!.value).toBe(String(s.totalSessions));
      expect(figures.topIdleRows.map((row) => row[2])).toEqual(expect.arrayContaining([...NAMES, "plain"]));
    });
  });
});
