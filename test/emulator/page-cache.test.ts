/**
 * The emulator's page cache (`pageCache`, `--page-cache`): a list page is rendered once per scan and then
 * served as it was, the same bytes an emulator without the cache sends; a new scan renders afresh.
 */
import { createClient } from "../../src/api/client";
import type { SessionsClient } from "../../src/api/types";
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator/types";

// The emulator checks signatures against its clock: it starts at the real time and is moved by hand.
const T0 = Date.now();

describe("the emulator's page cache", () => {
  let clock = T0;
  const emulators: EmulatorHandle[] = [];
  const clients: SessionsClient[] = [];

  async function start(pageCache: boolean): Promise<{ emulator: EmulatorHandle; client: SessionsClient }> {
    const emulator = await startEmulator({
      synthetic: { nodes: 1, sessionsPerNode: 120, seed: 5 },
      jobMs: 0,
      pageCache,
      now: () => clock,
    });
    const client = createClient({ env: emulator.env });
    emulators.push(emulator);
    clients.push(client);
    return { emulator, client };
  }

  async function scan(emulator: EmulatorHandle, client: SessionsClient): Promise<void> {
    const nodeId = emulator.nodeIds[0]!;
    const { jobId } = await client.dcs.scanClients(emulator.instanceId, { nodeId });
    await client.dcs.waitForJob(jobId, { initialIntervalMs: 5, timeoutMs: 5000 });
  }

  afterAll(async () => {
    for (const client of clients) await client.close();
    for (const emulator of emulators) await emulator.close();
  });

  test("serves the same page as an emulator without it, again and again, and renders afresh after a scan", async () => {
    const cached = await start(true);
    const plain = await start(false);
    await scan(cached.emulator, cached.client);
    await scan(plain.emulator, plain.client);
    const page = (e: { emulator: EmulatorHandle; client: SessionsClient }, offset: number) =>
      e.client.dcs.listClients(e.emulator.instanceId, { nodeId: e.emulator.nodeIds[0]!, offset, limit: 50 });

    const first = await page(cached, 50);
    expect(first.clients).toHaveLength(50);
    expect(await page(cached, 50)).toEqual(first);
    expect(await page(plain, 50)).toEqual(first);
    // Another page of the same scan is its own.
    expect((await page(cached, 100)).clients).toHaveLength(20);

    clock += 60_000;
    await scan(cached.emulator, cached.client);
    const after = await page(cached, 50);
    expect(after.time).not.toBe(first.time);
    expect(after.clients[0]!.age).toBe(first.clients[0]!.age! + 60);
  });
});
