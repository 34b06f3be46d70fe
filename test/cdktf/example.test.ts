/**
 * examples/cdktf: the stack synthesizes a scan, a guarded purge after it, and typed outputs; and the example
 * runs with the tools its own package.json installs (a copy of it, its dependencies and only those in its
 * node_modules, dcs-sessions linked as its `file:` dependency installs it, and no other tool on PATH).
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Testing } from "cdktn";
import { SessionMaintenanceStack } from "../../examples/cdktf/main";
import { CHECKOUT, assertBuilt, runProcess } from "../cli/support";
import { makeConsumer } from "./consumers";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed Terraform JSON, read by path
type Json = Record<string, any>;

const EXAMPLE = join(CHECKOUT, "examples", "cdktf");

function withoutMetadata(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "//"));
}

function checkStack(json: Json): void {
  const [scanName, scan] = Object.entries(json.data.dcssessions_scan as Record<string, Json>)[0]!;
  expect(withoutMetadata(scan)).toEqual({ instance_id: "${var.instance_id}", top_n: 20 });
  const [purgeName, purge] = Object.entries(json.resource.dcssessions_purge as Record<string, Json>)[0]!;
  expect(withoutMetadata(purge)).toEqual({
    instance_id: "${var.instance_id}",
    all_nodes: true,
    max_sessions: 5000,
    maintenance_window: { days: ["sat", "sun"], start: "02:00", end: "04:00", time_zone: "Europe/Paris" },
    outside_window: "skip",
    triggers: { release: "${var.release_id}" },
    depends_on: [`data.dcssessions_scan.${scanName}`],
  });
  expect(json.provider).toEqual({ dcssessions: [{}] });
  expect(json.output).toEqual({
    sessions_before: { value: `\${data.dcssessions_scan.${scanName}.total_sessions}` },
    idle_over_a_day: { value: `\${data.dcssessions_scan.${scanName}.idle_buckets[">=24h"]}` },
    sessions_by_client_ip: { value: `\${data.dcssessions_scan.${scanName}.by_client_ip}` },
    purge_status: { value: `\${dcssessions_purge.${purgeName}.status}` },
    sessions_after: { value: `\${dcssessions_purge.${purgeName}.sessions_after}` },
  });
}

test("examples/cdktf synthesizes a scan, a guarded purge after it and typed outputs", () => {
  const stack = new SessionMaintenanceStack(Testing.app(), "example");
  checkStack(JSON.parse(Testing.synth(stack, true)) as Json);
});

describe("examples/cdktf as its own package", () => {
  let project = "";

  beforeAll(() => {
    assertBuilt();
    const pkg = JSON.parse(readFileSync(join(EXAMPLE, "package.json"), "utf8")) as Json;
    expect(pkg.dependencies["dcs-sessions"]).toBe("file:../..");
    const packages = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)].filter(
      (name) => name !== "dcs-sessions",
    );
    project = makeConsumer({ from: EXAMPLE, packages, dcsSessions: "link" });
  });

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  test("the app cdktf.json names runs with its own tools and writes the stack", async () => {
    const config = JSON.parse(readFileSync(join(project, "cdktf.json"), "utf8")) as { app: string };
    const [program, ...args] = config.app.split(" ");
    // PATH has node and npm only: tsc comes from the example's own devDependencies (node_modules/.bin).
    const run = await runProcess(program!, args, {
      env: { PATH: "/usr/bin:/bin", HOME: project, npm_config_update_notifier: "false" },
      cwd: project,
      timeoutMs: 280_000,
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const file = join(project, "cdktf.out", "stacks", "dcs-sessions-maintenance", "cdk.tf.json");
    expect(existsSync(file)).toBe(true);
    checkStack(JSON.parse(readFileSync(file, "utf8")) as Json);
  }, 300_000);
});
