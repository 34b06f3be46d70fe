/**
 * Runs the real `terraform` binary against the provider as a user would: `install-provider` fills a
 * filesystem mirror in a temporary directory, a CLI configuration names it, and every run gets a minimal
 * environment (no TF_LOG, no plugin cache) and records every byte Terraform printed.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { packageVersion } from "../../src/cli/program";
import { runCliProcess, runProcess, type RunResult } from "../cli/support";

export const TERRAFORM_INSTALL_HINT = "install Terraform 1.11 or later on the PATH";

export function findTerraform(): string | undefined {
  const found = spawnSync("terraform", ["version"], { encoding: "utf8" });
  return found.status === 0 ? "terraform" : undefined;
}

/** A `describe` that needs `terraform`: skipped without it, except under CI=true, where it fails. */
export function describeWithTerraform(name: string, fn: () => void): void {
  if (findTerraform()) describe(name, fn);
  else if (process.env.CI === "true") {
    describe(name, () => {
      test("terraform is installed (required under CI=true)", () => {
        throw new Error(`terraform was not found on PATH and CI=true; ${TERRAFORM_INSTALL_HINT}`);
      });
    });
  } else {
    console.warn(`Skipping "${name}": terraform was not found on PATH; ${TERRAFORM_INSTALL_HINT}`);
    describe.skip(`${name} [skipped: terraform not found]`, fn);
  }
}

/** The kill operations of both APIs, as the emulator counts them. */
export const KILL_OPERATIONS = [
  "killAllClients",
  "killClients",
  "geminidbCloseSessions",
  "geminidbCloseNodeSessions",
] as const;

export function killsIn(counters: Partial<Record<string, number>>): number {
  return KILL_OPERATIONS.reduce((sum, op) => sum + (counters[op] ?? 0), 0);
}

/** A `required_providers` block for this package's provider. */
export function requiredProviders(): string {
  return [
    "terraform {",
    "  required_providers {",
    "    dcssessions = {",
    '      source  = "dcs-sessions/dcssessions"',
    `      version = "${packageVersion()}"`,
    "    }",
    "  }",
    "}",
  ].join("\n");
}

/** Processes alive whose environment holds `marker` (what a run started, found again through /proc). */
export function processesMarkedWith(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, "latin1").includes(marker)) {
        found.push(`${pid}: ${readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0/g, " ")}`);
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

export class TerraformWorkspace {
  readonly root: string;
  readonly mirror: string;
  readonly socketParent: string;
  /** Marks every process this workspace's Terraform runs start (found again through /proc). */
  readonly marker = `dcs-sessions-test-${randomUUID()}`;
  /** Every byte Terraform printed, on stdout and stderr, in every run. */
  printed = "";
  private readonly cliConfig: string;

  private constructor(root: string) {
    this.root = root;
    this.mirror = join(root, "mirror");
    this.socketParent = join(root, "sockets");
    this.cliConfig = join(root, "cli.tfrc");
    mkdirSync(this.socketParent);
  }

  /** A workspace whose mirror `dcs-sessions terraform install-provider` filled. */
  static async create(): Promise<TerraformWorkspace> {
    const ws = new TerraformWorkspace(mkdtempSync(join(tmpdir(), "dcs-sessions-tf-")));
    const installed = await runCliProcess(["terraform", "install-provider", "--mirror", ws.mirror], {
      env: { HOME: ws.root },
    });
    if (installed.code !== 0) throw new Error(`install-provider failed: ${installed.stderr}`);
    writeFileSync(
      ws.cliConfig,
      [
        "provider_installation {",
        "  filesystem_mirror {",
        `    path    = ${JSON.stringify(ws.mirror)}`,
        '    include = ["registry.terraform.io/dcs-sessions/dcssessions"]',
        "  }",
        "  direct {",
        '    exclude = ["registry.terraform.io/dcs-sessions/dcssessions"]',
        "  }",
        "}",
        "",
      ].join("\n"),
    );
    return ws;
  }

  /** A stack directory holding `main.tf`. */
  stack(name: string, hcl: string): string {
    const dir = join(this.root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "main.tf"), `${hcl}\n`);
    return dir;
  }

  async terraform(dir: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
    const result = await runProcess("terraform", [`-chdir=${dir}`, ...args], {
      env: {
        HOME: this.root,
        TF_CLI_CONFIG_FILE: this.cliConfig,
        TF_IN_AUTOMATION: "1",
        PLUGIN_UNIX_SOCKET_DIR: this.socketParent,
        DCS_SESSIONS_TEST_MARKER: this.marker,
        ...env,
      },
      timeoutMs: 180_000,
    });
    this.printed += result.stdout + result.stderr;
    return result;
  }

  /** Runs Terraform and fails with everything it printed when it does not exit 0. */
  async ok(dir: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
    const result = await this.terraform(dir, args, env);
    if (result.code !== 0) {
      throw new Error(
        `terraform ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
      );
    }
    return result;
  }

  /**
   * The planned action of each resource that would change (`create`, `update`, `replace`, `delete`), from
   * Terraform's machine-readable plan output (`show -json` of a plan file would print variable values).
   */
  async plannedActions(dir: string, env: Record<string, string> = {}): Promise<Record<string, string>> {
    const planned = await this.ok(dir, ["plan", "-input=false", "-no-color", "-json"], env);
    const actions: Record<string, string> = {};
    for (const line of planned.stdout.split("\n")) {
      if (!line.trim()) continue;
      const message = JSON.parse(line) as {
        type: string;
        change?: { resource: { addr: string }; action: string };
      };
      if (message.type === "planned_change" && message.change) {
        actions[message.change.resource.addr] = message.change.action;
      }
    }
    return actions;
  }

  /** Processes still alive that a Terraform run of this workspace started (the provider included). */
  leftoverProcesses(): string[] {
    return processesMarkedWith(this.marker);
  }

  /** Socket directories the provider left behind. */
  leftoverSocketDirs(): string[] {
    return readdirSync(this.socketParent);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
