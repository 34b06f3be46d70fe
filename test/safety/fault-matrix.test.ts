/**
 * The fault matrix (issue 11): every operation × every fault the emulator can inject, with the expected
 * outcome written in the table — success after a retry within the deadline, or a typed error naming the
 * operation, the HTTP status and the error code — through the client and the core, then through the CLI's
 * exit codes. Each cell also counts the requests the emulator received: a read is sent again after a fault
 * it can survive, a kill or a close is sent exactly once whatever happens.
 *
 * One emulator serves every cell (a DCS instance and a GeminiDB instance, synthetic sessions that come back
 * after a kill); the client runs with small backoffs and timeouts so that the whole matrix stays quick.
 */
import { PassThrough } from "node:stream";
import { ApiError, ConnectionError, JobFailedError, TimeoutError } from "../../src/api/errors";
import { createClient } from "../../src/api/client";
import type { OperationName } from "../../src/api/schemas";
import type { SessionsClient } from "../../src/api/types";
import { runCli } from "../../src/cli/program";
import { scanSessions } from "../../src/core/scan";
import { SyntheticNode, startEmulator } from "../../src/emulator";
import type { EmulatorHandle, FaultRule, InstanceSpec } from "../../src/emulator";

type Fault = FaultRule["fault"];

/** The faults of the emulator, by the names the table uses. */
const FAULTS = {
  "429 + Retry-After": { kind: "status", status: 429, retryAfterSeconds: 1 },
  "500": { kind: "status", status: 500 },
  "502": { kind: "status", status: 502 },
  "503": { kind: "status", status: 503 },
  "latency past the timeout": { kind: "latency", ms: 1500 },
  "reset before the request is read": { kind: "reset", when: "before-body" },
  "reset after the request is read": { kind: "reset", when: "after-body" },
  "reset after the operation took effect": { kind: "reset", when: "after-operation" },
  "502 after the operation took effect": { kind: "status", status: 502, after: true },
  "401": { kind: "status", status: 401 },
  "403": { kind: "status", status: 403 },
  "malformed JSON": { kind: "malformed-json" },
  "truncated body": { kind: "truncated-json" },
  "job FAIL": { kind: "job-fails", reason: "node busy (injected)" },
  "job never ends": { kind: "job-never-ends" },
  "DCS.4957": { kind: "dcs-4957" },
} as const satisfies Record<string, Fault>;
type FaultName = keyof typeof FAULTS;

/** What a cell must end with. */
type Expected =
  /**
   * Success; `calls` requests of the faulted route reached the emulator (2: the fault, then the retry), or at
   * least that many for a job poll, which goes on until the job ends.
   */
  | { ok: true; calls: number; orMore?: true }
  /** An ApiError (or ConnectionError when status is 0) naming the operation, status and code; sent once. */
  | { error: "api"; operation: OperationName; status: number; code?: string | RegExp; calls: number }
  | { error: "job-failed"; calls: number }
  | { error: "timeout"; operation: string; calls: number };

const api = (operation: OperationName, status: number, code?: string | RegExp): Expected => ({
  error: "api",
  operation,
  status,
  calls: 1,
  ...(code === undefined ? {} : { code }),
});
const RESET = /^(ECONNRESET|UND_ERR_SOCKET)$/;
/** The emulator's 500 code: the reference pages name none, for either API. */
const internalCode = (operation: OperationName) =>
  operation.startsWith("geminidb") ? "EMULATOR.5000" : "DCS.5000";

/** A read (repeatable): survives every transient fault; 500 and DCS.4957 are answers, not retried. */
function readRow(operation: OperationName): Partial<Record<FaultName, Expected>> {
  const retried: Expected =
    operation === "showJob" ? { ok: true, calls: 2, orMore: true } : { ok: true, calls: 2 };
  return {
    "429 + Retry-After": retried,
    "500": api(operation, 500, internalCode(operation)),
    "502": retried,
    "503": retried,
    "latency past the timeout": retried,
    "reset before the request is read": retried,
    "reset after the request is read": retried,
    "reset after the operation took effect": retried,
    "502 after the operation took effect": retried,
    // A signature failure is never sent again: five in a row lock the access key.
    "401": api(operation, 401, "APIGW.0301"),
    "403": api(operation, 403, "APIGW.0302"),
    "malformed JSON": retried,
    "truncated body": retried,
    "DCS.4957": api(operation, 400, "DCS.4957"),
  };
}

/** A kill or a close: never sent twice once it may have reached the server, whatever came back. */
function killRow(
  operation: OperationName,
  body: "job" | "none" | "empty",
): Partial<Record<FaultName, Expected>> {
  const corrupt: Expected = body === "none" ? { ok: true, calls: 1 } : api(operation, 200);
  return {
    "429 + Retry-After": api(operation, 429, "APIGW.0308"),
    "500": api(operation, 500, internalCode(operation)),
    "502": api(operation, 502, "APIGW.0202"),
    "503": api(operation, 503, "APIGW.0202"),
    "latency past the timeout": api(operation, 0, "UND_ERR_HEADERS_TIMEOUT"),
    "reset before the request is read": api(operation, 0, RESET),
    "reset after the request is read": api(operation, 0, RESET),
    "reset after the operation took effect": api(operation, 0, RESET),
    "502 after the operation took effect": api(operation, 502, "APIGW.0202"),
    "401": api(operation, 401, "APIGW.0301"),
    "403": api(operation, 403, "APIGW.0302"),
    // A 204 has no body to corrupt; a body that should hold the job id and does not parse is an error.
    "malformed JSON": corrupt,
    "truncated body": corrupt,
    "DCS.4957": api(operation, 400, "DCS.4957"),
  };
}

/** A job fault goes to the request that starts the job, which is sent once; the wait then fails. */
const jobRow: Partial<Record<FaultName, Expected>> = {
  "job FAIL": { error: "job-failed", calls: 1 },
  "job never ends": { error: "timeout", operation: "waitForJob", calls: 1 },
};

const DCS = "dcsmatrix0000000000000000000001";
const GEMINI = "geminimatrix00000000000000000in12";
const DCS_NODES = ["dcs-node-0", "dcs-node-1"];
const GEMINI_NODES = ["gem-node-0", "gem-node-1"];
const SESSIONS = 12;
const HEADERS_TIMEOUT_MS = 400;

function instances(): InstanceSpec[] {
  const now = Date.now;
  const node = (engine: "dcs" | "geminidb", nodeId: string, index: number) => ({
    nodeId,
    role: "redis-server" as const,
    type: "master" as const,
    groupName: `group-${index}`,
    // Every killed session comes back at once: the counts stay the same from cell to cell.
    backend: new SyntheticNode(engine === "dcs" ? 3 : 4, index, SESSIONS, 1, now),
  });
  return [
    { instanceId: DCS, engine: "dcs", nodes: DCS_NODES.map((id, i) => node("dcs", id, i)) },
    { instanceId: GEMINI, engine: "geminidb", nodes: GEMINI_NODES.map((id, i) => node("geminidb", id, i)) },
  ];
}

let emulator: EmulatorHandle;
let client: SessionsClient;

beforeAll(async () => {
  emulator = await startEmulator({ instances: instances(), jobMs: 20 });
  client = createClient({
    endpoint: emulator.endpoint,
    geminidbEndpoint: emulator.geminidbEndpoint,
    projectId: emulator.projectId,
    credentials: { kind: "aksk", accessKey: emulator.accessKey, secretKey: emulator.secretKey },
    env: {},
    retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
    timeouts: { headersMs: HEADERS_TIMEOUT_MS, bodyMs: HEADERS_TIMEOUT_MS, callMs: 5000 },
  });
  // The list is served from the cache a scan fills: fill it once for the list cells.
  for (const nodeId of DCS_NODES) {
    const { jobId } = await client.dcs.scanClients(DCS, { nodeId });
    await client.dcs.waitForJob(jobId, { initialIntervalMs: 10 });
  }
});

afterAll(async () => {
  await client?.close();
  await emulator?.close();
});

beforeEach(async () => {
  await emulator.control.clearFaults();
  await emulator.control.resetCounters();
});

const WAIT = { initialIntervalMs: 10, maxIntervalMs: 50, timeoutMs: 1000 };

interface Operation {
  /** The route whose next call takes the fault (job faults go to the route that starts the job). */
  route: OperationName;
  jobRoute?: OperationName;
  run(): Promise<unknown>;
}

/** The operations of the matrix, as a user calls them. */
const OPERATIONS: Record<string, Operation> = {
  "list nodes": { route: "listNodes", run: () => client.dcs.listNodes(DCS) },
  scan: {
    // Through the core: scan → wait for the job → list every page.
    route: "scanClients",
    run: async () => {
      const snapshot = await scanSessions({
        client,
        instanceId: DCS,
        nodeIds: [DCS_NODES[0]!],
        waitTimeoutSeconds: 1,
      });
      expect(snapshot.totalSessions).toBe(SESSIONS);
      return snapshot;
    },
  },
  "job wait": {
    route: "showJob",
    jobRoute: "scanClients",
    run: async () => {
      const { jobId } = await client.dcs.scanClients(DCS, { nodeId: DCS_NODES[0]! });
      return client.dcs.waitForJob(jobId, WAIT);
    },
  },
  "list page": {
    route: "listClients",
    run: async () => {
      const page = await client.dcs.listClients(DCS, { nodeId: DCS_NODES[1]!, limit: 5 });
      expect(page.clients).toHaveLength(5);
      return page;
    },
  },
  "kill-all": {
    route: "killAllClients",
    jobRoute: "killAllClients",
    run: async () => {
      const { jobId } = await client.dcs.killAllClients(DCS, { nodeId: DCS_NODES[1]! });
      return client.dcs.waitForJob(jobId, WAIT);
    },
  },
  "kill-chosen": {
    route: "killClients",
    run: () => client.dcs.killClients(DCS, { nodeId: DCS_NODES[0]!, clientAddrs: ["10.9.9.9:40000"] }),
  },
  "GeminiDB list": {
    route: "geminidbListSessions",
    run: async () => {
      const answer = await client.geminidb.listSessions(GEMINI, {});
      expect(answer.nodeSessions.map((n) => n.totalCount)).toEqual([SESSIONS, SESSIONS]);
      return answer;
    },
  },
  "GeminiDB close": {
    route: "geminidbCloseNodeSessions",
    run: () => client.geminidb.closeNodeSessions(GEMINI_NODES[0]!, { isAll: true }),
  },
};

/** The expected outcome of every cell, in one table. A fault missing from a row does not apply to it. */
const EXPECTED: Record<keyof typeof OPERATIONS, Partial<Record<FaultName, Expected>>> = {
  "list nodes": readRow("listNodes"),
  scan: { ...readRow("scanClients"), ...jobRow },
  // A failed read of a job's status is asked again at the next poll: the job is still there (DESIGN §1).
  "job wait": { ...readRow("showJob"), "500": { ok: true, calls: 2, orMore: true }, ...jobRow },
  "list page": readRow("listClients"),
  "kill-all": { ...killRow("killAllClients", "job"), ...jobRow },
  "kill-chosen": killRow("killClients", "none"),
  "GeminiDB list": readRow("geminidbListSessions"),
  "GeminiDB close": killRow("geminidbCloseNodeSessions", "empty"),
};

const CELLS: Array<[string, FaultName, Expected]> = Object.entries(EXPECTED).flatMap(([operation, row]) =>
  Object.entries(row).map(([fault, expected]): [string, FaultName, Expected] => [
    operation,
    fault as FaultName,
    expected,
  ]),
);

function isJobFault(fault: Fault): boolean {
  return fault.kind === "job-fails" || fault.kind === "job-never-ends";
}

async function outcomeOf(run: () => Promise<unknown>): Promise<{ error?: unknown; ms: number }> {
  const started = Date.now();
  try {
    await run();
    return { ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

/** Asserts the error is the typed one the cell expects, and that its message says what it names. */
function expectTypedError(error: unknown, expected: Exclude<Expected, { ok: true }>): void {
  if (expected.error === "api") {
    expect(error).toBeInstanceOf(expected.status === 0 ? ConnectionError : ApiError);
    const e = error as ApiError;
    expect(e.operation).toBe(expected.operation);
    expect(e.status).toBe(expected.status);
    expect(e.message).toContain(expected.operation);
    expect(e.message).toContain(expected.status === 0 ? "no response" : `HTTP ${expected.status}`);
    if (expected.code !== undefined) {
      expect(e.errorCode).toMatch(expected.code);
      expect(e.message).toContain(e.errorCode);
    }
  } else if (expected.error === "job-failed") {
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).failReason).toBe("node busy (injected)");
    expect((error as Error).message).toMatch(/job \w+ failed: node busy/);
  } else {
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).operation).toBe(expected.operation);
    expect((error as Error).message).toMatch(/job \w+ did not end; last status seen: RUNNING/);
  }
}

describe("fault matrix through the client and the core", () => {
  test("the table has a cell for every operation and at least 60 in all", () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(OPERATIONS).sort());
    for (const row of Object.values(EXPECTED)) {
      for (const fault of Object.keys(FAULTS) as FaultName[]) {
        // Every fault applies to every operation, except the job faults, which only a job-starting one takes.
        if (!isJobFault(FAULTS[fault])) expect(row[fault]).toBeDefined();
      }
    }
    expect(CELLS.length).toBeGreaterThanOrEqual(60);
  });

  test.each(CELLS)("%s × %s", async (name, faultName, expected) => {
    const operation = OPERATIONS[name]!;
    const fault: Fault = FAULTS[faultName];
    const route = isJobFault(fault) ? (operation.jobRoute ?? operation.route) : operation.route;
    await emulator.control.setFaults([{ route, times: 1, fault }]);
    const { error, ms } = await outcomeOf(operation.run);
    const counters = await emulator.control.counters();
    if ("ok" in expected) {
      expect(error).toBeUndefined();
      if (faultName === "429 + Retry-After") {
        expect(ms).toBeGreaterThanOrEqual(950); // Retry-After: 1 was honoured
        expect(counters.throttled).toBe(1);
      }
    } else {
      expectTypedError(error, expected);
    }
    if ("ok" in expected && expected.orMore) expect(counters[route]).toBeGreaterThanOrEqual(expected.calls);
    else expect(counters[route]).toBe(expected.calls);
  });
});

// ---- the same faults through the CLI's exit codes ----

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const stdin = new PassThrough();
  stdin.end();
  const code = await runCli(["node", "dcs-sessions", ...args, "--quiet", "--output", "json"], {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    stdin,
    env: emulator.env,
    now: () => new Date(),
  });
  return { code, stdout, stderr };
}

interface CliOperation {
  route: OperationName;
  jobRoute?: OperationName;
  args: () => string[];
  /** The operation the failure line names. */
  names: OperationName;
}

const CLI_OPERATIONS: Record<string, CliOperation> = {
  nodes: { route: "listNodes", names: "listNodes", args: () => ["nodes", DCS] },
  "scan (scan request)": {
    route: "scanClients",
    jobRoute: "scanClients",
    names: "scanClients",
    args: () => ["scan", DCS, "--node", DCS_NODES[0]!, "--wait-timeout", "1"],
  },
  "scan (job wait)": {
    route: "showJob",
    names: "showJob",
    args: () => ["scan", DCS, "--node", DCS_NODES[0]!, "--wait-timeout", "1"],
  },
  list: { route: "listClients", names: "listClients", args: () => ["list", DCS, "--node", DCS_NODES[1]!] },
  "purge (kill-all)": {
    route: "killAllClients",
    jobRoute: "killAllClients",
    names: "killAllClients",
    args: () => ["purge", DCS, "--node", DCS_NODES[1]!, "--yes", "--no-verify", "--wait-timeout", "1"],
  },
  "scan --engine geminidb": {
    route: "geminidbListSessions",
    names: "geminidbListSessions",
    args: () => ["scan", GEMINI, "--engine", "geminidb"],
  },
  "purge --engine geminidb": {
    route: "geminidbCloseNodeSessions",
    names: "geminidbCloseNodeSessions",
    args: () => ["purge", GEMINI, "--engine", "geminidb", "--node", GEMINI_NODES[0]!, "--yes", "--no-verify"],
  },
};

/** The faults the CLI cells take: latency past the timeout needs a short HTTP timeout, which the CLI has no flag for. */
const CLI_FAULTS: FaultName[] = [
  "429 + Retry-After",
  "500",
  "502",
  "503",
  "reset before the request is read",
  "reset after the request is read",
  "reset after the operation took effect",
  "502 after the operation took effect",
  "401",
  "403",
  "malformed JSON",
  "truncated body",
  "DCS.4957",
];

/** A read fails on these answers, once, and says which. */
const CLI_READ_FAILURES: Partial<Record<FaultName, RegExp>> = {
  "500": /HTTP 500 — DCS\.5000/,
  "401": /HTTP 401 — APIGW\.0301/,
  "403": /HTTP 403 — APIGW\.0302/,
  "DCS.4957": /HTTP 400 — DCS\.4957/,
};

/** Exit code, requests of the faulted route (at least that many for a job poll), and what stderr says. */
type CliExpected = { exit: 0 | 1; calls: number; orMore?: true; names?: RegExp };

function cliRow(
  kind: "read" | "poll" | "kill",
  engine: "dcs" | "geminidb" = "dcs",
): Partial<Record<FaultName, CliExpected>> {
  const row: Partial<Record<FaultName, CliExpected>> = {};
  for (const fault of CLI_FAULTS) {
    // A job poll reads a 500 again at its next poll, so only the other failures end it.
    const readFailure =
      kind === "poll" && fault === "500"
        ? undefined
        : engine === "geminidb" && fault === "500"
          ? /HTTP 500 — EMULATOR\.5000/
          : CLI_READ_FAILURES[fault];
    row[fault] =
      kind !== "kill"
        ? readFailure
          ? { exit: 1, calls: 1, names: readFailure }
          : { exit: 0, calls: 2, ...(kind === "poll" ? { orMore: true as const } : {}) }
        : { exit: 1, calls: 1 };
  }
  return row;
}

const CLI_EXPECTED: Record<keyof typeof CLI_OPERATIONS, Partial<Record<FaultName, CliExpected>>> = {
  nodes: cliRow("read"),
  "scan (scan request)": {
    ...cliRow("read"),
    "job FAIL": { exit: 1, calls: 1, names: /job \w+ failed: node busy/ },
    "job never ends": { exit: 1, calls: 1, names: /waitForJob timed out after 1000 ms/ },
  },
  "scan (job wait)": cliRow("poll"),
  list: cliRow("read"),
  "purge (kill-all)": {
    ...cliRow("kill"),
    "job FAIL": { exit: 1, calls: 1, names: /job \w+ failed: node busy/ },
    "job never ends": { exit: 1, calls: 1, names: /waitForJob timed out after 1000 ms/ },
  },
  "scan --engine geminidb": cliRow("read", "geminidb"),
  "purge --engine geminidb": {
    ...cliRow("kill", "geminidb"),
    // GeminiDB's close answers `{}`: a corrupted `{}` is still a 200 that did not parse.
  },
};

const CLI_CELLS: Array<[string, FaultName, CliExpected]> = Object.entries(CLI_EXPECTED).flatMap(
  ([operation, row]) =>
    Object.entries(row).map(([fault, expected]): [string, FaultName, CliExpected] => [
      operation,
      fault as FaultName,
      expected,
    ]),
);

describe("fault matrix through the CLI's exit codes", () => {
  test("at least 60 cells", () => {
    expect(CLI_CELLS.length).toBeGreaterThanOrEqual(60);
  });

  test.each(CLI_CELLS)("dcs-sessions %s × %s", async (name, faultName, expected) => {
    const operation = CLI_OPERATIONS[name]!;
    const fault: Fault = FAULTS[faultName];
    const route = isJobFault(fault) ? (operation.jobRoute ?? operation.route) : operation.route;
    await emulator.control.setFaults([{ route, times: 1, fault }]);
    const run = await cli(operation.args());
    const counters = await emulator.control.counters();
    expect(run.code).toBe(expected.exit);
    if (expected.orMore) expect(counters[route]).toBeGreaterThanOrEqual(expected.calls);
    else expect(counters[route]).toBe(expected.calls);
    if (expected.exit === 0) {
      expect(run.stderr).toBe("");
      expect(() => JSON.parse(run.stdout) as unknown).not.toThrow();
    } else {
      // One line that names what failed; never a stack trace without DEBUG.
      expect(run.stderr).toMatch(/^dcs-sessions: /);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      if (!isJobFault(fault)) expect(run.stderr).toContain(operation.names);
      if (expected.names) expect(run.stderr).toMatch(expected.names);
    }
  });
});
