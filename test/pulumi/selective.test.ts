/**
 * One selective `SessionPurge` through the REAL dynamic-provider host, driven from a temporary consumer
 * folder as the engine would, against the emulator whose two proxies are real redis-server processes: a bad
 * `match` fails Check naming the entry; Create closes exactly the matching connections (every other client
 * still answers PING) and records `matchedSessions`; a reordered match is no change, a new match is a change
 * that re-runs the purge on its own selection.
 */
import type { Counters } from "../../src/emulator/types";
import { startRedisServers, type RedisServers } from "../../src/testing/redis";
import {
  expectExactlyMatchedClosed,
  openSelectiveClients,
  SELECTIVE,
  type SelectiveClients,
} from "../support/clients";
import { describeWithRedis } from "../support/redis";
import { useProviderHostStack } from "./support/host-stack";

jest.setTimeout(60_000);

describeWithRedis("a selective SessionPurge through the provider host", () => {
  let servers: RedisServers | undefined;
  let clients: SelectiveClients | undefined;

  beforeAll(async () => {
    servers = await startRedisServers(2);
  });
  const rig = useProviderHostStack(() => ({ redis: servers!.urls, redisTopology: "proxy", jobMs: 30 }));
  afterAll(async () => {
    await clients?.closeAll();
    await servers?.stop();
  });

  const counters = (): Promise<Counters> => rig.emulator.control.counters();

  test("check, create, diff and a re-run on a new match", async () => {
    const urn = rig.stack.urn("SessionPurge", "idle-batch");
    const args = { instanceId: rig.emulator.instanceId, allNodes: true, maxSessions: 50 };

    // A bad match fails Check (what a preview shows), naming the entry, before anything remote.
    await rig.emulator.control.resetCounters();
    const bad = await rig.host.check(
      urn,
      {},
      await rig.stack.news("SessionPurge", { ...args, match: { clients: ["127.0.0.300"], dbs: [2] } }),
    );
    expect(bad.failures).toEqual([
      {
        property: "match",
        reason: expect.stringMatching(/^match\.clients\[0\]: "127\.0\.0\.300" is not an IP address or CIDR/),
      },
    ]);
    expect(await counters()).toEqual({});

    clients = await openSelectiveClients([servers!.urls[0]!, servers!.urls[1]!]);
    const created = await rig.stack.create("SessionPurge", "idle-batch", { ...args, match: SELECTIVE.match });
    expect(created.outputs).toMatchObject({ status: "purged", matchedSessions: 3, jobIds: [] });
    const nodes = created.outputs.nodes as Array<{ nodeId: string; matched: number }>;
    expect(nodes.map((n) => [n.nodeId, n.matched])).toEqual([
      [rig.emulator.nodeIds[0], 2],
      [rig.emulator.nodeIds[1], 1],
    ]);
    expect(created.outputs.match).toEqual(SELECTIVE.match);
    // The first matched sessions, each with its node, real client, user, name and idle seconds.
    const selected = created.outputs.selectedSessions as Array<Record<string, unknown>>;
    expect(selected.map((x) => x.name).sort()).toEqual([...SELECTIVE.matched]);
    for (const x of selected) {
      expect(rig.emulator.nodeIds).toContain(x.nodeId);
      expect(x).toMatchObject({ peer: expect.stringMatching(/^127\.0\.0\.[23]:\d+$/), user: "batch" });
      expect(x.idle).toBeGreaterThan(SELECTIVE.match.idleOverSeconds);
    }
    await expectExactlyMatchedClosed(clients);
    const afterCreate = await counters();
    expect(afterCreate.killAllClients ?? 0).toBe(0);
    expect(afterCreate.killClients).toBe(2);

    // The same selection written in another order, with a repeat and another case: no change.
    const m = SELECTIVE.match;
    const reordered = {
      ...m,
      clients: [...m.clients].reverse(),
      names: [...m.names].reverse(),
      dbs: [...m.dbs, ...m.dbs].reverse(),
      cmds: m.cmds.map((c) => c.toLowerCase()),
    };
    const same = await rig.stack.preview(created, { ...args, match: reordered });
    expect(same.diff.changes).toBe("none");

    // A new match: the diff says it changes in place (no replacement), and nothing is called by the preview.
    await rig.emulator.control.resetCounters();
    const next = { ...args, match: { names: ["keep-me"] } };
    const preview = await rig.stack.preview(created, next);
    expect(preview.diff).toMatchObject({ changes: "some", replaces: [] });
    expect(await counters()).toEqual({});

    // `pulumi up` re-runs the purge on the new selection: it closes keep-me and nobody else.
    const keepMe = clients.survivors.find((c) => c.setup.name === "keep-me")!;
    const others = clients.survivors.filter((c) => c !== keepMe);
    const up = await rig.stack.up(created, next);
    expect(up.updated).toBe(true);
    expect(up.state.outputs).toMatchObject({
      status: "purged",
      matchedSessions: 1,
      match: { names: ["keep-me"] },
    });
    await keepMe.connection.closedByServer;
    expect(await Promise.all(others.map((c) => c.connection.ping()))).toEqual(others.map(() => "PONG"));
    expect((await counters()).killClients).toBe(1);
  });
});
