/**
 * Turns any failure into one line a person can act on, and the exit code of DESIGN §5. Stack traces only
 * when `DEBUG` asks for them.
 */
import {
  ApiError,
  CredentialsError,
  DcsSessionsError,
  GuardRefusedError,
  JobFailedError,
  TimeoutError,
  ValidationError,
  exitCodeOf,
  redact,
} from "../api/errors";
import { secretsInEnv } from "../core/secrets";

/** What a CLI error needs: the line to print and the exit code. */
export interface FailureReport {
  line: string;
  exitCode: 1 | 2 | 3;
  stack?: string;
}

/** A fix for the API failures whose cause is usually known, when the client gave none. */
export function apiFix(error: ApiError): string | undefined {
  if (error.hint) return undefined; // already in the message
  if (error.errorCode === "DCS.4957") return "another job is running on the instance; wait for it and retry";
  if (error.errorCode === "APIGW.0301" || error.status === 401)
    return "check HW_ACCESS_KEY/HW_SECRET_KEY (or HW_AUTH_TOKEN) and that this machine's clock is within 15 minutes of UTC";
  if (error.status === 403) return "the credentials lack permission for this operation on this project";
  if (error.status === 404) return "check the instance id, the node ids, --project-id and --region";
  if (error.status === 429) return "the API is throttling requests; retry in a few seconds";
  if (error.status === 0) return "check --endpoint/--region and the network";
  return undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

export function describeFailure(error: unknown, env: Record<string, string | undefined>): FailureReport {
  const exitCode = exitCodeOf(error);
  let line: string;
  if (error instanceof GuardRefusedError)
    line = /refused/i.test(error.message)
      ? error.message
      : `refused by the ${error.guard} guard: ${error.message}`;
  else if (error instanceof ValidationError) line = `invalid input: ${error.message}`;
  else if (error instanceof CredentialsError)
    line = `${error.message} (set HW_ACCESS_KEY and HW_SECRET_KEY, or HW_AUTH_TOKEN, in the environment)`;
  else if (error instanceof ApiError) {
    const fix = apiFix(error);
    line = fix ? `${error.message} (${fix})` : error.message;
  } else if (error instanceof TimeoutError || error instanceof JobFailedError) line = error.message;
  else if (error instanceof DcsSessionsError) line = error.message;
  else if (error instanceof Error) line = `unexpected error: ${error.message}`;
  else line = `unexpected error: ${String(error)}`;
  const secrets = secretsInEnv(env);
  const stack = error instanceof Error && error.stack ? redact(error.stack, secrets) : undefined;
  return { line: `dcs-sessions: ${redact(oneLine(line), secrets)}`, exitCode, stack };
}
