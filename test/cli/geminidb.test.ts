/** `--engine geminidb` through the built CLI against the emulator's GeminiDB API (synthetic sessions). */
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator";
import { assertBuilt, runCliProcess } from "./support";

describe("dcs-sessions --engine geminidb (built) against the emulator", () => {
  let emulator: EmulatorHandle;

  beforeAll(async () => {
    assertBuilt();
    emulator = await startEmulator({
      engine: "geminidb",
      synthetic: { nodes: 2, sessionsPerNode: 15, seed: 7 },
      jobMs: 10,
    });
  });

  afterAll(async () => {
    await emulator?.close();
  });

  const cli = (args: string[]) =>
    runCliProcess([...args, "--engine", "geminidb", "--quiet"], { env: emulator.env });

  test("nodes, scan, list and a dry-run purge speak the GeminiDB API", async () => {
    const nodes = await cli(["nodes", emulator.instanceId]);
    expect(nodes.code).toBe(0);
    const nodeIds = (JSON.parse(nodes.stdout) as { nodes: Array<{ nodeId: string }> }).nodes.map(
      (n) => n.nodeId,
    );
    expect(nodeIds).toEqual(expect.arrayContaining(emulator.nodeIds.slice(0, 2)));

    const scan = await cli(["scan", emulator.instanceId]);
    expect(scan.code).toBe(0);
    expect(JSON.parse(scan.stdout)).toMatchObject({ engine: "geminidb", totalSessions: 30 });

    const list = await cli(["list", emulator.instanceId, "--node", emulator.nodeIds[0]!, "--limit", "4"]);
    expect(list.code).toBe(0);
    const page = JSON.parse(list.stdout) as { count: number; clients: unknown[] };
    expect(page.count).toBe(15);
    expect(page.clients).toHaveLength(4);

    const all = await cli(["list", emulator.instanceId, "--node", emulator.nodeIds[0]!, "--all"]);
    expect((JSON.parse(all.stdout) as { clients: unknown[] }).clients).toHaveLength(15);

    const dry = await cli(["purge", emulator.instanceId, "--all-nodes", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      engine: "geminidb",
      status: "dry-run",
      sessionsBefore: 30,
    });
  });

  test("a selective purge closes the chosen sessions by id, node by node; --user is refused before any call", async () => {
    await emulator.control.resetCounters();
    const refused = await cli(["purge", emulator.instanceId, "--all-nodes", "--user", "reporting", "--yes"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--user: cannot select GeminiDB sessions: the GeminiDB API lists no user/);
    expect(await emulator.control.counters()).toEqual({});

    // The name of the first session of node 0, and how many sessions of the instance carry it.
    const sessionsOf = async (nodeId: string) =>
      (
        JSON.parse((await cli(["list", emulator.instanceId, "--node", nodeId, "--all"])).stdout) as {
          clients: Array<{ name?: string }>;
        }
      ).clients;
    const before = [...(await sessionsOf(emulator.nodeIds[0]!)), ...(await sessionsOf(emulator.nodeIds[1]!))];
    const name = before[0]!.name!;
    const chosen = before.filter((c) => c.name === name).length;
    expect(chosen).toBeGreaterThan(0);
    expect(chosen).toBeLessThan(before.length);

    await emulator.control.resetCounters();
    const purge = await cli(["purge", emulator.instanceId, "--all-nodes", "--name", name, "--yes"]);
    expect(purge.code).toBe(0);
    const report = JSON.parse(purge.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      engine: "geminidb",
      status: "purged",
      matchedSessions: chosen,
      sessionsBefore: before.length,
      sessionsAfter: before.length - chosen,
    });
    const counters = await emulator.control.counters();
    expect(counters.geminidbCloseNodeSessions).toBeGreaterThan(0);
    expect(counters.geminidbCloseSessions ?? 0).toBe(0);
    const after = [...(await sessionsOf(emulator.nodeIds[0]!)), ...(await sessionsOf(emulator.nodeIds[1]!))];
    expect(after.filter((c) => c.name === name)).toEqual([]);
    expect(after).toHaveLength(before.length - chosen);
  });
});
