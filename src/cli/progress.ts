/**
 * Progress on stderr while the core waits on jobs and pages: one live line rewritten in place on a
 * terminal, plain timestamped lines otherwise (CI logs), nothing with `--quiet`. Never on stdout.
 */
import type { ProgressEvent } from "../core/types";
import type { OutputStream } from "./context";

export interface Progress {
  onProgress(event: ProgressEvent): void;
  /** Clears the live line; call before printing the result or an error. */
  done(): void;
}

interface Tally {
  nodes: number;
  scanned: number;
  pages: number;
  sessions: number;
  kills: number;
}

/** The live line: what a person wants at a glance. */
export function liveLine(t: Tally, elapsedMs: number): string {
  const parts = [`${t.scanned}/${t.nodes} node(s) scanned`, `${t.pages} page(s)`, `${t.sessions} session(s)`];
  if (t.kills > 0) parts.push(`${t.kills} kill job(s)`);
  parts.push(`${(elapsedMs / 1000).toFixed(1)}s`);
  return parts.join(", ");
}

/** A plain line for one event, or undefined for events too frequent to log one by one. */
export function eventLine(event: ProgressEvent): string | undefined {
  switch (event.kind) {
    case "nodes":
      return `nodes: ${event.nodeIds.join(", ") || "(none)"}`;
    case "scan-started":
      return `scan of node ${event.nodeId} started (job ${event.jobId})`;
    case "scan-done":
      return `scan of node ${event.nodeId} done`;
    case "page":
      // One line per node when its last page arrives, not per page.
      return event.sessions >= event.total
        ? `node ${event.nodeId}: ${event.total} session(s) listed`
        : undefined;
    case "kill-sent":
      return `kill-all sent on ${event.target} (job ${event.jobId})`;
    case "kill-done":
      return `kill-all job ${event.jobId} done`;
    case "message":
      return event.message;
  }
}

const SILENT: Progress = { onProgress: () => undefined, done: () => undefined };

export function createProgress(
  stderr: OutputStream,
  options: { quiet?: boolean; now: () => Date },
): Progress {
  if (options.quiet) return SILENT;
  const started = options.now().getTime();
  const tally: Tally = { nodes: 0, scanned: 0, pages: 0, sessions: 0, kills: 0 };
  const listed = new Map<string, number>();
  const live = stderr.isTTY === true;
  let shown = false;

  const update = (event: ProgressEvent): void => {
    if (event.kind === "nodes") tally.nodes = event.nodeIds.length;
    else if (event.kind === "scan-done") tally.scanned += 1;
    else if (event.kind === "kill-sent") tally.kills += 1;
    else if (event.kind === "page") {
      tally.pages += 1;
      listed.set(event.nodeId, event.sessions);
      tally.sessions = [...listed.values()].reduce((a, b) => a + b, 0);
    }
  };

  return {
    onProgress(event) {
      update(event);
      if (live) {
        const text =
          event.kind === "message" ? event.message : liveLine(tally, options.now().getTime() - started);
        stderr.write(`\r\u001b[K${text}`);
        shown = true;
      } else {
        const line = eventLine(event);
        if (line) stderr.write(`${options.now().toISOString()} ${line}\n`);
      }
    },
    done() {
      if (shown) stderr.write("\r\u001b[K");
      shown = false;
    },
  };
}
