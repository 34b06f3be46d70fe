/**
 * Sending one API operation: URL, headers, signature, one keep-alive pool per origin, timeouts, the retry loop
 * (whose decisions come from retry.ts), and typed errors that never carry a secret.
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Dispatcher, Pool } from "undici";
import type { z } from "zod";
import { ApiError, ConnectionError, DcsSessionsError, TimeoutError, redact } from "./errors";
import {
  classifyNetworkError,
  decideRetry,
  parseRetryAfter,
  REPEATABLE,
  sleep,
  type AttemptOutcome,
  type RetryPolicy,
} from "./retry";
import { ErrorBodySchema, JOB_ID_OPERATIONS, OPERATIONS, parseWireJson, type OperationName } from "./schemas";
import { signRequest } from "./signer";
import type { CallOptions, Credentials, Logger, TimeoutOptions } from "./types";
import { undiciPool } from "./undici-pool";

export interface TransportSettings {
  projectId: string;
  /** Base URLs; a path prefix is kept (`https://host/prefix`). */
  endpoints: { dcs: string; geminidb: string };
  credentials: Credentials;
  retry: RetryPolicy;
  timeouts: Required<TimeoutOptions>;
  /** Used instead of the transport's own pools, and never closed by it. */
  dispatcher?: Dispatcher;
  logger?: Logger;
  now: () => Date;
}

export interface ApiRequest {
  operation: OperationName;
  /** Path parameters besides `project_id`, already validated as URL-safe ids. */
  params?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  options?: CallOptions;
  /**
   * Reads a success body from its chunks instead of `JSON.parse` of its text (the list's fast path): what it
   * returns is the response's body; undefined leaves the body to the text and `JSON.parse`, whose failure
   * the retry policy judges as ever. It is called at once, before any other body is read.
   */
  readBody?: (body: BodyChunks) => unknown;
}

/** A response body as it arrived: its chunks, in order, and their total length. */
export interface BodyChunks {
  readonly chunks: readonly Uint8Array[];
  readonly length: number;
}

export interface ApiResponse {
  operation: OperationName;
  method: string;
  /** The path without the query, as errors show it. */
  path: string;
  status: number;
  /** The parsed JSON body; undefined when the body was empty. */
  body: unknown;
  requestId?: string;
  /** The answer's `Date` header (the server's clock, whole seconds), when it sent one. */
  serverDate?: string;
}

export interface Transport {
  send(request: ApiRequest): Promise<ApiResponse>;
  close(): Promise<void>;
}

export const USER_AGENT = `dcs-sessions/${packageVersion()}`;

/** The headers a request id may come back in, in order of preference (undici lowercases names). */
const REQUEST_ID_HEADERS = ["x-request-id", "x-openstack-request-id"];

/** Error text from the server is shown, but not without bound. */
const MAX_ERROR_TEXT = 500;

function packageVersion(): string {
  try {
    // src/api and dist/api both sit two levels below the package root.
    const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** RFC 3986 percent-encoding: what the signer canonicalises, so what we send must match it. */
export function encodeComponent(value: string): string {
  // Ids and numbers, the usual values, need no encoding: one test instead of an encoding and a replace.
  if (UNRESERVED.test(value)) return value;
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Characters a path segment or a query value carries as they are (RFC 3986's unreserved). */
const UNRESERVED = /^[A-Za-z0-9\-_.~]*$/;

/** Fills `{name}` placeholders of an OPERATIONS path template; `{project_id}` with `projectId` when given. */
export function fillPath(template: string, params: Record<string, string>, projectId?: string): string {
  const parts = templateParts(template);
  let path = parts[0]!;
  for (let k = 1; k < parts.length; k += 2) {
    const name = parts[k]!;
    const value = name === "project_id" && projectId !== undefined ? projectId : params[name];
    if (value === undefined) throw new Error(`missing path parameter ${name}`);
    path += encodeComponent(value) + parts[k + 1]!;
  }
  return path;
}

/** A path template split once: text, placeholder name, text… (the templates are the few of OPERATIONS). */
const TEMPLATES = new Map<string, string[]>();
function templateParts(template: string): string[] {
  let parts = TEMPLATES.get(template);
  if (parts === undefined) {
    parts = template.split(/\{(\w+)\}/);
    TEMPLATES.set(template, parts);
  }
  return parts;
}

/** The query string (no `?`), undefined values left out, keys in the order given. */
export function buildQuery(query: ApiRequest["query"]): string {
  if (!query) return "";
  return Object.entries(query)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(String(v))}`)
    .join("&");
}

/** The first value of a header that may repeat. */
function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function requestIdOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  for (const name of REQUEST_ID_HEADERS) {
    const first = firstHeader(headers[name]);
    if (first) return first;
  }
  return undefined;
}

/** `{error_code, error_msg}`, or the `{error: {code, message}}` some gateways send, or the text itself. */
export function readErrorBody(text: string): { errorCode?: string; errorMsg?: string } {
  let parsed: unknown;
  try {
    parsed = parseWireJson(text);
  } catch {
    const plain = text.replace(/\s+/g, " ").trim();
    return { errorMsg: plain ? plain.slice(0, MAX_ERROR_TEXT) : undefined };
  }
  const nested = (parsed as { error?: unknown } | null)?.error;
  const source =
    nested && typeof nested === "object"
      ? {
          error_code: (nested as { code?: unknown }).code,
          error_msg: (nested as { message?: unknown }).message,
        }
      : parsed;
  const body = ErrorBodySchema.safeParse(source);
  if (!body.success) return {};
  const msg = [body.data.error_msg, body.data.error_ext_msg].filter(Boolean).join(": ");
  return { errorCode: body.data.error_code, errorMsg: msg ? msg.slice(0, MAX_ERROR_TEXT) : undefined };
}

/** What the user can do about a failed status, when we know. */
export function hintForStatus(
  operation: OperationName,
  status: number,
  auth: Credentials["kind"],
  repeatable: boolean,
): string | undefined {
  if (status === 401) {
    return auth === "token"
      ? "the IAM token may be expired or not valid for this project"
      : "check the access key and secret key; it may also be clock skew: X-Sdk-Date must be within 15 minutes " +
          "of the server's clock, so check this machine's clock";
  }
  if (status === 403)
    return "the credentials are valid but not allowed to do this; check the IAM permissions";
  if (status === 404) return "check the instance, node or job id, the project id and the region or endpoint";
  if (status === 429) return "the API is throttling requests; try again in a few seconds";
  if (operation === "listClients" && status === 500) {
    return "the session list is served from a cache that a scan fills; scan the node first";
  }
  if (!repeatable && status >= 500) {
    return "not sent again automatically because it may have taken effect; check before repeating it";
  }
  return undefined;
}

/** Masks a computed signature wherever it appears, whoever's it is. */
function maskSignatures(text: string): string {
  return text.includes("Signature=") ? text.replace(/Signature=[0-9A-Fa-f]{16,}/g, "Signature=***") : text;
}

/**
 * A copy of a transport error that keeps its name, code and message with every secret masked. The original is
 * not kept: a dispatcher's error may quote the request's headers (undici's MockAgent does), and a `cause` is
 * printed with the error.
 */
export function scrubbedCause(error: unknown, scrub: (text: string) => string, depth = 0): Error {
  const original = error instanceof Error ? error : undefined;
  const copy = new Error(scrub(original ? original.message : String(error)));
  copy.name = original?.name ?? "Error";
  copy.stack = original?.stack === undefined ? undefined : scrub(original.stack);
  const code = (original as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") Object.assign(copy, { code });
  if (original?.cause !== undefined && depth < 3)
    copy.cause = scrubbedCause(original.cause, scrub, depth + 1);
  return copy;
}

/** Parses a success body with a wire schema; an unexpected shape is an ApiError naming the operation. */
export function decodeResponse<S extends z.ZodType>(schema: S, response: ApiResponse): z.output<S> {
  const result = schema.safeParse(response.body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? issue.path.map(String).join(".") : "body";
  // A success status carrying an error document: say what the service said.
  const said = ErrorBodySchema.safeParse(response.body);
  const errorCode = said.success ? said.data.error_code : undefined;
  const errorMsg = said.success && errorCode ? said.data.error_msg : undefined;
  throw new ApiError({
    operation: response.operation,
    method: response.method,
    path: response.path,
    status: response.status,
    errorCode,
    errorMsg:
      `unexpected response: ${where}: ${issue?.message ?? "invalid"}` +
      (errorMsg ? `; the body says: ${errorMsg.slice(0, MAX_ERROR_TEXT)}` : ""),
    requestId: response.requestId,
  });
}

/** One operation made ready to send: what every attempt of it shares. */
export interface PreparedCall {
  operation: OperationName;
  method: string;
  /** The path without the query, as errors and logs show it. */
  path: string;
  url: URL;
  /** The JSON body, or "" for none. */
  body: string;
  /** From `REPEATABLE`: whether it may be sent again once it may have reached the server. */
  repeatable: boolean;
  /** `ApiRequest.readBody`. */
  readBody?: (body: BodyChunks) => unknown;
}

/** Step 1, build the request: method, URL with path parameters and query, JSON body. */
export function prepareCall(
  settings: Pick<TransportSettings, "projectId" | "endpoints">,
  request: ApiRequest,
): PreparedCall {
  const { operation } = request;
  const { method, path: template } = OPERATIONS[operation];
  const base = baseOf(
    operation.startsWith("geminidb") ? settings.endpoints.geminidb : settings.endpoints.dcs,
  );
  const path = fillPath(template, request.params ?? {}, settings.projectId);
  const query = buildQuery(request.query);
  const url = new URL(`${base}${path}${query ? `?${query}` : ""}`);
  const body = request.body === undefined ? "" : JSON.stringify(request.body);
  const call: PreparedCall = { operation, method, path, url, body, repeatable: REPEATABLE[operation] };
  if (request.readBody) call.readBody = request.readBody;
  return call;
}

/** An endpoint's origin and path without its trailing slashes, what every path of it is appended to. */
const BASES = new Map<string, string>();
function baseOf(endpoint: string): string {
  let base = BASES.get(endpoint);
  if (base === undefined) {
    const url = new URL(endpoint);
    base = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
    // Endpoints are the few of a process's clients: a bound all the same, for one that makes many.
    if (BASES.size >= 64) BASES.clear();
    BASES.set(endpoint, base);
  }
  return base;
}

/**
 * Step 2, sign: the headers of one attempt, signed afresh each time so that `X-Sdk-Date` stays current.
 * `extraSecrets`: the signature and the Authorization value, to be masked wherever they might show.
 */
export function signedHeaders(
  call: PreparedCall,
  settings: Pick<TransportSettings, "projectId" | "credentials" | "now">,
): { headers: Record<string, string>; extraSecrets: string[] } {
  const { credentials } = settings;
  const headers: Record<string, string> = {
    host: call.url.host,
    "x-project-id": settings.projectId,
    "user-agent": USER_AGENT,
    accept: "application/json",
  };
  if (call.body) headers["content-type"] = "application/json";
  if (credentials.kind === "token") {
    headers["x-auth-token"] = credentials.authToken;
    return { headers, extraSecrets: [] };
  }
  const signed = signRequest(
    // The URL object itself: the signer reads its path and query without parsing the text again.
    { method: call.method, url: call.url, headers: { ...headers }, body: call.body },
    credentials,
    settings.now(),
  );
  const extraSecrets: string[] = [];
  for (const [name, value] of Object.entries(signed)) {
    headers[name.toLowerCase()] = value;
    if (name.toLowerCase() === "authorization")
      extraSecrets.push(value, ...(/Signature=([0-9A-Fa-f]+)/.exec(value)?.slice(1) ?? []));
  }
  return { headers, extraSecrets };
}

/** A scrubber for one attempt: the client's secrets and this attempt's signature, masked. */
function scrubberFor(secrets: ReadonlyArray<string | undefined>): Scrub {
  return (text) => (text === undefined ? undefined : maskSignatures(redact(text, secrets)));
}

type Scrub = (text: string | undefined) => string | undefined;

/**
 * Passes a caller's abort on to the deadline of every call in flight with its signal, through one listener on
 * that signal while any call of the process is in flight on it, however many calls and clients share it: a
 * listener a call would make Node warn of a leak past 10 at once (a scan runs more), and `AbortSignal.any`
 * costs Node 20 tens of microseconds a call (5 % of a listing's main-thread CPU, measured in
 * docs/performance.md).
 */
export class AbortFanOut {
  private readonly signals = new WeakMap<AbortSignal, { inFlight: Set<CallAbort>; onAbort(): void }>();

  /** Aborts `call` when `signal` aborts (at once if it has); returns what ends that, at the call's end. */
  join(signal: AbortSignal, call: CallAbort): () => void {
    if (signal.aborted) {
      call.abort(signal.reason);
      return () => undefined;
    }
    let joined = this.signals.get(signal);
    if (joined === undefined) {
      const inFlight = new Set<CallAbort>();
      const onAbort = (): void => {
        this.signals.delete(signal);
        for (const c of inFlight) c.abort(signal.reason);
        inFlight.clear();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      joined = { inFlight, onAbort };
      this.signals.set(signal, joined);
    }
    joined.inFlight.add(call);
    const entry = joined;
    return () => {
      entry.inFlight.delete(call);
      if (entry.inFlight.size > 0 || this.signals.get(signal) !== entry) return;
      // The last call on the signal has ended: no listener is left on it.
      signal.removeEventListener("abort", entry.onAbort);
      this.signals.delete(signal);
    };
  }
}

/**
 * A call's abort, in the second form undici takes as a request's `signal`: an EventEmitter that emits "abort",
 * with `aborted` and `reason`. Node 20 takes about 4.6 µs to make an `AbortController`, and 3 µs more to add and
 * take off undici's listener through `EventTarget`: a fifth of what a list request cost this client beyond a
 * raw GET (docs/performance.md). Only the transport and undici ever see it.
 */
export class CallAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit("abort");
  }
}

/** One for the process: clients made one after the other with one signal (a provider's) share it. */
const aborts = new AbortFanOut();

/** The deadline of one call (all attempts and backoffs), joined with the caller's own signal. */
interface CallDeadline {
  signal: CallAbort;
  /** Milliseconds left before the deadline. */
  remainingMs(): number;
  /**
   * What an abort means to the caller: a TimeoutError for our deadline, their own reason otherwise.
   * `inFlight`: the abort cut off a request that may already have reached the server.
   */
  abortError(inFlight: boolean): unknown;
  dispose(): void;
}

function startDeadline(
  call: PreparedCall,
  options: CallOptions | undefined,
  defaultMs: number,
): CallDeadline {
  const deadlineMs = options?.deadlineMs ?? defaultMs;
  const deadlineAt = Date.now() + deadlineMs;
  const deadline = new CallAbort();
  const timer = setTimeout(() => deadline.abort(new Error("deadline")), deadlineMs);
  const userSignal = options?.signal;
  const leave = userSignal ? aborts.join(userSignal, deadline) : undefined;
  return {
    signal: deadline,
    remainingMs: () => deadlineAt - Date.now(),
    abortError(inFlight) {
      if (userSignal?.aborted || !deadline.aborted) return userSignal?.reason;
      const detail = `${call.method} ${call.path} got no complete answer in time`;
      return new TimeoutError(
        call.operation,
        deadlineMs,
        inFlight && !call.repeatable
          ? `${detail}; it may have taken effect: check before repeating it`
          : detail,
      );
    },
    dispose: () => {
      clearTimeout(timer);
      leave?.();
    },
  };
}

/** An HTTP answer as read off the wire, before anything is made of it. */
interface RawAnswer {
  status: number;
  /** The body's text; "" when `read` holds what the call's `readBody` made of its bytes. */
  text: string;
  read?: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/** Zero bytes after a body joined by `joinBody`, in the same buffer: a reader's stop sign at the end. */
export const BODY_PADDING = 8;

/** A body's chunks as they arrive, not joined: a reader may copy them where it reads them (page-scan.ts). */
async function bodyChunks(body: AsyncIterable<Uint8Array>): Promise<BodyChunks> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    length += chunk.length;
  }
  return { chunks, length };
}

/** A body's bytes in one buffer of their own, followed by `BODY_PADDING` zero bytes. */
export function joinBody(body: BodyChunks): Uint8Array {
  // A buffer of its own (never a slice of Node's shared pool), so the padding stays the body's.
  const out = Buffer.allocUnsafeSlow(body.length + BODY_PADDING);
  let at = 0;
  for (const chunk of body.chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  out.fill(0, body.length);
  return out.subarray(0, body.length);
}

/** Bytes as text, as undici's `text()` makes them: UTF-8, a leading byte-order mark left out. */
export function utf8Text(bytes: Uint8Array): string {
  const bom = bytes.length > 2 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8", bom ? 3 : 0);
}

/** What one attempt ended with: a response to return, or what the retry decision and the error need. */
type AttemptResult =
  | { kind: "done"; response: ApiResponse }
  | { kind: "failed"; outcome: AttemptOutcome; failure: (attempts: number, hint?: string) => Error };

/** Where a call went, as errors and logs name it. */
function whereOf(call: PreparedCall) {
  return { operation: call.operation, method: call.method, path: call.path };
}

/** Step 4, decode: a success body becomes the response; anything else a failure the retry policy judges. */
export function judgeAnswer(
  call: PreparedCall,
  answer: RawAnswer,
  requestId: string | undefined,
  scrub: Scrub,
  auth: Credentials["kind"],
): AttemptResult {
  const { status } = answer;
  if (status >= 200 && status < 300) {
    const parsed =
      answer.read === undefined
        ? parseSuccessBody(call.operation, answer.text)
        : { ok: true as const, body: answer.read };
    if (parsed.ok) {
      const serverDate = firstHeader(answer.headers["date"]);
      // Written out: a spread followed by properties its source lacks takes V8's slow path (about 2 µs).
      const response: ApiResponse = {
        operation: call.operation,
        method: call.method,
        path: call.path,
        status,
        body: parsed.body,
        requestId,
      };
      if (serverDate) response.serverDate = serverDate;
      return { kind: "done", response };
    }
    return {
      kind: "failed",
      outcome: { kind: "unreadable", status },
      failure: (attempts) =>
        new ApiError({
          ...whereOf(call),
          status,
          errorMsg: "the response body is not valid JSON (malformed or cut off)",
          requestId,
          attempts,
          hint: call.repeatable
            ? undefined
            : "the server answered, so it may have taken effect; check before repeating it",
        }),
    };
  }
  const { errorCode, errorMsg } = readErrorBody(answer.text);
  return {
    kind: "failed",
    outcome: {
      kind: "response",
      status,
      retryAfterMs: parseRetryAfter(firstHeader(answer.headers["retry-after"]), Date.now()),
    },
    failure: (attempts) =>
      new ApiError({
        ...whereOf(call),
        status,
        errorCode: scrub(errorCode),
        errorMsg: scrub(errorMsg),
        requestId,
        attempts,
        hint: hintForStatus(call.operation, status, auth, call.repeatable),
      }),
  };
}

/** A request that got no complete answer (refused, reset, cut off): a ConnectionError if not retried. */
function networkFailure(
  call: PreparedCall,
  error: unknown,
  network: Extract<AttemptOutcome, { kind: "network" }>,
  scrub: Scrub,
): AttemptResult {
  return {
    kind: "failed",
    outcome: network,
    failure: (attempts, hint) =>
      new ConnectionError({
        ...whereOf(call),
        code: network.code,
        mayHaveReachedServer: network.mayHaveReachedServer,
        errorMsg: scrub(error instanceof Error ? error.message : String(error)),
        attempts,
        hint,
        cause: scrubbedCause(error, (text) => scrub(text) ?? ""),
      }),
  };
}

/** Why a failure that is not retried was not, when the outcome was a network error. */
function notRepeatedHint(call: PreparedCall, outcome: AttemptOutcome): string | undefined {
  if (outcome.kind !== "network") return undefined;
  if (!call.repeatable && outcome.mayHaveReachedServer) {
    return `${call.url.host}: not sent again because the request may have reached the server; check whether it took effect before repeating it`;
  }
  return `no complete answer from ${call.url.host}`;
}

/** Hands a line to the caller's logger, if any: a broken logger must not break the call it describes. */
export function logTo(
  logger: Logger | undefined,
  level: Parameters<Logger>[0],
  message: string,
  fields: Record<string, unknown>,
): void {
  if (!logger) return;
  try {
    logger(level, message, fields);
  } catch {
    // Swallowed on purpose (see above).
  }
}

export function createTransport(settings: TransportSettings): Transport {
  const pools = new Map<string, Pool>();
  let closed = false;
  const { credentials, timeouts } = settings;
  const secrets =
    credentials.kind === "token"
      ? [credentials.authToken]
      : [credentials.secretKey, credentials.securityToken];

  /** One keep-alive pool per origin, shared by every call (or the dispatcher the caller gave). */
  function dispatcherFor(origin: string): Dispatcher {
    if (settings.dispatcher) return settings.dispatcher;
    let pool = pools.get(origin);
    if (!pool) {
      // undici is loaded at the first request, not with the client: it takes longer to load than the rest
      // of the client, and processes that only validate (the Terraform provider's) never send one.
      const UndiciPool = undiciPool();
      pool = new UndiciPool(origin, {
        connections: 16,
        keepAliveTimeout: 10_000,
        connect: { timeout: timeouts.connectMs },
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.bodyMs,
      });
      pools.set(origin, pool);
    }
    return pool;
  }

  function log(message: string, fields: Record<string, unknown>): void {
    logTo(settings.logger, "debug", message, fields);
  }
  /** Whether a log line is made at all: a listing sends a thousand requests, and most clients log nothing. */
  const logging = settings.logger !== undefined;

  /** Step 3, send: one HTTP exchange, the body read whole. */
  async function exchange(
    call: PreparedCall,
    headers: Record<string, string>,
    signal: CallAbort,
  ): Promise<RawAnswer> {
    // `URL.origin` is a getter that builds its string again at each read.
    const { origin } = call.url;
    const res = await dispatcherFor(origin).request({
      origin,
      path: `${call.url.pathname}${call.url.search}`,
      method: call.method as Dispatcher.HttpMethod,
      headers,
      body: call.body || undefined,
      signal,
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.bodyMs,
    });
    if (!call.readBody) return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
    // Read as chunks: a success body goes to `readBody`, which may decline it; the text as `text()` gives it.
    const body = await bodyChunks(res.body);
    const success = res.statusCode >= 200 && res.statusCode < 300;
    const read = success ? call.readBody(body) : undefined;
    if (read !== undefined) return { status: res.statusCode, text: "", read, headers: res.headers };
    return { status: res.statusCode, text: utf8Text(joinBody(body)), headers: res.headers };
  }

  /** Sign, send and decode once; a network failure is returned for the retry decision, not thrown. */
  async function attemptOnce(
    call: PreparedCall,
    attempt: number,
    deadline: CallDeadline,
  ): Promise<AttemptResult> {
    const { headers, extraSecrets } = signedHeaders(call, settings);
    const scrub = scrubberFor([...secrets, ...extraSecrets]);
    const started = Date.now();
    try {
      const answer = await exchange(call, headers, deadline.signal);
      const requestId = scrub(requestIdOf(answer.headers));
      if (logging)
        log(`${call.operation} ${call.method} ${call.path} → ${answer.status}`, {
          ...whereOf(call),
          status: answer.status,
          attempt,
          requestId,
          durationMs: Date.now() - started,
        });
      return judgeAnswer(call, answer, requestId, scrub, credentials.kind);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (deadline.signal.aborted) throw deadline.abortError(true);
      const network = classifyNetworkError(error);
      if (logging)
        log(`${call.operation} ${call.method} ${call.path} → ${network.code ?? "network error"}`, {
          ...whereOf(call),
          attempt,
          code: network.code,
          durationMs: Date.now() - started,
        });
      return networkFailure(call, error, network, scrub);
    }
  }

  /** Step 5, decide retry: wait before the next attempt, or throw the failure (retry.ts decides which). */
  async function backOffOrThrow(
    call: PreparedCall,
    failed: AttemptResult & { kind: "failed" },
    attempt: number,
    deadline: CallDeadline,
  ): Promise<void> {
    const decision = decideRetry({
      outcome: failed.outcome,
      repeatable: call.repeatable,
      attempt,
      policy: settings.retry,
      remainingMs: deadline.remainingMs(),
    });
    if (!decision.retry) throw failed.failure(attempt, notRepeatedHint(call, failed.outcome));
    log(`${call.operation}: retrying in ${decision.delayMs} ms`, {
      ...whereOf(call),
      attempt,
      delayMs: decision.delayMs,
    });
    try {
      await sleep(decision.delayMs, deadline.signal);
    } catch {
      throw deadline.abortError(false);
    }
  }

  async function send(request: ApiRequest): Promise<ApiResponse> {
    if (closed) throw new DcsSessionsError(`${request.operation}: the client is closed; create a new one`);
    const call = prepareCall(settings, request);
    const deadline = startDeadline(call, request.options, timeouts.callMs);
    try {
      for (let attempt = 1; ; attempt++) {
        if (deadline.signal.aborted) throw deadline.abortError(false);
        const result = await attemptOnce(call, attempt, deadline);
        if (result.kind === "done") return result.response;
        await backOffOrThrow(call, result, attempt, deadline);
      }
    } finally {
      deadline.dispose();
    }
  }

  async function close(): Promise<void> {
    closed = true;
    const all = [...pools.values()];
    pools.clear();
    await Promise.all(all.map((pool) => pool.close()));
  }

  return { send, close };
}

/**
 * An empty body is `undefined`; a body that is not JSON is not ok (the retry policy decides what follows).
 * Only job answers get the `job_id` repair: a list page is large, and its text is parsed as it came.
 */
function parseSuccessBody(
  operation: OperationName,
  text: string,
): { ok: true; body: unknown } | { ok: false } {
  if (!text.trim()) return { ok: true, body: undefined };
  try {
    return { ok: true, body: JOB_ID_OPERATIONS.has(operation) ? parseWireJson(text) : JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
