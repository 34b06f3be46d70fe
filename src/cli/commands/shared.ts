/** What the command modules share: the context, output helpers and a client that is always closed. */
import { appendFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DcsSessionsError, ValidationError } from "../../api/errors";
import type { SessionsClient } from "../../api/types";
import { withClient as withCoreClient } from "../../core/scan";
import type { CliContext } from "../context";
import { colourEnabled } from "../context";
import type { PurgeReport, SessionSnapshot } from "../../core/types";
import { describeFailure } from "../errors";
import { failureHtml, purgeHtml, snapshotHtml } from "../output/html";
import { writeJson } from "../output/json";
import { failureMarkdown, purgeMarkdown, snapshotMarkdown } from "../output/markdown";
import { makeStyle } from "../output/table";
import type { Style } from "../output/table";
import type { CommonFlags, OutputFormat } from "../options";
import { clientOptionsOf, outputFormat } from "../options";
import { createProgress } from "../progress";
import type { Progress } from "../progress";

/** The renderings of a result that can be summarized (a scan, a purge). */
export interface ReportViews {
  markdown(): string;
  html(): string;
}

export function snapshotViews(snapshot: SessionSnapshot): ReportViews {
  return { markdown: () => snapshotMarkdown(snapshot), html: () => snapshotHtml(snapshot) };
}

export function purgeViews(report: PurgeReport): ReportViews {
  return { markdown: () => purgeMarkdown(report), html: () => purgeHtml(report) };
}

export interface Printer {
  format: OutputFormat;
  style: Style;
  /**
   * Prints the result (one JSON document, the human rendering, or Markdown), then appends the summary and
   * writes the HTML report when `--summary` / `--report` asked for them.
   */
  result(document: unknown, human: (style: Style) => string, views?: ReportViews): void;
  /**
   * The command failed before a result: `--summary` and `--report` say so (a refused purge is an outcome a
   * pipeline's page must show), then the error is rethrown for the exit code and the stderr line.
   */
  failed(command: "scan" | "purge", error: unknown): never;
}

interface PrinterFlags {
  output?: OutputFormat;
  summary?: boolean;
  report?: string;
}

/** Where `--summary` and `--report` write, checked before any remote call so that a typo costs no scan. */
function reportTargets(ctx: CliContext, flags: PrinterFlags): { summary?: string; report?: string } {
  const targets: { summary?: string; report?: string } = {};
  if (flags.summary) {
    const file = ctx.env.GITHUB_STEP_SUMMARY;
    if (!file)
      throw new ValidationError(
        "--summary",
        "GITHUB_STEP_SUMMARY is not set (GitHub Actions sets it in every step)",
        "--summary inside a GitHub Actions step; elsewhere use --output markdown > FILE",
      );
    targets.summary = file;
  }
  if (flags.report !== undefined) {
    const file = resolve(flags.report);
    if (flags.report.trim() === "" || !isDirectory(dirname(file)))
      throw new ValidationError(
        "--report",
        `"${flags.report}" is not in an existing directory`,
        "a file path whose directory exists, e.g. report.html",
      );
    targets.report = file;
  }
  return targets;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function printerFor(ctx: CliContext, flags: PrinterFlags): Printer {
  const format = outputFormat(flags, ctx.stdout);
  const style = makeStyle(format === "table" && colourEnabled(ctx.stdout, ctx.env));
  const targets = reportTargets(ctx, flags);
  return {
    format,
    style,
    result(document, human, views) {
      if (format === "json") writeJson(ctx.stdout, document);
      else if (format === "markdown" && views) ctx.stdout.write(views.markdown());
      else ctx.stdout.write(`${human(style)}\n`);
      // The result is on stdout first: a report that cannot be written after a kill must not hide it.
      if (views && targets.summary)
        writeTarget("--summary", targets.summary, () =>
          appendFileSync(targets.summary!, `${views.markdown()}\n`),
        );
      if (views && targets.report)
        writeTarget("--report", targets.report, () => writeFileSync(targets.report!, views.html()));
    },
    failed(command, error) {
      if (targets.summary || targets.report) {
        const failure = describeFailure(error, ctx.env);
        const outcome = FAILURE_OUTCOMES[failure.exitCode];
        const line = failure.line.replace(/^dcs-sessions: /, "");
        try {
          if (targets.summary)
            appendFileSync(targets.summary, `${failureMarkdown(command, outcome, line)}\n`);
          if (targets.report) writeFileSync(targets.report, failureHtml(command, outcome, line));
        } catch (writeError) {
          // The command's own error is the one to report; this one only gets a line.
          const why = writeError instanceof Error ? writeError.message : String(writeError);
          ctx.stderr.write(`dcs-sessions: could not record the failure in --summary/--report: ${why}\n`);
        }
      }
      throw error;
    },
  };
}

const FAILURE_OUTCOMES = { 1: "failed", 2: "invalid input", 3: "refused" } as const;

function writeTarget(flag: string, file: string, write: () => void): void {
  try {
    write();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new DcsSessionsError(`${flag}: could not write ${file}: ${why}`, {
      cause: error,
      hint: "the result printed above is complete",
    });
  }
}

export function progressFor(ctx: CliContext, flags: { quiet?: boolean }): Progress {
  return createProgress(ctx.stderr, { quiet: flags.quiet, now: ctx.now });
}

/** Runs `fn` with a client built from the flags and the environment, and closes its pools after. */
export function withClient<T>(
  ctx: CliContext,
  flags: CommonFlags,
  fn: (client: SessionsClient) => Promise<T>,
): Promise<T> {
  return withCoreClient({ clientOptions: clientOptionsOf(flags, ctx.env) }, fn);
}
