/**
 * `dcs-sessions purge <instance> (--node <id>… | --all-nodes)`: kill the sessions, behind the guards of
 * DESIGN §4, asking a person at a terminal first. Without an instance argument the inputs come from the
 * `DCS_SESSIONS_*` environment (see purge-env.ts), for pipelines that pass their inputs as variables.
 */
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { Option } from "commander";
import { DcsSessionsError, ValidationError } from "../../api/errors";
import { purgeSessions } from "../../core/purge";
import { DEFAULT_TOP_N, MAX_TOP_N } from "../../core/types";
import type { PurgeOptions, PurgePlan, SessionMatch } from "../../core/types";
import { parseWindowSpec } from "../../core/window";
import type { CliContext } from "../context";
import { renderPurge } from "../output/human";
import { formatCount } from "../output/table";
import type { CommonFlags } from "../options";
import {
  addCommonOptions,
  clientOptionsOf,
  collectIds,
  collectIntegers,
  collectList,
  collectValues,
  idArgument,
  integerArgument,
} from "../options";
import { PURGE_ENV, checkPurgeOptions, mergePurgeInputs, purgeInputsFromEnv } from "../purge-env";
import type { PurgeInputs } from "../purge-env";
import { printerFor, progressFor, purgeViews } from "./shared";

interface PurgeFlags extends CommonFlags {
  node?: string[];
  allNodes?: boolean;
  dryRun?: boolean;
  maxSessions?: number;
  minSessions?: number;
  window?: string;
  outsideWindow?: "fail" | "skip";
  verify: boolean;
  waitTimeout?: number;
  yes?: boolean;
  idleOver?: number;
  client?: string[];
  user?: string[];
  name?: string[];
  db?: number[];
  cmd?: string[];
  top?: number;
}

/** The selectors as the core's `match`; undefined when none was given (a purge of whole nodes). */
export function matchOf(
  flags: Pick<PurgeFlags, "idleOver" | "client" | "user" | "name" | "db" | "cmd">,
): SessionMatch | undefined {
  const match: SessionMatch = {
    ...(flags.idleOver !== undefined ? { idleOverSeconds: flags.idleOver } : {}),
    ...(flags.client !== undefined ? { clients: flags.client } : {}),
    ...(flags.user !== undefined ? { users: flags.user } : {}),
    ...(flags.name !== undefined ? { names: flags.name } : {}),
    ...(flags.db !== undefined ? { dbs: flags.db } : {}),
    ...(flags.cmd !== undefined ? { cmds: flags.cmd } : {}),
  };
  return Object.keys(match).length > 0 ? match : undefined;
}

/** What the user typed on the command line, key by key (defaults excluded, so the environment can fill them). */
function typedInputs(command: Command, instance: string | undefined, flags: PurgeFlags): PurgeInputs {
  const typed = (name: string): boolean => command.getOptionValueSource(name) === "cli";
  return {
    instanceId: instance,
    engine: typed("engine") ? flags.engine : undefined,
    nodeIds: flags.node,
    allNodes: flags.allNodes,
    dryRun: flags.dryRun,
    maxSessions: flags.maxSessions,
    minSessions: flags.minSessions,
    window: flags.window,
    outsideWindow: flags.outsideWindow,
    verify: typed("verify") ? flags.verify : undefined,
    waitTimeoutSeconds: flags.waitTimeout,
    match: matchOf(flags),
    topN: flags.top,
  };
}

/** The purge options from the inputs: everything validated, before any remote call. */
export function purgeOptionsOf(
  inputs: PurgeInputs,
): Omit<PurgeOptions, "clientOptions" | "onProgress" | "confirm"> & { instanceId: string } {
  if (inputs.instanceId === undefined) {
    throw new ValidationError(
      "<instance>",
      "is missing",
      `an instance id argument, or ${PURGE_ENV.instanceId} in the environment`,
    );
  }
  const options = {
    instanceId: inputs.instanceId,
    engine: inputs.engine ?? "dcs",
    ...(inputs.allNodes !== undefined ? { allNodes: inputs.allNodes } : {}),
    ...(inputs.nodeIds !== undefined ? { nodeIds: inputs.nodeIds } : {}),
    dryRun: inputs.dryRun ?? false,
    ...(inputs.maxSessions !== undefined ? { maxSessions: inputs.maxSessions } : {}),
    ...(inputs.minSessions !== undefined ? { minSessions: inputs.minSessions } : {}),
    ...(inputs.window !== undefined ? { maintenanceWindow: parseWindowSpec(inputs.window, "--window") } : {}),
    ...(inputs.outsideWindow !== undefined ? { outsideWindow: inputs.outsideWindow } : {}),
    verify: inputs.verify ?? true,
    ...(inputs.waitTimeoutSeconds !== undefined ? { waitTimeoutSeconds: inputs.waitTimeoutSeconds } : {}),
    ...(inputs.match !== undefined ? { match: inputs.match } : {}),
    ...(inputs.topN !== undefined ? { topN: inputs.topN } : {}),
  };
  checkPurgeOptions(options);
  return options;
}

/**
 * The question shown before a kill: the instance, the nodes and how many sessions (for a selective purge,
 * how many matched sessions: the ones the kill closes).
 */
export function confirmationQuestion(plan: PurgePlan): string {
  const where = plan.allNodes ? "every node" : `node(s) ${plan.nodeIds.join(", ")}`;
  const which = plan.match === undefined ? "" : " matched";
  return `Kill ${formatCount(plan.sessions)}${which} session(s) on ${where} of ${plan.engine} instance ${plan.instanceId}? Type "yes" to go on: `;
}

/** Reads one answer line from stdin; end of input is a no. */
function askOnce(ctx: CliContext, question: string): Promise<boolean> {
  ctx.stderr.write(question);
  return new Promise((resolve) => {
    const rl = createInterface({ input: ctx.stdin, terminal: false });
    let answered = false;
    rl.once("line", (line) => {
      answered = true;
      rl.close();
      resolve(/^\s*y(es)?\s*$/i.test(line));
    });
    rl.once("close", () => {
      if (!answered) {
        ctx.stderr.write("\n");
        resolve(false);
      }
    });
  });
}

export function registerPurge(program: Command, ctx: CliContext): void {
  const command = program
    .command("purge")
    .description(
      "kill the client sessions of the given nodes (or of every node), all or those the selectors pick, behind guards",
    )
    .argument(
      "[instance]",
      `instance id (without it, the inputs come from ${PURGE_ENV.instanceId} and the other DCS_SESSIONS_* variables)`,
      idArgument,
    )
    .option("--node <id>", "a node to purge (repeatable, or a,b)", collectIds)
    .option("--all-nodes", "purge every node of the instance (kill_all_nodes)")
    .option(
      "--idle-over <seconds>",
      "select the sessions idle for more than this many seconds",
      integerArgument(0),
    )
    .option(
      "--client <ip-or-cidr>",
      "select the sessions from this client IP or CIDR range, v4 or v6 (repeatable, or a,b)",
      collectList,
    )
    .option("--user <name>", "select the sessions of this Redis user (repeatable)", collectValues)
    .option("--name <name>", "select the sessions with this client name (repeatable)", collectValues)
    .option("--db <n>", "select the sessions on this database (repeatable, or a,b)", collectIntegers(0))
    .option(
      "--cmd <command>",
      "select the sessions whose last command is this (repeatable, or a,b)",
      collectList,
    )
    .option(
      "--top <n>",
      `with selectors: how many matched sessions the report lists, 0-${MAX_TOP_N} (default: ${DEFAULT_TOP_N})`,
      integerArgument(0, MAX_TOP_N),
    )
    .option("--dry-run", "report what would be killed, kill nothing")
    .option(
      "--max-sessions <n>",
      "refuse (exit 3) when more sessions than this are connected",
      integerArgument(0),
    )
    .option(
      "--min-sessions <n>",
      "skip (exit 0) when fewer sessions than this are connected",
      integerArgument(0),
    )
    .option(
      "--window <spec>",
      'maintenance window, "[days] HH:MM-HH:MM [time zone]", e.g. "mon-fri 02:00-04:00 Europe/Paris"',
    )
    .addOption(
      new Option(
        "--outside-window <action>",
        "outside the window: fail (exit 3) or skip (exit 0) (default: fail)",
      ).choices(["fail", "skip"]),
    )
    .option("--no-verify", "do not scan again after the kill (sessionsAfter is null)")
    .option("--wait-timeout <seconds>", "deadline of each job (default: 300)", integerArgument(1, 86_400))
    .option("--yes", "do not ask for confirmation on a terminal");
  addCommonOptions(command, { reports: true })
    .addHelpText(
      "after",
      [
        "",
        "Selectors (--idle-over, --client, --user, --name, --db, --cmd) make the purge selective: it lists",
        "every session of the target nodes and kills only those matched (values of one selector: any;",
        "several selectors: all), by their client address, never with a kill-all. --max-sessions and",
        "--min-sessions then count matched sessions; --dry-run shows them per node, and the first ones.",
        "",
        "On a terminal a purge (not a dry run) asks for confirmation unless --yes. Without a terminal it",
        "does not ask: it runs when the guards (--max-sessions, --min-sessions, --window) allow.",
        "Exit codes: 0 done (also a dry run or a skip), 1 remote failure, 2 invalid input,",
        "3 refused by a guard. A kill whose outcome could not be verified prints its report",
        "(status purged-unverified, verificationError) and exits 1. --summary (Markdown, to",
        "$GITHUB_STEP_SUMMARY) and --report FILE.html (charts before and after) follow the result,",
        "or say why when the purge is refused or fails.",
        "",
        "Examples:",
        "  $ dcs-sessions purge 2f9c1e4a-instance --all-nodes --dry-run",
        "  $ dcs-sessions purge 2f9c1e4a-instance --all-nodes --max-sessions 5000 \\",
        '      --window "sat,sun 02:00-04:00 Europe/Paris" --outside-window skip --yes --output json',
        "  $ dcs-sessions purge 2f9c1e4a-instance --all-nodes --dry-run --output markdown --report purge.html",
        "  $ dcs-sessions purge 2f9c1e4a-instance --all-nodes --idle-over 3600 --client 10.20.0.0/16 \\",
        "      --dry-run",
        "  $ dcs-sessions purge 2f9c1e4a-instance --node 8a3f-node --user reporting --max-sessions 200 --yes",
      ].join("\n"),
    )
    .action(async (instance: string | undefined, flags: PurgeFlags, cmd: Command) => {
      const typed = typedInputs(cmd, instance, flags);
      const inputs = instance === undefined ? mergePurgeInputs(typed, purgeInputsFromEnv(ctx.env)) : typed;
      const options = purgeOptionsOf(inputs);
      const printer = printerFor(ctx, flags);
      const progress = progressFor(ctx, flags);
      const ask = !flags.yes && ctx.stdin.isTTY === true;
      try {
        const report = await purgeSessions({
          ...options,
          clientOptions: clientOptionsOf(flags, ctx.env),
          onProgress: (event) => progress.onProgress(event),
          ...(ask
            ? {
                confirm: (plan: PurgePlan) => {
                  progress.done();
                  return askOnce(ctx, confirmationQuestion(plan));
                },
              }
            : {}),
        }).catch((error: unknown) => printer.failed("purge", error));
        progress.done();
        printer.result(report, (style) => renderPurge(report, style), purgeViews(report));
        if (report.status === "purged-unverified") {
          // The report is on stdout (a pipeline keeps it); the exit code says the outcome is not known.
          throw new DcsSessionsError(
            `the kill was sent but its outcome is not verified: ${report.verificationError ?? "unknown"}`,
          );
        }
      } finally {
        progress.done();
      }
    });
}
