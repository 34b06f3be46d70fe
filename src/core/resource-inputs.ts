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
import { ScanInputSchema } from "./scan";

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
/** Core options a resource does not expose: how the provider runs, and `rescan`, which only a refresh sets. */
const NOT_INPUTS = new Set(["concurrency", "rescan"]);

function coreKeys(kind: ResourceKind): string[] {
  return Object.keys(CORE_SCHEMAS[kind].shape).filter((key) => !NOT_INPUTS.has(key));
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
