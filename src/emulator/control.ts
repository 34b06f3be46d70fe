/**
 * The control API: change faults and read counters while the emulator runs, over HTTP under `/_emulator`
 * (not signed: it is not part of the emulated service) or in process through the handle's `control`.
 */
import { toValidationError } from "../api/schemas";
import { FaultRuleSchema, FaultRulesSchema, type FaultBook } from "./faults";
import type { EmulatorControl } from "./types";

export const CONTROL_PREFIX = "/_emulator";

export function controlOf(book: FaultBook): EmulatorControl {
  return {
    setFaults: async (faults) => book.set(FaultRulesSchema.parse(faults)),
    addFault: async (fault) => book.add(FaultRuleSchema.parse(fault)),
    clearFaults: async () => book.clear(),
    counters: async () => book.counters(),
    resetCounters: async () => book.resetCounters(),
  };
}

export interface ControlResult {
  status: number;
  body?: unknown;
}

function invalid(message: string): ControlResult {
  return { status: 400, body: { error_code: "EMULATOR.4000", error_msg: message } };
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString("utf8")) };
  } catch {
    return { ok: false };
  }
}

/**
 * `GET|PUT|POST|DELETE /_emulator/faults` (list, replace with an array, add one, clear) and
 * `GET|DELETE /_emulator/counters` (read, reset).
 */
export function handleControl(
  book: FaultBook,
  method: string,
  pathname: string,
  body: Buffer,
): ControlResult {
  const resource = pathname.slice(CONTROL_PREFIX.length).replace(/\/+$/, "");
  if (resource === "/faults") {
    if (method === "GET") return { status: 200, body: { faults: book.list() } };
    if (method === "DELETE") {
      book.clear();
      return { status: 204 };
    }
    if (method === "PUT" || method === "POST") {
      const parsed = parseJson(body);
      if (!parsed.ok) return invalid("the body is not valid JSON");
      const schema = method === "PUT" ? FaultRulesSchema : FaultRuleSchema;
      const result = schema.safeParse(parsed.value);
      if (!result.success) return invalid(toValidationError(result.error, "faults").message);
      if (Array.isArray(result.data)) book.set(result.data);
      else book.add(result.data);
      return { status: 204 };
    }
  }
  if (resource === "/counters") {
    if (method === "GET") return { status: 200, body: { counters: book.counters() } };
    if (method === "DELETE") {
      book.resetCounters();
      return { status: 204 };
    }
  }
  return {
    status: 404,
    body: { error_code: "EMULATOR.4004", error_msg: `no control endpoint ${method} ${pathname}` },
  };
}
