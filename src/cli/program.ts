/**
 * The `dcs-sessions` program: commander wiring, and `runCli`, which runs it and maps every outcome to an
 * exit code (DESIGN §5): 0 done, 1 remote or runtime failure, 2 invalid usage or input, 3 refused by a guard.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import type { CliContext } from "./context";
import { debugEnabled } from "./context";
import { describeFailure } from "./errors";
import { HELP_WIDTH } from "./help";
import { registerEmulator } from "./commands/emulator";
import { registerList } from "./commands/list";
import { registerNodes } from "./commands/nodes";
import { registerPurge } from "./commands/purge";
import { registerScan } from "./commands/scan";
import { registerTerraform } from "./commands/terraform";
import { registerTerraformExternal } from "./commands/terraform-external";

/** The package version, read from package.json next to `src/` or `dist/`. */
export function packageVersion(): string {
  const text = readFileSync(join(__dirname, "..", "..", "package.json"), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

/** Commander errors that are not failures: `--help`, `--version`, and `help` itself. */
const COMMANDER_SUCCESS = new Set(["commander.helpDisplayed", "commander.help", "commander.version"]);

/** Commander's error text, on one line, with a pointer to the help. */
function usageLine(message: string, command: Command): string {
  const text = message
    .replace(/^error:\s*/i, "")
    .replace(/\s*[\r\n]+\s*/g, " ")
    .trim();
  const path: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) path.unshift(c.name());
  return `dcs-sessions: ${text} (see: ${path.join(" ")} --help)`;
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command("dcs-sessions");
  program
    .description(
      "Scan, count and purge the client sessions of Huawei Cloud Redis (DCS and GeminiDB Redis).\n" +
        "Credentials come from the environment only: HW_ACCESS_KEY and HW_SECRET_KEY (or HW_AUTH_TOKEN).",
    )
    .version(packageVersion(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .addHelpText(
      "after",
      "\nExamples:\n  $ dcs-sessions nodes 2f9c1e4a-instance\n  $ dcs-sessions scan 2f9c1e4a-instance --output table\n  $ dcs-sessions purge 2f9c1e4a-instance --all-nodes --dry-run",
    )
    .showSuggestionAfterError(true);
  registerNodes(program, ctx);
  registerScan(program, ctx);
  registerList(program, ctx);
  registerPurge(program, ctx);
  registerEmulator(program, ctx);
  registerTerraform(program, ctx);
  registerTerraformExternal(program, ctx);
  configureEverywhere(program, ctx);
  return program;
}

/** Settings commander does not inherit into commands created before them. */
function configureEverywhere(command: Command, ctx: CliContext): void {
  command
    .exitOverride()
    .configureHelp({ helpWidth: HELP_WIDTH, showGlobalOptions: false })
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      // Printed by runCli as one line; commander's own rendering would add a second.
      outputError: () => undefined,
    });
  for (const sub of command.commands) configureEverywhere(sub, ctx);
}

/** Runs the CLI on `argv` (as `process.argv`: node, script, args…) and returns the exit code. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  let current: Command = program;
  // Remember which command was being parsed, for the "see --help" pointer of a usage error.
  program.hook("preSubcommand", (_this, sub) => {
    current = sub;
  });
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help asked for exits 0; help shown because a command was missing (`dcs-sessions` alone) is usage.
      if (COMMANDER_SUCCESS.has(error.code)) return error.exitCode === 0 ? 0 : 2;
      ctx.stderr.write(`${usageLine(error.message, current)}\n`);
      return 2;
    }
    const failure = describeFailure(error, ctx.env);
    ctx.stderr.write(`${failure.line}\n`);
    if (debugEnabled(ctx.env) && failure.stack) ctx.stderr.write(`${failure.stack}\n`);
    return failure.exitCode;
  }
}
