/**
 * A CDKTF app, in a project that installed dcs-sessions as npm installs it, synthesized and then planned,
 * applied and destroyed by the real `terraform` binary through this package's provider, offline, against the
 * emulator over real redis-server processes. Once for a cdktf project and once for a CDK Terrain (cdktn)
 * one: the synthesized `cdk.tf.json` is what Terraform runs, so the construct names, attribute types and
 * the provider source must all hold together for this to pass.
 */
import { readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { startEmulator, type EmulatorHandle } from "../../src/emulator";
import { openClients, startRedisServers, type OpenClients, type RedisServers } from "../../src/testing/redis";
import { assertBuilt, runProcess } from "../cli/support";
import { describeWithRedis } from "../support/redis";
import { describeWithTerraform, killsIn, TerraformWorkspace } from "../terraform/support";
import { makeConsumer } from "./consumers";

jest.setTimeout(600_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- `terraform output -json`, read by path
type Outputs = Record<string, { value: any; type: unknown }>;

/**
 * The app: where to connect comes from the synthesizing environment, credentials do not (the provider reads
 * them from Terraform's environment, so the app never sees the secret key).
 */
function app(lib: string): string {
  return `const { App, TerraformOutput, TerraformStack } = require("${lib}");
const { DcsSessionsProvider, SessionPurge, SessionScan } = require("dcs-sessions/cdktf");

const env = process.env;
const app = new App({ outdir: process.argv[2] });
const stack = new TerraformStack(app, "sessions");
new DcsSessionsProvider(stack, "dcssessions", { endpoint: env.APP_ENDPOINT, projectId: env.APP_PROJECT_ID });
const scan = new SessionScan(stack, "scan", { instanceId: env.APP_INSTANCE_ID, topN: 2 });
const purge = new SessionPurge(stack, "purge", {
  instanceId: env.APP_INSTANCE_ID,
  nodeIds: [env.APP_NODE_ID],
  maxSessions: 1000,
  triggers: { release: env.APP_RELEASE },
  dependsOn: [scan],
});
// A selective purge on the other node: only the sessions its match picks.
const selective = new SessionPurge(stack, "selective", {
  instanceId: env.APP_INSTANCE_ID,
  nodeIds: [env.APP_OTHER_NODE_ID],
  match: { names: ["worker-1"] },
  dependsOn: [purge],
});
new TerraformOutput(stack, "total", { value: scan.totalSessions });
new TerraformOutput(stack, "by_name", { value: scan.byName });
new TerraformOutput(stack, "status", { value: purge.status });
new TerraformOutput(stack, "before", { value: purge.sessionsBefore });
new TerraformOutput(stack, "after", { value: purge.sessionsAfter });
new TerraformOutput(stack, "matched", { value: selective.matchedSessions });
new TerraformOutput(stack, "selected", { value: selective.selectedSessions });
app.synth();
`;
}

describeWithTerraform("a CDKTF app applied by terraform through the dcssessions provider", () => {
  describe.each(["cdktf", "cdktn"])("a project with %s", (lib) => {
    describeWithRedis("against the emulator", () => {
      let servers: RedisServers;
      let dcs: EmulatorHandle;
      let ws: TerraformWorkspace;
      let project = "";
      const opened: OpenClients[] = [];

      beforeAll(async () => {
        assertBuilt();
        servers = await startRedisServers(2);
        dcs = await startEmulator({ redis: servers.urls, redisTopology: "proxy", jobMs: 30 });
        ws = await TerraformWorkspace.create();
        project = makeConsumer({
          packages: [lib, "constructs"],
          dcsSessions: "copy",
          files: { "main.js": app(lib) },
        });
      });

      afterAll(async () => {
        for (const o of opened) await o.closeAll();
        await dcs?.close();
        await servers?.stop();
        ws?.remove();
        if (project) rmSync(project, { recursive: true, force: true });
      });

      test("synth, init from the mirror, plan (no kill), apply (a kill-all and a selective kill), outputs as numbers, no-op plan, destroy sends nothing; no secret anywhere, no provider left", async () => {
        const [node0, node1] = dcs.nodeIds as [string, string];
        const a = await openClients(servers.urls[0]!, [{ name: "web-1" }, { name: "web-2", db: 2 }]);
        const b = await openClients(servers.urls[1]!, [{ name: "worker-1" }, { name: "worker-2" }]);
        opened.push(a, b);

        const outdir = join(project, "cdktf.out");
        const synth = await runProcess(process.execPath, [join(project, "main.js"), outdir], {
          cwd: project,
          env: {
            APP_ENDPOINT: dcs.endpoint,
            APP_PROJECT_ID: dcs.projectId,
            APP_INSTANCE_ID: dcs.instanceId,
            APP_NODE_ID: node0,
            APP_OTHER_NODE_ID: node1,
            APP_RELEASE: "r1",
          },
          timeoutMs: 120_000,
        });
        expect(synth.stderr).toBe("");
        expect(synth.code).toBe(0);
        const dir = join(outdir, "stacks", "sessions");
        const synthesized = readFileSync(join(dir, "cdk.tf.json"), "utf8");
        const terraformBlock = JSON.parse(synthesized).terraform;
        expect(terraformBlock.required_providers.dcssessions.source).toBe("dcs-sessions/dcssessions");
        // cdktf's default local backend names the state file after the stack.
        const stateFile = resolve(dir, terraformBlock.backend?.local?.path ?? "terraform.tfstate");

        const env = { HW_ACCESS_KEY: dcs.accessKey, HW_SECRET_KEY: dcs.secretKey };
        const kills = async () => killsIn(await dcs.control.counters());

        await ws.ok(dir, ["init", "-input=false", "-no-color"], env);
        await dcs.control.resetCounters();
        const plan = await ws.ok(dir, ["plan", "-input=false", "-no-color"], env);
        expect(plan.stdout).toMatch(/2 to add, 0 to change, 0 to destroy/);
        const afterPlan = await dcs.control.counters();
        expect(afterPlan.scanClients).toBeGreaterThan(0);
        expect(killsIn(afterPlan)).toBe(0);

        await ws.ok(dir, ["apply", "-auto-approve", "-input=false", "-no-color"], env);
        // One kill-all of node0, one kill-chosen on node1 naming worker-1 only.
        expect(await kills()).toBe(2);
        expect(await dcs.control.counters()).toMatchObject({ killAllClients: 1, killClients: 1 });
        await Promise.all(a.clients.map((c) => c.closedByServer));
        await b.clients[0]!.closedByServer;
        expect(await b.clients[1]!.ping()).toBe("PONG");
        // Terraform closed the provider: it exited and removed its socket directory.
        expect(ws.leftoverProcesses()).toEqual([]);
        expect(ws.leftoverSocketDirs()).toEqual([]);

        const outputs = JSON.parse((await ws.ok(dir, ["output", "-json"], env)).stdout) as Outputs;
        expect(outputs.status!.value).toBe("purged");
        expect(outputs.total!.type).toBe("number");
        expect(outputs.total!.value).toBeGreaterThanOrEqual(3);
        expect(outputs.by_name!.type).toEqual(["map", "number"]);
        expect(outputs.by_name!.value).toMatchObject({
          "web-1": 1,
          "web-2": 1,
          "worker-1": 1,
          "worker-2": 1,
        });
        expect(outputs.matched).toEqual({ sensitive: false, type: "number", value: 1 });
        expect(outputs.selected!.value).toEqual([
          expect.objectContaining({ node_id: node1, name: "worker-1", idle: expect.any(Number) }),
        ]);
        expect(outputs.before!.type).toBe("number");
        expect(outputs.before!.value).toBeGreaterThanOrEqual(2);
        expect(outputs.after!.value).toBe(0);

        expect(await ws.plannedActions(dir, env)).toEqual({});
        await ws.ok(dir, ["destroy", "-auto-approve", "-input=false", "-no-color"], env);
        expect(await kills()).toBe(2);
        expect(ws.leftoverProcesses()).toEqual([]);
        expect(ws.leftoverSocketDirs()).toEqual([]);

        const state = readFileSync(stateFile, "utf8");
        const backup = readFileSync(`${stateFile}.backup`, "utf8");
        expect(JSON.parse(backup).resources.map((r: { type: string }) => r.type)).toContain(
          "dcssessions_purge",
        );
        for (const text of [synthesized, state, backup, ws.printed, synth.stdout]) {
          expect(text).not.toContain(dcs.secretKey);
        }
      });
    });
  });
});
