/**
 * `--report FILE.html`: one self-contained page for a pipeline artifact, with inline SVG charts of the idle
 * times, the sessions per node and the top client IPs. Nothing is loaded from anywhere: no script at all,
 * one inline style allowed by its hash in a strict Content-Security-Policy, and every value from the wire
 * HTML-escaped. Numbers carry `data-*` attributes so that a test (or a script) can read them back.
 */
import { createHash } from "node:crypto";
import { IDLE_BUCKETS, OTHER_KEY } from "../../core/types";
import type { IdleBucket, PurgeReport, SessionSnapshot } from "../../core/types";
import { matchedSessionsTitle, topOf, visible } from "./values";
import { formatCount, formatDuration } from "./table";

const TOP_IPS = 10;
/** Chart labels longer than this are cut (the full value is the bar's tooltip). */
const LABEL_CHARS = 38;
const MAX_TEXT = 200;

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text and attribute values: the five HTML metacharacters as entities, control characters as escapes. */
export function escapeHtml(value: string): string {
  return visible(value, MAX_TEXT).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

const STYLE = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5d6678; --line: #dde2ea; --a: #2b66d9; --b: #9db9ee; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 900px; padding: 24px; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.meta, footer, .note { color: var(--muted); }
code { font: 12px ui-monospace, monospace; }
dl.totals { display: flex; flex-wrap: wrap; gap: 8px; margin: 16px 0; }
dl.totals div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 110px; }
dt { color: var(--muted); font-size: 12px; }
dd { margin: 0; font-size: 20px; font-weight: 600; }
.status { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; background: #e7eefc; }
.status-purged { background: #dcf3e2; }
.status-purged-unverified, .status-skipped-outside-window, .status-skipped-below-minimum { background: #fdf0d2; }
.status-failed { background: #fbdcdc; }
.outcome { font-size: 15px; }
figure { margin: 0; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: var(--fg); }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
.legend .s0 { background: var(--a); }
.legend .s1 { background: var(--b); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
footer { margin-top: 32px; font-size: 12px; }
`;
const STYLE_HASH = createHash("sha256").update(STYLE).digest("base64");
const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src 'none'; base-uri 'none'; form-action 'none'`;

function page(title: string, heading: string, meta: string, body: string[]): string {
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    `<header><h1>${heading}</h1><p class="meta">${meta}</p></header>`,
    "<main>",
    ...body,
    "</main>",
    "<footer>Written by dcs-sessions. This page is self-contained: it loads nothing and runs no script.</footer>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

interface Total {
  field: string;
  label: string;
  value: number | null | undefined;
  /** Shown instead of the count (durations). */
  text?: string;
}

function totals(items: Total[]): string {
  const cells = items.map((t) => {
    const value = t.value === null || t.value === undefined ? "" : ` data-value="${t.value}"`;
    const shown = t.text ?? (t.value === null || t.value === undefined ? "–" : formatCount(t.value));
    return `<div><dt>${escapeHtml(t.label)}</dt><dd data-field="${t.field}"${value}>${escapeHtml(shown)}</dd></div>`;
  });
  return `<dl class="totals">${cells.join("")}</dl>`;
}

interface ChartRow {
  label: string;
  /** One value per series; null where a series has no figure (an after count not taken). */
  values: Array<number | null>;
}

interface Chart {
  id: string;
  title: string;
  series: string[];
  rows: ChartRow[];
}

const WIDTH = 760;
const LABEL_WIDTH = 280;
const BAR_WIDTH = 390;
const BAR_HEIGHT = 14;
const BAR_GAP = 4;
const ROW_GAP = 10;

function shortLabel(label: string): string {
  const oneLine = label.replace(/\s+/g, " ");
  return oneLine.length > LABEL_CHARS ? `${oneLine.slice(0, LABEL_CHARS - 1)}…` : oneLine;
}

/** A horizontal bar chart, one bar per series and row, scaled to the largest value. */
export function barChart(chart: Chart): string {
  const legend =
    chart.series.length > 1
      ? `<p class="legend">${chart.series.map((s, i) => `<span class="s${i}"></span>${escapeHtml(s)}`).join("")}</p>`
      : "";
  const head = `<section><h2>${escapeHtml(chart.title)}</h2>${legend}`;
  if (chart.rows.length === 0)
    return `${head}<figure class="chart" data-chart="${chart.id}"><p class="note">(none)</p></figure></section>`;
  const max = Math.max(1, ...chart.rows.flatMap((r) => r.values.map((v) => v ?? 0)));
  const rowHeight = chart.series.length * (BAR_HEIGHT + BAR_GAP) - BAR_GAP + ROW_GAP;
  const height = chart.rows.length * rowHeight;
  const rows = chart.rows.map((row, i) => {
    const y = i * rowHeight;
    const bars = row.values.map((v, s) => {
      const by = y + s * (BAR_HEIGHT + BAR_GAP);
      const w = v === null || v <= 0 ? 0 : Math.max(1, Math.round((v / max) * BAR_WIDTH));
      const series = escapeHtml(chart.series[s] ?? "");
      const valueAttr = v === null ? "" : ` data-value="${v}"`;
      return (
        `<rect class="bar s${s}" data-series="${series}"${valueAttr} x="${LABEL_WIDTH}" y="${by}" width="${w}" height="${BAR_HEIGHT}" fill="${s === 0 ? "#2b66d9" : "#9db9ee"}"></rect>` +
        `<text class="count" x="${LABEL_WIDTH + w + 6}" y="${by + BAR_HEIGHT - 3}">${v === null ? "–" : formatCount(v)}</text>`
      );
    });
    return (
      `<g class="row" data-label="${escapeHtml(row.label)}"><title>${escapeHtml(row.label)}</title>` +
      `<text class="label" x="${LABEL_WIDTH - 8}" y="${y + BAR_HEIGHT - 3}" text-anchor="end">${escapeHtml(shortLabel(row.label))}</text>` +
      `${bars.join("")}</g>`
    );
  });
  return (
    `${head}<figure class="chart" data-chart="${chart.id}">` +
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeHtml(chart.title)}" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">` +
    `${rows.join("")}</svg></figure></section>`
  );
}

function idleRows(...snapshots: SessionSnapshot[]): ChartRow[] {
  return IDLE_BUCKETS.map((b: IdleBucket) => ({
    label: b,
    values: snapshots.map((s) => s.idleBuckets[b] ?? 0),
  }));
}

/** The top client IPs as a chart, and the sessions of the other IPs as a line below it (a bar would dwarf them). */
function clientIpChart(s: SessionSnapshot, title: string): string {
  const { top, rest, restKeys } = topOf(s.byClientIp, TOP_IPS);
  const chart = barChart({
    id: "client-ips",
    title,
    series: ["sessions"],
    rows: top.map(([ip, n]) => ({ label: ip, values: [n] })),
  });
  if (rest === 0) return chart;
  // The folded `other` key hides how many IPs it holds; the count of IPs is only known without it.
  const others = s.byClientIp[OTHER_KEY] === undefined ? `${formatCount(restKeys)} other IP(s)` : "other IPs";
  return `${chart}<p class="note">and <span data-field="otherClientIpSessions" data-value="${rest}">${formatCount(rest)}</span> session(s) from ${others}</p>`;
}

function topIdleTable(s: SessionSnapshot): string {
  if (s.topIdle.length === 0) return "";
  const cell = (v: string) => `<td><code>${escapeHtml(v)}</code></td>`;
  const rows = s.topIdle.map(
    (t) =>
      `<tr data-idle="${t.idleSeconds}">${cell(t.nodeId)}${cell(t.addr)}${cell(t.name)}${cell(t.user)}${cell(t.db)}${cell(t.cmd)}` +
      `<td class="n">${formatDuration(t.idleSeconds)}</td><td class="n">${formatDuration(t.ageSeconds)}</td></tr>`,
  );
  return (
    `<section><h2>Most idle sessions (${s.topIdle.length})</h2><table id="top-idle">` +
    '<thead><tr><th>Node</th><th>Client</th><th>Name</th><th>User</th><th>DB</th><th>Last command</th><th class="n">Idle</th><th class="n">Age</th></tr></thead>' +
    `<tbody>${rows.join("")}</tbody></table></section>`
  );
}

function approximateNote(s: SessionSnapshot): string {
  return s.approximateMaps && s.approximateMaps.length > 0
    ? `<p class="note">Counts per key in ${escapeHtml(s.approximateMaps.join(", "))} are lower bounds (too many distinct keys); totals are exact.</p>`
    : "";
}

function instanceLine(instanceId: string, engine: string, at: string): string {
  return `Instance <code>${escapeHtml(instanceId)}</code> (${escapeHtml(engine)}), ${escapeHtml(at)}`;
}

/** A scan as a page: totals, then charts of the sessions per node, per idle time and per client IP. */
export function snapshotHtml(s: SessionSnapshot): string {
  return page(
    `dcs-sessions scan of ${s.instanceId}`,
    `Sessions: <span data-field="heading-total">${formatCount(s.totalSessions)}</span>`,
    instanceLine(s.instanceId, s.engine, `scanned at ${s.scannedAt}`),
    [
      totals([
        { field: "totalSessions", label: "Sessions", value: s.totalSessions },
        { field: "nodes", label: "Nodes", value: s.nodes.length },
        { field: "subscribers", label: "Subscribers", value: s.subscribers },
        {
          field: "maxIdleSeconds",
          label: "Max idle",
          value: s.maxIdleSeconds,
          text: formatDuration(s.maxIdleSeconds),
        },
        {
          field: "maxAgeSeconds",
          label: "Max age",
          value: s.maxAgeSeconds,
          text: formatDuration(s.maxAgeSeconds),
        },
      ]),
      barChart({
        id: "nodes",
        title: "Sessions per node",
        series: ["sessions"],
        rows: s.nodes.map((n) => ({ label: n.nodeId, values: [n.sessions] })),
      }),
      barChart({ id: "idle", title: "Sessions per idle time", series: ["sessions"], rows: idleRows(s) }),
      clientIpChart(s, "Top client IPs"),
      topIdleTable(s),
      approximateNote(s),
    ],
  );
}

function outcome(r: PurgeReport): string {
  switch (r.status) {
    case "purged":
      return r.sessionsAfter === null
        ? "Sessions killed; not verified (--no-verify)."
        : "Sessions killed and verified by a scan after the kill.";
    case "purged-unverified":
      return `The kill was sent but could not be confirmed${r.verificationError ? `: ${r.verificationError}` : "."}`;
    case "dry-run":
      return "Dry run: nothing was killed.";
    case "skipped-outside-window":
    case "skipped-below-minimum":
      return `Skipped, nothing was killed${r.reason ? `: ${r.reason}` : "."}`;
  }
}

/** The first matched sessions of a selective purge, as a table (wire values escaped, in code). */
function selectedTable(r: PurgeReport): string {
  const selected = r.selectedSessions ?? [];
  if (selected.length === 0) return "";
  const cell = (v: string) => `<td><code>${escapeHtml(v)}</code></td>`;
  const rows = selected.map(
    (t) =>
      `<tr data-idle="${t.idle}">${cell(t.nodeId)}${cell(t.peer)}${cell(t.user)}${cell(t.name)}${cell(t.db)}${cell(t.cmd)}` +
      `<td class="n">${formatDuration(t.idle)}</td></tr>`,
  );
  return (
    `<section><h2>${escapeHtml(matchedSessionsTitle(r))}</h2><table id="selected">` +
    '<thead><tr><th>Node</th><th>Peer</th><th>User</th><th>Name</th><th>DB</th><th>Last command</th><th class="n">Idle</th></tr></thead>' +
    `<tbody>${rows.join("")}</tbody></table></section>`
  );
}

/** A purge as a page: the outcome, before/after per node and per idle time, and the top client IPs before. */
export function purgeHtml(r: PurgeReport): string {
  const verified = r.nodes.some((n) => n.after !== null);
  const series = verified ? ["before", "after"] : ["before"];
  const body = [
    `<p class="outcome" id="outcome">${escapeHtml(outcome(r))}</p>`,
    totals([
      { field: "sessionsBefore", label: "Before", value: r.sessionsBefore },
      ...(r.matchedSessions !== undefined
        ? [{ field: "matchedSessions", label: "Matched", value: r.matchedSessions }]
        : []),
      { field: "sessionsAfter", label: "After", value: r.sessionsAfter },
      { field: "jobs", label: "Jobs", value: r.jobIds.length },
    ]),
    barChart({
      id: "nodes",
      title: "Sessions per node",
      series,
      rows: r.nodes.map((n) => ({ label: n.nodeId, values: verified ? [n.before, n.after] : [n.before] })),
    }),
  ];
  if (r.matchedSessions !== undefined) {
    body.push(
      barChart({
        id: "matched",
        title: "Matched sessions per node",
        series: ["matched"],
        rows: r.nodes.map((n) => ({ label: n.nodeId, values: [n.matched ?? null] })),
      }),
      selectedTable(r),
    );
  }
  if (r.before) {
    const snapshots = r.after ? [r.before, r.after] : [r.before];
    body.push(
      barChart({
        id: "idle",
        title: "Sessions per idle time",
        series: r.after ? ["before", "after"] : ["before"],
        rows: idleRows(...snapshots),
      }),
      clientIpChart(r.before, "Top client IPs before"),
      approximateNote(r.before),
    );
  }
  if (r.jobIds.length > 0)
    body.push(
      `<p class="note">Jobs: ${r.jobIds.map((id) => `<code>${escapeHtml(id)}</code>`).join(", ")}</p>`,
    );
  return page(
    `dcs-sessions purge of ${r.instanceId}: ${r.status}`,
    `Purge: <span class="status status-${r.status}" data-field="status">${escapeHtml(r.status)}</span>`,
    instanceLine(r.instanceId, r.engine, `at ${r.purgedAt}`),
    body,
  );
}

/** The page a failed scan or purge leaves as the artifact: the outcome and the CLI's error line. */
export function failureHtml(command: "scan" | "purge", outcome: string, line: string): string {
  const title = command === "scan" ? "Scan" : "Purge";
  return page(
    `dcs-sessions ${command}: ${outcome}`,
    `${title}: <span class="status status-failed" data-field="status">${escapeHtml(outcome)}</span>`,
    "Nothing after this error was done.",
    [`<p class="outcome" id="outcome">${escapeHtml(line)}</p>`],
  );
}
