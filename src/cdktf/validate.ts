/**
 * Prop validation for the constructs, in the constructor, with messages naming the prop. Values that are
 * still tokens (a Terraform variable, another resource's attribute) are checked by the CLI at apply time.
 */
import { Token } from "cdktf";
import { ValidationError } from "../api/errors";
import { ID_ALLOWED, ID_PATTERN } from "../api/schemas";
import { MAX_TOP_N } from "../core/types";

export function isToken(value: unknown): boolean {
  return (
    (typeof value === "string" || typeof value === "number" || Array.isArray(value)) &&
    Token.isUnresolved(value)
  );
}

export function checkIdProp(value: unknown, prop: string): void {
  if (isToken(value)) return;
  if (typeof value !== "string" || !ID_PATTERN.test(value)) {
    throw new ValidationError(prop, `${JSON.stringify(value)} is not an id`, ID_ALLOWED);
  }
}

export function checkIdListProp(value: unknown, prop: string): void {
  if (value === undefined || isToken(value)) return;
  if (!Array.isArray(value) || value.length === 0) {
    throw new ValidationError(prop, "is not a non-empty list of ids", `a list of ${ID_ALLOWED}`);
  }
  value.forEach((id, i) => checkIdProp(id, `${prop}[${i}]`));
}

export function checkChoiceProp(value: unknown, prop: string, choices: readonly string[]): void {
  if (value === undefined || isToken(value)) return;
  if (typeof value !== "string" || !choices.includes(value)) {
    throw new ValidationError(
      prop,
      `${JSON.stringify(value)} is not allowed`,
      `one of: ${choices.join(", ")}`,
    );
  }
}

export function checkIntegerProp(
  value: unknown,
  prop: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): void {
  if (value === undefined || isToken(value)) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const allowed =
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new ValidationError(prop, `${JSON.stringify(value)} is not valid`, allowed);
  }
}

export function checkBooleanProp(value: unknown, prop: string): void {
  if (value === undefined || typeof value === "boolean") return;
  throw new ValidationError(prop, `${JSON.stringify(value)} is not a boolean`, "true or false");
}

/**
 * Free text that ends up in the Terraform JSON. Terraform reads `${…}` and `%{…}` in any JSON string as a
 * template, so literal text must not contain them; control characters have no business there either.
 */
export function checkTextProp(value: unknown, prop: string, pattern?: RegExp, allowed?: string): void {
  if (value === undefined || isToken(value)) return;
  if (typeof value !== "string" || value.length === 0 || value.length > 256) {
    throw new ValidationError(prop, "is not a string of 1-256 characters", allowed ?? "1-256 characters");
  }
  if (/\$\{|%\{/.test(value) || hasControlCharacter(value)) {
    throw new ValidationError(
      prop,
      "contains a Terraform template sequence or a control character",
      allowed ?? "plain text",
    );
  }
  if (pattern && !pattern.test(value))
    throw new ValidationError(prop, `${JSON.stringify(value)} is not valid`, allowed);
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

export const REGION_PATTERN = /^[a-z]{2}(-[a-z0-9]+)+$/;
export const PROJECT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const ENDPOINT_PATTERN = /^https?:\/\/[A-Za-z0-9.[\]:_-]+(:\d+)?(\/[A-Za-z0-9._~/-]*)?$/;

export function checkCommandProp(value: unknown, prop: string): void {
  if (value === undefined) return;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.some((a) => typeof a !== "string" || a.length === 0)
  ) {
    throw new ValidationError(
      prop,
      "is not an argv array",
      'a non-empty array of non-empty strings, e.g. ["npx", "--no-install", "dcs-sessions"]',
    );
  }
  value.forEach((a: string, i) =>
    checkTextProp(a, `${prop}[${i}]`, undefined, "an argument without ${ or %{"),
  );
}

export { MAX_TOP_N };
