/**
 * The resources' inputs as the provider sees them: zod schemas for `check`, and the pure `check`/`diff`
 * decisions. Free of `@pulumi/pulumi` so it is cheap to load and to test.
 */
import { z } from "zod";
import { fieldName, IdSchema, listIssues } from "../api/schemas";
import { PurgeInputSchema, type PurgeInput } from "../core/purge";
import { ScanInputSchema, type ScanInput } from "../core/scan";

export type ResourceKind = "SessionScan" | "SessionPurge";

/** The property the dynamic-provider host adds to every resource: the serialized provider. */
export const PROVIDER_KEY = "__provider";
/** What the engine sends for a value not known during a preview. */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Credentials are stack config or environment, never inputs: inputs land in the state in clear. */
export const CREDENTIAL_INPUTS = ["accessKey", "secretKey", "securityToken", "authToken"] as const;
const CREDENTIAL_CONFIG: Record<(typeof CREDENTIAL_INPUTS)[number], string> = {
  accessKey: "huaweicloud:accessKey or HW_ACCESS_KEY",
  secretKey: "huaweicloud:secretKey (pulumi config set --secret) or HW_SECRET_KEY",
  securityToken: "huaweicloud:securityToken (pulumi config set --secret) or HW_SECURITY_TOKEN",
  authToken: "HW_AUTH_TOKEN",
};

const EndpointSchema = z.url({ protocol: /^https?$/, message: "must be an http(s) URL" });

/** The inputs only the Pulumi resources have; the rest are the core's options, validated by its schemas. */
export const PulumiInputsSchema = z.strictObject({
  triggers: z.array(z.unknown()).optional(),
  alwaysRun: z.boolean().optional(),
  region: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{1,63}$/, { message: "must be a region name such as eu-west-101" })
    .optional(),
  projectId: IdSchema.optional(),
  endpoint: EndpointSchema.optional(),
  geminidbEndpoint: EndpointSchema.optional(),
});
export type PulumiInputs = z.infer<typeof PulumiInputsSchema>;

const CORE_SCHEMAS = { SessionScan: ScanInputSchema, SessionPurge: PurgeInputSchema } as const;
/** Core options a resource does not expose: how the provider runs is not the user's state. */
const NOT_INPUTS = new Set(["concurrency"]);

function coreKeys(kind: ResourceKind): string[] {
  return Object.keys(CORE_SCHEMAS[kind].shape).filter((key) => !NOT_INPUTS.has(key));
}

/** Every input name of a resource kind: what `diff` compares and what the outputs echo. */
export const INPUT_KEYS: Record<ResourceKind, readonly string[]> = {
  SessionScan: [...coreKeys("SessionScan"), ...Object.keys(PulumiInputsSchema.shape)],
  SessionPurge: [...coreKeys("SessionPurge"), ...Object.keys(PulumiInputsSchema.shape)],
};

export type SessionScanInputs = Omit<ScanInput, "concurrency"> & PulumiInputs;
export type SessionPurgeInputs = Omit<PurgeInput, "concurrency"> & PulumiInputs;

/** Inputs that name another target: a change replaces the resource rather than updating it. */
export const REPLACE_ON = ["instanceId", "engine"] as const;

export interface CheckFailure {
  property: string;
  reason: string;
}

/** The inputs without the host's `__provider`. */
export function withoutProvider(props: Record<string, unknown>): Record<string, unknown> {
  const { [PROVIDER_KEY]: _provider, ...rest } = props;
  return rest;
}

/** The known inputs of a kind picked out of props (state outputs hold the inputs too). */
export function pickInputs(kind: ResourceKind, props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of INPUT_KEYS[kind]) if (props[key] !== undefined) out[key] = props[key];
  return out;
}

/** Field names (as `fieldName` spells them) whose value is unknown in a preview. */
function unknownFields(value: unknown, path: PropertyKey[] = []): string[] {
  if (value === UNKNOWN_VALUE) return [fieldName(undefined, path)];
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownFields(v, [...path, i]));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => unknownFields(v, [...path, k]));
  }
  return [];
}

function isUnder(field: string, parent: string): boolean {
  return field === parent || field.startsWith(`${parent}.`) || field.startsWith(`${parent}[`);
}

/**
 * Validates a resource's inputs: one failure per problem, each naming its top-level property. Values not
 * known yet (a preview) are not judged; credentials given as inputs are refused without echoing them.
 */
export function checkInputs(kind: ResourceKind, news: Record<string, unknown>): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const core: Record<string, unknown> = {};
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(withoutProvider(news))) {
    if (value === undefined) continue;
    if (Object.hasOwn(CREDENTIAL_CONFIG, key)) {
      const where = CREDENTIAL_CONFIG[key as (typeof CREDENTIAL_INPUTS)[number]];
      failures.push({ property: key, reason: `${key}: credentials are not resource inputs; set ${where}` });
    } else if (Object.hasOwn(PulumiInputsSchema.shape, key)) own[key] = value;
    else if (INPUT_KEYS[kind].includes(key)) core[key] = value;
    else {
      const allowed = INPUT_KEYS[kind].join(", ");
      failures.push({ property: key, reason: `${key}: is not an input of ${kind}; allowed: ${allowed}` });
    }
  }
  const unknown = unknownFields({ ...core, ...own });
  const issues = [...listIssues(CORE_SCHEMAS[kind], core), ...listIssues(PulumiInputsSchema, own)];
  for (const issue of issues) {
    if (unknown.some((u) => isUnder(issue.field, u))) continue;
    failures.push({ property: issue.field.split(/[.[]/)[0] || issue.field, reason: issue.message });
  }
  return failures;
}

/** A canonical text of a value: object keys sorted, absent and undefined alike. */
function canonical(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export interface InputDiff {
  changes: boolean;
  /** The inputs that changed. */
  changed: string[];
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/**
 * What changed between the state (`olds`, which echo the inputs) and the new inputs. `__provider` is not
 * an input: a new version of this package must not re-run anything. `alwaysRun: true` is always a change.
 */
export function diffInputs(
  kind: ResourceKind,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): InputDiff {
  const changed = INPUT_KEYS[kind].filter((key) => canonical(olds[key]) !== canonical(news[key]));
  if (news.alwaysRun === true && !changed.includes("alwaysRun")) changed.push("alwaysRun");
  const replaces = REPLACE_ON.filter((key) => changed.includes(key));
  return { changes: changed.length > 0, changed, replaces, deleteBeforeReplace: replaces.length > 0 };
}
