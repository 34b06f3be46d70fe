/** What the command modules share: the context, output helpers and a client that is always closed. */
import type { SessionsClient } from "../../api/types";
import { withClient as withCoreClient } from "../../core/scan";
import type { CliContext } from "../context";
import { colourEnabled } from "../context";
import { writeJson } from "../output/json";
import { makeStyle } from "../output/table";
import type { Style } from "../output/table";
import type { CommonFlags, OutputFormat } from "../options";
import { clientOptionsOf, outputFormat } from "../options";
import { createProgress } from "../progress";
import type { Progress } from "../progress";

export interface Printer {
  format: OutputFormat;
  style: Style;
  /** Prints the result: one JSON document, or the human rendering. */
  result(document: unknown, human: (style: Style) => string): void;
}

export function printerFor(ctx: CliContext, flags: { output?: OutputFormat }): Printer {
  const format = outputFormat(flags, ctx.stdout);
  const style = makeStyle(format === "table" && colourEnabled(ctx.stdout, ctx.env));
  return {
    format,
    style,
    result(document, human) {
      if (format === "json") writeJson(ctx.stdout, document);
      else ctx.stdout.write(`${human(style)}\n`);
    },
  };
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
