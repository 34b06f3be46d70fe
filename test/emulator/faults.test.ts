import { startEmulator } from "../../src/emulator";
import { FaultBook, seededRandom } from "../../src/emulator/faults";
import type { EmulatorHandle, FaultRule } from "../../src/emulator/types";
import { paths, rawRequest, scanNode, signed, waitForJob } from "./signed-request";

describe("FaultBook", () => {
  test("matches by route and call number, counts every call, honours times", () => {
    const book = new FaultBook([
      { route: "listClients", calls: [2, 3], fault: { kind: "status", status: 503 } },
      { route: "*", times: 1, fault: { kind: "latency", ms: 5 } },
    ]);
    expect(book.callOf("listClients")?.kind).toBe("latency"); // call 1: not in [2, 3]; the `*` rule, once
    expect(book.callOf("listClients")).toEqual({ kind: "status", status: 503 });
    expect(book.callOf("listClients")).toEqual({ kind: "status", status: 503 });
    expect(book.callOf("listClients")).toBeUndefined();
    expect(book.callOf("showJob")).toBeUndefined();
    expect(book.counters()).toEqual({ listClients: 4, showJob: 1 });
  });

  test("job faults only hit operations that start a job", () => {
    const book = new FaultBook([{ route: "*", fault: { kind: "job-never-ends" } }]);
    expect(book.callOf("listNodes")).toBeUndefined();
    expect(book.callOf("killAllClients")?.kind).toBe("job-never-ends");
  });

  test("probabilities replay the same way from the same seed", () => {
    const draw = (seed: number) => {
      const book = new FaultBook(
        [{ route: "*", probability: 0.3, fault: { kind: "status", status: 500 } }],
        seed,
      );
      return Array.from({ length: 200 }, () => (book.callOf("listNodes") ? 1 : 0)).join("");
    };
    expect(draw(5)).toBe(draw(5));
    expect(draw(5)).not.toBe(draw(6));
    const hits = [...draw(5)].filter((c) => c === "1").length;
    expect(hits).toBeGreaterThan(30);
    expect(hits).toBeLessThan(90);
    const random = seededRandom(1);
    expect(random()).toBeGreaterThanOrEqual(0);
  });
});

describe("faults over HTTP", () => {
  let emulator: EmulatorHandle;
  let p: ReturnType<typeof paths>;
  const node = () => emulator.nodeIds[0] as string;

  beforeAll(async () => {
    emulator = await startEmulator({ synthetic: { nodes: 2, sessionsPerNode: 30 }, jobMs: 10 });
    p = paths(emulator);
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    await emulator.control.clearFaults();
    await emulator.control.resetCounters();
  });

  async function once(fault: FaultRule["fault"], route: FaultRule["route"] = "listNodes"): Promise<void> {
    await emulator.control.setFaults([{ route, times: 1, fault }]); // the next call of that route
  }

  test("429 with Retry-After and APIGW.0308, counted as throttled; the next call passes", async () => {
    await once({ kind: "status", status: 429, retryAfterSeconds: 3 });
    const throttled = await signed(emulator, "GET", p.nodes);
    expect(throttled.status).toBe(429);
    expect(throttled.headers["retry-after"]).toBe("3");
    expect(throttled.json.error_code).toBe("APIGW.0308");
    expect((await signed(emulator, "GET", p.nodes)).status).toBe(200);
    expect(await emulator.control.counters()).toEqual({ listNodes: 2, throttled: 1 });
  });

  test.each([500, 502, 503, 504] as const)("status %i with an error body", async (status) => {
    await once({ kind: "status", status });
    const reply = await signed(emulator, "GET", p.nodes);
    expect(reply.status).toBe(status);
    expect(reply.json.error_code).toEqual(expect.any(String));
    expect(reply.json.error_msg).toMatch(/injected/);
    expect(await emulator.control.counters()).toEqual({ listNodes: 1 });
  });

  test("a status fault may carry its own code and message", async () => {
    await once({ kind: "status", status: 500, errorCode: "DCS.5001", errorMsg: "disk on fire" });
    const reply = await signed(emulator, "GET", p.nodes);
    expect(reply.json).toEqual({ error_code: "DCS.5001", error_msg: "disk on fire" });
  });

  test("DCS.4957 answers 400 with the documented message", async () => {
    await once({ kind: "dcs-4957" }, "killAllClients");
    const reply = await signed(emulator, "POST", p.killAll, { body: { node_id: node() } });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      error_code: "DCS.4957",
      error_msg: "This operation is not allowed when the task is in the current state.",
    });
    expect(await emulator.control.counters()).toEqual({ killAllClients: 1 });
  });

  test("latency delays the answer, which still succeeds", async () => {
    await once({ kind: "latency", ms: 300 });
    const started = Date.now();
    const reply = await signed(emulator, "GET", p.nodes);
    // A lower bound only: the injected delay is the behaviour under test, and a slow machine only adds to it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(reply.status).toBe(200);
    expect(await emulator.control.counters()).toEqual({ listNodes: 1 });
  });

  test.each(["before-body", "after-body"] as const)("connection reset %s", async (when) => {
    await once({ kind: "reset", when }, "scanClients");
    await expect(signed(emulator, "POST", p.clients, { body: { node_id: node() } })).rejects.toMatchObject({
      code: expect.stringMatching(/ECONNRESET|socket hang up/),
    });
    expect(await emulator.control.counters()).toEqual({ scanClients: 1 });
  });

  test("malformed and truncated JSON bodies answer 200 with text that does not parse", async () => {
    const intact = (await signed(emulator, "GET", p.nodes)).text;
    await emulator.control.setFaults([
      { route: "listNodes", calls: [1], fault: { kind: "malformed-json" } },
      { route: "listNodes", calls: [2], fault: { kind: "truncated-json" } },
    ]);
    await emulator.control.resetCounters();
    for (const _ of [1, 2]) {
      const reply = await signed(emulator, "GET", p.nodes);
      expect(reply.status).toBe(200);
      expect(reply.text.length).toBeGreaterThan(0);
      expect(() => JSON.parse(reply.text)).toThrow(SyntaxError);
      expect(reply.text).not.toBe(intact);
    }
    expect(await emulator.control.counters()).toEqual({ listNodes: 2 });
  });

  test("a job that fails: FAIL with the reason, and the snapshot is not replaced", async () => {
    await scanNode(emulator, node());
    const before = await signed(emulator, "GET", p.clients, { query: { node_id: node() } });
    await once({ kind: "job-fails", reason: "node busy" }, "killAllClients");
    const kill = await signed(emulator, "POST", p.killAll, { body: { node_id: node() } });
    const job = await waitForJob(emulator, kill.json.job_id);
    expect(job.json).toMatchObject({ status: "FAIL", fail_reason: "node busy" });
    expect(job.json.end_time).not.toBe("");
    await once({ kind: "job-fails" }, "scanClients");
    const scan = await signed(emulator, "POST", p.clients, { body: { node_id: node() } });
    expect((await waitForJob(emulator, scan.json.job_id)).json.status).toBe("FAIL");
    const after = await signed(emulator, "GET", p.clients, { query: { node_id: node() } });
    expect(after.json).toMatchObject({ count: before.json.count, time: before.json.time });
    await scanNode(emulator, node()); // the failed kill killed nothing
    expect((await signed(emulator, "GET", p.clients, { query: { node_id: node() } })).json.count).toBe(30);
  });

  test("a job that never ends stays RUNNING", async () => {
    await once({ kind: "job-never-ends" }, "scanClients");
    const scan = await signed(emulator, "POST", p.clients, { body: { node_id: node() } });
    let status = "";
    for (let i = 0; i < 20; i++) {
      status = (await signed(emulator, "GET", p.job(scan.json.job_id))).json.status;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(status).toBe("RUNNING");
  });

  test("a fault by probability hits some calls of its route", async () => {
    await emulator.control.setFaults([
      { route: "showJob", probability: 0.5, fault: { kind: "status", status: 503 } },
    ]);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await signed(emulator, "GET", p.job("unknownjob"))).status);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(5);
    expect(statuses.filter((s) => s === 404).length).toBeGreaterThan(5);
    expect((await emulator.control.counters()).showJob).toBe(40);
  });

  test("counters count every call per operation, and exactly one kill-all", async () => {
    await signed(emulator, "GET", p.nodes);
    await signed(emulator, "POST", p.killAll, { body: { node_id: node() } });
    await signed(emulator, "GET", p.clients, { query: { node_id: node(), limit: 0 } }); // refused, still counted
    await signed(emulator, "GET", p.nodes, { secretKey: "wrong-secret" });
    expect(await emulator.control.counters()).toEqual({
      listNodes: 2,
      killAllClients: 1,
      listClients: 1,
      unauthorized: 1,
    });
  });
});

describe("faults that hit after the operation took effect", () => {
  let emulator: EmulatorHandle;
  let p: ReturnType<typeof paths>;

  beforeEach(async () => {
    emulator = await startEmulator({ synthetic: { nodes: 1, sessionsPerNode: 20 }, jobMs: 10 });
    p = paths(emulator);
  });
  afterEach(() => emulator.close());

  const node = () => emulator.nodeIds[0] as string;
  async function sessions(): Promise<number> {
    await scanNode(emulator, node());
    return (await signed(emulator, "GET", p.clients, { query: { node_id: node() } })).json.count;
  }
  /** Polls the node until its kill-all job (started whatever the answer said) has killed its sessions. */
  async function killedWithin(polls: number): Promise<boolean> {
    for (let i = 0; i < polls; i++) {
      if ((await sessions()) === 0) return true;
      await new Promise((r) => setTimeout(r, 10));
    }
    return false;
  }

  test("status after: the kill-all runs, then the answer is the status", async () => {
    await emulator.control.setFaults([
      { route: "killAllClients", times: 1, fault: { kind: "status", status: 502, after: true } },
    ]);
    const reply = await signed(emulator, "POST", p.killAll, { body: { node_id: node() } });
    expect(reply.status).toBe(502);
    expect(reply.json.error_code).toBe("APIGW.0202");
    expect(await killedWithin(50)).toBe(true);
    expect((await emulator.control.counters()).killAllClients).toBe(1);
  });

  test("status before (the default): a 502 does nothing", async () => {
    await emulator.control.setFaults([
      { route: "killAllClients", times: 1, fault: { kind: "status", status: 502 } },
    ]);
    expect((await signed(emulator, "POST", p.killAll, { body: { node_id: node() } })).status).toBe(502);
    await new Promise((r) => setTimeout(r, 50));
    expect(await sessions()).toBe(20);
  });

  test("reset after-operation: the kill-all runs, then the connection is destroyed", async () => {
    await emulator.control.setFaults([
      { route: "killAllClients", times: 1, fault: { kind: "reset", when: "after-operation" } },
    ]);
    await expect(signed(emulator, "POST", p.killAll, { body: { node_id: node() } })).rejects.toMatchObject({
      code: expect.stringMatching(/ECONNRESET|socket hang up/),
    });
    expect(await killedWithin(50)).toBe(true);
  });

  test("reset after-body does nothing", async () => {
    await emulator.control.setFaults([
      { route: "killAllClients", times: 1, fault: { kind: "reset", when: "after-body" } },
    ]);
    await expect(signed(emulator, "POST", p.killAll, { body: { node_id: node() } })).rejects.toBeDefined();
    await new Promise((r) => setTimeout(r, 50));
    expect(await sessions()).toBe(20);
  });

  test("latency after: the kill-all has run while the answer is still held back", async () => {
    await emulator.control.setFaults([
      { route: "killAllClients", times: 1, fault: { kind: "latency", ms: 400, after: true } },
    ]);
    const started = Date.now();
    const pending = signed(emulator, "POST", p.killAll, { body: { node_id: node() } });
    expect(await killedWithin(30)).toBe(true);
    const reply = await pending;
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(reply.status).toBe(200);
    expect(reply.json.job_id).toEqual(expect.any(String));
  });

  test.each([
    [401, "APIGW.0301", "unauthorized"],
    [403, "APIGW.0302", undefined],
    [400, "DCS.4000", undefined],
  ] as const)("status %i answers its code; nothing is done", async (status, code, counter) => {
    await emulator.control.setFaults([
      { route: "killAllClients", times: 1, fault: { kind: "status", status } },
    ]);
    const reply = await signed(emulator, "POST", p.killAll, { body: { node_id: node() } });
    expect(reply.status).toBe(status);
    expect(reply.json.error_code).toBe(code);
    const counters = await emulator.control.counters();
    expect(counters.killAllClients).toBe(1);
    if (counter) expect(counters[counter]).toBe(1);
    expect(await sessions()).toBe(20);
  });

  test("the control API accepts the new kinds and refuses an unknown reset moment", async () => {
    const faultsUrl = `${emulator.controlUrl}/faults`;
    const rules: FaultRule[] = [
      { route: "killAllClients", fault: { kind: "status", status: 403, after: true } },
      { route: "killAllClients", fault: { kind: "latency", ms: 5, after: true } },
      { route: "killAllClients", fault: { kind: "reset", when: "after-operation" } },
    ];
    expect((await rawRequest(faultsUrl, { method: "PUT", body: JSON.stringify(rules) })).status).toBe(204);
    const bad = [{ route: "killAllClients", fault: { kind: "reset", when: "later" } }];
    expect((await rawRequest(faultsUrl, { method: "PUT", body: JSON.stringify(bad) })).status).toBe(400);
  });
});

describe("the control endpoint", () => {
  test("changes faults while the emulator runs and reads counters, without a signature", async () => {
    const emulator = await startEmulator({ synthetic: { nodes: 1, sessionsPerNode: 5 } });
    try {
      const p = paths(emulator);
      const faultsUrl = `${emulator.controlUrl}/faults`;
      const rule: FaultRule = { route: "listNodes", fault: { kind: "status", status: 502 } };
      const put = await rawRequest(faultsUrl, { method: "PUT", body: JSON.stringify([rule]) });
      expect(put.status).toBe(204);
      expect((await rawRequest(faultsUrl, { method: "GET" })).json).toEqual({ faults: [rule] });
      expect((await signed(emulator, "GET", p.nodes)).status).toBe(502);

      const added = await rawRequest(faultsUrl, {
        method: "POST",
        body: JSON.stringify({ route: "showJob", fault: { kind: "dcs-4957" } }),
      });
      expect(added.status).toBe(204);
      expect((await signed(emulator, "GET", p.job("x"))).json.error_code).toBe("DCS.4957");

      expect((await rawRequest(faultsUrl, { method: "DELETE" })).status).toBe(204);
      expect((await signed(emulator, "GET", p.nodes)).status).toBe(200);

      const counters = await rawRequest(`${emulator.controlUrl}/counters`, { method: "GET" });
      expect(counters.json).toEqual({ counters: { listNodes: 2, showJob: 1 } });
      expect((await rawRequest(`${emulator.controlUrl}/counters`, { method: "DELETE" })).status).toBe(204);
      expect(await emulator.control.counters()).toEqual({});

      const bad = await rawRequest(faultsUrl, {
        method: "PUT",
        body: JSON.stringify([{ route: "listNodes", fault: { kind: "status", status: 418 } }]),
      });
      expect(bad.status).toBe(400);
      expect(bad.json.error_msg).toMatch(/faults\[0\]\.fault/);
      const notJson = await rawRequest(faultsUrl, { method: "PUT", body: "[" });
      expect(notJson.status).toBe(400);
      expect((await rawRequest(`${emulator.controlUrl}/nothing`, { method: "GET" })).status).toBe(404);
    } finally {
      await emulator.close();
    }
  });

  test("faults given at start apply from the first call", async () => {
    const emulator = await startEmulator({
      faults: [{ route: "listNodes", calls: [1], fault: { kind: "status", status: 503 } }],
    });
    try {
      expect((await signed(emulator, "GET", paths(emulator).nodes)).status).toBe(503);
      expect((await signed(emulator, "GET", paths(emulator).nodes)).status).toBe(200);
    } finally {
      await emulator.close();
    }
  });
});
