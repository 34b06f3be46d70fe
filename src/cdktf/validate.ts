/**
 * Prop validation for the constructs, in the constructor, with messages naming the prop. The rules are the
 * core's (the same schemas as the Pulumi resources' `check`); what the constructs add is their own props
 * (`command`) and Terraform's reading of `${…}` in literal text. Values that are still tokens (a Terraform
 * variable, another resource's attribute) are checked by the CLI when Terraform runs it.
 */
import { Token } from "cdktf";
import { ValidationError } from "../api/errors";
import { resourceInputIssues, type ResourceKind } from "../core/resource-inputs";

export function isToken(value: unknown): boolean {
  return (
    (typeof value === "string" || typeof value === "number" || Array.isArray(value)) &&
    Token.isUnresolved(value)
  );
}

/**
 * Free text that ends up in the Terraform JSON. Terraform reads `${…}` and `%{…}` in any JSON string as a
 * template, so literal text must not contain them; control characters have no business there either.
 */
export function checkTextProp(value: unknown, prop: string, allowed = "plain text"): void {
  if (typeof value !== "string" || isToken(value)) return;
  if (/\$\{|%\{/.test(value) || hasControlCharacter(value)) {
    throw new ValidationError(prop, "contains a Terraform template sequence or a control character", allowed);
  }
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

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
  value.forEach((a: string, i) => checkTextProp(a, `${prop}[${i}]`, "an argument without ${ or %{"));
}

/** Props that free text reaches the JSON through: the rest are ids, numbers, booleans and choices. */
const TEXT_PROPS = ["addr", "endpoint", "geminidbEndpoint"] as const;

/**
 * Validates a construct's props with the resources' schemas; `constructProps` are the construct's own props
 * (checked by the caller). Throws a ValidationError naming the first bad prop, as deep as the problem.
 */
export function checkResourceProps(
  kind: ResourceKind,
  props: object | undefined,
  constructProps: readonly string[],
): void {
  if (props === undefined || props === null) throw new TypeError("props are required (at least instanceId)");
  const inputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(props)) if (!constructProps.includes(key)) inputs[key] = value;
  for (const prop of TEXT_PROPS) checkTextProp(inputs[prop], prop);
  const [first] = resourceInputIssues(kind, inputs, isToken);
  if (first) {
    // The issue's message starts with its field; ValidationError puts it back.
    throw new ValidationError(first.field, first.message.slice(first.field.length + 2));
  }
}
