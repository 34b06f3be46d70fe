/** `dcs-sessions terraform install-provider`: the Terraform provider into a filesystem mirror. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { defaultMirror, installProvider, snippets } from "../../terraform/install";
import type { CliContext } from "../context";
import { packageVersion } from "../program";

export function registerTerraform(program: Command, ctx: CliContext): void {
  const group = program
    .command("terraform")
    .description("the dcssessions Terraform provider (plugin protocol 6), for HCL and CDKTF")
    .addHelpText(
      "after",
      "\nExample:\n  $ dcs-sessions terraform install-provider --mirror ./terraform-mirror",
    );
  group
    .command("install-provider")
    .description("write the provider into a Terraform filesystem mirror and print how to use it")
    .option(
      "--mirror <dir>",
      "the mirror directory (default: ~/.terraform.d/plugins, Terraform's implied mirror)",
    )
    .addHelpText(
      "after",
      [
        "",
        "Writes <dir>/registry.terraform.io/dcs-sessions/dcssessions/<version>/<os>_<arch>/",
        "terraform-provider-dcssessions_v<version>: a script that runs this Node.js on this package.",
        "Run it again after moving or upgrading the package or Node.js.",
        "",
        "Example:",
        "  $ dcs-sessions terraform install-provider --mirror ./terraform-mirror",
      ].join("\n"),
    )
    .action((flags: { mirror?: string }) => {
      const entryPoint = join(__dirname, "..", "..", "terraform", "main.js");
      if (!existsSync(entryPoint)) {
        throw new Error(`the provider's entry point ${entryPoint} is missing: build the package first`);
      }
      const home = ctx.env.HOME;
      const implied = flags.mirror === undefined;
      const installed = installProvider({
        mirror: flags.mirror ?? defaultMirror(home || undefined),
        version: packageVersion(),
        entryPoint,
      });
      ctx.stdout.write(snippets(installed, implied));
    });
}
