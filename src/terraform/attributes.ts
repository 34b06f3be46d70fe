/**
 * Terraform's snake_case attributes and the core's camelCase options and reports, mapped by name through
 * the schema (map keys, such as client IPs, are left alone), and the core's errors and input issues as
 * diagnostics on attribute paths.
 */
import { ApiError, DcsSessionsError, GuardRefusedError, redact, ValidationError } from "../api/errors";
import type { InputIssue } from "../core/resource-inputs";
import type { Diagnostic, PathStep } from "./protocol/types";
import { UNKNOWN, type ObjectValue, type Value, type ValueType } from "./protocol/values";

export const camelCase = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
export const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Attribute values as core options: camelCase names, null (absent) left out. Unknown values stay
 * `UNKNOWN`, for validation to skip; `omit` names attributes that are not core options.
 */
export function toCore(value: ObjectValue, omit: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) {
    if (v === null || omit.includes(name)) continue;
    out[camelCase(name)] = coreValue(v);
  }
  return out;
}

function coreValue(value: Value): unknown {
  if (Array.isArray(value)) return value.map(coreValue);
  if (value !== null && typeof value === "object") return toCore(value);
  return value;
}

/** A core result as the attributes of an object type: each attribute read from its camelCase field. */
export function fromCore(value: unknown, type: ValueType): Value {
  if (value === null || value === undefined) return null;
  if (typeof type === "string" || type[0] === "map") return value as Value;
  if (type[0] === "list" || type[0] === "set") {
    return (value as unknown[]).map((v) => fromCore(v, type[1]));
  }
  const source = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(type[1]).map(([name, t]) => [name, fromCore(source[camelCase(name)], t)]),
  );
}

/** `maintenanceWindow.start` → ["maintenance_window", "start"]; `nodeIds[2]` → ["node_ids", 2]. */
export function attributePath(field: string): PathStep[] {
  const steps: PathStep[] = [];
  for (const match of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    steps.push(match[2] !== undefined ? Number(match[2]) : snakeCase(match[1]!));
  }
  return steps;
}

/** A path as Terraform users write it: `maintenance_window.start`, `node_ids[2]`. */
export function pathText(path: PathStep[]): string {
  let out = "";
  for (const step of path) {
    if (typeof step === "number") out += `[${step}]`;
    else if (typeof step === "string") out += out ? `.${step}` : step;
    else out += `[${JSON.stringify(step.key)}]`;
  }
  return out;
}

/** The core's words with its option names in Terraform's spelling (`allNodes` → `all_nodes`). */
export function inTerraformWords(text: string): string {
  return text.replace(/\b[a-z]+(?:[A-Z][a-z0-9]*)+\b/g, snakeCase);
}

export function issueDiagnostics(issues: InputIssue[]): Diagnostic[] {
  return issues.map((issue) => {
    const path = attributePath(issue.field);
    const detail = inTerraformWords(issue.message.slice(issue.message.indexOf(": ") + 2));
    return {
      severity: "error",
      summary: `Invalid ${pathText(path)}`,
      detail: `${pathText(path)}: ${detail}`,
      path,
    };
  });
}

/** Unknown values are judged when they are known (at apply); here they are left for validation to skip. */
export const isUnknownValue = (value: unknown) => value === UNKNOWN;

/**
 * A failure of an operation as a diagnostic: the summary says what failed, the detail names the operation,
 * the HTTP status and the error code when the API answered, and carries no secret.
 */
export function errorDiagnostic(
  action: string,
  error: unknown,
  secrets: ReadonlyArray<string | undefined>,
): Diagnostic {
  const message = redact(error instanceof Error ? error.message : String(error), secrets);
  if (error instanceof ValidationError) {
    const path = attributePath(error.field);
    return {
      severity: "error",
      summary: `Invalid ${pathText(path)}`,
      detail: inTerraformWords(message),
      path,
    };
  }
  if (error instanceof GuardRefusedError) {
    return {
      severity: "error",
      summary: `${action} refused by the ${snakeCase(error.guard)} guard`,
      detail: inTerraformWords(message),
    };
  }
  if (error instanceof ApiError) {
    const facts = [
      `operation: ${error.operation}`,
      `HTTP status: ${error.status === 0 ? "no response" : error.status}`,
      `error code: ${error.errorCode ?? "none"}`,
    ];
    if (error.requestId) facts.push(`request id: ${error.requestId}`);
    return {
      severity: "error",
      summary: `${action} failed: ${error.operation} answered ${error.status || "no response"}${error.errorCode ? ` ${error.errorCode}` : ""}`,
      detail: `${facts.join("\n")}\n\n${message}`,
    };
  }
  const kind = error instanceof DcsSessionsError ? error.name : "Error";
  return { severity: "error", summary: `${action} failed (${kind})`, detail: message };
}
