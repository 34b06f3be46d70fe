/**
 * HCL stacks planned, applied and destroyed by the real `terraform` binary through this package's
 * provider, offline, against the emulator backed by real redis-server processes: what Terraform prints and
 * records, how many kills the emulator receives at each step, and what the provider leaves behind.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startEmulator, type EmulatorHandle } from "../../src/emulator";
import { openClients, startRedisServers, type OpenClients, type RedisServers } from "../../src/testing/redis";
import { assertBuilt } from "../cli/support";
import {
  expectExactlyMatchedClosed,
  openSelectiveClients,
  SELECTIVE,
  type MatchValues,
} from "../support/clients";
import { describeWithRedis } from "../support/redis";
import { describeWithTerraform, killsIn, requiredProviders, TerraformWorkspace } from "./support";

jest.setTimeout(600_000);

const PLAN = ["plan", "-input=false", "-no-color"];
const APPLY = ["apply", "-auto-approve", "-input=false", "-no-color"];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- `terraform output -json`, read by path
type Outputs = Record<string, { value: any; type: unknown }>;

function providerBlock(emulator: EmulatorHandle): string {
  return [
    'variable "secret_key" {',
    "  type      = string",
    "  sensitive = true",
    "}",
    'variable "run" {',
    "  type    = string",
    '  default = "1"',
    "}",
    'provider "dcssessions" {',
    `  endpoint   = "${emulator.endpoint}"`,
    `  project_id = "${emulator.projectId}"`,
    "  secret_key = var.secret_key",
    "}",
  ].join("\n");
}

describeWithTerraform("the dcssessions provider under terraform", () => {
  describeWithRedis("HCL stacks", () => {
    let servers: RedisServers;
    let dcs: EmulatorHandle;
    let gemini: EmulatorHandle;
    let ws: TerraformWorkspace;
    const opened: OpenClients[] = [];
    const envOf = (e: EmulatorHandle) => ({ HW_ACCESS_KEY: e.accessKey, TF_VAR_secret_key: e.secretKey });

    beforeAll(async () => {
      assertBuilt();
      servers = await startRedisServers(3);
      dcs = await startEmulator({
        redis: servers.urls.slice(0, 2),
        redisTopology: "proxy",
        jobMs: 30,
      });
      gemini = await startEmulator({ redis: [servers.urls[2]!], engine: "geminidb", jobMs: 30 });
      ws = await TerraformWorkspace.create();
    });

    afterAll(async () => {
      for (const o of opened) await o.closeAll();
      await dcs?.close();
      await gemini?.close();
      await servers?.stop();
      ws?.remove();
    });

    afterEach(() => {
      // Terraform shut every provider down at the end of each run: nothing of ours is left running.
      expect(ws.leftoverProcesses()).toEqual([]);
      expect(ws.leftoverSocketDirs()).toEqual([]);
    });

    test("DCS: init, validate, plan (no kill), apply (one kill round), outputs as numbers, no-op plan and apply, a trigger replaces and kills once more, destroy sends nothing", async () => {
      const [node0] = dcs.nodeIds as [string];
      const a = await openClients(servers.urls[0]!, [
        { name: "api-1" },
        { name: "api-2", db: 3 },
        { name: "api-3" },
      ]);
      const b = await openClients(servers.urls[1]!, [{ name: "batch-1" }]);
      opened.push(a, b);
      const dir = ws.stack(
        "dcs",
        [
          requiredProviders(),
          providerBlock(dcs),
          'data "dcssessions_scan" "now" {',
          `  instance_id = "${dcs.instanceId}"`,
          "  top_n       = 2",
          "}",
          'resource "dcssessions_purge" "night" {',
          `  instance_id  = "${dcs.instanceId}"`,
          `  node_ids     = ["${node0}"]`,
          "  max_sessions = 1000",
          "  triggers     = { run = var.run }",
          "}",
          'output "total" { value = data.dcssessions_scan.now.total_sessions }',
          'output "by_name" { value = data.dcssessions_scan.now.by_name }',
          'output "scan_nodes" { value = data.dcssessions_scan.now.nodes }',
          'output "top_idle" { value = data.dcssessions_scan.now.top_idle }',
          'output "status" { value = dcssessions_purge.night.status }',
          'output "before" { value = dcssessions_purge.night.sessions_before }',
          'output "after" { value = dcssessions_purge.night.sessions_after }',
          'output "purge_nodes" { value = dcssessions_purge.night.nodes }',
          'output "purged_at" { value = dcssessions_purge.night.purged_at }',
        ].join("\n"),
      );
      const env = envOf(dcs);
      const kills = async () => killsIn(await dcs.control.counters());

      await ws.ok(dir, ["init", "-input=false", "-no-color"], env);
      await ws.ok(dir, ["validate", "-no-color"], env);

      await dcs.control.resetCounters();
      const plan = await ws.ok(dir, PLAN, env);
      expect(plan.stdout).toMatch(/dcssessions_purge\.night will be created/);
      expect(plan.stdout).toMatch(/1 to add, 0 to change, 0 to destroy/);
      const afterPlan = await dcs.control.counters();
      expect(afterPlan.scanClients).toBeGreaterThan(0); // the data source was read
      expect(killsIn(afterPlan)).toBe(0);

      await ws.ok(dir, APPLY, env);
      expect(await kills()).toBe(1);
      expect((await dcs.control.counters()).killAllClients).toBe(1);
      await Promise.all(a.clients.map((c) => c.closedByServer));
      expect(b.clients.every((c) => !c.isClosed())).toBe(true);

      const outputs = JSON.parse((await ws.ok(dir, ["output", "-json"], env)).stdout) as Outputs;
      expect(outputs.status!.value).toBe("purged");
      expect(typeof outputs.total!.value).toBe("number");
      expect(outputs.total!.value).toBeGreaterThanOrEqual(4);
      expect(outputs.by_name!.value).toMatchObject({ "api-1": 1, "api-2": 1, "api-3": 1, "batch-1": 1 });
      expect(outputs.by_name!.type).toEqual(["map", "number"]);
      expect(outputs.top_idle!.value).toHaveLength(2);
      expect(typeof outputs.top_idle!.value[0].idle_seconds).toBe("number");
      expect(typeof outputs.scan_nodes!.value[0].sessions).toBe("number");
      expect(outputs.before!.value).toBeGreaterThanOrEqual(3);
      expect(outputs.after!.value).toBe(0);
      expect(outputs.purge_nodes!.value).toEqual([
        { node_id: node0, before: outputs.before!.value, after: 0, matched: null },
      ]);
      expect(new Date(outputs.purged_at!.value as string).getTime()).not.toBeNaN();
      const firstId = JSON.parse(readFileSync(join(dir, "terraform.tfstate"), "utf8")).resources.find(
        (r: { type: string }) => r.type === "dcssessions_purge",
      ).instances[0].attributes.id as string;

      // Nothing changed: the purge is a no-op in the plan, and a second apply sends no kill.
      expect(await ws.plannedActions(dir, env)).toEqual({});
      await ws.ok(dir, APPLY, env);
      expect(await kills()).toBe(1);

      // A changed trigger replaces the purge: it runs, and kills, once more.
      const c = await openClients(servers.urls[0]!, [{ name: "api-4" }]);
      opened.push(c);
      const replace = await ws.ok(dir, PLAN, { ...env, TF_VAR_run: "2" });
      expect(replace.stdout).toMatch(/dcssessions_purge\.night must be replaced/);
      expect(replace.stdout).toMatch(/triggers.*# forces replacement/s);
      expect(await kills()).toBe(1);
      await ws.ok(dir, APPLY, { ...env, TF_VAR_run: "2" });
      expect(await kills()).toBe(2);
      await c.clients[0]!.closedByServer;
      const state = JSON.parse(readFileSync(join(dir, "terraform.tfstate"), "utf8"));
      const purge = state.resources.find((r: { type: string }) => r.type === "dcssessions_purge");
      expect(purge.instances[0].attributes.id).not.toBe(firstId);
      expect(purge.instances[0].attributes.triggers).toEqual({ run: "2" });

      // Destroy forgets the purge and sends nothing (the data source is read, as at every plan).
      await ws.ok(dir, ["destroy", "-auto-approve", "-input=false", "-no-color"], {
        ...env,
        TF_VAR_run: "2",
      });
      expect(await kills()).toBe(2);

      // Credentials never reach the state, nor anything Terraform printed.
      const stateText = readFileSync(join(dir, "terraform.tfstate"), "utf8");
      const backup = readFileSync(join(dir, "terraform.tfstate.backup"), "utf8");
      for (const text of [stateText, backup, ws.printed]) {
        expect(text).not.toContain(dcs.secretKey);
        expect(text).not.toContain(dcs.accessKey);
      }
    });

    test("a guard-only change updates in place with no remote call; a skipped purge is recorded without purged_at and proposed again", async () => {
      const a = await openClients(servers.urls[1]!, [{ name: "keep-1" }]);
      opened.push(a);
      const hcl = (minSessions: number, maxSessions: number) =>
        [
          requiredProviders(),
          providerBlock(dcs),
          'resource "dcssessions_purge" "small" {',
          `  instance_id  = "${dcs.instanceId}"`,
          "  all_nodes    = true",
          `  min_sessions = ${minSessions}`,
          `  max_sessions = ${maxSessions}`,
          "}",
        ].join("\n");
      const env = envOf(dcs);
      const dir = ws.stack("skip", hcl(100_000, 200_000));
      await ws.ok(dir, ["init", "-input=false", "-no-color"], env);
      await dcs.control.resetCounters();
      await ws.ok(dir, APPLY, env);
      const attributes = () =>
        JSON.parse(readFileSync(join(dir, "terraform.tfstate"), "utf8")).resources[0].instances[0].attributes;
      expect(attributes()).toMatchObject({ status: "skipped-below-minimum", purged_at: null });
      expect(attributes().reason).toEqual(expect.any(String));
      expect(killsIn(await dcs.control.counters())).toBe(0);
      expect(a.clients[0]!.isClosed()).toBe(false);

      // The skipped night does not count as done: the next plan proposes it again.
      expect(await ws.plannedActions(dir, env)).toEqual({ "dcssessions_purge.small": "replace" });

      // Once it has purged, a guard change is recorded in place and calls nothing.
      ws.stack("skip", hcl(0, 200_000));
      await ws.ok(dir, APPLY, env);
      expect(attributes().status).toBe("purged");
      await a.clients[0]!.closedByServer;
      await dcs.control.resetCounters();
      ws.stack("skip", hcl(0, 300_000));
      expect(await ws.plannedActions(dir, env)).toEqual({ "dcssessions_purge.small": "update" });
      await ws.ok(dir, APPLY, env);
      expect(attributes()).toMatchObject({ status: "purged", max_sessions: 300_000 });
      expect(await dcs.control.counters()).toEqual({});
    });

    test("a dry run stays one until dry_run is off; a refused kill is an error naming operation, status and code; an unverified kill is kept with a warning; refresh and destroy call nothing", async () => {
      const a = await openClients(servers.urls[1]!, [{ name: "dry-1" }, { name: "dry-2" }]);
      opened.push(a);
      const hcl = (dryRun: boolean) =>
        [
          requiredProviders(),
          providerBlock(dcs),
          'resource "dcssessions_purge" "careful" {',
          `  instance_id  = "${dcs.instanceId}"`,
          "  all_nodes    = true",
          `  dry_run      = ${dryRun}`,
          "  max_sessions = 1000",
          "  triggers     = { run = var.run }",
          "}",
        ].join("\n");
      const env = envOf(dcs);
      const dir = ws.stack("dry-run", hcl(true));
      const attributes = () =>
        JSON.parse(readFileSync(join(dir, "terraform.tfstate"), "utf8")).resources[0].instances[0].attributes;
      await ws.ok(dir, ["init", "-input=false", "-no-color"], env);
      await dcs.control.resetCounters();

      // A dry run counts and kills nothing; with the same configuration it stays what it is.
      await ws.ok(dir, APPLY, env);
      expect(attributes()).toMatchObject({ status: "dry-run", purged_at: expect.any(String), job_ids: [] });
      expect(attributes().sessions_before).toBeGreaterThanOrEqual(2);
      expect(killsIn(await dcs.control.counters())).toBe(0);
      expect(await ws.plannedActions(dir, env)).toEqual({});

      // Turning dry_run off is another purge: the plan says replace (and still kills nothing).
      ws.stack("dry-run", hcl(false));
      const plan = await ws.ok(dir, PLAN, env);
      expect(plan.stdout).toMatch(/dry_run.*# forces replacement/);
      expect(killsIn(await dcs.control.counters())).toBe(0);

      // The service refuses the kill: an error diagnostic whose summary and detail name what failed.
      await dcs.control.setFaults([
        { route: "killAllClients", fault: { kind: "status", status: 403, errorCode: "DCS.4403" } },
      ]);
      const refused = await ws.terraform(dir, APPLY, env);
      await dcs.control.clearFaults();
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /Error: dcssessions_purge failed: killAllClients answered 403 DCS\.4403/,
      );
      for (const fact of ["operation: killAllClients", "HTTP status: 403", "error code: DCS.4403"]) {
        expect(refused.stderr).toContain(fact);
      }
      expect(a.clients.every((c) => !c.isClosed())).toBe(true);

      // The kill runs but its answer is lost: recorded as purged-unverified, with a warning, and not re-sent.
      await dcs.control.resetCounters();
      await dcs.control.setFaults([
        { route: "killAllClients", times: 1, fault: { kind: "status", status: 502, after: true } },
      ]);
      const unverified = await ws.ok(dir, APPLY, env);
      expect(unverified.stdout + unverified.stderr).toMatch(/Warning: Purge sent, but not verified/);
      expect(attributes()).toMatchObject({
        status: "purged-unverified",
        sessions_after: null,
        dry_run: false,
      });
      expect(attributes().verification_error).toMatch(/502/);
      await Promise.all(a.clients.map((c) => c.closedByServer));
      expect(killsIn(await dcs.control.counters())).toBe(1);
      expect(await ws.plannedActions(dir, env)).toEqual({});

      // A refresh (and a refresh-only apply) leaves the recorded purge as it was and calls nothing.
      const recorded = attributes();
      const b = await openClients(servers.urls[1]!, [{ name: "later-1" }]);
      opened.push(b);
      await dcs.control.resetCounters();
      await ws.ok(dir, ["apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color"], env);
      await ws.ok(dir, ["refresh", "-input=false", "-no-color"], env);
      expect(await dcs.control.counters()).toEqual({});
      expect(attributes()).toEqual(recorded);
      expect(b.clients[0]!.isClosed()).toBe(false);

      // Destroy forgets the purge without a single call: it does not need the API.
      await ws.ok(dir, ["destroy", "-auto-approve", "-input=false", "-no-color"], env);
      expect(await dcs.control.counters()).toEqual({});
      expect(JSON.parse(readFileSync(join(dir, "terraform.tfstate"), "utf8")).resources).toEqual([]);
    });

    test("bad attributes are rejected by validate, on the attribute's path, before any remote call", async () => {
      const dir = ws.stack(
        "invalid",
        [
          requiredProviders(),
          providerBlock(dcs),
          'data "dcssessions_scan" "bad" {',
          `  instance_id = "${dcs.instanceId}"`,
          "  top_n       = 500",
          "}",
          'resource "dcssessions_purge" "bad" {',
          `  instance_id  = "${dcs.instanceId}"`,
          "  all_nodes    = true",
          "  max_sessions = -1",
          "  maintenance_window {",
          '    start = "25:00"',
          '    end   = "04:00"',
          "  }",
          "  match {",
          '    clients = ["127.0.0.0/8", "10.0.0.0/33"]',
          "  }",
          "}",
        ].join("\n"),
      );
      const env = envOf(dcs);
      await ws.ok(dir, ["init", "-input=false", "-no-color"], env);
      await dcs.control.resetCounters();
      const result = await ws.terraform(dir, ["validate", "-json", "-no-color"], env);
      expect(result.code).toBe(1);
      const lines = readFileSync(join(dir, "main.tf"), "utf8").split("\n");
      const lineOf = (text: string) => lines.findIndex((l) => l.includes(text)) + 1;
      const diagnostics = (
        JSON.parse(result.stdout) as {
          diagnostics: Array<{ summary: string; detail: string; range?: { start: { line: number } } }>;
        }
      ).diagnostics.map((d) => ({ summary: d.summary, line: d.range?.start.line, detail: d.detail }));
      expect(diagnostics).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ summary: "Invalid top_n", line: lineOf("top_n") }),
          expect.objectContaining({ summary: "Invalid max_sessions", line: lineOf("max_sessions") }),
          expect.objectContaining({
            summary: "Invalid maintenance_window.start",
            line: lineOf('start = "25:00"'),
          }),
          expect.objectContaining({
            summary: "Invalid match.clients[1]",
            line: lineOf("clients = "),
            detail: expect.stringMatching(/"10\.0\.0\.0\/33" is not an IP address or CIDR range/),
          }),
        ]),
      );
      // Each says what is allowed (the match's client rule lists the forms in parentheses).
      for (const d of diagnostics) expect(d.detail).toMatch(/allowed|must|\(IPv4 a\.b\.c\.d/);
      expect(await dcs.control.counters()).toEqual({});
    });

    test("a selective purge: a match block closes exactly the matching sessions, matched_sessions is a number", async () => {
      const list = (values: readonly (string | number)[]) =>
        `[${values.map((v) => JSON.stringify(v)).join(", ")}]`;
      const hcl = (m: MatchValues) =>
        [
          requiredProviders(),
          providerBlock(dcs),
          'resource "dcssessions_purge" "idle_batch" {',
          `  instance_id  = "${dcs.instanceId}"`,
          "  all_nodes    = true",
          "  max_sessions = 50",
          "  match {",
          `    idle_over_seconds = ${m.idleOverSeconds}`,
          `    clients           = ${list(m.clients)}`,
          `    users             = ${list(m.users)}`,
          `    names             = ${list(m.names)}`,
          `    dbs               = ${list(m.dbs)}`,
          `    cmds              = ${list(m.cmds)}`,
          "  }",
          "}",
          'output "matched" { value = dcssessions_purge.idle_batch.matched_sessions }',
          'output "nodes" { value = dcssessions_purge.idle_batch.nodes }',
          'output "status" { value = dcssessions_purge.idle_batch.status }',
          'output "selected" { value = dcssessions_purge.idle_batch.selected_sessions }',
        ].join("\n");
      const m = SELECTIVE.match;
      const dir = ws.stack("selective", hcl(m));
      const env = envOf(dcs);
      await ws.ok(dir, ["init", "-input=false", "-no-color"], env);
      const clients = await openSelectiveClients([servers.urls[0]!, servers.urls[1]!]);
      try {
        await dcs.control.resetCounters();
        await ws.ok(dir, APPLY, env);
        await expectExactlyMatchedClosed(clients);
        const counters = await dcs.control.counters();
        expect(counters.killAllClients ?? 0).toBe(0);
        expect(counters.killClients).toBe(2);

        const outputs = JSON.parse((await ws.ok(dir, ["output", "-json"], env)).stdout) as Outputs;
        expect(outputs.status!.value).toBe("purged");
        expect(outputs.matched!).toEqual({ sensitive: false, type: "number", value: 3 });
        const [node0, node1] = dcs.nodeIds as [string, string];
        expect(
          (outputs.nodes!.value as Array<{ node_id: string; matched: number }>).map((n) => [
            n.node_id,
            n.matched,
          ]),
        ).toEqual([
          [node0, 2],
          [node1, 1],
        ]);
        // What was selected, session by session: node, real client, user, name, idle seconds, db, command.
        const selected = outputs.selected!.value as Array<Record<string, unknown>>;
        expect(selected.map((x) => x.name).sort()).toEqual([...SELECTIVE.matched]);
        for (const x of selected) {
          expect(x).toEqual({
            node_id: expect.stringMatching(new RegExp(`^(${node0}|${node1})$`)),
            peer: expect.stringMatching(/^127\.0\.0\.[23]:\d+$/),
            user: "batch",
            name: x.name,
            idle: expect.any(Number),
            db: "2",
            cmd: "get",
          });
          expect(x.idle).toBeGreaterThan(m.idleOverSeconds);
        }
        // Applied, the purge is done: the next plan proposes nothing. The same selection written in another
        // order is recorded in place (Terraform lists keep their order) and calls nothing; another selection
        // is another purge (a replacement).
        expect(await ws.plannedActions(dir, env)).toEqual({});
        const reversed = <T>(values: readonly T[]) => [...values].reverse();
        ws.stack(
          "selective",
          hcl({ ...m, names: reversed(m.names), dbs: reversed(m.dbs), cmds: ["get", "PING"] }),
        );
        expect(await ws.plannedActions(dir, env)).toEqual({ "dcssessions_purge.idle_batch": "update" });
        await dcs.control.resetCounters();
        await ws.ok(dir, APPLY, env);
        expect(await dcs.control.counters()).toEqual({});
        ws.stack("selective", hcl({ ...m, idleOverSeconds: 3600 }));
        expect(await ws.plannedActions(dir, env)).toEqual({ "dcssessions_purge.idle_batch": "replace" });
        expect(await dcs.control.counters()).toEqual({}); // a plan kills nothing
      } finally {
        await clients.closeAll();
      }
    });

    test("GeminiDB: a refused scan is an error naming operation, status and DBS code; plan sends no kill, apply closes the node's sessions once, a second plan and apply are no-ops, a trigger replaces and closes them again, destroy sends nothing", async () => {
      const g = await openClients(servers.urls[2]!, [{ name: "gem-1" }, { name: "gem-2" }]);
      opened.push(g);
      const dir = ws.stack(
        "geminidb",
        [
          requiredProviders(),
          providerBlock(gemini),
          'data "dcssessions_scan" "now" {',
          `  instance_id = "${gemini.instanceId}"`,
          '  engine      = "geminidb"',
          "}",
          'resource "dcssessions_purge" "all" {',
          `  instance_id = "${gemini.instanceId}"`,
          '  engine      = "geminidb"',
          "  all_nodes   = true",
          "  triggers    = { run = var.run }",
          "}",
          'output "total" { value = data.dcssessions_scan.now.total_sessions }',
          'output "by_name" { value = data.dcssessions_scan.now.by_name }',
          'output "status" { value = dcssessions_purge.all.status }',
          'output "before" { value = dcssessions_purge.all.sessions_before }',
        ].join("\n"),
      );
      const env = envOf(gemini);
      await ws.ok(dir, ["init", "-input=false", "-no-color"], env);
      await ws.ok(dir, ["validate", "-no-color"], env);

      // The service refuses the scan with its own error body: the diagnostic names operation, status, code.
      const refusal = { kind: "status", status: 400, errorCode: "DBS.200001" } as const;
      await gemini.control.setFaults([
        { route: "geminidbListSessions", fault: refusal },
        { route: "geminidbListNodeSessions", fault: refusal },
      ]);
      const refused = await ws.terraform(dir, PLAN, env);
      await gemini.control.clearFaults();
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /Error: dcssessions_scan failed: geminidbList(Node)?Sessions answered 400 DBS\.200001/,
      );
      expect(refused.stderr).toMatch(/operation: geminidbList(Node)?Sessions/);
      expect(refused.stderr).toContain("HTTP status: 400");
      expect(refused.stderr).toContain("error code: DBS.200001");
      await gemini.control.resetCounters();
      await ws.ok(dir, PLAN, env);
      expect(killsIn(await gemini.control.counters())).toBe(0);
      await ws.ok(dir, APPLY, env);
      const kills = killsIn(await gemini.control.counters());
      expect(kills).toBe(gemini.nodeIds.length);
      await Promise.all(g.clients.map((c) => c.closedByServer));
      const outputs = JSON.parse((await ws.ok(dir, ["output", "-json"], env)).stdout) as Outputs;
      expect(outputs.status!.value).toBe("purged");
      expect(typeof outputs.total!.value).toBe("number");
      expect(outputs.by_name!.value).toMatchObject({ "gem-1": 1, "gem-2": 1 });
      expect(outputs.before!.value).toBeGreaterThanOrEqual(2);
      expect(await ws.plannedActions(dir, env)).toEqual({});
      await ws.ok(dir, APPLY, env);
      expect(killsIn(await gemini.control.counters())).toBe(kills);

      // A changed trigger replaces the purge: it closes the node's sessions once more.
      const again = await openClients(servers.urls[2]!, [{ name: "gem-3" }]);
      opened.push(again);
      const rerun = { ...env, TF_VAR_run: "2" };
      expect(await ws.plannedActions(dir, rerun)).toEqual({ "dcssessions_purge.all": "replace" });
      expect(killsIn(await gemini.control.counters())).toBe(kills);
      await ws.ok(dir, APPLY, rerun);
      await again.clients[0]!.closedByServer;
      const rerunKills = killsIn(await gemini.control.counters());
      expect(rerunKills).toBe(2 * kills);
      expect(await gemini.control.counters()).toMatchObject({ geminidbCloseNodeSessions: rerunKills });

      await ws.ok(dir, ["destroy", "-auto-approve", "-input=false", "-no-color"], rerun);
      expect(killsIn(await gemini.control.counters())).toBe(rerunKills);
      for (const text of [readFileSync(join(dir, "terraform.tfstate"), "utf8"), ws.printed]) {
        expect(text).not.toContain(gemini.secretKey);
      }
    });
  });
});
