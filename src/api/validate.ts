/**
 * Validation of what callers pass to the client: the strict wire schemas of schemas.ts, with errors that name
 * the caller's field (`nodeId`, not `node_id`), raised before any request.
 */
import { z } from "zod";
import { ValidationError } from "./errors";
import { IdSchema, parseInput, toValidationError } from "./schemas";

/** Validates an id that goes into a path or query. */
export function checkId(value: unknown, field: string): string {
  return parseInput(IdSchema, value, field);
}

/** Rejects a request object that is not an object or has fields the operation does not know (typos). */
export function checkFields(
  value: unknown,
  field: string,
  known: readonly string[],
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError(field, "must be an object", `an object with: ${known.join(", ")}`);
  }
  const unknown = Object.keys(value).find((k) => !known.includes(k));
  if (unknown !== undefined) {
    throw new ValidationError(`${field}.${unknown}`, "is not a known field", known.join(", "));
  }
  return value as Record<string, unknown>;
}

/**
 * Validates a wire object with its strict schema and reports a failure under the caller's field names:
 * `names` maps wire keys to them (`{node_id: "nodeId"}`).
 */
export function checkWire<S extends z.ZodType>(
  schema: S,
  wire: Record<string, unknown>,
  names: Record<string, string>,
): z.output<S> {
  // Absent optional fields are left out rather than sent as `undefined`.
  const defined = Object.fromEntries(Object.entries(wire).filter(([, v]) => v !== undefined));
  const result = schema.safeParse(defined);
  if (result.success) return result.data;
  const renamed = new z.ZodError(
    result.error.issues.map((issue) => {
      const [head, ...rest] = issue.path;
      const path = typeof head === "string" && head in names ? [names[head]!, ...rest] : issue.path;
      return { ...issue, path } as z.core.$ZodIssue;
    }),
  );
  throw toValidationError(renamed);
}
