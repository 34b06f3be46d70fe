/**
 * The resources' inputs as the provider sees them: zod schemas for `check`, and the pure `check`/`diff`
 * decisions. Free of `@pulumi/pulumi` so it is cheap to load and to test.
 */
import type { PurgeInput } from "../core/purge";
import {
  diffResourceInputs,
  REPLACE_ON_INPUTS,
  RESOURCE_INPUT_KEYS,
  ResourceInputsSchema,
  resourceInputIssues,
  type ResourceInputs,
  type ResourceKind,
} from "../core/resource-inputs";
import type { ScanInput } from "../core/scan";

export type { ResourceKind };

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

/** The inputs only the resources have (the same for the CDKTF constructs). */
export const PulumiInputsSchema = ResourceInputsSchema;
export type PulumiInputs = ResourceInputs;

/** Every input name of a resource kind: what `diff` compares and what the outputs echo. */
export const INPUT_KEYS = RESOURCE_INPUT_KEYS;

export type SessionScanInputs = Omit<ScanInput, "concurrency" | "rescan"> & PulumiInputs;
export type SessionPurgeInputs = Omit<PurgeInput, "concurrency"> & PulumiInputs;

/** Inputs that name another target: a change replaces the resource rather than updating it. */
export const REPLACE_ON = REPLACE_ON_INPUTS;

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

/**
 * Validates a resource's inputs: one failure per problem, each naming its top-level property. Values not
 * known yet (a preview) are not judged; credentials given as inputs are refused without echoing them.
 */
export function checkInputs(kind: ResourceKind, news: Record<string, unknown>): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const inputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(withoutProvider(news))) {
    if (value === undefined) continue;
    if (Object.hasOwn(CREDENTIAL_CONFIG, key)) {
      const where = CREDENTIAL_CONFIG[key as (typeof CREDENTIAL_INPUTS)[number]];
      failures.push({ property: key, reason: `${key}: credentials are not resource inputs; set ${where}` });
    } else inputs[key] = value;
  }
  for (const issue of resourceInputIssues(kind, inputs, (v) => v === UNKNOWN_VALUE)) {
    failures.push({ property: issue.property, reason: issue.message });
  }
  return failures;
}

export interface InputDiff {
  changes: boolean;
  /** The inputs that changed (normalized: an explicit default equals an absent input). */
  changed: string[];
  replaces: string[];
  /** The changes that re-run the operation; when empty, an update records the new inputs without a remote call. */
  reruns: string[];
  deleteBeforeReplace: boolean;
}

/**
 * What changed between the state (`olds`, which echo the inputs) and the new inputs, by the core's rule
 * (`diffResourceInputs`). `__provider` is not an input: a new version of this package must not re-run
 * anything. `alwaysRun: true` is always a change.
 */
export function diffInputs(
  kind: ResourceKind,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): InputDiff {
  const { changed, replaces, reruns } = diffResourceInputs(kind, olds, news);
  return { changes: changed.length > 0, changed, replaces, reruns, deleteBeforeReplace: replaces.length > 0 };
}
