/**
 * Secrets through the real `terraform` and this package's provider (issue 11): credentials given as
 * sensitive variables and in the environment (a security token, an IAM token), `TF_LOG=TRACE` on, plan and
 * apply that succeed and that fail (a 500 whose message echoes the secret, a 401 on the kill, a kill whose
 * answer is lost and is recorded as purged-unverified). Everything Terraform printed (its TRACE log carries
 * the provider's stderr), the state and its backup are searched byte for byte for the secret key, the tokens
 * and every request signature the emulator received.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { EmulatorHandle } from "../../src/emulator";
import { assertBuilt } from "../cli/support";
import { SecretWitness, startWitnessedEmulator } from "../safety/secret-witness";
import { describeWithTerraform, killsIn, requiredProviders, TerraformWorkspace } from "./support";

jest.setTimeout(600_000);

const SECURITY_TOKEN = "STS-Security-Token-TerraformSafety-44aa55bb";
const AUTH_TOKEN = "MIIZ-iam-Token-TerraformSafety-66cc77dd88ee";
const PLAN = ["plan", "-input=false", "-no-color"];
const APPLY = ["apply", "-auto-approve", "-input=false", "-no-color"];
/** Terraform's TRACE log, and Node's debug output in the provider, which TRACE carries as its stderr. */
const TRACE = { TF_LOG: "TRACE", DEBUG: "*", NODE_DEBUG: "http,undici,net" };

describeWithTerraform("no secret in Terraform's state or output, TRACE log and failures included", () => {
  const witness = new SecretWitness();
  let emulator: EmulatorHandle;
  let ws: TerraformWorkspace;

  beforeAll(async () => {
    assertBuilt();
    emulator = await startWitnessedEmulator(witness, {
      synthetic: { nodes: 2, sessionsPerNode: 5, reconnectFraction: 1 },
      authToken: AUTH_TOKEN,
      securityToken: SECURITY_TOKEN,
    });
    ws = await TerraformWorkspace.create();
  });
  afterAll(async () => {
    await emulator?.close();
    ws?.remove();
  });
  afterEach(() => {
    expect(ws.leftoverProcesses()).toEqual([]);
  });

  /** A scan data source and a purge, with the credentials the variant gives. */
  function stackWith(name: string, provider: string[]): string {
    return ws.stack(
      name,
      [
        requiredProviders(),
        'variable "secret_key" {',
        "  type      = string",
        "  sensitive = true",
        '  default   = ""',
        "}",
        'variable "security_token" {',
        "  type      = string",
        "  sensitive = true",
        '  default   = ""',
        "}",
        'variable "run" {',
        "  type    = string",
        '  default = "1"',
        "}",
        'provider "dcssessions" {',
        `  endpoint   = "${emulator.endpoint}"`,
        `  project_id = "${emulator.projectId}"`,
        ...provider,
        "}",
        'data "dcssessions_scan" "now" {',
        `  instance_id = "${emulator.instanceId}"`,
        "}",
        'resource "dcssessions_purge" "night" {',
        `  instance_id = "${emulator.instanceId}"`,
        "  all_nodes   = true",
        "  triggers    = { run = var.run }",
        "}",
        'output "total" { value = data.dcssessions_scan.now.total_sessions }',
        'output "status" { value = dcssessions_purge.night.status }',
      ].join("\n"),
    );
  }

  const variants: Array<[string, string[], () => Record<string, string>]> = [
    [
      "secret key and security token as sensitive variables",
      ["  secret_key     = var.secret_key", "  security_token = var.security_token"],
      () => ({
        HW_ACCESS_KEY: emulator.accessKey,
        TF_VAR_secret_key: emulator.secretKey,
        TF_VAR_security_token: SECURITY_TOKEN,
      }),
    ],
    ["an IAM token from the environment", [], () => ({ HW_AUTH_TOKEN: AUTH_TOKEN })],
  ];

  test.each(variants)("%s: apply, failures, purged-unverified", async (label, provider, envOf) => {
    const dir = stackWith(label.replace(/\W+/g, "-"), provider);
    const env: Record<string, string> = { ...envOf(), ...TRACE };
    const printedBefore = ws.printed.length;
    const requestsBefore = witness.requests;
    await ws.ok(dir, ["init", "-input=false", "-no-color"], env);

    // A success: plan and apply, one kill.
    await emulator.control.clearFaults();
    await emulator.control.resetCounters();
    await ws.ok(dir, PLAN, env);
    await ws.ok(dir, APPLY, env);
    expect(killsIn(await emulator.control.counters())).toBe(1);

    // A 500 that echoes the secret: the plan fails, and says so without the secret.
    // What the provider holds (a server cannot echo what it was never sent).
    const held = [env.TF_VAR_secret_key, env.TF_VAR_security_token, env.HW_AUTH_TOKEN].filter(Boolean);
    const echoed = `near ${held.join(" ")}`;
    await emulator.control.setFaults([
      { route: "listNodes", fault: { kind: "status", status: 500, errorMsg: echoed } },
    ]);
    const failedPlan = await ws.terraform(dir, PLAN, env);
    expect(failedPlan.code).toBe(1);
    expect(failedPlan.stderr).toMatch(/HTTP 500/);

    // A 401 on the kill: the apply fails, once.
    await emulator.control.setFaults([
      { route: "killAllClients", fault: { kind: "status", status: 401, errorMsg: echoed } },
    ]);
    await emulator.control.resetCounters();
    const refused = await ws.terraform(dir, APPLY, { ...env, TF_VAR_run: "2" });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/HTTP 401/);
    expect(killsIn(await emulator.control.counters())).toBe(1);

    // A kill whose answer is lost (a 502 after it ran): recorded in the state as purged-unverified.
    await emulator.control.setFaults([
      {
        route: "killAllClients",
        times: 1,
        fault: { kind: "status", status: 502, after: true, errorMsg: echoed },
      },
    ]);
    await ws.ok(dir, APPLY, { ...env, TF_VAR_run: "3" });
    const state = readFileSync(join(dir, "terraform.tfstate"), "utf8");
    expect(state).toMatch(/"status": "purged-unverified"/);
    await emulator.control.clearFaults();

    // The runs were signed (or carried the token), TRACE logging was on, and nothing leaked.
    expect(witness.requests).toBeGreaterThan(requestsBefore);
    const printed = ws.printed.slice(printedBefore);
    expect(printed).toMatch(/\[TRACE\]/);
    expect(printed).toMatch(/provider\.terraform-provider-dcssessions\S*: (NET|HTTP|UNDICI) \d+:/);
    witness.expectNoneIn(`${label}: what Terraform printed`, printed);
    witness.expectNoneIn(`${label}: terraform.tfstate`, state);
    const backup = join(dir, "terraform.tfstate.backup");
    if (existsSync(backup)) witness.expectNoneIn(`${label}: terraform.tfstate.backup`, readFileSync(backup));
  });

  test("the search would find a signature the emulator saw, and the security token", () => {
    expect(witness.signatures.size).toBeGreaterThan(10);
    expect(witness.securityTokens.has(SECURITY_TOKEN)).toBe(true);
    expect(witness.leaksIn(`"${[...witness.signatures][0]!}"`)).toEqual(["1 request signature(s)"]);
  });
});
