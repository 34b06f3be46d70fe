/**
 * `dcs-sessions terraform install-provider`: the provider written into a filesystem mirror in Terraform's
 * unpacked layout, as a small wrapper that runs Node on this installed package, and the snippets to use it.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { PROVIDER_SOURCE, PROVIDER_TYPE } from "./provider";

const GO_OS: Partial<Record<NodeJS.Platform, string>> = {
  linux: "linux",
  darwin: "darwin",
  freebsd: "freebsd",
  openbsd: "openbsd",
};
const GO_ARCH: Partial<Record<string, string>> = { x64: "amd64", arm64: "arm64", ia32: "386", arm: "arm" };

/** Terraform's `<os>_<arch>` for this machine. */
export function terraformPlatform(platform = process.platform, arch = process.arch): string {
  const os = GO_OS[platform];
  const cpu = GO_ARCH[arch];
  if (!os || !cpu) {
    throw new Error(
      `install-provider supports Linux, macOS and the BSDs on amd64, arm64, 386 and arm; this is ${platform} ${arch}`,
    );
  }
  return `${os}_${cpu}`;
}

/** Terraform's implied local mirror, where `terraform init` looks without any CLI configuration. */
export function defaultMirror(home = homedir()): string {
  return join(home, ".terraform.d", "plugins");
}

export interface InstallOptions {
  mirror?: string;
  version: string;
  /** The Node.js executable the wrapper runs (default: the one running now). */
  node?: string;
  /** The provider's entry point (default: this package's). */
  entryPoint?: string;
  platform?: string;
}

export interface Installed {
  mirror: string;
  executable: string;
  version: string;
}

/** Single-quoted for sh: every character literal. */
const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

export function installProvider(options: InstallOptions): Installed {
  const mirror = resolve(options.mirror ?? defaultMirror());
  const platform = options.platform ?? terraformPlatform();
  const dir = join(mirror, "registry.terraform.io", PROVIDER_SOURCE, options.version, platform);
  mkdirSync(dir, { recursive: true });
  const executable = join(dir, `terraform-provider-${PROVIDER_TYPE}_v${options.version}`);
  const node = options.node ?? process.execPath;
  const entryPoint = options.entryPoint ?? join(__dirname, "main.js");
  const script = [
    "#!/bin/sh",
    "# The dcs-sessions Terraform provider, written by `dcs-sessions terraform install-provider`.",
    `exec ${shellQuote(node)} ${shellQuote(entryPoint)} "$@"`,
    "",
  ].join("\n");
  writeFileSync(executable, script, { mode: 0o755 });
  chmodSync(executable, 0o755);
  return { mirror, executable, version: options.version };
}

/** What the user pastes: the `required_providers` block and a CLI configuration naming the mirror. */
export function snippets(installed: Installed, implied: boolean): string {
  const required = [
    "terraform {",
    "  required_providers {",
    "    dcssessions = {",
    `      source  = "${PROVIDER_SOURCE}"`,
    `      version = "${installed.version}"`,
    "    }",
    "  }",
    "}",
  ].join("\n");
  const cli = [
    "provider_installation {",
    "  filesystem_mirror {",
    `    path    = ${JSON.stringify(installed.mirror)}`,
    `    include = ["registry.terraform.io/${PROVIDER_SOURCE}"]`,
    "  }",
    "  direct {",
    `    exclude = ["registry.terraform.io/${PROVIDER_SOURCE}"]`,
    "  }",
    "}",
  ].join("\n");
  const where = implied
    ? "This is Terraform's implied local mirror: `terraform init` finds it without a CLI configuration. " +
      "If you have a CLI configuration with a provider_installation block, add this to it:"
    : "Add this to your Terraform CLI configuration (~/.terraformrc, or the file TF_CLI_CONFIG_FILE names):";
  return [
    `Installed the provider: ${installed.executable}`,
    "",
    "In your configuration:",
    "",
    required,
    "",
    where,
    "",
    cli,
    "",
  ].join("\n");
}
