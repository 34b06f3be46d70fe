/**
 * The one place that decides whether a failed call is sent again (DESIGN §4). Everything here is pure except
 * `sleep`; the HTTP layer reports what an attempt ended with and does what `decideRetry` says.
 */
import { ApiError, ConnectionError, TimeoutError } from "./errors";
import type { OperationName } from "./schemas";

/**
 * Whether an operation may be sent again after its request may have reached the server. A kill or a close
 * is not: a second one could end sessions that connected after the first, and the caller cannot tell.
 */
export const REPEATABLE: Readonly<Record<OperationName, boolean>> = {
  listNodes: true,
  scanClients: true,
  listClients: true,
  killAllClients: false,
  killClients: false,
  showJob: true,
  geminidbListSessions: true,
  geminidbCloseSessions: false,
  geminidbListNodeSessions: true,
  geminidbCloseNodeSessions: false,
  geminidbNodeSessionStatistics: true,
};

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Backoff before the second attempt; doubled for each further one. */
  baseDelayMs: number;
  /** Backoff cap. A longer `Retry-After` is still honoured, within the call's deadline. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
};

/** Statuses that say "try again later": throttling and a busy or unreachable upstream. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** What one attempt ended with, as far as the decision is concerned. */
export type AttemptOutcome =
  | { kind: "response"; status: number; retryAfterMs?: number }
  /** A success status whose body could not be read (malformed or cut off): a read may ask again. */
  | { kind: "unreadable"; status: number }
  | { kind: "network"; code?: string; mayHaveReachedServer: boolean; transient: boolean };

export interface RetryInput {
  outcome: AttemptOutcome;
  /** From `REPEATABLE`. */
  repeatable: boolean;
  /** Attempts made so far, this one included (1 after the first). */
  attempt: number;
  policy: RetryPolicy;
  /** Time left before the call's deadline. */
  remainingMs: number;
  /** Source of jitter, [0, 1). */
  random?: () => number;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string };

/**
 * Network error codes raised before a single byte of the request left this machine: only after these may a
 * non-repeatable operation be sent again.
 */
const NEVER_SENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Failures that another attempt cannot fix: a caller's abort, a closed client, a request we built badly. */
const PERMANENT_CODES: ReadonlySet<string> = new Set([
  "UND_ERR_ABORTED",
  "ABORT_ERR",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
  "UND_ERR_INVALID_ARG",
  "UND_ERR_NOT_SUPPORTED",
  "UND_ERR_HEADERS_OVERFLOW",
  "UND_ERR_RES_EXCEEDED_MAX_SIZE",
  "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH",
]);

function codeOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, name, cause } = error as { code?: unknown; name?: unknown; cause?: unknown };
  if (typeof code === "string") return code;
  if (name === "AbortError") return "ABORT_ERR";
  return cause === undefined ? undefined : codeOf(cause);
}

/** Classifies an error thrown by the transport (undici or Node's sockets). */
export function classifyNetworkError(error: unknown): Extract<AttemptOutcome, { kind: "network" }> {
  const code = codeOf(error);
  return {
    kind: "network",
    code,
    mayHaveReachedServer: code === undefined || !NEVER_SENT_CODES.has(code),
    transient: code === undefined || !PERMANENT_CODES.has(code),
  };
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // An HTTP date names a weekday and month; anything else (a negative number) is not one.
  const at = /[A-Za-z]/.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Exponential backoff with "equal jitter": half the step is fixed, half random, so retries spread out. */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Decides whether to send the call again, and after how long. */
export function decideRetry(input: RetryInput): RetryDecision {
  const { outcome, repeatable, attempt, policy } = input;
  if (outcome.kind === "response") {
    if (!RETRYABLE_STATUSES.has(outcome.status)) {
      return { retry: false, reason: `HTTP ${outcome.status} is not retried` };
    }
    // An answer proves the request arrived; repeating a kill could end sessions the first did not.
    if (!repeatable)
      return { retry: false, reason: "the operation is not repeatable and reached the server" };
  } else if (outcome.kind === "unreadable") {
    // The server answered, so a kill took effect; a read is asked again as after a 5xx.
    if (!repeatable)
      return { retry: false, reason: "the operation is not repeatable and reached the server" };
  } else {
    if (!outcome.transient)
      return { retry: false, reason: `${outcome.code ?? "the error"} is not transient` };
    if (!repeatable && outcome.mayHaveReachedServer) {
      return { retry: false, reason: "the operation is not repeatable and may have reached the server" };
    }
  }
  if (attempt >= policy.maxAttempts) return { retry: false, reason: `gave up after ${attempt} attempts` };
  const retryAfterMs = outcome.kind === "response" ? outcome.retryAfterMs : undefined;
  const delayMs = retryAfterMs ?? backoffDelay(attempt, policy, input.random);
  if (delayMs >= input.remainingMs) {
    return { retry: false, reason: `the next attempt (in ${delayMs} ms) would pass the call's deadline` };
  }
  return { retry: true, delayMs };
}

/**
 * Whether a failed read of a job's status is asked again at the next poll, within the wait's deadline. The job
 * was started and is still there whatever one read says: a 5xx, a 429 the transport's own retries did not
 * outlast, an answer that was not a job (malformed, cut off, no `status`), a dropped connection or a call past
 * its own deadline say nothing about it. A 404 is the caller's to follow (the list-time fallback); 400, 401
 * and 403 are never asked again (a repeated bad signature locks the key), nor is the caller's own abort.
 */
export function decideJobPollRetry(error: unknown): { retry: true } | { retry: false; reason: string } {
  if (error instanceof TimeoutError) return { retry: true };
  if (!(error instanceof ApiError)) return { retry: false, reason: "not a failure of the job API" };
  if (error instanceof ConnectionError) {
    const { transient } = classifyNetworkError({ code: error.code });
    return transient
      ? { retry: true }
      : { retry: false, reason: `${error.code ?? "the error"} is not transient` };
  }
  const { status } = error;
  if (status >= 200 && status < 300) return { retry: true }; // a success status whose body was not a job
  if (status === 429 || status >= 500) return { retry: true };
  return { retry: false, reason: `HTTP ${status} is not asked again` };
}

/**
 * What can abort a wait: an `AbortSignal`, or an emitter of "abort" with the same two fields (the transport's
 * `CallAbort`), the two kinds undici takes as a request's `signal`.
 */
export type Abortable =
  | AbortSignal
  | {
      readonly aborted: boolean;
      readonly reason: unknown;
      once(event: "abort", listener: () => void): unknown;
      removeListener(event: "abort", listener: () => void): unknown;
    };

/** Calls `listener` once when `signal` aborts; returns what takes the listener off. */
export function onAbort(signal: Abortable, listener: () => void): () => void {
  if ("addEventListener" in signal) {
    signal.addEventListener("abort", listener, { once: true });
    return () => signal.removeEventListener("abort", listener);
  }
  signal.once("abort", listener);
  return () => signal.removeListener("abort", listener);
}

/** Waits, unless the signal aborts first (then rejects with the signal's reason). */
export function sleep(ms: number, signal?: Abortable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const stopListening = signal
      ? onAbort(signal, () => {
          clearTimeout(timer);
          reject(signal.reason);
        })
      : undefined;
    const timer = setTimeout(() => {
      stopListening?.();
      resolve();
    }, ms);
  });
}
