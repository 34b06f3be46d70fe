/**
 * `dcs-sessions terraform-external scan`: a scan as the program of an HCL `data "external"`, kept for runners
 * that cannot install the dcssessions provider (the CDKTF constructs use the provider, not this).
 */
import type { Command } from "commander";
import { scanSessions } from "../../core/scan";
import type { CliContext } from "../context";
import { HELP_WIDTH } from "../help";
import {
  EXTERNAL_QUERY_KEYS,
  EXTERNAL_RESULT_KEYS,
  externalResult,
  parseExternalQuery,
  readAll,
} from "../external";

/** A title and a list of words wrapped at the help width, the words indented under the title. */
function wrapWords(title: string, words: readonly string[]): string[] {
  const lines = [title];
  let line = " ";
  for (const word of words) {
    const next = `${line} ${word},`;
    if (next.length > HELP_WIDTH && line.trim()) {
      lines.push(line);
      line = `  ${word},`;
    } else line = next;
  }
  lines.push(line.replace(/,$/, ""));
  return lines;
}

export function registerTerraformExternal(program: Command, ctx: CliContext): void {
  const group = program
    .command("terraform-external")
    .description("programs for Terraform's external data source (HCL without the dcssessions provider)")
    .addHelpText(
      "after",
      `\nExample:\n  $ echo '{"instance_id":"2f9c1e4a-instance"}' | dcs-sessions terraform-external scan`,
    );
  group
    .command("scan")
    .description(
      "scan as a Terraform external program: a JSON object of strings on stdin, a flat one on stdout",
    )
    .addHelpText(
      "after",
      [
        "",
        ...wrapWords("Query keys (stdin, all strings; instance_id is required):", EXTERNAL_QUERY_KEYS),
        "node_ids is comma-separated or a JSON array; clean_cache is true or false; empty means unset.",
        ...wrapWords("Result keys (stdout, all strings):", EXTERNAL_RESULT_KEYS),
        "nodes, by_*, idle_buckets and top_idle are JSON-encoded (jsondecode them in Terraform).",
        "On failure: one line on stderr and a non-zero exit. Credentials come from the environment.",
        "",
        "Example:",
        `  $ echo '{"instance_id":"2f9c1e4a-instance","top_n":"5"}' | dcs-sessions terraform-external scan`,
      ].join("\n"),
    )
    .action(async () => {
      const request = parseExternalQuery(await readAll(ctx.stdin));
      const snapshot = await scanSessions({
        ...request.scan,
        clientOptions: { env: ctx.env, ...request.client },
      });
      ctx.stdout.write(`${JSON.stringify(externalResult(snapshot))}\n`);
    });
}
