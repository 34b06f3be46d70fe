/**
 * The synthesized JSON executed as Terraform would execute it, against the emulator with real redis-server
 * nodes: the external program (argv, query JSON on stdin, a flat JSON object of strings on stdout) and the
 * local-exec provisioner (interpreter argv + command, with its environment). Terraform runs both without a
 * shell when `interpreter` is set, so neither does this test.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TerraformVariable, Testing } from "cdktf";
import { SessionPurge, SessionScan } from "../../src/cdktf";
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator";
import { openClients, startRedisServers } from "../../src/testing/redis";
import type { OpenClients, RedisServers } from "../../src/testing/redis";
import { describeWithRedis } from "../support/redis";
import { CLI_MAIN, assertBuilt, runProcess } from "../cli/support";
import type { RunResult } from "../cli/support";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed Terraform JSON, read by path
type Json = Record<string, any>;

/** What Terraform does for `data "external"`: run `program` with the query as JSON on stdin. */
function runExternal(data: Json, env: Record<string, string>): Promise<RunResult> {
  const [file, ...args] = data.program as string[];
  return runProcess(file!, args, { env, input: JSON.stringify(data.query) });
}

/** What Terraform does for `local-exec` with an interpreter: exec interpreter[0] with the rest + command. */
function runLocalExec(
  exec: Json,
  env: Record<string, string>,
  environment: Record<string, string> = exec.environment,
): Promise<RunResult> {
  const [file, ...args] = exec.interpreter as string[];
  return runProcess(file!, [...args, exec.command as string], { env: { ...env, ...environment } });
}

describeWithRedis("CDKTF constructs executed as Terraform runs them", () => {
  let servers: RedisServers;
  let emulator: EmulatorHandle;
  const opened: OpenClients[] = [];
  const command = [process.execPath, CLI_MAIN];

  beforeAll(async () => {
    assertBuilt();
    servers = await startRedisServers(2);
    emulator = await startEmulator({ redis: servers.urls, redisTopology: "proxy", jobMs: 50 });
  });

  afterAll(async () => {
    for (const o of opened) await o.closeAll();
    await emulator?.close();
    await servers?.stop();
  });

  test("scan → purge of one node → after scan: true counts, and the purge closed that node's connections", async () => {
    const [node0, node1] = emulator.nodeIds as [string, string];
    const a = await openClients(servers.urls[0]!, [
      { name: "api-1" },
      { name: "api-2", db: 4 },
      { name: "api-3" },
    ]);
    const b = await openClients(servers.urls[1]!, [{ name: "batch-1" }]);
    opened.push(a, b);

    const json = JSON.parse(
      Testing.synthScope((scope) => {
        new SessionScan(scope, "before", { instanceId: emulator.instanceId, topN: 2, command });
        new SessionPurge(scope, "purge", {
          instanceId: emulator.instanceId,
          nodeIds: [node0],
          maxSessions: 100,
          command,
        });
      }),
    ) as Json;
    const scans = json.data.external as Record<string, Json>;
    const beforeName = Object.keys(scans).find((k) => k.startsWith("before"))!;
    const afterName = Object.keys(scans).find((k) => k.startsWith("purge"))!;

    // Plan: the independent scan is read.
    const before = await runExternal(scans[beforeName]!, emulator.env);
    expect(before.code).toBe(0);
    const result = JSON.parse(before.stdout) as Record<string, string>;
    for (const v of Object.values(result)) expect(typeof v).toBe("string");
    expect(JSON.parse(result.by_name!)).toMatchObject({ "api-1": 1, "api-2": 1, "api-3": 1, "batch-1": 1 });
    const perNode = Object.fromEntries(
      (JSON.parse(result.nodes!) as Array<{ nodeId: string; sessions: number }>).map((n) => [
        n.nodeId,
        n.sessions,
      ]),
    );
    expect(perNode[node0]).toBeGreaterThanOrEqual(3);
    expect(Number(result.total_sessions)).toBe(perNode[node0]! + perNode[node1]!);

    // Apply: terraform_data is created, its provisioner runs.
    const resource = Object.values(json.resource.terraform_data as Record<string, Json>)[0]!;
    const exec = resource.provisioner[0]["local-exec"] as Json;
    const purge = await runLocalExec(exec, emulator.env);
    expect(purge.code).toBe(0);
    expect(JSON.parse(purge.stdout)).toMatchObject({
      status: "purged",
      instanceId: emulator.instanceId,
      sessionsAfter: 0,
    });
    await Promise.all(a.clients.map((c) => c.closedByServer));
    expect(b.clients.every((c) => !c.isClosed())).toBe(true);

    // Then the after scan that depends on it: sessionsAfter.
    const after = await runExternal(scans[afterName]!, emulator.env);
    expect(after.code).toBe(0);
    const afterResult = JSON.parse(after.stdout) as Record<string, string>;
    expect(scans[afterName]!.query.node_ids).toBe(node0);
    expect(afterResult.total_sessions).toBe("0");
  });

  test("a guard refusing fails the apply: non-zero exit and one line for Terraform to show", async () => {
    const a = await openClients(servers.urls[0]!, [{ name: "keep-1" }, { name: "keep-2" }]);
    opened.push(a);
    const json = JSON.parse(
      Testing.synthScope(
        (scope) =>
          new SessionPurge(scope, "p", {
            instanceId: emulator.instanceId,
            allNodes: true,
            maxSessions: 0,
            command,
          }),
      ),
    ) as Json;
    const exec = Object.values(json.resource.terraform_data as Record<string, Json>)[0]!.provisioner[0][
      "local-exec"
    ] as Json;
    const r = await runLocalExec(exec, emulator.env);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split("\n").pop()).toMatch(/purge refused/);
    expect(a.clients.every((c) => !c.isClosed())).toBe(true);
  });

  test("hostile values that reach the commands through Terraform variables are passed inertly and rejected", async () => {
    // Validation cannot see a variable's value at synth time; Terraform substitutes it into the query and
    // the environment. Prove that nothing interprets it as shell: each value tries to create a file.
    const dir = mkdtempSync(join(tmpdir(), "dcs-sessions-hostile-"));
    const canary = join(dir, "pwned");
    const hostile = [
      `"; touch ${canary}; echo "`,
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `x' ; touch ${canary} ; '`,
      `a\ntouch ${canary}`,
      `| touch ${canary}`,
    ];
    await emulator.control.resetCounters();
    try {
      const json = JSON.parse(
        Testing.synthScope((scope) => {
          const id = new TerraformVariable(scope, "instance_id", { type: "string" });
          const nodes = new TerraformVariable(scope, "node_ids", { type: "list(string)" });
          new SessionScan(scope, "s", { instanceId: id.stringValue, nodeIds: nodes.listValue, command });
          new SessionPurge(scope, "p", {
            instanceId: id.stringValue,
            nodeIds: nodes.listValue,
            verify: false,
            command,
          });
        }),
      ) as Json;
      const data = Object.values(json.data.external as Record<string, Json>)[0]!;
      const exec = Object.values(json.resource.terraform_data as Record<string, Json>)[0]!.provisioner[0][
        "local-exec"
      ] as Json;
      expect(exec.environment.DCS_SESSIONS_INSTANCE_ID).toBe("${var.instance_id}");
      for (const value of hostile) {
        // As instance id, then as node id (what Terraform would have substituted).
        const asInstance = await runExternal(
          { ...data, query: { ...data.query, instance_id: value, node_ids: "n1" } },
          emulator.env,
        );
        const asNode = await runExternal(
          { ...data, query: { ...data.query, instance_id: "inst", node_ids: value } },
          emulator.env,
        );
        const purgeInstance = await runLocalExec(exec, emulator.env, {
          DCS_SESSIONS_INSTANCE_ID: value,
          DCS_SESSIONS_NODE_IDS: "n1",
        });
        const purgeNode = await runLocalExec(exec, emulator.env, {
          DCS_SESSIONS_INSTANCE_ID: "inst",
          DCS_SESSIONS_NODE_IDS: value,
        });
        for (const r of [asInstance, asNode, purgeInstance, purgeNode]) {
          expect(r.code).toBe(2);
          expect(r.stdout).toBe("");
          expect(r.stderr.trim().split("\n")).toHaveLength(1);
        }
        expect(asInstance.stderr).toMatch(/query\.instance_id/);
        expect(purgeNode.stderr).toMatch(/DCS_SESSIONS_NODE_IDS/);
        expect(existsSync(canary)).toBe(false);
      }
      const counters = await emulator.control.counters();
      expect(Object.values(counters).reduce((sum, n) => sum + (n ?? 0), 0)).toBe(0); // rejected before any call
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
