/**
 * Ordering and validation of scan and purge, checked on an in-memory fake client: which calls happen, in
 * which order, and which never do. The behaviour against a real server is in scan-purge.test.ts.
 */
import {
  ApiError,
  ConnectionError,
  GuardRefusedError,
  JobFailedError,
  TimeoutError,
  ValidationError,
} from "../../src/api/errors";
import { checkKnownIds, sessionNodesOf, sessionNodesWithIds } from "../../src/core/nodes";
import { purgeSessions } from "../../src/core/purge";
import { forEachLimited, scanSessions } from "../../src/core/scan";
import type { ProgressEvent, PurgeOptions, PurgeReport, ScanOptions } from "../../src/core/types";
import { fakeClient, proxyNodes, sessions, type FakeClient } from "./fake-client";

function withSessions(): FakeClient {
  return fakeClient({
    nodes: proxyNodes,
    sessions: {
      "proxy-1": sessions(3),
      "proxy-2": sessions(2, { addr: "10.0.0.2:1" }),
      "data-1": [],
      "data-2": [],
    },
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

// Saturday 2026-11-21 12:00 UTC; the window below is mon-fri.
const saturdayNoon = (): Date => new Date("2026-11-21T12:00:00Z");
const weekdayWindow = { days: ["mon", "tue", "wed", "thu", "fri"] as const, start: "02:00", end: "04:00" };

describe("node resolution", () => {
  it("every node means every proxy when there are proxies, else every data node (masters and replicas)", () => {
    expect(sessionNodesOf(proxyNodes).map((n) => n.nodeId)).toEqual(["proxy-1", "proxy-2"]);
    expect(sessionNodesOf(proxyNodes.slice(2)).map((n) => n.nodeId)).toEqual(["data-1", "data-2"]);
    expect(sessionNodesOf([{ nodeId: "x" }]).map((n) => n.nodeId)).toEqual(["x"]);
  });

  it("proxies listed without a node_id still make it a proxy instance: its data nodes are never taken instead", () => {
    const dataOnly = proxyNodes.filter((n) => !n.nodeId.startsWith("proxy"));
    const proxiesWithoutId = proxyNodes
      .filter((n) => n.nodeId.startsWith("proxy"))
      .map(({ nodeId: _dropped, ...rest }) => rest);
    expect(proxiesWithoutId.length).toBeGreaterThan(0);
    expect(sessionNodesWithIds(dataOnly, proxiesWithoutId)).toEqual([]);
    // One proxy with an id and one without: the named proxy only.
    expect(
      sessionNodesWithIds(proxyNodes.slice(1), proxiesWithoutId.slice(0, 1)).map((n) => n.nodeId),
    ).toEqual(["proxy-2"]);
    // Without proxies anywhere, the data nodes as before.
    expect(sessionNodesWithIds(dataOnly, []).map((n) => n.nodeId)).toEqual(["data-1", "data-2"]);
  });

  it("names the unknown id by position and lists the known ones", () => {
    const error = (() => {
      try {
        checkKnownIds(["proxy-1", "nope"], proxyNodes);
      } catch (e) {
        return e as ValidationError;
      }
      throw new Error("expected a ValidationError");
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.field).toBe("nodeIds[1]");
    expect(error.message).toContain('"nope" is not a node');
    expect(error.allowed).toBe("one of: proxy-1, proxy-2, data-1, data-2");
  });

  it("uses the given ids unchecked when listing nodes is refused with 403", async () => {
    const client = withSessions();
    client.state.failOnce = {
      listNodes: new ApiError({
        operation: "listNodes",
        method: "GET",
        path: "/v2/p/instances/i/logical-nodes",
        status: 403,
      }),
    };
    const messages: string[] = [];
    const snap = await scanSessions({
      instanceId: "i",
      nodeIds: ["proxy-2"],
      client,
      onProgress: (e) => e.kind === "message" && messages.push(e.message),
    });
    expect(snap.totalSessions).toBe(2);
    expect(messages[0]).toMatch(/403/);
  });

  it("does not swallow other listing failures", async () => {
    const client = withSessions();
    client.state.failOnce = {
      listNodes: new ApiError({
        operation: "listNodes",
        method: "GET",
        path: "/x",
        status: 404,
        errorCode: "DCS.4133",
      }),
    };
    expect(await rejection(scanSessions({ instanceId: "i", nodeIds: ["proxy-2"], client }))).toBeInstanceOf(
      ApiError,
    );
  });
});

describe("scanSessions on the fake", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["onProgress", { onProgress: 1 }, "onProgress"],
    ["now", { now: () => 0 }, "now"],
    ["signal", { signal: "stop" }, "signal"],
    ["confirm (not an option of a scan)", { confirm: async () => true }, "confirm"],
    ["a lone surrogate in addr", { addr: "10.0.0.1\uD800" }, "addr"],
    ["a control character in addr", { addr: "10.0.0.1\n" }, "addr"],
  ])("rejects a bad %s before any call", async (_what, over, field) => {
    const client = withSessions();
    const error = await rejection(scanSessions({ instanceId: "i", client, ...over } as ScanOptions));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect(client.calls).toEqual([]);
  });

  it("lists nodes, then scan → wait (with the list-time fallback) → list for each node", async () => {
    const client = withSessions();
    const snap = await scanSessions({ instanceId: "i", client, concurrency: 1 });
    expect(client.calls).toEqual([
      "listNodes",
      "scanClients proxy-1 cleanCache=true",
      "waitForJob job-1 fallback",
      "listAllClients proxy-1",
      "scanClients proxy-2 cleanCache=true",
      "waitForJob job-2 fallback",
      "listAllClients proxy-2",
    ]);
    expect(snap.totalSessions).toBe(5);
    expect(snap.nodes).toEqual([
      { nodeId: "proxy-1", role: "redis-proxy", sessions: 3, dataTime: "2026-11-23T00:00:00Z" },
      { nodeId: "proxy-2", role: "redis-proxy", sessions: 2, dataTime: "2026-11-23T00:00:00Z" },
    ]);
    expect(snap.byClientIp).toEqual({ "10.0.0.1": 3, "10.0.0.2": 2 });
    expect(snap.approximateMaps).toBeUndefined();
  });

  it("deduplicates node ids and passes cleanCache: false through", async () => {
    const client = withSessions();
    const snap = await scanSessions({
      instanceId: "i",
      client,
      nodeIds: ["proxy-2", "proxy-2"],
      cleanCache: false,
    });
    expect(snap.nodes.map((n) => n.nodeId)).toEqual(["proxy-2"]);
    expect(client.calls).toContain("scanClients proxy-2 cleanCache=false");
  });

  it("GeminiDB: one list call for the instance, or one per given node", async () => {
    const all = withSessions();
    const snap = await scanSessions({ instanceId: "i", engine: "geminidb", client: all });
    expect(all.calls).toEqual(["geminidb.listSessions all"]);
    expect(snap.totalSessions).toBe(5);
    const some = withSessions();
    const one = await scanSessions({
      instanceId: "i",
      engine: "geminidb",
      client: some,
      nodeIds: ["proxy-2"],
    });
    expect(some.calls).toEqual(["geminidb.listSessions proxy-2"]);
    expect(one.nodes).toEqual([{ nodeId: "proxy-2", sessions: 2 }]);
  });

  it("stops after a failing node and still closes nothing it did not open", async () => {
    const client = withSessions();
    client.state.failOnce = { scanClients: new Error("boom") };
    expect((await rejection(scanSessions({ instanceId: "i", client, concurrency: 1 }))).message).toBe("boom");
    expect(client.calls).not.toContain("close"); // a given client belongs to the caller
    expect(client.calls.filter((c) => c.startsWith("scanClients"))).toHaveLength(1);
  });

  it.each<[string, Partial<ScanOptions>, string]>([
    ["a bad instance id", { instanceId: "../x" }, "instanceId"],
    ["a bad node id", { nodeIds: ["ok", "a b"] }, "nodeIds[1]"],
    ["an empty node list", { nodeIds: [] }, "nodeIds"],
    ["topN over 100", { topN: 101 }, "topN"],
    ["a fractional topN", { topN: 1.5 }, "topN"],
    ["an unknown engine", { engine: "redis" as never }, "engine"],
    ["zero concurrency", { concurrency: 0 }, "concurrency"],
    ["an unknown option", { cleancache: true } as never, "cleancache"],
  ])("rejects %s before any call, naming the field", async (_what, over, field) => {
    const client = withSessions();
    const error = await rejection(scanSessions({ instanceId: "i", client, ...over }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect(client.calls).toEqual([]);
  });
});

describe("purgeSessions on the fake", () => {
  const purge = (client: FakeClient, over: Partial<PurgeOptions> = {}): Promise<unknown> =>
    purgeSessions({ instanceId: "i", allNodes: true, client, concurrency: 1, ...over });

  it.each<[string, Partial<PurgeOptions>, string, RegExp]>([
    ["both allNodes and nodeIds", { nodeIds: ["proxy-1"] }, "nodeIds", /not both/],
    ["neither allNodes nor nodeIds", { allNodes: undefined }, "nodeIds", /required unless allNodes/],
    ["allNodes false without nodeIds", { allNodes: false }, "nodeIds", /required unless allNodes/],
    ["a negative maxSessions", { maxSessions: -1 }, "maxSessions", />= 0/],
    ["a fractional minSessions", { minSessions: 1.5 }, "minSessions", /non-negative integer/],
    [
      "minSessions above maxSessions",
      { minSessions: 10, maxSessions: 5 },
      "minSessions",
      /maxSessions \(5\)/,
    ],
    ["an unknown outsideWindow", { outsideWindow: "ignore" as never }, "outsideWindow", /fail, skip/],
    [
      "a bad window start",
      { maintenanceWindow: { start: "2am", end: "04:00" } },
      "maintenanceWindow.start",
      /HH:MM/,
    ],
    ["a zero wait", { waitTimeoutSeconds: 0 }, "waitTimeoutSeconds", /> 0|positive|>0/],
  ])("rejects %s before any call, naming the field", async (_what, over, field, message) => {
    const client = withSessions();
    const error = await rejection(purge(client, over));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect(error.message).toMatch(message);
    expect(client.calls).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ["a confirm that is not a function", { confirm: 1 }, "confirm", /must be a function/],
    ["an onProgress that is not a function", { onProgress: "log" }, "onProgress", /must be a function/],
    ["a now that is not a function", { now: 5 }, "now", /must be a function/],
    ["a now that returns no Date", { now: () => "2026-01-01" }, "now", /must return a valid Date/],
    ["a now that returns an invalid Date", { now: () => new Date("x") }, "now", /valid Date/],
    ["a signal that is not an AbortSignal", { signal: { aborted: false } }, "signal", /AbortSignal/],
    ["clientOptions that are not an object", { clientOptions: "eu" }, "clientOptions", /object/],
  ])("rejects %s before any call, naming it", async (_what, over, field, message) => {
    const client = withSessions();
    const error = await rejection(purge(client, over as Partial<PurgeOptions>));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect(error.message).toMatch(message);
    expect(client.calls).toEqual([]);
  });

  it.each<[string, unknown]>([
    ["an empty object", {}],
    ["a string", "client"],
    ["a client without geminidb", { dcs: { killAllClients: () => 0, waitForJob: () => 0 } }],
  ])("rejects a client that is %s before any call", async (_what, bad) => {
    const error = await rejection(purgeSessions({ instanceId: "i", allNodes: true, client: bad as never }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("client");
  });

  it("rejects options that are not an object", async () => {
    const error = await rejection(purgeSessions(null as never));
    expect((error as ValidationError).field).toBe("options");
  });

  it("outside the window with fail: refuses without any call, naming the window and the local time", async () => {
    const client = withSessions();
    const error = await rejection(
      purge(client, {
        maintenanceWindow: { ...weekdayWindow, days: [...weekdayWindow.days], timeZone: "Europe/Paris" },
        now: saturdayNoon,
      }),
    );
    expect(error).toBeInstanceOf(GuardRefusedError);
    expect((error as GuardRefusedError).guard).toBe("maintenanceWindow");
    expect(error.message).toBe(
      'purge refused: outside the maintenance window "mon-fri 02:00-04:00 Europe/Paris": it is sat 2026-11-21 13:00 ' +
        "Europe/Paris; it next opens mon 2026-11-23 02:00",
    );
    expect(client.calls).toEqual([]);
  });

  it("outside the window with skip: reports the skip without creating a client", async () => {
    // No client given: creating one would need credentials (and the stub client throws); it is never made.
    const report = await purgeSessions({
      instanceId: "i",
      allNodes: true,
      maintenanceWindow: { ...weekdayWindow, days: [...weekdayWindow.days] },
      outsideWindow: "skip",
      now: saturdayNoon,
      clientOptions: { env: {} },
    });
    expect(report).toMatchObject({
      status: "skipped-outside-window",
      sessionsBefore: null,
      sessionsAfter: null,
      nodes: [],
      jobIds: [],
      purgedAt: "2026-11-21T12:00:00.000Z",
    });
    expect((report as { reason: string }).reason).toMatch(/sat 2026-11-21 12:00 UTC/);
  });

  it("inside the window: snapshot, kill once for every node, wait, snapshot again", async () => {
    const client = withSessions();
    const report = await purgeSessions({
      instanceId: "i",
      allNodes: true,
      client,
      concurrency: 1,
      maintenanceWindow: { days: ["sat"], start: "11:00", end: "13:00" },
      now: saturdayNoon,
    });
    expect(client.calls).toEqual([
      "listNodes",
      "scanClients proxy-1 cleanCache=true",
      "waitForJob job-1 fallback",
      "listAllClients proxy-1",
      "scanClients proxy-2 cleanCache=true",
      "waitForJob job-2 fallback",
      "listAllClients proxy-2",
      "killAllClients all",
      "waitForJob job-3",
      "scanClients proxy-1 cleanCache=true",
      "waitForJob job-4 fallback",
      "listAllClients proxy-1",
      "scanClients proxy-2 cleanCache=true",
      "waitForJob job-5 fallback",
      "listAllClients proxy-2",
    ]);
    expect(report).toMatchObject({
      status: "purged",
      sessionsBefore: 5,
      sessionsAfter: 0,
      jobIds: ["job-3"],
      nodes: [
        { nodeId: "proxy-1", before: 3, after: 0 },
        { nodeId: "proxy-2", before: 2, after: 0 },
      ],
    });
  });

  it.each<["fail" | "skip"]>([["fail"], ["skip"]])(
    "a window that closes during the before snapshot stops the kill (outsideWindow %s)",
    async (outsideWindow) => {
      const client = withSessions();
      // 12:59:59 at the first check; every later reading of the clock is 13:00:01, past the window's end.
      let readings = 0;
      const now = (): Date => new Date(readings++ === 0 ? "2026-11-21T12:59:59Z" : "2026-11-21T13:00:01Z");
      const run = purgeSessions({
        instanceId: "i",
        allNodes: true,
        client,
        concurrency: 1,
        maintenanceWindow: { days: ["sat"], start: "11:00", end: "13:00" },
        outsideWindow,
        now,
      });
      if (outsideWindow === "fail") {
        const error = await rejection(run);
        expect(error).toBeInstanceOf(GuardRefusedError);
        expect(error.message).toMatch(/^purge refused before the kill: outside the maintenance window/);
      } else {
        expect(await run).toMatchObject({ status: "skipped-outside-window", sessionsBefore: 5, jobIds: [] });
      }
      expect(client.calls.filter((c) => c.startsWith("kill"))).toEqual([]);
      expect(client.calls).toContain("listAllClients proxy-2");
    },
  );

  it("with nodeIds: one kill per node, in order; verify: false skips the after snapshot", async () => {
    const client = withSessions();
    const report = (await purge(client, {
      allNodes: undefined,
      nodeIds: ["proxy-2", "proxy-1"],
      verify: false,
    })) as {
      sessionsAfter: number | null;
      nodes: unknown[];
    };
    expect(client.calls.filter((c) => c.startsWith("kill"))).toEqual([
      "killAllClients proxy-2",
      "killAllClients proxy-1",
    ]);
    expect(client.calls.filter((c) => c.startsWith("scanClients"))).toHaveLength(2);
    expect(report.sessionsAfter).toBeNull();
    expect(report.nodes).toEqual([
      { nodeId: "proxy-2", before: 2, after: null },
      { nodeId: "proxy-1", before: 3, after: null },
    ]);
  });

  it("maxSessions refuses after the before snapshot, naming the count and the limit, and kills nothing", async () => {
    const client = withSessions();
    const error = await rejection(purge(client, { maxSessions: 4 }));
    expect(error).toBeInstanceOf(GuardRefusedError);
    expect((error as GuardRefusedError).guard).toBe("maxSessions");
    expect(error.message).toMatch(/5 sessions are connected, more than maxSessions \(4\)/);
    expect(client.calls.some((c) => c.startsWith("kill"))).toBe(false);
    expect(client.calls).toContain("listAllClients proxy-2");
  });

  it("minSessions skips; dry run reports; neither kills", async () => {
    const a = withSessions();
    expect(await purge(a, { minSessions: 6 })).toMatchObject({
      status: "skipped-below-minimum",
      sessionsBefore: 5,
    });
    const b = withSessions();
    expect(await purge(b, { dryRun: true, maxSessions: 5, minSessions: 5 })).toMatchObject({
      status: "dry-run",
      sessionsBefore: 5,
      sessionsAfter: null,
      jobIds: [],
    });
    expect([...a.calls, ...b.calls].some((c) => c.startsWith("kill"))).toBe(false);
  });

  it("asks for confirmation with the plan; a refusal kills nothing", async () => {
    const client = withSessions();
    const plans: unknown[] = [];
    const error = await rejection(purge(client, { confirm: async (plan) => (plans.push(plan), false) }));
    expect((error as GuardRefusedError).guard).toBe("confirmation");
    expect(plans).toEqual([
      { instanceId: "i", engine: "dcs", allNodes: true, nodeIds: ["proxy-1", "proxy-2"], sessions: 5 },
    ]);
    expect(client.calls.some((c) => c.startsWith("kill"))).toBe(false);
  });

  it("a dry run never asks for confirmation", async () => {
    const client = withSessions();
    const confirm = jest.fn(async () => true);
    await purge(client, { dryRun: true, confirm });
    expect(confirm).not.toHaveBeenCalled();
  });

  const killError = (over: Partial<ConstructorParameters<typeof ApiError>[0]> & { status: number }) =>
    new ApiError({
      operation: "killAllClients",
      method: "POST",
      path: "/v2/p/instances/i/clients/kill-all",
      ...over,
    });
  const reset = (mayHaveReachedServer: boolean, code: string) =>
    new ConnectionError({
      operation: "killAllClients",
      method: "POST",
      path: "/v2/p/instances/i/clients/kill-all",
      code,
      mayHaveReachedServer,
    });

  it.each<[string, () => Error]>([
    ["a reset after the request was sent", () => reset(true, "ECONNRESET")],
    ["a 502 answer", () => killError({ status: 502, errorCode: "APIGW.0202" })],
    ["a 500 answer", () => killError({ status: 500, errorCode: "DCS.5000" })],
    [
      "an unreadable 200 answer",
      () => killError({ status: 200, errorMsg: "the response body is not valid JSON" }),
    ],
    ["a timeout after sending", () => new TimeoutError("killAllClients", 1000, "it may have taken effect")],
    ["an unknown error", () => new Error("socket trouble")],
  ])("%s: the kill-all is not sent again and the purge is recorded as unverified", async (_what, error) => {
    const client = withSessions();
    const events: ProgressEvent[] = [];
    client.state.failOnce = { killAllClients: error() };
    const report = (await purge(client, { onProgress: (e) => events.push(e) })) as PurgeReport;
    expect(report).toMatchObject({
      status: "purged-unverified",
      sessionsBefore: 5,
      sessionsAfter: null,
      jobIds: [],
      verificationError: expect.stringContaining(error().message),
    });
    expect(report.verificationError).toMatch(/may have reached the server/);
    expect(report.before?.totalSessions).toBe(5);
    // Nothing after the kill: no second kill, no job wait, no after snapshot.
    expect(client.calls.slice(-1)).toEqual(["killAllClients all"]);
    expect(client.calls.filter((c) => c.startsWith("killAllClients"))).toHaveLength(1);
    expect(events.some((e) => e.kind === "message" && e.message.startsWith("warning:"))).toBe(true);
  });

  it.each<[string, () => Error]>([
    ["connection refused", () => reset(false, "ECONNREFUSED")],
    ["a 400 answer", () => killError({ status: 400, errorCode: "DCS.4957" })],
    ["a 401 answer", () => killError({ status: 401, errorCode: "APIGW.0301" })],
    ["a 403 answer", () => killError({ status: 403 })],
    ["a 429 answer", () => killError({ status: 429 })],
  ])("%s proves the first kill did nothing: it throws, sent once", async (_what, error) => {
    const client = withSessions();
    const thrown = error();
    client.state.failOnce = { killAllClients: thrown };
    expect(await rejection(purge(client))).toBe(thrown);
    expect(client.calls.filter((c) => c.startsWith("killAllClients"))).toEqual(["killAllClients all"]);
  });

  it("a kill refused on the second node after the first was killed is recorded, not thrown", async () => {
    const client = withSessions();
    let kills = 0;
    const original = client.dcs.killAllClients.bind(client.dcs);
    client.dcs.killAllClients = async (instanceId, target, options) => {
      if (++kills === 2) throw killError({ status: 400, errorCode: "DCS.4957" });
      return original(instanceId, target, options);
    };
    const report = (await purge(client, {
      allNodes: undefined,
      nodeIds: ["proxy-1", "proxy-2"],
    })) as PurgeReport;
    expect(report.status).toBe("purged-unverified");
    expect(report.jobIds).toHaveLength(1);
    expect(report.verificationError).toMatch(/DCS\.4957/);
    expect(kills).toBe(2);
  });

  it.each<[string, string, RegExp]>([
    ["the kill job fails", "waitForJob", /waiting for its job failed: job j failed: busy/],
    ["the after snapshot fails", "listAllClients", /after snapshot failed/],
  ])("%s: the report keeps the job ids and the before figures", async (_what, op, message) => {
    const client = withSessions();
    const originalWait = client.dcs.waitForJob.bind(client.dcs);
    let waits = 0;
    client.dcs.waitForJob = async (jobId, options) => {
      // The before snapshot waits for its scans; the kill's job is the first wait without a fallback.
      if (op === "waitForJob" && !options?.fallback && ++waits === 1) throw new JobFailedError("j", "busy");
      return originalWait(jobId, options);
    };
    let lists = 0;
    const originalList = client.dcs.listAllClients.bind(client.dcs);
    client.dcs.listAllClients = (instanceId, request, options) => {
      // Two nodes in the before snapshot; the third listing is the after snapshot's.
      if (op === "listAllClients" && ++lists === 3) throw killError({ status: 503 });
      return originalList(instanceId, request, options);
    };
    const report = (await purge(client)) as PurgeReport;
    expect(report).toMatchObject({ status: "purged-unverified", sessionsBefore: 5, sessionsAfter: null });
    expect(report.jobIds).toEqual([expect.stringMatching(/^job-/)]);
    expect(report.verificationError).toMatch(message);
    expect(client.calls.filter((c) => c.startsWith("killAllClients"))).toHaveLength(1);
  });

  it("GeminiDB: close every session node by node (is_all), never with the instance-wide close", async () => {
    const all = withSessions();
    expect(await purge(all, { engine: "geminidb" })).toMatchObject({
      status: "purged",
      sessionsBefore: 5,
      sessionsAfter: 0,
      jobIds: [],
    });
    expect(all.calls).toEqual([
      "geminidb.listSessions all",
      ...Object.keys(all.state.sessions).map((id) => `geminidb.closeNodeSessions ${id} all`),
      "geminidb.listSessions all",
    ]);
    const some = withSessions();
    await purge(some, { engine: "geminidb", allNodes: undefined, nodeIds: ["proxy-1"] });
    expect(some.calls).toEqual([
      "geminidb.listSessions proxy-1",
      "geminidb.closeNodeSessions proxy-1 all",
      "geminidb.listSessions proxy-1",
    ]);
  });
});

describe("selective purge on the fake", () => {
  /** Two proxies; behind them, addr is the proxy side and peer the real client. */
  function proxied(): FakeClient {
    const behind = (n: number, ip: string, user: string) =>
      sessions(n).map((c, i) => ({
        ...c,
        addr: `192.168.0.10:${7000 + i}`,
        peer: `${ip}:${40_000 + i}`,
        user,
      }));
    return fakeClient({
      nodes: proxyNodes,
      sessions: {
        "proxy-1": [...behind(2, "10.1.0.1", "app"), ...behind(1, "10.2.0.1", "admin")],
        "proxy-2": behind(2, "10.1.0.9", "app"),
      },
    });
  }

  it("lists, then kills the matched peers node by node, then lists again; never a kill-all", async () => {
    const client = proxied();
    const report = await purgeSessions({
      instanceId: "i",
      allNodes: true,
      client,
      concurrency: 1,
      match: { clients: ["10.1.0.0/16"], users: ["app"] },
    });
    expect(report).toMatchObject({
      status: "purged",
      sessionsBefore: 5,
      matchedSessions: 4,
      sessionsAfter: 1,
    });
    expect(report.nodes).toEqual([
      { nodeId: "proxy-1", before: 3, matched: 2, after: 1 },
      { nodeId: "proxy-2", before: 2, matched: 2, after: 0 },
    ]);
    expect(report.selectedSessions?.map((s) => s.peer)).toEqual([
      "10.1.0.1:40000",
      "10.1.0.1:40001",
      "10.1.0.9:40000",
      "10.1.0.9:40001",
    ]);
    expect(client.calls.filter((c) => !c.startsWith("scanClients") && !c.startsWith("waitForJob"))).toEqual([
      "listNodes",
      "listAllClients proxy-1",
      "listAllClients proxy-2",
      "killClients proxy-1 10.1.0.1:40000,10.1.0.1:40001",
      "killClients proxy-2 10.1.0.9:40000,10.1.0.9:40001",
      "listAllClients proxy-1",
      "listAllClients proxy-2",
    ]);
  });

  it("a dry run and the guards send no kill, and the confirmation sees the matched count", async () => {
    const match = { users: ["admin"] };
    const dry = proxied();
    const report = await purgeSessions({ instanceId: "i", allNodes: true, client: dry, dryRun: true, match });
    expect(report).toMatchObject({ status: "dry-run", matchedSessions: 1, sessionsAfter: null });
    expect(dry.calls.some((c) => c.startsWith("kill"))).toBe(false);

    const refused = proxied();
    const error = await rejection(
      purgeSessions({ instanceId: "i", allNodes: true, client: refused, maxSessions: 0, match }),
    );
    expect(error).toBeInstanceOf(GuardRefusedError);
    expect(error.message).toContain("1 sessions match, more than maxSessions (0)");
    expect(refused.calls.some((c) => c.startsWith("kill"))).toBe(false);

    const asked: unknown[] = [];
    const declined = proxied();
    await rejection(
      purgeSessions({
        instanceId: "i",
        allNodes: true,
        client: declined,
        match,
        confirm: async (plan) => {
          asked.push(plan);
          return false;
        },
      }),
    );
    expect(asked).toEqual([expect.objectContaining({ sessions: 1, match })]);
    expect(declined.calls.some((c) => c.startsWith("kill"))).toBe(false);
  });

  it("GeminiDB: closes the matched session ids with the per-node close", async () => {
    const client = fakeClient({
      nodes: [],
      sessions: { "node-a": sessions(3), "node-b": sessions(2, { cmd: "SET" }) },
    });
    const report = await purgeSessions({
      instanceId: "i",
      engine: "geminidb",
      allNodes: true,
      client,
      match: { idleOverSeconds: 0, cmds: ["get"] },
    });
    expect(report).toMatchObject({ matchedSessions: 2, sessionsAfter: 3 });
    expect(client.calls).toEqual([
      "geminidb.listSessions all",
      "geminidb.closeNodeSessions node-a 1,2",
      "geminidb.listSessions all",
    ]);
  });
});

describe("forEachLimited", () => {
  it("never runs more than the limit at once and runs every item", async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      done.push(n);
      running--;
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("starts nothing new after a failure and waits for the running ones", async () => {
    const started: number[] = [];
    let finished = 0;
    const error = await rejection(
      forEachLimited([1, 2, 3, 4, 5], 2, async (n) => {
        started.push(n);
        if (n === 1) throw new Error("first");
        await new Promise((r) => setImmediate(r));
        finished++;
      }),
    );
    expect(error.message).toBe("first");
    expect(started).toEqual([1, 2]);
    expect(finished).toBe(1);
  });
});
