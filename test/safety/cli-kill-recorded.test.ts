/**
 * The CLI after a kill that may have taken effect (issue 11): whatever fails next (the kill job fails or
 * runs past --wait-timeout, the after scan fails, the kill's answer is lost), `dcs-sessions purge` prints
 * the report with its status (`purged-unverified`, the job ids, the sessions before, the verification error)
 * on stdout, then exits 1 — never the bare failure of a purge that killed nothing. The emulator receives one
 * kill-all. And two purges of one instance at once, the second kill-all refused with DCS.4957, both end clearly.
 */
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle, FaultRule } from "../../src/emulator";
import { assertBuilt, runCliProcess } from "../cli/support";

jest.setTimeout(120_000);

const NODES = 2;
const PER_NODE = 6;

const CASES: Array<[string, FaultRule, RegExp]> = [
  [
    "the kill job fails",
    { route: "killAllClients", times: 1, fault: { kind: "job-fails", reason: "node busy" } },
    /waiting for its job failed: job \w+ failed: node busy/,
  ],
  [
    "the kill job runs past --wait-timeout",
    { route: "killAllClients", times: 1, fault: { kind: "job-never-ends" } },
    /waiting for its job failed: waitForJob timed out after 1000 ms/,
  ],
  [
    "the after scan's job fails",
    { route: "scanClients", calls: [NODES + 1], fault: { kind: "job-fails", reason: "scan refused" } },
    /after snapshot failed: .*scan refused/,
  ],
  [
    "a 502 after the kill ran",
    { route: "killAllClients", times: 1, fault: { kind: "status", status: 502, after: true } },
    /HTTP 502/,
  ],
  [
    "a reset after the kill request was read",
    { route: "killAllClients", times: 1, fault: { kind: "reset", when: "after-body" } },
    /may have reached the server/,
  ],
];

describe("dcs-sessions purge prints the report of a kill it cannot verify, then exits 1", () => {
  let emulator: EmulatorHandle;

  beforeAll(async () => {
    assertBuilt();
    emulator = await startEmulator({
      synthetic: { nodes: NODES, sessionsPerNode: PER_NODE, reconnectFraction: 1 },
      jobMs: 10,
    });
  });
  afterAll(() => emulator?.close());

  const purge = (output: string[]) =>
    runCliProcess(["purge", emulator.instanceId, "--all-nodes", "--yes", "--wait-timeout", "1", ...output], {
      env: emulator.env,
    });

  test.each(CASES)("%s: JSON on stdout with the status, exit 1, one kill", async (_name, rule, why) => {
    await emulator.control.setFaults([rule]);
    await emulator.control.resetCounters();
    const run = await purge(["--output", "json"]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      instanceId: emulator.instanceId,
      status: "purged-unverified",
      sessionsBefore: NODES * PER_NODE,
      sessionsAfter: null,
    });
    expect(report.verificationError).toMatch(why);
    expect(Array.isArray(report.jobIds)).toBe(true);
    expect(report.purgedAt).toEqual(expect.any(String));
    expect(run.stderr).toMatch(/purged-unverified|could not be verified|warning/i);
    expect((await emulator.control.counters()).killAllClients).toBe(1);
  });

  test("the table output says it too", async () => {
    await emulator.control.setFaults([CASES[0]![1]]);
    const run = await purge([]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/purged-unverified/);
    expect(run.stdout).toContain(String(NODES * PER_NODE));
  });

  test("two purges of one instance at once, the second kill-all answered DCS.4957: one purged (exit 0), one refused (exit 1), both clear", async () => {
    await emulator.control.setFaults([{ route: "killAllClients", calls: [2], fault: { kind: "dcs-4957" } }]);
    await emulator.control.resetCounters();
    const runs = await Promise.all([purge(["--output", "json"]), purge(["--output", "json"])]);
    const done = runs.filter((r) => r.code === 0);
    const refused = runs.filter((r) => r.code === 1);
    expect(done).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(JSON.parse(done[0]!.stdout)).toMatchObject({ status: "purged", sessionsBefore: NODES * PER_NODE });
    // The refused kill did nothing: no report of a purge, the error named with its code.
    expect(refused[0]!.stdout).toBe("");
    expect(refused[0]!.stderr).toMatch(/killAllClients.*HTTP 400.*DCS\.4957/s);
    expect((await emulator.control.counters()).killAllClients).toBe(2);
  });
});

/**
 * The same for GeminiDB, whose close has no job: a close whose answer is lost, or a failed after snapshot,
 * is recorded as purged-unverified on stdout with exit 1, and the close is sent once. One node is purged, so
 * that the count of closes is the count of requests for that node.
 */
const GEMINI_CASES: Array<[string, FaultRule, RegExp]> = [
  [
    "a reset after the close request was read",
    { route: "geminidbCloseNodeSessions", times: 1, fault: { kind: "reset", when: "after-body" } },
    /may have reached the server/,
  ],
  [
    "a reset after the close was done",
    { route: "geminidbCloseNodeSessions", times: 1, fault: { kind: "reset", when: "after-operation" } },
    /may have reached the server/,
  ],
  [
    "a 502 after the close ran",
    { route: "geminidbCloseNodeSessions", times: 1, fault: { kind: "status", status: 502, after: true } },
    /HTTP 502/,
  ],
  [
    "the after snapshot's list fails",
    { route: "geminidbListSessions", calls: [2], fault: { kind: "status", status: 500 } },
    /after snapshot failed: .*HTTP 500/,
  ],
];

describe("dcs-sessions purge --engine geminidb prints the report of a close it cannot verify, then exits 1", () => {
  let emulator: EmulatorHandle;

  beforeAll(async () => {
    assertBuilt();
    emulator = await startEmulator({
      engine: "geminidb",
      synthetic: { nodes: NODES, sessionsPerNode: PER_NODE, reconnectFraction: 1 },
    });
  });
  afterAll(() => emulator?.close());

  test.each(GEMINI_CASES)(
    "%s: JSON on stdout with the status, exit 1, one close",
    async (_name, rule, why) => {
      await emulator.control.setFaults([rule]);
      await emulator.control.resetCounters();
      const node = emulator.nodeIds[0]!;
      const run = await runCliProcess(
        ["purge", emulator.instanceId, "--engine", "geminidb", "--node", node, "--yes", "--output", "json"],
        { env: emulator.env },
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/purged-unverified|could not be verified|warning/i);
      const report = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(report).toMatchObject({
        instanceId: emulator.instanceId,
        engine: "geminidb",
        status: "purged-unverified",
        sessionsBefore: PER_NODE,
        sessionsAfter: null,
      });
      expect(report.verificationError).toMatch(why);
      expect((await emulator.control.counters()).geminidbCloseNodeSessions).toBe(1);
    },
  );
});
