/**
 * The `match` block of `dcssessions_purge`, below the protocol: validation diagnostics on the attribute path,
 * which changes of a match replace the purge (and which are the same selection), and the selection reaching
 * the core with its outputs coming back as attributes. The HCL test runs the same through `terraform`.
 */
import type { PurgeOptions, PurgeReport } from "../../src/core/types";
import { createProvider } from "../../src/terraform/provider";
import { replacementPaths } from "../../src/terraform/purge";
import type { ObjectValue } from "../../src/terraform/protocol/values";
import { UNKNOWN } from "../../src/terraform/protocol/values";

const MATCH_FIELDS = ["idle_over_seconds", "clients", "users", "names", "dbs", "cmds"] as const;

/** A match block as Terraform sends it: every attribute present, null when not set. */
function matchBlock(set: Partial<Record<(typeof MATCH_FIELDS)[number], unknown>>): ObjectValue {
  return Object.fromEntries(MATCH_FIELDS.map((f) => [f, (set[f] ?? null) as ObjectValue[string]]));
}

function purgeConfig(match: ObjectValue | null, extra: ObjectValue = {}): ObjectValue {
  return { instance_id: "inst-1", all_nodes: true, match, ...extra };
}

function recorder() {
  const purges: PurgeOptions[] = [];
  const report: PurgeReport = {
    instanceId: "inst-1",
    engine: "dcs",
    status: "purged",
    sessionsBefore: 9,
    sessionsAfter: 7,
    matchedSessions: 2,
    nodes: [{ nodeId: "n1", before: 9, matched: 2, after: 7 }],
    selectedSessions: [
      { nodeId: "n1", peer: "[::1]:5000", user: "(none)", name: "old", idle: 31, db: "0", cmd: "get" },
    ],
    jobIds: [],
    purgedAt: "2026-12-05T18:00:00.000Z",
  };
  return {
    purges,
    operations: {
      scanSessions: () => Promise.reject(new Error("no scan here")),
      purgeSessions: (options: PurgeOptions) => {
        purges.push(options);
        return Promise.resolve(report);
      },
    },
  };
}

describe("dcssessions_purge match", () => {
  const provider = createProvider({ operations: recorder().operations, env: {} });
  const purge = provider.resources.dcssessions_purge!;

  test("validation names the entry at fault on its attribute path, in Terraform's words", async () => {
    const diagnostics = await purge.validate(
      purgeConfig(matchBlock({ clients: ["10.0.0.0/8", "10.0.0.300"], idle_over_seconds: -1 })),
    );
    expect(diagnostics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          summary: "Invalid match.clients[1]",
          path: ["match", "clients", 1],
          detail: expect.stringMatching(/^match\.clients\[1\]: "10\.0\.0\.300" is not an IP address or CIDR/),
        }),
        expect.objectContaining({
          summary: "Invalid match.idle_over_seconds",
          path: ["match", "idle_over_seconds"],
        }),
      ]),
    );
    const empty = await purge.validate(purgeConfig(matchBlock({})));
    expect(empty).toEqual([
      expect.objectContaining({
        summary: "Invalid match",
        detail: expect.stringMatching(/at least one of idle_over_seconds, clients, users, names, dbs, cmds/),
      }),
    ]);
    const gemini = await purge.validate(purgeConfig(matchBlock({ users: ["app"] }), { engine: "geminidb" }));
    expect(gemini).toEqual([expect.objectContaining({ path: ["match", "users"] })]);
  });

  test("a valid match, and values not known yet, pass validation", async () => {
    const ok = matchBlock({
      clients: ["fd00::/8", "127.0.0.2"],
      dbs: [0, 2],
      cmds: ["get"],
      idle_over_seconds: 0,
    });
    expect(await purge.validate(purgeConfig(ok))).toEqual([]);
    expect(await purge.validate(purgeConfig(matchBlock({ clients: [UNKNOWN] })))).toEqual([]);
  });

  test("a new selection replaces the purge; order, repeats and command case within a field do not", () => {
    const prior = {
      ...purgeConfig(matchBlock({ users: ["a", "b"], dbs: [2, 0], cmds: ["GET"] })),
      status: "purged",
    };
    const same = purgeConfig(matchBlock({ users: ["b", "a", "a"], dbs: [0, 2], cmds: ["get"] }));
    expect(replacementPaths(prior, same)).toEqual([]);
    const narrower = purgeConfig(
      matchBlock({ users: ["a", "b"], dbs: [0, 2], cmds: ["get"], idle_over_seconds: 60 }),
    );
    expect(replacementPaths(prior, narrower)).toEqual([["match"]]);
    expect(replacementPaths(prior, purgeConfig(null))).toEqual([["match"]]);
    expect(replacementPaths({ ...purgeConfig(null), status: "purged" }, same)).toEqual([["match"]]);
  });

  test("apply passes the selection to the core in its own names and records matched_sessions and selected_sessions", async () => {
    const { purges, operations } = recorder();
    const resource = createProvider({ operations, env: {} }).resources.dcssessions_purge!;
    const planned = purgeConfig(
      matchBlock({ clients: ["127.0.0.2"], names: ["old"], idle_over_seconds: 30 }),
    );
    const { state } = await resource.apply({
      prior: null,
      planned,
      signal: new AbortController().signal,
    } as never);
    expect(purges[0]).toMatchObject({
      instanceId: "inst-1",
      allNodes: true,
      match: { clients: ["127.0.0.2"], names: ["old"], idleOverSeconds: 30 },
    });
    expect(purges[0]!.match).toEqual({ clients: ["127.0.0.2"], names: ["old"], idleOverSeconds: 30 });
    expect(state).toMatchObject({
      status: "purged",
      matched_sessions: 2,
      nodes: [{ node_id: "n1", before: 9, matched: 2, after: 7 }],
      selected_sessions: [
        { node_id: "n1", peer: "[::1]:5000", user: "(none)", name: "old", idle: 31, db: "0", cmd: "get" },
      ],
    });
  });
});
