/**
 * `--output markdown` and `--summary`: a compact summary of a scan or a purge that GitHub's step summary
 * and GitLab's merge-request comments render. Every value that came from the wire (node ids, client IPs,
 * names, users, commands) is shown in a code span, where neither Markdown, HTML, @mentions nor issue
 * references are interpreted.
 */
import { nodeWithoutIdLabel } from "../../api/node-label";
import { IDLE_BUCKETS } from "../../core/types";
import type { IdleBucket, PurgeReport, SessionSnapshot } from "../../core/types";
import { formatCount, formatDuration } from "./table";
import { matchedSessionsTitle, topOf, visible } from "./values";

/** How many rows the client tables keep (the rest is one "other" row). */
const TOP_ROWS = 10;
const TOP_IDLE_ROWS = 5;
/** Longer wire values are cut: a summary stays compact whatever a client calls itself. */
const MAX_VALUE_LENGTH = 80;
/** A sentence (an error, a reason) keeps more: it is read, not scanned. */
const MAX_PROSE_LENGTH = 1000;

/**
 * A wire value as a code span for a table cell: the fence is longer than any run of backticks inside,
 * and `|` is escaped (GFM splits cells before it parses code spans). An empty value reads `(empty)`.
 */
export function codeCell(value: string): string {
  const text = visible(value, MAX_VALUE_LENGTH).replace(/\|/g, "\\|");
  if (text === "") return "*(empty)*";
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  const pad = text.startsWith("`") || text.endsWith("`") || /^ +$/.test(text) ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * Prose that may carry a server's words (a skip reason, a verification error): Markdown punctuation
 * backslash-escaped, `<` and `&` as entities, and `@` kept from forming a mention.
 */
export function escapeText(value: string): string {
  return visible(value, MAX_PROSE_LENGTH)
    .replace(/[\\`*_[\]!|~>]/g, (c) => `\\${c}`)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/@/g, "@\u200b");
}

type Align = "left" | "right";

function table(headers: Array<[string, Align]>, rows: string[][]): string {
  const head = `| ${headers.map(([h]) => h).join(" | ")} |`;
  const rule = `|${headers.map(([, a]) => (a === "right" ? " ---: " : " --- ")).join("|")}|`;
  return [head, rule, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function share(n: number, total: number): string {
  if (total <= 0) return "0%";
  const pct = (n / total) * 100;
  return pct > 0 && pct < 1 ? "&lt;1%" : `${Math.round(pct)}%`;
}

function idleTable(buckets: Record<IdleBucket, number>, total: number): string {
  return table(
    [
      ["Idle for", "left"],
      ["Sessions", "right"],
      ["Share", "right"],
    ],
    IDLE_BUCKETS.map((b) => [escapeText(b), formatCount(buckets[b] ?? 0), share(buckets[b] ?? 0, total)]),
  );
}

function topTable(title: string, map: Record<string, number>, total: number, n = TOP_ROWS): string {
  const { top, rest } = topOf(map, n);
  if (top.length === 0 && rest === 0) return "";
  const rows = top.map(([key, v]) => [codeCell(key), formatCount(v), share(v, total)]);
  if (rest > 0) rows.push(["*others*", formatCount(rest), share(rest, total)]);
  return table(
    [
      [title, "left"],
      ["Sessions", "right"],
      ["Share", "right"],
    ],
    rows,
  );
}

function section(title: string, body: string): string[] {
  return body === "" ? [] : [`**${title}**`, "", body, ""];
}

/** The sections a scan and a purge's before snapshot share: idle times and the top clients. */
function snapshotSections(s: SessionSnapshot, label: string): string[] {
  return [
    ...section(`Idle time${label}`, idleTable(s.idleBuckets, s.totalSessions)),
    ...section(`Top client IPs${label}`, topTable("Client IP", s.byClientIp, s.totalSessions)),
    ...section(`Top client names${label}`, topTable("Client name", s.byName, s.totalSessions, 5)),
    ...section(`Top users${label}`, topTable("User", s.byUser, s.totalSessions, 5)),
  ];
}

/** Nodes the scan could not name (no `node_id`): their sessions are not in the counts. */
function skippedNodesNote(s: SessionSnapshot): string[] {
  const skipped = s.skippedNodes ?? [];
  if (skipped.length === 0) return [];
  const names = skipped.map((n) => escapeText(nodeWithoutIdLabel(n))).join(", ");
  return [`*Not scanned (listed without a node_id), so not counted: ${names}.*`, ""];
}

function approximateNote(s: SessionSnapshot): string[] {
  return s.approximateMaps && s.approximateMaps.length > 0
    ? [
        `*Counts per key in ${s.approximateMaps.map(escapeText).join(", ")} are lower bounds (too many distinct keys); totals are exact.*`,
        "",
      ]
    : [];
}

/** A scan, as Markdown: totals, per node, idle buckets, top clients and the most idle sessions. */
export function snapshotMarkdown(s: SessionSnapshot): string {
  const lines = [
    `### dcs-sessions scan: ${formatCount(s.totalSessions)} session(s)`,
    "",
    table(
      [
        ["Instance", "left"],
        ["Engine", "left"],
        ["Sessions", "right"],
        ["Nodes", "right"],
        ["Subscribers", "right"],
        ["Max idle", "right"],
        ["Max age", "right"],
        ["Scanned at", "left"],
      ],
      [
        [
          codeCell(s.instanceId),
          s.engine,
          formatCount(s.totalSessions),
          formatCount(s.nodes.length),
          formatCount(s.subscribers),
          formatDuration(s.maxIdleSeconds),
          formatDuration(s.maxAgeSeconds),
          s.scannedAt,
        ],
      ],
    ),
    "",
    ...section(
      "Sessions per node",
      s.nodes.length === 0
        ? ""
        : table(
            [
              ["Node", "left"],
              ["Role", "left"],
              ["Sessions", "right"],
              ["Share", "right"],
            ],
            s.nodes.map((n) => [
              codeCell(n.nodeId),
              n.role ? codeCell(n.role) : "",
              formatCount(n.sessions),
              share(n.sessions, s.totalSessions),
            ]),
          ),
    ),
    ...snapshotSections(s, ""),
    ...section(
      "Most idle sessions",
      s.topIdle.length === 0
        ? ""
        : table(
            [
              ["Node", "left"],
              ["Client", "left"],
              ["Name", "left"],
              ["User", "left"],
              ["DB", "right"],
              ["Last command", "left"],
              ["Idle", "right"],
              ["Age", "right"],
            ],
            s.topIdle
              .slice(0, TOP_IDLE_ROWS)
              .map((t) => [
                codeCell(t.nodeId),
                codeCell(t.addr),
                codeCell(t.name),
                codeCell(t.user),
                codeCell(t.db),
                codeCell(t.cmd),
                formatDuration(t.idleSeconds),
                formatDuration(t.ageSeconds),
              ]),
          ),
    ),
    ...approximateNote(s),
    ...skippedNodesNote(s),
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}

function countOrDash(n: number | null | undefined): string {
  return n === null || n === undefined ? "–" : formatCount(n);
}

/** What the status means, in a sentence a reviewer reads first. */
function outcome(r: PurgeReport): string {
  switch (r.status) {
    case "purged":
      return r.sessionsAfter === null
        ? "Sessions killed; not verified (`--no-verify`)."
        : "Sessions killed and verified by a scan after the kill.";
    case "purged-unverified":
      return `The kill was sent but could not be confirmed${r.verificationError ? `: ${escapeText(r.verificationError)}` : "."}`;
    case "dry-run":
      return "Dry run: nothing was killed.";
    case "skipped-outside-window":
    case "skipped-below-minimum":
      return `Skipped, nothing was killed${r.reason ? `: ${escapeText(r.reason)}` : "."}`;
  }
}

/** The first matched sessions of a selective purge, wire values in code spans. */
function selectedSection(r: PurgeReport): string[] {
  const selected = r.selectedSessions ?? [];
  if (selected.length === 0) return [];
  return section(
    matchedSessionsTitle(r),
    table(
      [
        ["Node", "left"],
        ["Peer", "left"],
        ["User", "left"],
        ["Name", "left"],
        ["DB", "right"],
        ["Command", "left"],
        ["Idle", "right"],
      ],
      selected.map((t) => [
        codeCell(t.nodeId),
        codeCell(t.peer),
        codeCell(t.user),
        codeCell(t.name),
        codeCell(t.db),
        codeCell(t.cmd),
        formatDuration(t.idle),
      ]),
    ),
  );
}

/** A purge, as Markdown: the outcome, before/after per node, and the before snapshot's idle times and clients. */
export function purgeMarkdown(r: PurgeReport): string {
  const selective = r.matchedSessions !== undefined;
  const headers: Array<[string, Align]> = [
    ["Instance", "left"],
    ["Engine", "left"],
    ["Status", "left"],
    ["Before", "right"],
    ...(selective ? [["Matched", "right"] as [string, Align]] : []),
    ["After", "right"],
    ["Jobs", "left"],
    ["At", "left"],
  ];
  const row = [
    codeCell(r.instanceId),
    r.engine,
    `**${r.status}**`,
    countOrDash(r.sessionsBefore),
    ...(selective ? [countOrDash(r.matchedSessions)] : []),
    countOrDash(r.sessionsAfter),
    r.jobIds.length === 0 ? "–" : r.jobIds.map(codeCell).join(" "),
    r.purgedAt,
  ];
  const lines = [
    `### dcs-sessions purge: ${r.status}`,
    "",
    `> ${r.status === "purged-unverified" ? "**Warning:** " : ""}${outcome(r)}`,
    "",
    table(headers, [row]),
    "",
    ...section(
      "Per node",
      r.nodes.length === 0
        ? ""
        : table(
            [
              ["Node", "left"],
              ["Before", "right"],
              ...(selective ? [["Matched", "right"] as [string, Align]] : []),
              ["After", "right"],
            ],
            r.nodes.map((n) => [
              codeCell(n.nodeId),
              formatCount(n.before),
              ...(selective ? [countOrDash(n.matched)] : []),
              countOrDash(n.after),
            ]),
          ),
    ),
    ...(selective ? selectedSection(r) : []),
    ...(r.before ? snapshotSections(r.before, " before") : []),
    ...(r.before ? approximateNote(r.before) : []),
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}

/** What a failed scan or purge leaves on a pipeline's page: the command, the outcome and the CLI's error line. */
export function failureMarkdown(command: "scan" | "purge", outcome: string, line: string): string {
  return `### dcs-sessions ${command}: ${outcome}\n\n> **${outcome}**: ${escapeText(line)}\n`;
}
