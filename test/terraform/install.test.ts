/**
 * `dcs-sessions terraform install-provider` as a user runs it, then the real `terraform`, offline: without
 * `--mirror` it fills Terraform's implied local mirror (`~/.terraform.d/plugins`), which `terraform init`
 * reads with no CLI configuration at all; with `--mirror` the CLI configuration it prints, pasted as it is,
 * is what `terraform init` needs. Both times the `required_providers` block it prints is the one used.
 */
import { randomUUID } from "node:crypto";
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageVersion } from "../../src/cli/program";
import { terraformPlatform } from "../../src/terraform/install";
import { assertBuilt, runCliProcess, runProcess, type RunResult } from "../cli/support";
import { describeWithTerraform, processesMarkedWith } from "./support";

jest.setTimeout(120_000);

/** The parts of install-provider's output, split on its blank lines. */
interface Printed {
  executable: string;
  requiredProviders: string;
  where: string;
  cliConfiguration: string;
}

function parsePrinted(stdout: string): Printed {
  const [installed, intro, requiredProviders, where, cliConfiguration] = stdout.split("\n\n");
  expect(intro).toBe("In your configuration:");
  return {
    executable: installed!.replace(/^Installed the provider: /, ""),
    requiredProviders: requiredProviders!,
    where: where!,
    cliConfiguration: cliConfiguration!.trimEnd(),
  };
}

/** A stack using the provider: the printed `required_providers`, a provider block and a data source. */
function stackWith(dir: string, requiredProviders: string): void {
  writeFileSync(
    join(dir, "main.tf"),
    [
      requiredProviders,
      'provider "dcssessions" {}',
      'data "dcssessions_scan" "now" {',
      '  instance_id = "2f9c1e4a-instance"',
      "}",
      "",
    ].join("\n"),
  );
}

describeWithTerraform("terraform install-provider, then terraform init offline", () => {
  let home: string;

  beforeAll(() => assertBuilt());
  const marker = `dcs-sessions-test-${randomUUID()}`;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "dcs-sessions-install-"));
    mkdirSync(join(home, "sockets"));
  });
  afterEach(() => {
    // Terraform closed every provider it started: none is left running, no socket directory remains.
    expect(processesMarkedWith(marker)).toEqual([]);
    expect(readdirSync(join(home, "sockets"))).toEqual([]);
    rmSync(home, { recursive: true, force: true });
  });

  /** Terraform with this HOME and nothing else of the runner's environment (no TF_CLI_CONFIG_FILE). */
  const terraform = (dir: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
    runProcess("terraform", [`-chdir=${dir}`, ...args, "-no-color"], {
      env: {
        HOME: home,
        TF_IN_AUTOMATION: "1",
        PLUGIN_UNIX_SOCKET_DIR: join(home, "sockets"),
        DCS_SESSIONS_TEST_MARKER: marker,
        ...env,
      },
      timeoutMs: 60_000,
    });

  test("no --mirror: ~/.terraform.d/plugins, which terraform init finds without any CLI configuration", async () => {
    const installed = await runCliProcess(["terraform", "install-provider"], { env: { HOME: home } });
    expect({ code: installed.code, stderr: installed.stderr }).toEqual({ code: 0, stderr: "" });
    const printed = parsePrinted(installed.stdout);
    const version = packageVersion();
    expect(printed.executable).toBe(
      join(
        home,
        ".terraform.d/plugins/registry.terraform.io/dcs-sessions/dcssessions",
        version,
        terraformPlatform(),
        `terraform-provider-dcssessions_v${version}`,
      ),
    );
    accessSync(printed.executable, constants.X_OK);
    expect(printed.requiredProviders).toContain('source  = "dcs-sessions/dcssessions"');
    expect(printed.requiredProviders).toContain(`version = "${version}"`);
    expect(printed.where).toMatch(
      /implied local mirror: `terraform init` finds it without a CLI configuration/,
    );

    const dir = mkdtempSync(join(home, "stack-"));
    stackWith(dir, printed.requiredProviders);
    const init = await terraform(dir, ["init", "-input=false"]);
    expect({ code: init.code, stderr: init.stderr }).toEqual({ code: 0, stderr: "" });
    expect(init.stdout).toMatch(/Installing dcs-sessions\/dcssessions v\S+\.\.\./);
    expect(init.stdout).toContain(`Installed dcs-sessions/dcssessions v${version} (unauthenticated)`);
    // validate starts the provider for its schema: the data source's attributes are known.
    const validate = await terraform(dir, ["validate"]);
    expect({ code: validate.code, stderr: validate.stderr }).toEqual({ code: 0, stderr: "" });
  });

  test("--mirror DIR: the printed CLI configuration, pasted as it is, is what terraform init needs", async () => {
    const mirror = join(home, "terraform-mirror");
    const installed = await runCliProcess(["terraform", "install-provider", "--mirror", mirror], {
      env: { HOME: home },
    });
    expect(installed.code).toBe(0);
    const printed = parsePrinted(installed.stdout);
    expect(
      printed.executable.startsWith(join(mirror, "registry.terraform.io/dcs-sessions/dcssessions/")),
    ).toBe(true);
    expect(printed.where).toMatch(/Add this to your Terraform CLI configuration/);
    expect(printed.cliConfiguration).toContain(`path    = ${JSON.stringify(mirror)}`);

    const dir = mkdtempSync(join(home, "stack-"));
    stackWith(dir, printed.requiredProviders);
    const config = join(home, "pasted.tfrc");
    writeFileSync(config, `${printed.cliConfiguration}\n`);
    const init = await terraform(dir, ["init", "-input=false"], { TF_CLI_CONFIG_FILE: config });
    expect({ code: init.code, stderr: init.stderr }).toEqual({ code: 0, stderr: "" });
    const validate = await terraform(dir, ["validate"], { TF_CLI_CONFIG_FILE: config });
    expect({ code: validate.code, stderr: validate.stderr }).toEqual({ code: 0, stderr: "" });
  });
});
