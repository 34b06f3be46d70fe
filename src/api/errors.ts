/**
 * One error hierarchy for the whole package. Front ends map it once: Pulumi check failures, CLI exit codes
 * (see `exitCodeOf`), messages. No message may carry a secret key, token or signature.
 */

/** Base class: every error this package throws on purpose is a `DcsSessionsError`. */
export class DcsSessionsError extends Error {
  /** A short hint the user can act on, when one is known. */
  readonly hint?: string;
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(options?.hint ? `${message} (${options.hint})` : message, { cause: options?.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

export interface ApiErrorDetails {
  /** The client operation, e.g. `killAllClients`. */
  operation: string;
  method: string;
  /** The request path without query values that could identify secrets (paths hold ids only). */
  path: string;
  /** HTTP status; 0 when no response was received. */
  status: number;
  errorCode?: string;
  errorMsg?: string;
  requestId?: string;
  /** How many requests were sent for this call, retries included (absent when none was sent). */
  attempts?: number;
  hint?: string;
  cause?: unknown;
}

/** The remote API answered with an error status, or the call failed on the network. */
export class ApiError extends DcsSessionsError {
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly errorCode?: string;
  readonly errorMsg?: string;
  readonly requestId?: string;
  readonly attempts?: number;
  constructor(details: ApiErrorDetails) {
    super(ApiError.describe(details), { cause: details.cause, hint: details.hint });
    this.operation = details.operation;
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.errorMsg = details.errorMsg;
    this.requestId = details.requestId;
    this.attempts = details.attempts;
  }

  private static describe(d: ApiErrorDetails): string {
    const parts = [`${d.operation} failed: ${d.method} ${d.path}`];
    parts.push(d.status ? `HTTP ${d.status}` : "no response");
    if (d.errorCode) parts.push(d.errorCode);
    if (d.errorMsg) parts.push(d.errorMsg);
    if (d.requestId) parts.push(`request id ${d.requestId}`);
    if (d.attempts && d.attempts > 1) parts.push(`after ${d.attempts} attempts`);
    return parts.join(" — ");
  }
}

/**
 * The network failed before a complete answer arrived. `mayHaveReachedServer` is false only when the request
 * certainly never left (connection refused, DNS failure, connect timeout): only then may a non-repeatable
 * operation be retried.
 */
export class ConnectionError extends ApiError {
  readonly code?: string;
  readonly mayHaveReachedServer: boolean;
  constructor(details: Omit<ApiErrorDetails, "status"> & { code?: string; mayHaveReachedServer: boolean }) {
    super({ ...details, status: 0, errorCode: details.errorCode ?? details.code });
    this.code = details.code;
    this.mayHaveReachedServer = details.mayHaveReachedServer;
  }
}

/** A user-supplied value is invalid. Thrown before any remote call whenever the problem can be known then. */
export class ValidationError extends DcsSessionsError {
  /** The field as the user named it (`maxSessions`, `--max-sessions`, `nodeIds[2]`). */
  readonly field: string;
  /** What is allowed, in words (`an integer from 1 to 1000`, `one of: asc, desc`). */
  readonly allowed?: string;
  constructor(field: string, problem: string, allowed?: string) {
    super(`${field}: ${problem}${allowed ? `; allowed: ${allowed}` : ""}`);
    this.field = field;
    this.allowed = allowed;
  }
}

/** No usable credentials were found. Lists what was looked for, never a value. */
export class CredentialsError extends DcsSessionsError {
  readonly lookedFor: string[];
  constructor(message: string, lookedFor: string[]) {
    super(`${message}; looked for: ${lookedFor.join(", ")}`);
    this.lookedFor = lookedFor;
  }
}

/** A deadline ran out: a job that did not finish, or a whole call past its deadline. */
export class TimeoutError extends DcsSessionsError {
  readonly operation: string;
  readonly timeoutMs: number;
  readonly detail?: string;
  constructor(
    operation: string,
    timeoutMs: number,
    detail?: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    super(`${operation} timed out after ${timeoutMs} ms${detail ? `: ${detail}` : ""}`, options);
    this.operation = operation;
    this.timeoutMs = timeoutMs;
    this.detail = detail;
  }
}

/** A job the service ran ended in `FAIL`. */
export class JobFailedError extends DcsSessionsError {
  readonly jobId: string;
  readonly failReason?: string;
  constructor(jobId: string, failReason?: string) {
    super(`job ${jobId} failed${failReason ? `: ${failReason}` : " (no reason given)"}`);
    this.jobId = jobId;
    this.failReason = failReason;
  }
}

/**
 * A purge guard refused to act: too many sessions, outside the maintenance window with `fail`, or the
 * confirmation was declined.
 */
export class GuardRefusedError extends DcsSessionsError {
  readonly guard: "maxSessions" | "maintenanceWindow" | "confirmation";
  constructor(guard: "maxSessions" | "maintenanceWindow" | "confirmation", message: string) {
    super(message);
    this.guard = guard;
  }
}

/** CLI exit codes (DESIGN §5): 1 remote or runtime failure, 2 invalid usage or input, 3 refused by a guard. */
export function exitCodeOf(error: unknown): 1 | 2 | 3 {
  if (error instanceof GuardRefusedError) return 3;
  if (error instanceof ValidationError || error instanceof CredentialsError) return 2;
  return 1;
}

/**
 * Replaces every occurrence of the given secrets in a text. A last line of defence for messages built from
 * remote text (an error body could echo a header back); code should not put secrets in messages at all.
 */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    // Looked for first: a text without the secret (every request id) is returned as it is, nothing copied.
    if (s && s.length >= 4 && out.includes(s)) out = out.split(s).join("***");
  }
  return out;
}
