/**
 * The `dcssessions_purge` resource: creating it runs `purgeSessions`; the state records what the purge did.
 * Changing what it targets (instance, engine, nodes, match, triggers) or turning `dry_run` off replaces it,
 * and so purges again; a purge that was skipped is proposed again at the next plan. Every other change is
 * recorded in place with no remote call. Refresh and destroy never call the API.
 */
import { randomUUID } from "node:crypto";
import type { PurgeOptions, PurgeReport } from "../core/types";
import { camelCase, errorDiagnostic, fromCore, issueDiagnostics, isUnknownValue, toCore } from "./attributes";
import { loadCore } from "./core";
import type { ProviderContext } from "./provider";
import type { BlockSpec } from "./protocol/schema";
import type { Diagnostic, PathStep, ResourceDefinition } from "./protocol/types";
import { UNKNOWN, type ObjectValue, type Value, type ValueType } from "./protocol/values";
import { TARGET_ATTRIBUTES } from "./scan";

export const NODE_PURGE_TYPE: ValueType = [
  "object",
  { node_id: "string", before: "number", after: "number", matched: "number" },
];

/** One session a selective purge selected, as the core reports the first N of them. */
export const SELECTED_SESSION_TYPE: ValueType = [
  "object",
  {
    node_id: "string",
    peer: "string",
    user: "string",
    name: "string",
    idle: "number",
    db: "string",
    cmd: "string",
  },
];

const OUTPUTS = {
  status: {
    type: "string",
    description: "purged, purged-unverified, dry-run, skipped-outside-window or skipped-below-minimum.",
  },
  sessions_before: { type: "number", description: "Sessions (or matched sessions) before the kill." },
  sessions_after: { type: "number", description: "Sessions right after the purge (null without verify)." },
  matched_sessions: { type: "number", description: "A selective purge: sessions the match selected." },
  nodes: {
    type: ["list", NODE_PURGE_TYPE],
    description: "Per node: node_id, before, after, and matched for a selective purge.",
  },
  selected_sessions: {
    type: ["list", SELECTED_SESSION_TYPE],
    description:
      "A selective purge: the first matched sessions (node_id, peer, user, name, idle seconds, db, cmd), " +
      "what a dry run would kill.",
  },
  job_ids: { type: ["list", "string"], description: "The kill jobs." },
  purged_at: { type: "string", description: "When the purge ran (ISO 8601); null when it was skipped." },
  reason: { type: "string", description: "Why the purge was skipped, in words." },
  verification_error: {
    type: "string",
    description: "purged-unverified: why the kill could not be confirmed.",
  },
} as const;

export const PURGE_SCHEMA: BlockSpec = {
  description:
    "A guarded kill of an instance's client sessions, run when the resource is created (or replaced).",
  attributes: {
    id: { type: "string", computed: true, description: "An id of this purge." },
    ...TARGET_ATTRIBUTES,
    all_nodes: { type: "bool", optional: true, description: "Kill on every node (exclusive with node_ids)." },
    dry_run: { type: "bool", optional: true, description: "Report what would be killed; kill nothing." },
    max_sessions: {
      type: "number",
      optional: true,
      description: "Refuse when more sessions are connected (a catch for the wrong instance).",
    },
    min_sessions: { type: "number", optional: true, description: "Skip when fewer sessions are connected." },
    outside_window: {
      type: "string",
      optional: true,
      description: 'Outside maintenance_window: "fail" (default) or "skip".',
    },
    verify: {
      type: "bool",
      optional: true,
      description: "Count the sessions after the kill (default true).",
    },
    wait_timeout_seconds: {
      type: "number",
      optional: true,
      description: "Deadline for each job, in seconds (default 300).",
    },
    triggers: {
      type: ["map", "string"],
      optional: true,
      description: "Arbitrary values: a change replaces the resource, which purges again.",
    },
    ...Object.fromEntries(Object.entries(OUTPUTS).map(([name, o]) => [name, { ...o, computed: true }])),
  },
  blocks: {
    maintenance_window: {
      nesting: "single",
      block: {
        description: "Purge only inside this window.",
        attributes: {
          days: { type: ["list", "string"], optional: true, description: "mon … sun; default every day." },
          start: { type: "string", required: true, description: "HH:MM, 24-hour." },
          end: { type: "string", required: true, description: "HH:MM; before start crosses midnight." },
          time_zone: { type: "string", optional: true, description: "IANA time zone (default UTC)." },
        },
      },
    },
    match: {
      nesting: "single",
      block: {
        description: "A selective purge: kill only the sessions this selects (OR within, AND across fields).",
        attributes: {
          idle_over_seconds: {
            type: "number",
            optional: true,
            description: "Sessions idle for more than this many seconds.",
          },
          clients: {
            type: ["list", "string"],
            optional: true,
            description:
              "Client IPs or CIDR ranges (v4 or v6), matched against each session's peer, else addr.",
          },
          users: { type: ["list", "string"], optional: true, description: "Redis user names." },
          names: { type: ["list", "string"], optional: true, description: "Client names." },
          dbs: { type: ["list", "number"], optional: true, description: "Database numbers." },
          cmds: {
            type: ["list", "string"],
            optional: true,
            description: "Last command names (case-insensitive).",
          },
        },
      },
    },
  },
};

const OUTPUT_NAMES = ["id", ...Object.keys(OUTPUTS)];
/** Attributes that are not core options. */
const NOT_CORE = [...OUTPUT_NAMES, "triggers"];

/** A change of one of these names another purge: the resource is replaced, and purges again. */
const REPLACE_ON = ["instance_id", "engine", "node_ids", "all_nodes", "match", "triggers"] as const;

/**
 * The core's canonical forms of a match and of a set of ids (`normalizeResourceInputs`), required at the first
 * plan: the core loads zod, which must not delay the handshake, and a plan is answered synchronously.
 */
function coreNormalization(): Pick<typeof import("../core/resource-inputs"), "normalMatch" | "normalSet"> {
  return require("../core/resource-inputs") as typeof import("../core/resource-inputs");
}

/**
 * What decides whether a value names another purge, as the core (and so Pulumi's SessionPurge) compares it:
 * the match's values within a field are alternatives, so their order, repeats and the case of command names
 * select the same sessions; the core purges each listed node once, whatever the order.
 */
function comparable(name: string, value: Value | undefined): Value | undefined {
  if (name === "match") return coreNormalization().normalMatch(value) as Value | undefined;
  if (name === "node_ids") return coreNormalization().normalSet(value) as Value | undefined;
  return value;
}

/**
 * A value with what means "not set" made null: the defaults the core applies (engine dcs, all_nodes
 * false), empty lists, maps and blocks. An explicit default is the same purge as an absent one.
 */
function normalized(name: string, value: Value | undefined): string {
  const defaults: Record<string, Value> = { engine: "dcs", all_nodes: false, dry_run: false };
  const canonical = (v: Value | undefined): Value => {
    if (v === undefined || v === null || (name in defaults && v === defaults[name])) return null;
    if (Array.isArray(v)) return v.length === 0 ? null : v.map(canonical);
    if (typeof v === "object") {
      const entries = Object.entries(v)
        .map(([k, x]) => [k, canonical(x)] as const)
        .filter(([, x]) => x !== null)
        .sort(([a], [b]) => (a < b ? -1 : 1));
      return entries.length === 0 ? null : Object.fromEntries(entries);
    }
    return v;
  };
  const c = canonical(comparable(name, value));
  return c === UNKNOWN ? "(unknown)" : JSON.stringify(c);
}

/** The attribute paths whose change makes this a new purge. */
export function replacementPaths(prior: ObjectValue, config: ObjectValue): PathStep[][] {
  const paths: PathStep[][] = REPLACE_ON.filter(
    (name) => normalized(name, prior[name]) !== normalized(name, config[name]),
  ).map((name) => [name]);
  if (prior.dry_run === true && config.dry_run !== true) paths.push(["dry_run"]);
  // A skipped purge did not purge: propose it again (its status becomes unknown, to be decided by the run).
  if (typeof prior.status === "string" && prior.status.startsWith("skipped-")) paths.push(["status"]);
  return paths;
}

function withUnknownOutputs(value: ObjectValue): ObjectValue {
  return { ...value, ...Object.fromEntries(OUTPUT_NAMES.map((name) => [name, UNKNOWN])) };
}

/** The report as the resource's computed attributes. */
function outputsOf(report: PurgeReport): ObjectValue {
  const skipped = report.status.startsWith("skipped-");
  const out: ObjectValue = {};
  for (const [name, spec] of Object.entries(OUTPUTS)) {
    out[name] = fromCore((report as unknown as Record<string, unknown>)[camelCase(name)], spec.type);
  }
  if (skipped) out.purged_at = null;
  return out;
}

export function purgeResource(context: ProviderContext): ResourceDefinition {
  const inputsOf = (config: ObjectValue) => toCore(config, NOT_CORE);
  return {
    schema: PURGE_SCHEMA,
    async validate(config) {
      const { resourceInputIssues } = await loadCore();
      return issueDiagnostics(resourceInputIssues("SessionPurge", inputsOf(config), isUnknownValue));
    },
    plan({ prior, proposed, config }) {
      if (proposed === null) return { planned: null }; // destroy: nothing to plan, nothing remote
      if (prior === null) return { planned: withUnknownOutputs(proposed) };
      const requiresReplace = replacementPaths(prior, config ?? proposed);
      if (requiresReplace.length > 0) return { planned: withUnknownOutputs(proposed), requiresReplace };
      return { planned: proposed }; // guards only: recorded in place at apply, no remote call
    },
    async apply({ prior, planned, signal }) {
      if (planned === null) return { state: null }; // destroy: a purge cannot be undone, nothing is sent
      if (prior !== null) return { state: planned }; // in place: the new guards are recorded, nothing runs
      const inputs = inputsOf(planned) as Omit<PurgeOptions, "clientOptions">;
      let report: PurgeReport;
      try {
        report = await context.operations.purgeSessions({
          ...inputs,
          clientOptions: context.clientOptions(),
          signal,
        });
      } catch (error) {
        // The core records rather than throws once a kill may have reached the server: nothing ran.
        return { state: null, diagnostics: [errorDiagnostic("dcssessions_purge", error, context.secrets())] };
      }
      const diagnostics: Diagnostic[] = [];
      if (report.status === "purged-unverified") {
        diagnostics.push({
          severity: "warning",
          summary: "Purge sent, but not verified",
          detail:
            `The kill was sent and is recorded in state (status purged-unverified); it will not be sent again. ` +
            `Verification failed: ${report.verificationError ?? "unknown reason"}`,
        });
      }
      return {
        state: { ...planned, id: `purge-${randomUUID()}`, ...outputsOf(report) },
        diagnostics,
      };
    },
    async read(state) {
      return { state }; // a purge is history: a refresh leaves it as it is and calls nothing
    },
  };
}
