/**
 * The retry policy of DESIGN §4: the pure decision as a table, then the real client over loopback (and
 * undici's MockAgent only for a connect timeout and a DNS failure, which no local server can produce).
 */
import { EventEmitter, getEventListeners } from "node:events";
import { MockAgent, errors as undiciErrors } from "undici";
import { ApiError, ConnectionError, TimeoutError } from "../../src/api/errors";
import { CallAbort } from "../../src/api/http";
import {
  REPEATABLE,
  backoffDelay,
  classifyNetworkError,
  decideJobPollRetry,
  decideRetry,
  parseRetryAfter,
  sleep,
  type AttemptOutcome,
  type RetryInput,
} from "../../src/api/retry";
import { OPERATIONS } from "../../src/api/schemas";
import type { Logger, SessionsClient } from "../../src/api/types";
import { clientFor, freePort, json, startServer, type TestServer } from "./helpers";

const POLICY = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };
const response = (status: number, retryAfterMs?: number): AttemptOutcome => ({
  kind: "response",
  status,
  retryAfterMs,
});
const network = (code: string): AttemptOutcome =>
  classifyNetworkError(Object.assign(new Error(code), { code }));

function decide(outcome: AttemptOutcome, repeatable: boolean, extra: Partial<RetryInput> = {}) {
  return decideRetry({
    outcome,
    repeatable,
    attempt: 1,
    policy: POLICY,
    remainingMs: 60_000,
    random: () => 0.5,
    ...extra,
  });
}

describe("decideRetry", () => {
  // [outcome, repeatable, retried?]
  const table: [string, AttemptOutcome, boolean, boolean][] = [
    ["429 read", response(429), true, true],
    ["502 read", response(502), true, true],
    ["503 read", response(503), true, true],
    ["504 read", response(504), true, true],
    ["500 read", response(500), true, false],
    ["400 read", response(400), true, false],
    ["401 read", response(401), true, false],
    ["403 read", response(403), true, false],
    ["404 read", response(404), true, false],
    ["429 kill", response(429), false, false],
    ["503 kill", response(503), false, false],
    ["401 kill", response(401), false, false],
    ["ECONNREFUSED read", network("ECONNREFUSED"), true, true],
    ["ECONNREFUSED kill", network("ECONNREFUSED"), false, true],
    ["DNS ENOTFOUND kill", network("ENOTFOUND"), false, true],
    ["DNS EAI_AGAIN kill", network("EAI_AGAIN"), false, true],
    ["connect timeout kill", network("UND_ERR_CONNECT_TIMEOUT"), false, true],
    ["reset read", network("ECONNRESET"), true, true],
    ["reset kill", network("ECONNRESET"), false, false],
    ["socket closed read", network("UND_ERR_SOCKET"), true, true],
    ["socket closed kill", network("UND_ERR_SOCKET"), false, false],
    ["headers timeout read", network("UND_ERR_HEADERS_TIMEOUT"), true, true],
    ["headers timeout kill", network("UND_ERR_HEADERS_TIMEOUT"), false, false],
    ["body timeout kill", network("UND_ERR_BODY_TIMEOUT"), false, false],
    ["ETIMEDOUT kill (may be after sending)", network("ETIMEDOUT"), false, false],
    ["aborted by the caller", network("UND_ERR_ABORTED"), true, false],
    ["client closed", network("UND_ERR_CLOSED"), true, false],
    ["unreadable 200 read (malformed or cut off)", { kind: "unreadable", status: 200 }, true, true],
    ["unreadable 200 kill", { kind: "unreadable", status: 200 }, false, false],
    ["unknown error read", classifyNetworkError(new Error("weird")), true, true],
    ["unknown error kill", classifyNetworkError(new Error("weird")), false, false],
  ];
  test.each(table)("%s", (_name, outcome, repeatable, retried) => {
    expect(decide(outcome, repeatable).retry).toBe(retried);
  });

  test("gives up after maxAttempts, counting the first", () => {
    expect(decide(response(503), true, { attempt: 3 }).retry).toBe(true);
    expect(decide(response(503), true, { attempt: 4 })).toEqual({
      retry: false,
      reason: "gave up after 4 attempts",
    });
  });

  test("Retry-After is the delay, even above the backoff cap", () => {
    expect(decide(response(429, 3000), true)).toEqual({ retry: true, delayMs: 3000 });
  });

  test("no retry whose delay would pass the call's deadline", () => {
    const d = decide(response(429, 3000), true, { remainingMs: 2000 });
    expect(d.retry).toBe(false);
    expect(d.retry === false && d.reason).toMatch(/deadline/);
    expect(decide(response(503), true, { remainingMs: 10 }).retry).toBe(false);
  });

  test("backoff doubles per attempt, is jittered within [step/2, step], and is capped", () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, POLICY, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, POLICY, () => 0.999999))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    expect(decide(response(503), true, { attempt: 2 })).toEqual({ retry: true, delayMs: 150 });
  });

  test("classifies undici's own errors", () => {
    expect(classifyNetworkError(new undiciErrors.ConnectTimeoutError())).toMatchObject({
      mayHaveReachedServer: false,
      transient: true,
    });
    expect(classifyNetworkError(new undiciErrors.SocketError("other side closed"))).toMatchObject({
      mayHaveReachedServer: true,
      transient: true,
    });
    expect(classifyNetworkError(new undiciErrors.HeadersTimeoutError())).toMatchObject({
      mayHaveReachedServer: true,
      transient: true,
    });
    expect(classifyNetworkError(new undiciErrors.RequestAbortedError())).toMatchObject({ transient: false });
    const wrapped = Object.assign(new Error("fetch failed"), {
      cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
    });
    expect(classifyNetworkError(wrapped)).toMatchObject({
      code: "ECONNREFUSED",
      mayHaveReachedServer: false,
    });
  });

  test("every operation declares whether it is repeatable; kills and closes are not", () => {
    expect(Object.keys(REPEATABLE).sort()).toEqual(Object.keys(OPERATIONS).sort());
    const notRepeatable = Object.entries(REPEATABLE)
      .filter(([, r]) => !r)
      .map(([name]) => name)
      .sort();
    expect(notRepeatable).toEqual([
      "geminidbCloseNodeSessions",
      "geminidbCloseSessions",
      "killAllClients",
      "killClients",
    ]);
  });
});

describe("sleep: a backoff a signal or a call's own abort cuts short", () => {
  test("an AbortSignal: resolves and leaves no listener; its abort rejects with its reason", async () => {
    const controller = new AbortController();
    await sleep(5, controller.signal);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error("signal"));
    await expect(pending).rejects.toThrow("signal");
  });

  test("a CallAbort (an emitter, as undici takes it): the same, and one already aborted rejects at once", async () => {
    const abort = new CallAbort();
    expect(abort).toBeInstanceOf(EventEmitter);
    await sleep(5, abort);
    expect(abort.listenerCount("abort")).toBe(0);
    const pending = sleep(10_000, abort);
    expect(abort.listenerCount("abort")).toBe(1);
    abort.abort(new Error("deadline"));
    await expect(pending).rejects.toThrow("deadline");
    expect(abort.listenerCount("abort")).toBe(0);
    // A second abort changes nothing: the first reason stays.
    abort.abort(new Error("later"));
    expect(abort.reason).toEqual(new Error("deadline"));
    await expect(sleep(10_000, abort)).rejects.toThrow("deadline");
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  test.each([
    ["3", 3000],
    ["0", 0],
    [" 120 ", 120_000],
    ["1.5", 1500],
    ["Thu, 01 Jan 2026 00:00:07 GMT", 7000],
    ["Wed, 31 Dec 2025 23:59:00 GMT", 0],
  ])("%j → %d ms", (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });
  test("absent or unreadable → undefined", () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-1", now)).toBeUndefined();
  });
});

/** Collects the debug lines of a client. */
function recorder() {
  const lines: { message: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = (_level, message, fields) => lines.push({ message, fields: fields ?? {} });
  return { lines, logger, retries: () => lines.filter((l) => l.message.includes("retrying")) };
}

const INSTANCE = "inst-1";
const NODE = "node-1";
const KILL_PATH = /\/clients\/kill-all$/;

describe("through the client over loopback", () => {
  let server: TestServer;
  let client: SessionsClient;
  let log: ReturnType<typeof recorder>;
  beforeAll(async () => {
    server = await startServer((_r, res) => json(res, 200, {}));
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.reset();
    log = recorder();
    client = clientFor(server.url, { logger: log.logger });
  });
  afterEach(() => client.close());

  test("429 with Retry-After: waits what the server asked, then succeeds", async () => {
    server.setHandler((_rec, res) =>
      server.requests.length === 1
        ? json(res, 429, { error_code: "APIGW.0308", error_msg: "throttled" }, { "retry-after": "1" })
        : json(res, 200, { job_id: "j", status: "SUCCESS" }),
    );
    const started = Date.now();
    await expect(client.dcs.showJob("j")).resolves.toMatchObject({ status: "SUCCESS" });
    expect(server.requests).toHaveLength(2);
    expect(log.retries().map((l) => l.fields.delayMs)).toEqual([1000]);
    // A lower bound only: honouring Retry-After cannot take less than it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  test("503 then success", async () => {
    server.setHandler((_rec, res) =>
      server.requests.length === 1
        ? json(res, 503, "busy")
        : json(res, 200, { instance_id: INSTANCE, nodes: [] }),
    );
    await expect(client.dcs.listNodes(INSTANCE)).resolves.toMatchObject({ total: 0 });
    expect(server.requests).toHaveLength(2);
    expect(log.lines.filter((l) => l.fields.status).map((l) => [l.fields.attempt, l.fields.status])).toEqual([
      [1, 503],
      [2, 200],
    ]);
  });

  test("503 every time: gives up after maxAttempts with the last error and the count", async () => {
    server.setHandler((_rec, res) =>
      json(res, 503, { error_code: "DCS.5030", error_msg: "unavailable" }, { "x-request-id": "r-503" }),
    );
    const error = await client.dcs.listNodes(INSTANCE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 503, errorCode: "DCS.5030", requestId: "r-503", attempts: 4 });
    expect(String(error)).toContain("after 4 attempts");
    expect(server.requests).toHaveLength(4);
  });

  test.each([
    [401, "APIGW.0301", /clock/],
    [403, "APIGW.0302", /permission/],
    [404, "DCS.4001", /check the instance/],
    [400, "DCS.4957", undefined],
  ])("%d is never repeated", async (status, code, hint) => {
    server.setHandler((_rec, res) => json(res, status, { error_code: code, error_msg: "no" }));
    const error = await client.dcs.listNodes(INSTANCE).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ApiError", status, errorCode: code, attempts: 1 });
    if (hint) expect(String(error)).toMatch(hint);
    expect(server.requests).toHaveLength(1);
  });

  test("a kill-all is not repeated after the connection is reset once the request was sent", async () => {
    server.setHandler((rec, _res, raw) => {
      if (KILL_PATH.test(rec.path)) raw.socket.destroy();
    });
    const error = await client.dcs.killAllClients(INSTANCE, { allNodes: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({
      operation: "killAllClients",
      mayHaveReachedServer: true,
      attempts: 1,
      status: 0,
    });
    expect(String(error)).toMatch(/may have reached the server/);
    expect(server.requests.filter((r) => KILL_PATH.test(r.path))).toHaveLength(1);
  });

  test("a kill-all answered 503 is not repeated either", async () => {
    server.setHandler((_rec, res) => json(res, 503, "busy"));
    await expect(client.dcs.killAllClients(INSTANCE, { nodeId: NODE })).rejects.toMatchObject({
      status: 503,
    });
    expect(server.requests).toHaveLength(1);
  });

  test("a read whose connection is reset is repeated", async () => {
    server.setHandler((_rec, res, raw) => {
      if (server.requests.length === 1) return void raw.socket.destroy();
      json(res, 200, { job_id: "j", status: "RUNNING" });
    });
    await expect(client.dcs.showJob("j")).resolves.toMatchObject({ status: "RUNNING" });
    expect(server.requests).toHaveLength(2);
  });

  test("a read that gets no headers in time is repeated, then fails with the timeout", async () => {
    const slow = clientFor(server.url, { timeouts: { headersMs: 50 }, retry: { maxAttempts: 2 } });
    server.setHandler(() => undefined); // never answers
    try {
      const error = await slow.dcs.showJob("j").catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "ConnectionError", code: "UND_ERR_HEADERS_TIMEOUT", attempts: 2 });
      expect(server.requests).toHaveLength(2);
    } finally {
      await slow.close();
    }
  });

  test("the deadline of the whole call: a hanging server → TimeoutError", async () => {
    server.setHandler(() => undefined);
    const error = await client.dcs.listNodes(INSTANCE, { deadlineMs: 80 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ operation: "listNodes", timeoutMs: 80 });
    expect(String(error)).not.toMatch(/taken effect/);
  });

  test("a kill-all cut off by the call's deadline is not repeated, and says it may have taken effect", async () => {
    server.setHandler(() => undefined);
    const error = await client.dcs
      .killAllClients(INSTANCE, { nodeId: NODE }, { deadlineMs: 500 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(String(error)).toMatch(/may have taken effect/);
    expect(server.requests.filter((r) => KILL_PATH.test(r.path))).toHaveLength(1);
  });

  test("a kill-all that gets no headers in time is not repeated", async () => {
    const slow = clientFor(server.url, { timeouts: { headersMs: 50 } });
    server.setHandler(() => undefined); // never answers
    try {
      const error = await slow.dcs.killAllClients(INSTANCE, { nodeId: NODE }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: "ConnectionError",
        code: "UND_ERR_HEADERS_TIMEOUT",
        mayHaveReachedServer: true,
        attempts: 1,
      });
      expect(String(error)).toMatch(/may have reached the server/);
      expect(server.requests).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  test("the deadline of the whole call: no retry that would end after it", async () => {
    server.setHandler((_rec, res) =>
      json(res, 429, { error_code: "APIGW.0308", error_msg: "throttled" }, { "retry-after": "5" }),
    );
    const error = await client.dcs.listNodes(INSTANCE, { deadlineMs: 2000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ApiError", status: 429, errorCode: "APIGW.0308", attempts: 1 });
    expect(server.requests).toHaveLength(1);
  });

  test("the caller's abort stops retrying and rejects with the caller's reason", async () => {
    server.setHandler((_rec, res) => json(res, 503, "busy"));
    const controller = new AbortController();
    const slowRetry = clientFor(server.url, { retry: { baseDelayMs: 5000, maxDelayMs: 5000 } });
    try {
      const pending = slowRetry.dcs.listNodes(INSTANCE, { signal: controller.signal });
      // Aborted once the first attempt has reached the server (a fixed 50 ms wait was not always enough on
      // a loaded machine for a new client's first request), then while the 5 s backoff runs.
      for (let waited = 0; server.requests.length === 0 && waited < 5000; waited += 5) {
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 50));
      controller.abort(new Error("stop"));
      await expect(pending).rejects.toThrow("stop");
      expect(server.requests).toHaveLength(1);
    } finally {
      await slowRetry.close();
    }
  });

  test("a caller's signal already aborted: nothing is sent, and the call rejects with the caller's reason", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stopped before"));
    await expect(client.dcs.listNodes(INSTANCE, { signal: controller.signal })).rejects.toThrow(
      "stopped before",
    );
    expect(server.requests).toHaveLength(0);
  });

  test("the caller's abort cuts a request in flight, with the caller's reason, not a timeout", async () => {
    server.setHandler(() => undefined); // never answers
    const controller = new AbortController();
    const started = Date.now();
    const pending = client.dcs.listNodes(INSTANCE, { signal: controller.signal, deadlineMs: 30_000 });
    await new Promise((r) => setTimeout(r, 50));
    controller.abort(new Error("cut"));
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain("cut");
    expect(error).not.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test("one caller's signal over many calls and two clients: one listener while calls run, none after, no warning, and its abort stops them all", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    // A provider makes a client per resource, with one signal for all of them.
    const other = clientFor(server.url);
    try {
      server.setHandler((_rec, res) => json(res, 200, { nodes: [] }));
      const controller = new AbortController();
      const { signal } = controller;
      for (let call = 0; call < 5; call++) await client.dcs.listNodes(INSTANCE, { signal });
      const answered = await Promise.all(
        [client, other].flatMap((c) =>
          Array.from({ length: 15 }, () => c.dcs.listNodes(INSTANCE, { signal })),
        ),
      );
      expect(answered).toHaveLength(30);
      // Every call has ended: no listener is left on the caller's signal.
      expect(getEventListeners(signal, "abort")).toHaveLength(0);
      // 30 calls in flight on the signal from two clients, then its abort: each rejects with the caller's reason.
      server.setHandler(() => undefined); // never answers
      const pending = [client, other].flatMap((c) =>
        Array.from({ length: 15 }, () =>
          c.dcs.listNodes(INSTANCE, { signal, deadlineMs: 30_000 }).catch((e: unknown) => e),
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
      expect(getEventListeners(signal, "abort")).toHaveLength(1);
      controller.abort(new Error("all of them"));
      const errors = await Promise.all(pending);
      expect(errors.map((e) => (e as Error).message)).toEqual(Array(30).fill("all of them"));
      expect(getEventListeners(signal, "abort")).toHaveLength(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings.map((w) => w.name)).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      await other.close();
    }
  });
});

describe("connection refused", () => {
  test("a read is retried, and fails with ECONNREFUSED after maxAttempts", async () => {
    const port = await freePort();
    const client = clientFor(`http://127.0.0.1:${port}`, { retry: { maxAttempts: 3 } });
    try {
      const error = await client.dcs.listNodes(INSTANCE).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({
        code: "ECONNREFUSED",
        mayHaveReachedServer: false,
        attempts: 3,
        status: 0,
      });
    } finally {
      await client.close();
    }
  });

  test("a kill-all is retried too (it never reached a server), and is sent exactly once when one appears", async () => {
    const port = await freePort();
    let server: TestServer | undefined;
    const starting: Promise<void>[] = [];
    const log = recorder();
    const client = clientFor(`http://127.0.0.1:${port}`, {
      retry: { baseDelayMs: 200, maxDelayMs: 200 },
      logger: (level, message, fields) => {
        log.logger(level, message, fields);
        // After the first refusal, start listening on that port before the retry.
        if (fields?.code === "ECONNREFUSED" && !server && starting.length === 0) {
          starting.push(
            startServer((_rec, res) => json(res, 200, `{"job_id": k1}`), port).then((s) => {
              server = s;
            }),
          );
        }
      },
    });
    try {
      await expect(client.dcs.killAllClients(INSTANCE, { allNodes: true })).resolves.toEqual({ jobId: "k1" });
      await Promise.all(starting);
      expect(server!.requests.filter((r) => KILL_PATH.test(r.path))).toHaveLength(1);
      expect(log.lines.filter((l) => l.fields.code === "ECONNREFUSED").length).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
      await Promise.all(starting);
      await server?.close();
    }
  });
});

describe("failures no local server can produce (MockAgent)", () => {
  const ORIGIN = "https://dcs.mock.example";
  let agent: MockAgent;
  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
  });
  afterEach(() => agent.close());

  test("a kill-all whose connect timed out is retried: it never left this machine", async () => {
    const pool = agent.get(ORIGIN);
    const path = /\/v2\/proj-0123456789\/instances\/inst-1\/clients\/kill-all/;
    pool.intercept({ path, method: "POST" }).replyWithError(new undiciErrors.ConnectTimeoutError());
    pool.intercept({ path, method: "POST" }).reply(200, { job_id: "k2" });
    const client = clientFor(ORIGIN, { dispatcher: agent });
    try {
      await expect(client.dcs.killAllClients(INSTANCE, { nodeId: NODE })).resolves.toEqual({ jobId: "k2" });
      agent.assertNoPendingInterceptors();
    } finally {
      await client.close();
    }
  });

  test("a DNS failure is retried for a kill, then reported as a ConnectionError", async () => {
    const pool = agent.get(ORIGIN);
    const dnsError = () =>
      Object.assign(new Error("getaddrinfo ENOTFOUND dcs.mock.example"), { code: "ENOTFOUND" });
    pool
      .intercept({ path: /kill-all/, method: "POST" })
      .replyWithError(dnsError())
      .times(2);
    const client = clientFor(ORIGIN, { dispatcher: agent, retry: { maxAttempts: 2 } });
    try {
      const error = await client.dcs.killAllClients(INSTANCE, { nodeId: NODE }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: "ConnectionError",
        code: "ENOTFOUND",
        mayHaveReachedServer: false,
        attempts: 2,
      });
      agent.assertNoPendingInterceptors();
    } finally {
      await client.close();
    }
  });
});

describe("decideJobPollRetry: a failed read of a job's status during a wait", () => {
  const where = { operation: "showJob", method: "GET", path: "/v2/p/jobs/j" };
  const apiError = (status: number) => new ApiError({ ...where, status });
  const connection = (code: string) => new ConnectionError({ ...where, code, mayHaveReachedServer: true });

  test.each([
    ["HTTP 500", apiError(500), true],
    ["HTTP 502", apiError(502), true],
    ["HTTP 429 (the transport's own retries outlasted)", apiError(429), true],
    ["a 200 that was not a job (malformed, no status)", apiError(200), true],
    ["a reset connection", connection("ECONNRESET"), true],
    ["a call past its own deadline", new TimeoutError("showJob", 1000), true],
    ["HTTP 400", apiError(400), false],
    ["HTTP 401 (a bad signature locks the key when repeated)", apiError(401), false],
    ["HTTP 403", apiError(403), false],
    ["HTTP 404 (the caller's: the list-time fallback)", apiError(404), false],
    ["the caller's own abort", connection("UND_ERR_ABORTED"), false],
    ["anything that is not a failure of the job API", new Error("boom"), false],
  ])("%s: asked again = %s", (_name, error, retry) => {
    expect(decideJobPollRetry(error).retry).toBe(retry);
  });
});
