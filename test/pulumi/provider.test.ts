/**
 * The provider's decisions in process, with the core operations replaced by recorders: check, diff,
 * precedence of the configuration, what each lifecycle method runs, and what reaches the outputs.
 */
import { checkInputs, diffInputs, UNKNOWN_VALUE } from "../../src/pulumi/inputs";
import {
  clientOptionsFor,
  dynamicProvider,
  scanOutputs,
  SessionProvider,
  type SessionOperations,
} from "../../src/pulumi/provider";
import type { PurgeOptions, PurgeReport, ScanOptions } from "../../src/core/types";
import { ApiError } from "../../src/api/errors";
import { SessionAccumulator, factsOfClientInfo } from "../../src/core/aggregate";
import { createSyntheticNodes } from "../../src/emulator/synthetic";
import { snapshot } from "../support/snapshot";

const report: PurgeReport = {
  instanceId: "inst-1",
  engine: "dcs",
  status: "purged",
  sessionsBefore: 3,
  sessionsAfter: 0,
  nodes: [{ nodeId: "n1", before: 3, after: 0 }],
  jobIds: ["job-1"],
  purgedAt: "2026-11-23T10:00:00.000Z",
  before: snapshot(),
};

/** Records every call; answers with canned results. */
function recorder(): SessionOperations & { scans: ScanOptions[]; purges: PurgeOptions[] } {
  const scans: ScanOptions[] = [];
  const purges: PurgeOptions[] = [];
  return {
    scans,
    purges,
    scanSessions: async (options) => {
      scans.push(options);
      return snapshot();
    },
    purgeSessions: async (options) => {
      purges.push(options);
      return report;
    },
  };
}

const config = (values: Record<string, string>) => ({
  config: { get: (key: string) => values[key], require: (key: string) => values[key]! },
});

describe("checkInputs", () => {
  test("accepts the issue's purge and names each bad property", () => {
    expect(
      checkInputs("SessionPurge", {
        __provider: "text",
        instanceId: "inst-1",
        allNodes: true,
        maxSessions: 5000,
        maintenanceWindow: { days: ["sat", "sun"], start: "02:00", end: "04:00", timeZone: "Europe/Paris" },
        triggers: ["r1"],
      }),
    ).toEqual([]);
    const failures = checkInputs("SessionScan", {
      instanceId: "inst-1",
      topN: 101,
      endpoint: "ftp://x",
      typo: 1,
      rescan: false,
      concurrency: 8,
    });
    // concurrency and rescan are how the provider runs (read sets rescan), not the user's inputs.
    expect(failures.map((f) => f.property).sort()).toEqual([
      "concurrency",
      "endpoint",
      "rescan",
      "topN",
      "typo",
    ]);
    expect(failures.find((f) => f.property === "typo")?.reason).toContain("allowed: instanceId");
  });

  test("region and endpoint follow the client's rules (the CDKTF constructs use the same)", () => {
    const bad = checkInputs("SessionScan", {
      instanceId: "i",
      region: "eu_west_101",
      endpoint: "http://dcs.example.com",
    });
    expect(bad.map((f) => f.property).sort()).toEqual(["endpoint", "region"]);
    expect(
      checkInputs("SessionScan", {
        instanceId: "i",
        region: "eu-west-101",
        endpoint: "http://127.0.0.1:8080",
      }),
    ).toEqual([]);
  });

  test("a purge names its nodes or asks for every node, not both", () => {
    expect(checkInputs("SessionPurge", { instanceId: "i" }).map((f) => f.property)).toEqual(["nodeIds"]);
    expect(checkInputs("SessionPurge", { instanceId: "i", allNodes: true, nodeIds: ["n1"] })).toHaveLength(1);
  });

  test("values not known during a preview are not judged", () => {
    expect(
      checkInputs("SessionPurge", { instanceId: UNKNOWN_VALUE, allNodes: true, maxSessions: UNKNOWN_VALUE }),
    ).toEqual([]);
    expect(checkInputs("SessionScan", { instanceId: "i", nodeIds: ["n1", UNKNOWN_VALUE] })).toEqual([]);
  });

  test("a purge takes no topN: the list of selected sessions it sizes stays in the CLI's report", () => {
    expect(checkInputs("SessionPurge", { instanceId: "i", allNodes: true, topN: 5 })).toEqual([
      {
        property: "topN",
        reason: expect.stringMatching(/^topN: is not an input of SessionPurge; allowed: /),
      },
    ]);
  });

  test("credentials are refused as inputs without echoing them", () => {
    const failures = checkInputs("SessionScan", {
      instanceId: "i",
      accessKey: "AK123",
      secretKey: "SK-value-9",
    });
    expect(failures.map((f) => f.property)).toEqual(["accessKey", "secretKey"]);
    expect(JSON.stringify(failures)).not.toContain("SK-value-9");
    expect(JSON.stringify(failures)).not.toContain("AK123");
  });
});

describe("diffInputs", () => {
  const olds = {
    __provider: "v1",
    instanceId: "i",
    triggers: ["a"],
    maintenanceWindow: { start: "02:00", end: "04:00" },
    totalSessions: 5,
  };

  test("a new __provider (an upgrade of the package) or an output is not a change; key order is not either", () => {
    const news = {
      __provider: "v2",
      instanceId: "i",
      triggers: ["a"],
      maintenanceWindow: { end: "04:00", start: "02:00" },
    };
    expect(diffInputs("SessionPurge", olds, news)).toMatchObject({ changes: false, replaces: [] });
  });

  test("a trigger or an input changes; instanceId and engine replace", () => {
    expect(diffInputs("SessionPurge", olds, { ...olds, triggers: ["b"] })).toMatchObject({
      changes: true,
      changed: ["triggers"],
      replaces: [],
    });
    expect(diffInputs("SessionPurge", olds, { ...olds, dryRun: true }).changed).toEqual(["dryRun"]);
    expect(diffInputs("SessionPurge", olds, { ...olds, instanceId: "j" })).toMatchObject({
      replaces: ["instanceId"],
      deleteBeforeReplace: true,
    });
    expect(diffInputs("SessionScan", olds, { ...olds, engine: "geminidb" }).replaces).toEqual(["engine"]);
  });

  test("alwaysRun: true is always a change", () => {
    const always = { ...olds, alwaysRun: true };
    expect(diffInputs("SessionScan", always, always)).toMatchObject({
      changes: true,
      changed: ["alwaysRun"],
    });
  });
});

describe("diffInputs on normalized inputs", () => {
  const purge = { instanceId: "i", allNodes: true, maxSessions: 100 };

  test.each<[string, Record<string, unknown>]>([
    ["verify: true", { verify: true }],
    ["waitTimeoutSeconds: 300", { waitTimeoutSeconds: 300 }],
    ['engine: "dcs"', { engine: "dcs" }],
    ["dryRun: false", { dryRun: false }],
    ['outsideWindow: "fail"', { outsideWindow: "fail" }],
    ["minSessions: 0", { minSessions: 0 }],
    ["alwaysRun: false", { alwaysRun: false }],
    ["triggers: []", { triggers: [] }],
  ])("an explicit default (%s) is no change against an absent input", (_what, explicit) => {
    expect(diffInputs("SessionPurge", purge, { ...purge, ...explicit })).toMatchObject({
      changes: false,
      changed: [],
    });
    expect(diffInputs("SessionPurge", { ...purge, ...explicit }, purge).changes).toBe(false);
  });

  test("scan defaults too: cleanCache, topN, engine", () => {
    const scan = { instanceId: "i" };
    const explicit = { ...scan, cleanCache: true, topN: 10, engine: "dcs", waitTimeoutSeconds: 300 };
    expect(diffInputs("SessionScan", scan, explicit).changes).toBe(false);
  });

  test("a window's UTC time zone and every day are defaults; days and node ids compare as sets", () => {
    const w = { maintenanceWindow: { start: "02:00", end: "04:00" } };
    const explicitWindow = {
      maintenanceWindow: {
        start: "02:00",
        end: "04:00",
        timeZone: "UTC",
        days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
      },
    };
    expect(diffInputs("SessionPurge", { ...purge, ...w }, { ...purge, ...explicitWindow }).changes).toBe(
      false,
    );
    const nodes = { instanceId: "i", nodeIds: ["a", "b"] };
    expect(diffInputs("SessionPurge", nodes, { instanceId: "i", nodeIds: ["b", "a", "a"] }).changes).toBe(
      false,
    );
  });

  test.each<[string, Record<string, unknown>]>([
    ["maxSessions", { maxSessions: 200 }],
    ["minSessions", { minSessions: 5 }],
    ["maintenanceWindow", { maintenanceWindow: { start: "01:00", end: "02:00" } }],
    ["outsideWindow", { outsideWindow: "skip" }],
    ["verify", { verify: false }],
    ["waitTimeoutSeconds", { waitTimeoutSeconds: 60 }],
    ["dryRun", { dryRun: true }],
    ["endpoint", { endpoint: "http://127.0.0.1:9" }],
  ])("a guard-only change (%s) is a change that re-runs nothing", (key, change) => {
    const d = diffInputs("SessionPurge", purge, { ...purge, ...change });
    expect(d).toMatchObject({ changes: true, changed: [key], replaces: [], reruns: [] });
  });

  test.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ["nodeIds", { instanceId: "i", nodeIds: ["a"] }, { instanceId: "i", nodeIds: ["a", "b"] }],
    ["allNodes", { instanceId: "i", nodeIds: ["a"] }, { instanceId: "i", allNodes: true }],
    ["triggers", purge, { ...purge, triggers: ["r2"] }],
    ["alwaysRun", purge, { ...purge, alwaysRun: true }],
    ["dryRun", { ...purge, dryRun: true }, purge],
  ])("a change of %s re-runs the purge", (key, olds, news) => {
    expect(diffInputs("SessionPurge", olds, news).reruns).toContain(key);
  });

  test("a new match re-runs the purge; the order, repeats and command case within a field do not", () => {
    const selective = { ...purge, match: { clients: ["10.0.0.0/8", "::1"], dbs: [2, 0], cmds: ["GET"] } };
    const same = {
      ...purge,
      match: { cmds: ["get", "get"], dbs: [0, 2, 2], clients: ["::1", "10.0.0.0/8"] },
    };
    expect(diffInputs("SessionPurge", selective, same)).toMatchObject({ changes: false, changed: [] });
    const narrower = { ...purge, match: { ...selective.match, idleOverSeconds: 3600 } };
    expect(diffInputs("SessionPurge", selective, narrower)).toMatchObject({
      changes: true,
      changed: ["match"],
      replaces: [],
      reruns: ["match"],
    });
    // From a purge of whole nodes to a selective one, and back.
    expect(diffInputs("SessionPurge", purge, selective).reruns).toEqual(["match"]);
    expect(diffInputs("SessionPurge", selective, purge).reruns).toEqual(["match"]);
  });

  test("instanceId and engine replace; a scan re-reads on any change but its timeout", () => {
    expect(diffInputs("SessionPurge", purge, { ...purge, engine: "geminidb" }).replaces).toEqual(["engine"]);
    expect(diffInputs("SessionScan", { instanceId: "i" }, { instanceId: "i", topN: 3 }).reruns).toEqual([
      "topN",
    ]);
    expect(
      diffInputs("SessionScan", { instanceId: "i" }, { instanceId: "i", waitTimeoutSeconds: 9 }).reruns,
    ).toEqual([]);
  });
});

describe("clientOptionsFor", () => {
  test("resource input > stack config > environment (left to the client)", () => {
    const env = { HW_REGION_NAME: "env-region" };
    expect(clientOptionsFor({ region: "input-region" }, { region: "config-region" }, env).region).toBe(
      "input-region",
    );
    expect(clientOptionsFor({}, { region: "config-region", projectId: "p" }, env)).toMatchObject({
      region: "config-region",
      projectId: "p",
      env,
    });
    expect(clientOptionsFor({}, {}, env)).toMatchObject({ region: undefined, credentials: undefined, env });
  });

  test("config credentials become an AK/SK pair; half a pair is an error naming the missing key", () => {
    expect(
      clientOptionsFor({}, { accessKey: "AK", secretKey: "SK", securityToken: "T" }, {}).credentials,
    ).toEqual({
      kind: "aksk",
      accessKey: "AK",
      secretKey: "SK",
      securityToken: "T",
    });
    expect(() => clientOptionsFor({}, { accessKey: "AK" }, {})).toThrow("huaweicloud:secretKey");
  });
});

describe("SessionProvider", () => {
  test("create runs the operation with the configured credentials; outputs echo the inputs, never the credentials", async () => {
    const ops = recorder();
    const provider = new SessionProvider("SessionScan", ops, () => ({}));
    await provider.configure(
      config({ "huaweicloud:accessKey": "AK", "huaweicloud:secretKey": "SK-secret-1" }),
    );
    const created = await provider.create({
      __provider: "text",
      instanceId: "inst-1",
      topN: 2,
      triggers: [1],
    });
    expect(created.id).toMatch(/^scan-/);
    expect(ops.scans[0]).toMatchObject({ instanceId: "inst-1", topN: 2 });
    expect(ops.scans[0]!.clientOptions?.credentials).toMatchObject({
      accessKey: "AK",
      secretKey: "SK-secret-1",
    });
    expect(created.outs).toMatchObject({ instanceId: "inst-1", topN: 2, triggers: [1], totalSessions: 3 });
    expect(created.outs).not.toHaveProperty("__provider");
    expect(JSON.stringify(created.outs)).not.toContain("SK-secret-1");
  });

  test("the environment is read when an operation runs, not when the provider is made", async () => {
    const ops = recorder();
    let env: Record<string, string> = { HW_PROJECT_ID: "first" };
    const provider = new SessionProvider("SessionScan", ops, () => env);
    env = { HW_PROJECT_ID: "second" };
    await provider.create({ instanceId: "inst-1" });
    expect(ops.scans[0]!.clientOptions?.env).toEqual({ HW_PROJECT_ID: "second" });
  });

  test("a purge's outputs are the report's figures, without its snapshots", async () => {
    const ops = recorder();
    const provider = new SessionProvider("SessionPurge", ops, () => ({}));
    const created = await provider.create({ instanceId: "inst-1", allNodes: true, maxSessions: 10 });
    expect(ops.purges[0]).toMatchObject({ instanceId: "inst-1", allNodes: true, maxSessions: 10 });
    expect(created.outs).toEqual({
      instanceId: "inst-1",
      allNodes: true,
      maxSessions: 10,
      status: "purged",
      sessionsBefore: 3,
      sessionsAfter: 0,
      nodes: [{ nodeId: "n1", before: 3, after: 0 }],
      jobIds: ["job-1"],
      purgedAt: "2026-11-23T10:00:00.000Z",
    });
  });

  test("a selective purge passes its match to the core and records matchedSessions and selectedSessions", async () => {
    const ops = recorder();
    ops.purgeSessions = async (options: PurgeOptions): Promise<PurgeReport> => {
      ops.purges.push(options);
      return {
        instanceId: options.instanceId,
        engine: "dcs",
        status: "dry-run",
        sessionsBefore: 9,
        sessionsAfter: null,
        matchedSessions: 2,
        nodes: [{ nodeId: "n1", before: 9, matched: 2, after: null }],
        selectedSessions: [
          { nodeId: "n1", peer: "10.0.0.1:1", user: "u", name: "a", idle: 5, db: "0", cmd: "get" },
        ],
        jobIds: [],
        purgedAt: "2026-11-23T10:00:00.000Z",
      };
    };
    const provider = new SessionProvider("SessionPurge", ops, () => ({}));
    const match = { users: ["reporting"], idleOverSeconds: 3600 };
    const created = await provider.create({ instanceId: "inst-1", allNodes: true, dryRun: true, match });
    expect(ops.purges[0]).toMatchObject({ instanceId: "inst-1", allNodes: true, match });
    expect(created.outs).toMatchObject({
      match,
      status: "dry-run",
      matchedSessions: 2,
      nodes: [{ nodeId: "n1", before: 9, matched: 2, after: null }],
    });
    // A dry run shows what it would kill: the first matched sessions, as the CLI's report lists them.
    expect(created.outs.selectedSessions).toEqual([
      { nodeId: "n1", peer: "10.0.0.1:1", user: "u", name: "a", idle: 5, db: "0", cmd: "get" },
    ]);
  });

  test("update with a guard-only change records it with the previous results, without running anything", async () => {
    const ops = recorder();
    const provider = new SessionProvider("SessionPurge", ops, () => ({}));
    const olds = {
      instanceId: "inst-1",
      allNodes: true,
      maxSessions: 10,
      status: "purged",
      sessionsBefore: 3,
      sessionsAfter: 0,
      nodes: [{ nodeId: "n1", before: 3, after: 0 }],
      jobIds: ["job-1"],
      purgedAt: "2026-11-23T10:00:00.000Z",
    };
    const news = { __provider: "text", instanceId: "inst-1", allNodes: true, maxSessions: 50, verify: true };
    const updated = await provider.update("purge-1", olds, news);
    expect(ops.purges).toHaveLength(0);
    expect(updated.outs).toEqual({ ...olds, maxSessions: 50, verify: true });
    await provider.update("purge-1", olds, { ...news, triggers: ["again"] });
    expect(ops.purges).toHaveLength(1);
  });

  test("a purge-unverified report is returned as outputs with the error, and warned about; never thrown", async () => {
    const warnings: string[] = [];
    const ops: SessionOperations = {
      scanSessions: async () => snapshot(),
      purgeSessions: async () => ({
        ...report,
        status: "purged-unverified",
        sessionsAfter: null,
        verificationError: "waiting for its job failed: SK-config-2 said no",
      }),
    };
    const provider = new SessionProvider(
      "SessionPurge",
      ops,
      () => ({}),
      (m) => warnings.push(m),
    );
    await provider.configure(
      config({ "huaweicloud:accessKey": "AK", "huaweicloud:secretKey": "SK-config-2" }),
    );
    const created = await provider.create({ instanceId: "inst-1", allNodes: true });
    expect(created.outs).toMatchObject({
      status: "purged-unverified",
      jobIds: ["job-1"],
      verificationError: "waiting for its job failed: *** said no",
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("purged-unverified");
    expect(warnings[0]).not.toContain("SK-config-2");
  });

  test("a scan that skipped nodes listed without a node_id warns, naming them", async () => {
    const warnings: string[] = [];
    const skippedNodes = [{ name: "proxy-9", role: "redis-proxy", reason: "listed without a node_id" }];
    const ops: SessionOperations = {
      scanSessions: async () => snapshot({ skippedNodes }),
      purgeSessions: async () => report,
    };
    const provider = new SessionProvider(
      "SessionScan",
      ops,
      () => ({}),
      (m) => warnings.push(m),
    );
    await provider.create({ instanceId: "inst-1" });
    expect(warnings).toEqual([expect.stringMatching(/inst-1: 1 node\(s\) .*not scanned \(proxy-9\)/)]);
    const quiet = new SessionProvider(
      "SessionScan",
      { ...ops, scanSessions: async () => snapshot() },
      () => ({}),
      (m) => warnings.push(m),
    );
    await quiet.create({ instanceId: "inst-1" });
    expect(warnings).toHaveLength(1);
  });

  test("read: a scan re-lists without scanning; a purge comes back unchanged and runs nothing", async () => {
    const ops = recorder();
    const scan = new SessionProvider("SessionScan", ops, () => ({}));
    const read = await scan.read("scan-1", { instanceId: "inst-1", totalSessions: 1 });
    expect(ops.scans[0]).toMatchObject({ instanceId: "inst-1", rescan: false });
    expect(read).toMatchObject({ id: "scan-1", props: { instanceId: "inst-1", totalSessions: 3 } });

    const purge = new SessionProvider("SessionPurge", ops, () => ({}));
    const props = { instanceId: "inst-1", status: "purged", sessionsBefore: 3 };
    expect(await purge.read("purge-1", props)).toEqual({ id: "purge-1", props });
    expect(ops.purges).toHaveLength(0);
  });

  test("refresh of a scan whose instance is gone (404) keeps the last counts and warns; other errors fail", async () => {
    const warnings: string[] = [];
    const gone = new ApiError({
      operation: "listNodes",
      method: "GET",
      path: "/v2/p/instances/i/logical-nodes",
      status: 404,
      errorCode: "DCS.4004",
    });
    let failure: Error = gone;
    const ops: SessionOperations = {
      scanSessions: async () => {
        throw failure;
      },
      purgeSessions: async () => report,
    };
    const provider = new SessionProvider(
      "SessionScan",
      ops,
      () => ({}),
      (m) => warnings.push(m),
    );
    const props = { instanceId: "inst-1", totalSessions: 7 };
    expect(await provider.read("scan-1", props)).toEqual({ id: "scan-1", props });
    expect(warnings[0]).toMatch(/kept the last counts: .*HTTP 404/);
    failure = new ApiError({ operation: "listNodes", method: "GET", path: "/x", status: 500 });
    await expect(provider.read("scan-1", props)).rejects.toThrow(/HTTP 500/);
  });

  test("delete runs nothing", async () => {
    const ops = recorder();
    await new SessionProvider("SessionPurge", ops, () => ({})).delete();
    await new SessionProvider("SessionScan", ops, () => ({})).delete();
    expect(ops.scans).toHaveLength(0);
    expect(ops.purges).toHaveLength(0);
  });

  test("an operation's error leaves with every known secret masked", async () => {
    const ops: SessionOperations = {
      scanSessions: async () => {
        throw new Error("remote said: SK-config-2 and env-token-3 are wrong");
      },
      purgeSessions: async () => report,
    };
    const provider = new SessionProvider("SessionScan", ops, () => ({ HW_SECURITY_TOKEN: "env-token-3" }));
    await provider.configure(
      config({ "huaweicloud:accessKey": "AK", "huaweicloud:secretKey": "SK-config-2" }),
    );
    await expect(provider.create({ instanceId: "inst-1" })).rejects.toThrow(
      "remote said: *** and *** are wrong",
    );
  });
});

describe("scanOutputs and dynamicProvider", () => {
  test("topIdle is capped at 100 whatever the core returns", () => {
    const many = Array.from({ length: 150 }, (_, i) => ({
      nodeId: "n1",
      addr: `10.0.0.1:${i}`,
      name: "",
      user: "default",
      db: "0",
      cmd: "get",
      idleSeconds: i,
      ageSeconds: i,
    }));
    expect((scanOutputs(snapshot({ topIdle: many })).topIdle as unknown[]).length).toBe(100);
  });

  test("a node keeps its id, sessions and list time only; 100 nodes stay within 4 KB + 100 B a node", async () => {
    // What a 100-node scan of the synthetic emulator stores: its sessions through the real accumulator,
    // node ids of 36 characters as the service's, ISO list times with milliseconds.
    const synthetic = createSyntheticNodes({ nodes: 100, sessionsPerNode: 200, seed: 7 }, () => Date.now());
    const acc = new SessionAccumulator({ topN: 10 });
    const nodes = [];
    for (const [i, node] of synthetic.entries()) {
      const nodeId = `8436a91546294036b75931e8798822${String(i).padStart(2, "0")}in06`;
      const view = await node.snapshot();
      for (let k = 0; k < view.count; k++) acc.add(nodeId, factsOfClientInfo(view.at(k)));
      nodes.push({ nodeId, role: "redis-proxy", sessions: view.count, dataTime: "2026-12-05T18:11:00.123Z" });
    }
    const { perNode: _perNode, approximateMaps: _approximate, ...figures } = acc.result();
    const outputs = scanOutputs(snapshot({ ...figures, nodes }));
    expect((outputs.nodes as object[])[0]).toEqual({
      nodeId: nodes[0]!.nodeId,
      sessions: 200,
      dataTime: "2026-12-05T18:11:00.123Z",
    });
    expect(Buffer.byteLength(JSON.stringify(outputs))).toBeLessThanOrEqual(4096 + 100 * 100);
  });

  test("one provider per kind per process; an unknown kind is an error", () => {
    expect(dynamicProvider("SessionScan")).toBe(dynamicProvider("SessionScan"));
    expect(dynamicProvider("SessionPurge").kind).toBe("SessionPurge");
    expect(() => dynamicProvider("Other" as never)).toThrow("no dynamic provider for Other");
  });
});
