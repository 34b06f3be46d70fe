/**
 * Which edits of a `dcssessions_purge` make a new purge (DESIGN §5): `instance_id`, `engine`, the targets,
 * `match`, `triggers` and turning `dry_run` off replace it; a skipped purge is proposed again; every other
 * edit is planned in place, and applying it, refreshing or destroying calls no operation at all. Below the
 * protocol, so that every rule has its row; hcl.test.ts runs the same rules through `terraform`.
 */
import type { PurgeOptions, ScanOptions } from "../../src/core/types";
import { createProvider } from "../../src/terraform/provider";
import { replacementPaths } from "../../src/terraform/purge";
import { UNKNOWN, type ObjectValue } from "../../src/terraform/protocol/values";

/** A purge as recorded in state after it ran: inputs as configured, outputs as the core answered. */
const RECORDED: ObjectValue = {
  id: "purge-1",
  instance_id: "inst-1",
  engine: null,
  node_ids: ["n1", "n2"],
  all_nodes: null,
  dry_run: null,
  max_sessions: 100,
  min_sessions: null,
  outside_window: null,
  verify: null,
  wait_timeout_seconds: null,
  triggers: { run: "1" },
  maintenance_window: null,
  match: null,
  status: "purged",
  sessions_before: 9,
  sessions_after: 0,
  matched_sessions: null,
  nodes: [{ node_id: "n1", before: 9, after: 0, matched: null }],
  selected_sessions: null,
  job_ids: ["job-1"],
  purged_at: "2026-12-05T18:00:00.000Z",
  reason: null,
  verification_error: null,
};

/** The configuration that recorded RECORDED, with some attributes changed. */
function edited(changes: ObjectValue): ObjectValue {
  const config: ObjectValue = { ...RECORDED, ...changes };
  for (const output of OUTPUTS) config[output] = null;
  return config;
}

describe("dcssessions_purge: what replaces it", () => {
  test.each([
    ["instance_id", "another instance", { instance_id: "inst-2" }],
    ["instance_id", "not known until apply", { instance_id: UNKNOWN }],
    ["engine", "geminidb", { engine: "geminidb" }],
    ["node_ids", "fewer nodes", { node_ids: ["n1"] }],
    ["node_ids", "another node added", { node_ids: ["n1", "n2", "n3"] }],
    ["all_nodes", "every node instead", { node_ids: null, all_nodes: true }],
    ["triggers", "a new value", { triggers: { run: "2" } }],
    ["triggers", "removed", { triggers: null }],
    ["match", "added", { match: { idle_over_seconds: 60 } }],
  ] as Array<[string, string, ObjectValue]>)("a change of %s (%s)", (name, _how, changes) => {
    expect(replacementPaths(RECORDED, edited(changes))).toEqual(
      name === "all_nodes" ? [["node_ids"], ["all_nodes"]] : [[name]],
    );
  });

  test("the same nodes in another order, or repeated, are the same purge (as in Pulumi's SessionPurge)", () => {
    expect(replacementPaths(RECORDED, edited({ node_ids: ["n2", "n1"] }))).toEqual([]);
    expect(replacementPaths(RECORDED, edited({ node_ids: ["n1", "n2", "n1"] }))).toEqual([]);
    expect(replacementPaths(RECORDED, edited({ node_ids: ["n2", UNKNOWN] }))).toEqual([["node_ids"]]);
  });

  test("an explicit default is the same purge as an absent one", () => {
    expect(replacementPaths(RECORDED, edited({ engine: "dcs", dry_run: false }))).toEqual([]);
    expect(replacementPaths({ ...RECORDED, engine: "dcs" }, edited({ engine: null }))).toEqual([]);
  });

  test("a dry run stays a dry run until dry_run is turned off; turning it on is recorded in place", () => {
    const dry = { ...RECORDED, dry_run: true, status: "dry-run", job_ids: [], purged_at: null };
    expect(replacementPaths(dry, edited({ dry_run: true }))).toEqual([]);
    expect(replacementPaths(dry, edited({ dry_run: true, max_sessions: 5 }))).toEqual([]);
    expect(replacementPaths(dry, edited({ dry_run: false }))).toEqual([["dry_run"]]);
    expect(replacementPaths(dry, edited({ dry_run: null }))).toEqual([["dry_run"]]);
    expect(replacementPaths(RECORDED, edited({ dry_run: true }))).toEqual([]);
  });

  test.each(["skipped-outside-window", "skipped-below-minimum"])(
    "a purge recorded as %s is proposed again with the same configuration",
    (status) => {
      const skipped = { ...RECORDED, status, purged_at: null, reason: "why" };
      expect(replacementPaths(skipped, edited({}))).toEqual([["status"]]);
    },
  );

  test("purged-unverified is not proposed again: its kill may have run", () => {
    const unverified = { ...RECORDED, status: "purged-unverified", sessions_after: null };
    expect(replacementPaths(unverified, edited({}))).toEqual([]);
  });
});

describe("dcssessions_purge: what calls nothing", () => {
  const calls: string[] = [];
  const provider = createProvider({
    operations: {
      scanSessions: (_: ScanOptions) => {
        calls.push("scan");
        return Promise.reject(new Error("no scan expected"));
      },
      purgeSessions: (_: PurgeOptions) => {
        calls.push("purge");
        return Promise.reject(new Error("no purge expected"));
      },
    },
    env: {},
  });
  const purge = provider.resources.dcssessions_purge!;
  const signal = new AbortController().signal;
  afterEach(() => {
    expect(calls).toEqual([]);
  });

  test.each([
    ["guards", { max_sessions: 500, min_sessions: 1 }],
    ["window", { maintenance_window: { days: null, start: "02:00", end: "04:00", time_zone: null } }],
    ["outside_window, verify, timeout", { outside_window: "skip", verify: false, wait_timeout_seconds: 9 }],
    ["dry_run turned on", { dry_run: true }],
  ] as Array<[string, ObjectValue]>)(
    "an edit of %s is planned in place, keeps every recorded output, and its apply records it",
    async (_label, changes) => {
      const config = edited(changes);
      const proposed = { ...config, ...pick(RECORDED, OUTPUTS) };
      const { planned, requiresReplace } = await purge.plan({
        prior: RECORDED,
        proposed,
        config,
      } as never);
      expect(requiresReplace ?? []).toEqual([]);
      expect(planned).toEqual(proposed);
      expect(pick(planned!, OUTPUTS)).toEqual(pick(RECORDED, OUTPUTS));
      const { state } = await purge.apply({ prior: RECORDED, planned, signal } as never);
      expect(state).toEqual(proposed);
    },
  );

  test("a refresh returns the state as recorded: sessions_after stays the count right after the purge", async () => {
    const { state } = await purge.read(RECORDED as never);
    expect(state).toEqual(RECORDED);
  });

  test("destroy plans null and applies null", async () => {
    expect((await purge.plan({ prior: RECORDED, proposed: null, config: null } as never)).planned).toBeNull();
    expect((await purge.apply({ prior: RECORDED, planned: null, signal } as never)).state).toBeNull();
  });
});

const OUTPUTS = [
  "id",
  "status",
  "sessions_before",
  "sessions_after",
  "matched_sessions",
  "nodes",
  "selected_sessions",
  "job_ids",
  "purged_at",
  "reason",
  "verification_error",
];

function pick(value: ObjectValue, names: string[]): ObjectValue {
  return Object.fromEntries(names.map((name) => [name, value[name] ?? null]));
}

describe("dcssessions_purge: a purge skipped outside its window", () => {
  test("is recorded with its status and reason, no purged_at, and proposed again at the next plan", async () => {
    const purges: PurgeOptions[] = [];
    const provider = createProvider({
      operations: {
        scanSessions: () => Promise.reject(new Error("no scan expected")),
        purgeSessions: (options: PurgeOptions) => {
          purges.push(options);
          return Promise.resolve({
            instanceId: "inst-1",
            engine: "dcs",
            status: "skipped-outside-window",
            sessionsBefore: null,
            sessionsAfter: null,
            nodes: [],
            jobIds: [],
            purgedAt: "2026-12-05T12:00:00.000Z",
            reason: 'outside the maintenance window "02:00-04:00 UTC": it is 12:00 UTC',
          });
        },
      },
      env: {},
    });
    const purge = provider.resources.dcssessions_purge!;
    const config = edited({
      maintenance_window: { days: null, start: "02:00", end: "04:00", time_zone: null },
      outside_window: "skip",
    });
    const { state } = await purge.apply({
      prior: null,
      planned: config,
      signal: new AbortController().signal,
    } as never);
    expect(purges).toHaveLength(1);
    expect(purges[0]).toMatchObject({ outsideWindow: "skip", maintenanceWindow: { start: "02:00" } });
    expect(state).toMatchObject({
      status: "skipped-outside-window",
      purged_at: null,
      sessions_after: null,
      reason: expect.stringContaining("outside the maintenance window"),
    });
    const next = await purge.plan({
      prior: state,
      proposed: { ...config, ...pick(state!, OUTPUTS) },
      config,
    } as never);
    expect(next.requiresReplace).toEqual([["status"]]);
  });
});
