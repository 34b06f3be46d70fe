/** `dcs-sessions scan <instance>`: a fresh snapshot of the sessions, aggregated (DESIGN §4 "Scan"). */
import type { Command } from "commander";
import { scanSessions } from "../../core/scan";
import { DEFAULT_TOP_N, MAX_TOP_N } from "../../core/types";
import type { CliContext } from "../context";
import { renderSnapshot } from "../output/human";
import type { CommonFlags } from "../options";
import { addCommonOptions, clientOptionsOf, collectIds, idArgument, integerArgument } from "../options";
import { printerFor, progressFor, snapshotViews } from "./shared";

interface ScanFlags extends CommonFlags {
  node?: string[];
  cleanCache: boolean;
  addr?: string;
  top?: number;
  waitTimeout?: number;
}

export function registerScan(program: Command, ctx: CliContext): void {
  const command = program
    .command("scan")
    .description("scan the sessions of an instance and print their counts, idle times and most idle sessions")
    .argument("<instance>", "instance id", idArgument)
    .option("--node <id>", "scan only this node (repeatable, or a,b); default every node", collectIds)
    .option("--no-clean-cache", "serve the cached session list instead of re-querying the nodes")
    .option("--addr <address>", "only sessions whose address matches")
    .option(
      "--top <n>",
      `how many of the most idle sessions to show, 0-${MAX_TOP_N} (default: ${DEFAULT_TOP_N})`,
      integerArgument(0, MAX_TOP_N),
    )
    .option(
      "--wait-timeout <seconds>",
      "deadline of each scan job (default: 300)",
      integerArgument(1, 86_400),
    );
  addCommonOptions(command, { reports: true })
    .addHelpText(
      "after",
      [
        "",
        "--output markdown prints a summary for a pipeline (GitHub step summary, GitLab comment); --summary",
        "appends it to $GITHUB_STEP_SUMMARY and --report writes an HTML page with charts, whatever --output.",
        "",
        "Examples:",
        "  $ dcs-sessions scan 2f9c1e4a-instance --top 20",
        "  $ dcs-sessions scan 2f9c1e4a-instance --output json | jq .totalSessions",
        "  $ dcs-sessions scan 2f9c1e4a-instance --output markdown --summary --report sessions.html",
      ].join("\n"),
    )
    .action(async (instanceId: string, flags: ScanFlags) => {
      const printer = printerFor(ctx, flags);
      const progress = progressFor(ctx, flags);
      try {
        const snapshot = await scanSessions({
          instanceId,
          engine: flags.engine,
          ...(flags.node ? { nodeIds: flags.node } : {}),
          cleanCache: flags.cleanCache,
          ...(flags.addr !== undefined ? { addr: flags.addr } : {}),
          ...(flags.top !== undefined ? { topN: flags.top } : {}),
          ...(flags.waitTimeout !== undefined ? { waitTimeoutSeconds: flags.waitTimeout } : {}),
          clientOptions: clientOptionsOf(flags, ctx.env),
          onProgress: (event) => progress.onProgress(event),
        }).catch((error: unknown) => printer.failed("scan", error));
        progress.done();
        printer.result(snapshot, (style) => renderSnapshot(snapshot, style), snapshotViews(snapshot));
      } finally {
        progress.done();
      }
    });
}
