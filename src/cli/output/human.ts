/** Human output (`--output table`): a summary, the top idle sessions and text bars, per command. */
import { nodeWithoutIdLabel } from "../../api/node-label";
import type { ClientInfo } from "../../api/schemas";
import type { NodeList } from "../../api/types";
import { IDLE_BUCKETS, OTHER_KEY } from "../../core/types";
import type { PurgeReport, SessionSnapshot } from "../../core/types";
import { formatCount, formatDuration, heading, renderBars, renderTable } from "./table";
import type { Style } from "./table";
import { matchedSessionsTitle } from "./values";

/** How many entries of a `by*` map the table shows. */
const MAP_ROWS = 5;

/** The largest entries of a `by*` map, without the folded `other` (shown as a note instead). */
function topEntries(map: Record<string, number>, n: number): Array<[string, number]> {
  return Object.entries(map)
    .filter(([key]) => key !== OTHER_KEY)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n);
}

export function renderNodes(list: NodeList, style: Style): string {
  const rows = list.nodes.map((n) => [
    n.nodeId,
    n.nodeRole ?? "",
    n.nodeType ?? "",
    n.nodeIp ? `${n.nodeIp}${n.nodePort ? `:${n.nodePort}` : ""}` : "",
    n.status ?? "",
    n.groupName ?? "",
  ]);
  return [
    `${heading("Instance", style)} ${list.instanceId}  ${formatCount(list.total)} node(s)`,
    renderTable(
      [
        { header: "NODE" },
        { header: "ROLE" },
        { header: "TYPE" },
        { header: "ADDRESS" },
        { header: "STATUS" },
        { header: "GROUP" },
      ],
      rows,
      style,
    ),
  ].join("\n");
}

/** Nodes the scan could not name (no `node_id`): said under the per-node bars, as their sessions are missing. */
function skippedNodesLine(s: SessionSnapshot, style: Style): string[] {
  const skipped = s.skippedNodes ?? [];
  if (skipped.length === 0) return [];
  const names = skipped.map(nodeWithoutIdLabel).join(", ");
  return [`  ${style.dim(`not scanned (listed without a node_id, sessions not counted): ${names}`)}`];
}

export function renderSnapshot(s: SessionSnapshot, style: Style): string {
  const topIps = topEntries(s.byClientIp, MAP_ROWS);
  const otherIps = s.totalSessions - topIps.reduce((sum, [, n]) => sum + n, 0);
  const summary = renderTable(
    [
      { header: "INSTANCE" },
      { header: "ENGINE" },
      { header: "SESSIONS", align: "right" },
      { header: "NODES", align: "right" },
      { header: "SUBSCRIBERS", align: "right" },
      { header: "MAX IDLE", align: "right" },
      { header: "MAX AGE", align: "right" },
      { header: "SCANNED AT" },
    ],
    [
      [
        s.instanceId,
        s.engine,
        formatCount(s.totalSessions),
        String(s.nodes.length),
        formatCount(s.subscribers),
        formatDuration(s.maxIdleSeconds),
        formatDuration(s.maxAgeSeconds),
        s.scannedAt,
      ],
    ],
    style,
  );
  const parts = [
    heading("Summary", style),
    summary,
    "",
    heading("Sessions per node", style),
    renderBars(
      s.nodes.map((n) => [n.nodeId, n.sessions]),
      style,
    ),
    ...skippedNodesLine(s, style),
    "",
    heading("Sessions per idle time", style),
    renderBars(
      IDLE_BUCKETS.map((b) => [b, s.idleBuckets[b] ?? 0]),
      style,
    ),
    "",
    heading(`Top ${MAP_ROWS} client IPs`, style),
    renderBars(topIps, style),
    ...(otherIps > 0 ? [`  ${style.dim(`and ${formatCount(otherIps)} session(s) from other IPs`)}`] : []),
    "",
    heading(`Most idle sessions (${s.topIdle.length})`, style),
  ];
  parts.push(
    s.topIdle.length === 0
      ? `  ${style.dim("(none)")}`
      : renderTable(
          [
            { header: "NODE" },
            { header: "ADDR" },
            { header: "NAME" },
            { header: "USER" },
            { header: "DB", align: "right" },
            { header: "CMD" },
            { header: "IDLE", align: "right" },
            { header: "AGE", align: "right" },
          ],
          s.topIdle.map((t) => [
            t.nodeId,
            t.addr,
            t.name,
            t.user,
            t.db,
            t.cmd,
            formatDuration(t.idleSeconds),
            formatDuration(t.ageSeconds),
          ]),
          style,
        ),
  );
  return parts.join("\n");
}

export interface PageView {
  instanceId: string;
  nodeId: string;
  time?: string;
  count: number;
  offset?: number;
  limit?: number;
  clients: ClientInfo[];
}

export function renderClientRows(clients: ClientInfo[], style: Style, withHeader: boolean): string {
  const table = renderTable(
    [
      { header: "ADDR" },
      { header: "NAME" },
      { header: "USER" },
      { header: "DB", align: "right" },
      { header: "CMD" },
      { header: "AGE", align: "right" },
      { header: "IDLE", align: "right" },
      { header: "FLAGS" },
    ],
    clients.map((c) => [
      c.addr ?? "",
      c.name ?? "",
      c.user ?? "",
      c.db ?? "",
      c.cmd ?? "",
      formatDuration(c.age ?? 0),
      formatDuration(c.idle ?? 0),
      c.flags ?? "",
    ]),
    style,
  );
  return withHeader ? table : table.split("\n").slice(1).join("\n");
}

/** The first line of a page: the node, the instance, the count and the data time. */
export function pageTitle(page: PageView, style: Style): string {
  const shown = page.offset !== undefined ? ` (offset ${page.offset}, ${page.clients.length} shown)` : "";
  return (
    `${heading("Node", style)} ${page.nodeId} of ${page.instanceId}: ${formatCount(page.count)} session(s)${shown}` +
    (page.time ? `, data time ${page.time}` : "")
  );
}

export function renderPage(page: PageView, style: Style): string {
  return [
    pageTitle(page, style),
    page.clients.length === 0 ? `  ${style.dim("(none)")}` : renderClientRows(page.clients, style, true),
  ].join("\n");
}

function statusText(status: PurgeReport["status"], style: Style): string {
  if (status === "purged") return style.green(status);
  if (status === "dry-run") return style.cyan(status);
  return style.yellow(status);
}

function optionalCount(n: number | null): string {
  return n === null ? "-" : formatCount(n);
}

/** The first matched sessions of a selective purge (what it kills, or would kill on a dry run). */
function renderSelected(r: PurgeReport, style: Style): string[] {
  const selected = r.selectedSessions ?? [];
  return [
    "",
    heading(matchedSessionsTitle(r), style),
    selected.length === 0
      ? `  ${style.dim("(none)")}`
      : renderTable(
          [
            { header: "NODE" },
            { header: "PEER" },
            { header: "USER" },
            { header: "NAME" },
            { header: "DB", align: "right" },
            { header: "CMD" },
            { header: "IDLE", align: "right" },
          ],
          selected.map((t) => [t.nodeId, t.peer, t.user, t.name, t.db, t.cmd, formatDuration(t.idle)]),
          style,
        ),
  ];
}

export function renderPurge(r: PurgeReport, style: Style): string {
  const selective = r.matchedSessions !== undefined;
  const matchedColumn = selective ? [{ header: "MATCHED", align: "right" as const }] : [];
  const parts = [
    heading("Purge", style),
    renderTable(
      [
        { header: "INSTANCE" },
        { header: "ENGINE" },
        { header: "STATUS" },
        { header: "BEFORE", align: "right" },
        ...matchedColumn,
        { header: "AFTER", align: "right" },
        { header: "JOBS" },
        { header: "AT" },
      ],
      [
        [
          r.instanceId,
          r.engine,
          r.status,
          optionalCount(r.sessionsBefore),
          ...(selective ? [formatCount(r.matchedSessions!)] : []),
          optionalCount(r.sessionsAfter),
          r.jobIds.join(",") || "-",
          r.purgedAt,
        ],
      ],
      style,
    ),
    `  status ${statusText(r.status, style)}`,
  ];
  if (r.reason) parts.push(`  ${style.yellow(r.reason)}`);
  if (r.verificationError) parts.push(`  ${style.yellow(`not verified: ${r.verificationError}`)}`);
  if (r.nodes.length > 0) {
    parts.push(
      "",
      heading("Per node", style),
      renderTable(
        [
          { header: "NODE" },
          { header: "BEFORE", align: "right" },
          ...matchedColumn,
          { header: "AFTER", align: "right" },
        ],
        r.nodes.map((n) => [
          n.nodeId,
          formatCount(n.before),
          ...(selective ? [optionalCount(n.matched ?? null)] : []),
          optionalCount(n.after),
        ]),
        style,
      ),
      "",
      heading("Sessions per node before", style),
      renderBars(
        r.nodes.map((n) => [n.nodeId, n.before]),
        style,
      ),
    );
  }
  if (selective) parts.push(...renderSelected(r, style));
  if (r.before) {
    parts.push(
      "",
      heading("Sessions per idle time before", style),
      renderBars(
        IDLE_BUCKETS.map((b) => [b, r.before!.idleBuckets[b] ?? 0]),
        style,
      ),
    );
  }
  return parts.join("\n");
}
