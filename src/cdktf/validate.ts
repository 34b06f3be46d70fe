/**
 * Prop validation for the constructs, in the constructor, with messages naming the prop. The rules are the
 * core's (the same schemas as the Pulumi resources' `check` and the provider's validate calls); what the
 * constructs add is their own props and Terraform's reading of `${…}` in literal text. Values that are still
 * tokens (a Terraform variable, another resource's attribute) are checked by the provider at plan time.
 */
import { ValidationError } from "../api/errors";
import { listIssues } from "../api/schemas";
import { ResourceInputsSchema, resourceInputIssues, type ResourceKind } from "../core/resource-inputs";
import type { CdkLibrary } from "./library";

export type TokenTest = (value: unknown) => boolean;

export function tokenTest(lib: CdkLibrary): TokenTest {
  return (value) =>
    (typeof value === "string" || typeof value === "number" || Array.isArray(value)) &&
    lib.Token.isUnresolved(value);
}

/**
 * Free text that ends up in the Terraform JSON. Terraform reads `${…}` and `%{…}` in any JSON string as a
 * template, so literal text must not contain them; control characters have no business there either.
 */
export function checkTextProp(
  value: unknown,
  prop: string,
  isToken: TokenTest,
  allowed = "plain text",
): void {
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

/** Where to connect: a provider setting in Terraform, not an attribute of the scan or the purge. */
export const CONNECTION_PROPS = ["region", "projectId", "endpoint", "geminidbEndpoint"] as const;

const ProviderPropsSchema = ResourceInputsSchema.pick({
  region: true,
  projectId: true,
  endpoint: true,
  geminidbEndpoint: true,
});

/** Credentials come from Terraform's environment only; as props they would be synthesized in clear. */
const CREDENTIAL_PROPS = ["accessKey", "secretKey", "securityToken", "authToken"] as const;

const ALIAS_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

function refuseCredentials(props: object): void {
  for (const key of CREDENTIAL_PROPS) {
    if (Object.hasOwn(props, key)) {
      throw new ValidationError(
        key,
        "credentials are not construct props (they would be written to the synthesized JSON)",
        "HW_ACCESS_KEY / HW_SECRET_KEY (or HW_SECURITY_TOKEN, HW_AUTH_TOKEN) in Terraform's environment",
      );
    }
  }
}

export function checkProviderProps(props: object | undefined, lib: CdkLibrary): void {
  if (props === undefined || props === null || typeof props !== "object") {
    throw new TypeError("DcsSessionsProvider props must be an object");
  }
  refuseCredentials(props);
  const isToken = tokenTest(lib);
  const { alias, ...connection } = props as Record<string, unknown>;
  if (alias !== undefined && (typeof alias !== "string" || !ALIAS_PATTERN.test(alias))) {
    throw new ValidationError("alias", "is not a provider alias", "a letter, then letters, digits, _ or -");
  }
  const known: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(connection))
    if (value !== undefined && !isToken(value)) known[key] = value;
  for (const prop of ["endpoint", "geminidbEndpoint"]) checkTextProp(known[prop], prop, isToken);
  const [first] = listIssues(ProviderPropsSchema, known);
  if (first) throw new ValidationError(first.field, first.message.slice(first.field.length + 2));
}

/** A map of strings (`triggers`): keys and values are literal text in the JSON. */
function checkStringMap(value: unknown, prop: string, isToken: TokenTest): void {
  if (value === undefined || isToken(value)) return;
  const allowed = 'a map of strings, e.g. { release: "2026-12-01" }';
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError(prop, "is not a map of strings", allowed);
  }
  for (const [key, entry] of Object.entries(value)) {
    checkTextProp(key, `${prop} key ${JSON.stringify(key)}`, isToken);
    if (typeof entry !== "string") throw new ValidationError(`${prop}.${key}`, "is not a string", allowed);
    checkTextProp(entry, `${prop}.${key}`, isToken);
  }
}

/** Strings of `match` that reach the JSON as literal text. */
function checkMatchText(match: unknown, isToken: TokenTest): void {
  if (typeof match !== "object" || match === null) return;
  for (const [key, list] of Object.entries(match)) {
    if (!Array.isArray(list) || isToken(list)) continue;
    list.forEach((entry, i) => checkTextProp(entry, `match.${key}[${i}]`, isToken));
  }
}

/** Inputs the Pulumi resource has and the Terraform element has not (a data source is read at every plan). */
const NOT_ATTRIBUTES: Record<ResourceKind, readonly string[]> = {
  SessionScan: ["triggers", "alwaysRun"],
  SessionPurge: [],
};
const TYPE_OF: Record<ResourceKind, string> = {
  SessionScan: "dcssessions_scan",
  SessionPurge: "dcssessions_purge",
};

/**
 * Validates a SessionScan's or SessionPurge's props with the core's schemas, after the construct's own
 * (`ownProps`: Terraform wiring, checked or passed by the caller). Throws a ValidationError naming the first
 * bad prop, as deep as the problem.
 */
export function checkSessionProps(
  kind: ResourceKind,
  props: object | undefined,
  ownProps: readonly string[],
  lib: CdkLibrary,
): void {
  if (props === undefined || props === null || typeof props !== "object") {
    throw new TypeError(`${kind} props are required (at least instanceId)`);
  }
  refuseCredentials(props);
  const isToken = tokenTest(lib);
  const record = props as Record<string, unknown>;
  for (const prop of CONNECTION_PROPS) {
    if (record[prop] !== undefined) {
      throw new ValidationError(
        prop,
        "is a provider setting here",
        "a DcsSessionsProvider with it, passed as `provider` (or the environment of §3 in Terraform's)",
      );
    }
  }
  for (const prop of NOT_ATTRIBUTES[kind]) {
    if (record[prop] !== undefined) {
      throw new ValidationError(prop, `is not an attribute of ${TYPE_OF[kind]}`, "the props of SessionPurge");
    }
  }
  checkStringMap(record.triggers, "triggers", isToken);
  checkTextProp(record.addr, "addr", isToken);
  checkMatchText(record.match, isToken);
  const inputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!ownProps.includes(key) && key !== "triggers") {
      inputs[key] = value;
    }
  }
  const [first] = resourceInputIssues(kind, inputs, isToken);
  if (first) {
    // The issue's message starts with its field; ValidationError puts it back.
    throw new ValidationError(first.field, first.message.slice(first.field.length + 2));
  }
}
