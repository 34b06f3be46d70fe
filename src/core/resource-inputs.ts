/**
 * The inputs of the infrastructure-as-code resources (the Pulumi `SessionScan`/`SessionPurge` and the CDKTF
 * constructs of the same names): the core options plus `triggers`, `alwaysRun` and where to connect. One set
 * of schemas, so that both front ends accept the same values and word their errors the same way.
 */
import { z } from "zod";
import { checkEndpoint } from "../api/config";
import { REGION_EXAMPLES, REGION_PATTERN } from "../api/endpoints";
import { ValidationError } from "../api/errors";
import { fieldName, IdSchema, listIssues } from "../api/schemas";
import { PurgeInputSchema } from "./purge";
import { DEFAULT_WAIT_TIMEOUT_SECONDS, ScanInputSchema } from "./scan";
import { DEFAULT_TOP_N } from "./types";

export type ResourceKind = "SessionScan" | "SessionPurge";

/** An endpoint override, judged by the client's own rule (https, or http on loopback). */
const EndpointSchema = z.string().superRefine((value, ctx) => {
  try {
    checkEndpoint(value, "endpoint");
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    ctx.addIssue({ code: "custom", message: `is not allowed; allowed: ${error.allowed ?? "a URL"}` });
  }
});

/** The inputs only the resources have; the rest are the core's options, validated by its schemas. */
export const ResourceInputsSchema = z.strictObject({
  triggers: z.array(z.unknown()).optional(),
  alwaysRun: z.boolean().optional(),
  region: z
    .string()
    .regex(REGION_PATTERN, { message: `must be a region id such as ${REGION_EXAMPLES}` })
    .optional(),
  projectId: IdSchema.optional(),
  endpoint: EndpointSchema.optional(),
  geminidbEndpoint: EndpointSchema.optional(),
});
export type ResourceInputs = z.infer<typeof ResourceInputsSchema>;

const CORE_SCHEMAS = { SessionScan: ScanInputSchema, SessionPurge: PurgeInputSchema } as const;
/**
 * Core options a resource does not expose: how the provider runs, `rescan`, which only a refresh sets, and a
 * purge's `topN`, which sizes the report's list of selected sessions that a state does not keep.
 */
const NOT_INPUTS: Record<ResourceKind, ReadonlySet<string>> = {
  SessionScan: new Set(["concurrency", "rescan"]),
  SessionPurge: new Set(["concurrency", "rescan", "topN"]),
};

function coreKeys(kind: ResourceKind): string[] {
  return Object.keys(CORE_SCHEMAS[kind].shape).filter((key) => !NOT_INPUTS[kind].has(key));
}

/** Every input name of a resource kind. */
export const RESOURCE_INPUT_KEYS: Record<ResourceKind, readonly string[]> = {
  SessionScan: [...coreKeys("SessionScan"), ...Object.keys(ResourceInputsSchema.shape)],
  SessionPurge: [...coreKeys("SessionPurge"), ...Object.keys(ResourceInputsSchema.shape)],
};

export interface InputIssue {
  /** The top-level input (`maintenanceWindow`). */
  property: string;
  /** The field as deep as the problem (`maintenanceWindow.start`, `nodeIds[2]`). */
  field: string;
  /** `field: what is wrong; allowed: …`. */
  message: string;
}

/** Field names (as `fieldName` spells them) whose value is not known yet. */
function unknownFields(
  value: unknown,
  isUnknown: (v: unknown) => boolean,
  path: PropertyKey[] = [],
): string[] {
  if (isUnknown(value)) return [fieldName(undefined, path)];
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownFields(v, isUnknown, [...path, i]));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => unknownFields(v, isUnknown, [...path, k]));
  }
  return [];
}

function isUnder(field: string, parent: string): boolean {
  return field === parent || field.startsWith(`${parent}.`) || field.startsWith(`${parent}[`);
}

/**
 * Every problem with a resource's inputs, each naming its field. Values not known yet (a Pulumi preview's
 * unknowns, CDKTF tokens) are not judged: the operation checks them again when it runs.
 */
export function resourceInputIssues(
  kind: ResourceKind,
  inputs: Record<string, unknown>,
  isUnknown: (value: unknown) => boolean = () => false,
): InputIssue[] {
  const issues: InputIssue[] = [];
  const core: Record<string, unknown> = {};
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(inputs)) {
    if (value === undefined) continue;
    if (Object.hasOwn(ResourceInputsSchema.shape, key)) own[key] = value;
    else if (RESOURCE_INPUT_KEYS[kind].includes(key)) core[key] = value;
    else {
      const allowed = RESOURCE_INPUT_KEYS[kind].join(", ");
      issues.push({
        property: key,
        field: key,
        message: `${key}: is not an input of ${kind}; allowed: ${allowed}`,
      });
    }
  }
  const unknown = unknownFields({ ...core, ...own }, isUnknown);
  const found = [...listIssues(CORE_SCHEMAS[kind], core), ...listIssues(ResourceInputsSchema, own)];
  for (const issue of found) {
    if (unknown.some((u) => isUnder(issue.field, u))) continue;
    issues.push({ property: issue.field.split(/[.[]/)[0] || issue.field, ...issue });
  }
  return issues;
}

/**
 * The value an input takes when it is absent. An input given with this value means the same as no input, so
 * that writing out a default never re-runs or replaces anything.
 */
export const RESOURCE_INPUT_DEFAULTS: Record<ResourceKind, Readonly<Record<string, unknown>>> = {
  SessionScan: {
    engine: "dcs",
    cleanCache: true,
    topN: DEFAULT_TOP_N,
    waitTimeoutSeconds: DEFAULT_WAIT_TIMEOUT_SECONDS,
    alwaysRun: false,
    triggers: [],
  },
  SessionPurge: {
    engine: "dcs",
    allNodes: false,
    dryRun: false,
    minSessions: 0,
    outsideWindow: "fail",
    verify: true,
    waitTimeoutSeconds: DEFAULT_WAIT_TIMEOUT_SECONDS,
    alwaysRun: false,
    triggers: [],
  },
};

const EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

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

/** A window in its canonical form: time zone `UTC` and every day are the defaults; days as a sorted set. */
function normalWindow(window: unknown): unknown {
  if (typeof window !== "object" || window === null || Array.isArray(window)) return window;
  const w = { ...(window as Record<string, unknown>) };
  if (w.timeZone === "UTC") delete w.timeZone;
  if (Array.isArray(w.days)) {
    const days = EVERY_DAY.filter((d) => (w.days as unknown[]).includes(d));
    const others = (w.days as unknown[]).filter((d) => !EVERY_DAY.includes(d as string));
    if (others.length === 0 && days.length === EVERY_DAY.length) delete w.days;
    else if (others.length === 0) w.days = days;
  }
  return w;
}

/** A set of strings in a stable order (order and repeats do not change which nodes are targeted). */
export function normalSet(values: unknown): unknown {
  if (!Array.isArray(values) || !values.every((v) => typeof v === "string")) return values;
  return [...new Set(values as string[])].sort();
}

/**
 * A match in its canonical form: each field's values as a sorted set (values within a field are OR, so their
 * order and repeats select the same sessions), command names in lower case (they match case-insensitively).
 */
export function normalMatch(match: unknown): unknown {
  if (typeof match !== "object" || match === null || Array.isArray(match)) return match;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(match as Record<string, unknown>)) {
    if (!Array.isArray(value)) out[key] = value;
    else if (value.every((v) => typeof v === "number")) {
      out[key] = [...new Set(value as number[])].sort((a, b) => a - b);
    } else
      out[key] = normalSet(
        key === "cmds" ? value.map((v) => (typeof v === "string" ? v.toLowerCase() : v)) : value,
      );
  }
  return out;
}

/**
 * The inputs of a resource in canonical form: only its input keys, an input equal to its default left out
 * (as if absent), node ids, days and the values of each match field as sorted sets, a window's default time
 * zone left out. Two inputs that normalize to the same object mean the same operation.
 */
export function normalizeResourceInputs(
  kind: ResourceKind,
  inputs: Record<string, unknown>,
): Record<string, unknown> {
  const defaults = RESOURCE_INPUT_DEFAULTS[kind];
  const out: Record<string, unknown> = {};
  for (const key of RESOURCE_INPUT_KEYS[kind]) {
    let value = inputs[key];
    if (value === undefined || value === null) continue;
    if (key === "nodeIds") value = normalSet(value);
    if (key === "maintenanceWindow") value = normalWindow(value);
    if (key === "match") value = normalMatch(value);
    if (Object.hasOwn(defaults, key) && canonical(value) === canonical(defaults[key])) continue;
    out[key] = value;
  }
  return out;
}

/** Inputs that name another target: a change replaces the resource. */
export const REPLACE_ON_INPUTS = ["instanceId", "engine"] as const;

/**
 * Inputs whose change re-runs the operation. A purge re-runs (kills again) only for a new target, a new
 * selection, a trigger or `alwaysRun`, and when `dryRun` is turned off; its guards, timeouts and where to
 * connect are recorded without a remote call. A scan only reads, so any change but its timeout re-reads.
 */
export const RERUN_ON_INPUTS: Record<ResourceKind, readonly string[]> = {
  SessionScan: RESOURCE_INPUT_KEYS.SessionScan.filter((key) => key !== "waitTimeoutSeconds"),
  SessionPurge: ["nodeIds", "allNodes", "match", "triggers", "alwaysRun"],
};

export interface ResourceInputChange {
  /** Inputs whose normalized value differs (`alwaysRun` too when it is true). */
  changed: string[];
  /** The changed inputs that replace the resource (`instanceId`, `engine`). */
  replaces: string[];
  /** The changed inputs that re-run the operation (for a purge: a new kill); empty: record them only. */
  reruns: string[];
}

/**
 * What changed between the previous inputs (a state's outputs echo them; other keys are ignored) and the new
 * ones, compared normalized, and what each change calls for. `alwaysRun: true` always re-runs.
 */
export function diffResourceInputs(
  kind: ResourceKind,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): ResourceInputChange {
  const before = normalizeResourceInputs(kind, olds);
  const after = normalizeResourceInputs(kind, news);
  const changed = RESOURCE_INPUT_KEYS[kind].filter((key) => canonical(before[key]) !== canonical(after[key]));
  if (after.alwaysRun === true && !changed.includes("alwaysRun")) changed.push("alwaysRun");
  const replaces: string[] = REPLACE_ON_INPUTS.filter((key) => changed.includes(key));
  const reruns = changed.filter((key) => RERUN_ON_INPUTS[kind].includes(key) || replaces.includes(key));
  // Turning a dry run off is the first real kill; turning one on kills nothing.
  if (kind === "SessionPurge" && changed.includes("dryRun") && after.dryRun !== true) reruns.push("dryRun");
  return { changed, replaces, reruns };
}
