/** The `dcssessions_scan` data source: `scanSessions` with its inputs and every output as typed attributes. */
import { nodeWithoutIdLabel } from "../api/node-label";
import type { ScanOptions, SessionSnapshot } from "../core/types";
import { errorDiagnostic, fromCore, issueDiagnostics, isUnknownValue, toCore } from "./attributes";
import { loadCore } from "./core";
import type { ProviderContext } from "./provider";
import { blockType, type BlockSpec } from "./protocol/schema";
import type { DataSourceDefinition, Diagnostic } from "./protocol/types";
import type { ValueType } from "./protocol/values";

const counts: ValueType = ["map", "number"];

export const NODE_SCAN_TYPE: ValueType = [
  "object",
  { node_id: "string", role: "string", sessions: "number", data_time: "string" },
];
export const SESSION_SUMMARY_TYPE: ValueType = [
  "object",
  {
    node_id: "string",
    addr: "string",
    name: "string",
    user: "string",
    db: "string",
    cmd: "string",
    idle_seconds: "number",
    age_seconds: "number",
  },
];

/** Inputs shared with the purge resource. */
export const TARGET_ATTRIBUTES = {
  instance_id: { type: "string", required: true, description: "The DCS or GeminiDB instance id." },
  engine: { type: "string", optional: true, description: '"dcs" (default) or "geminidb".' },
  node_ids: {
    type: ["list", "string"],
    optional: true,
    description: "Node ids (from logical-nodes); default every node (every proxy when there are proxies).",
  },
} as const satisfies BlockSpec["attributes"];

const OUTPUTS = {
  total_sessions: { type: "number", description: "Sessions on the scanned nodes." },
  nodes: { type: ["list", NODE_SCAN_TYPE], description: "Per node: node_id, role, sessions, data_time." },
  by_client_ip: { type: counts, description: "Sessions per client IP (largest 20, then other)." },
  by_user: { type: counts, description: "Sessions per user." },
  by_db: { type: counts, description: "Sessions per database." },
  by_command: { type: counts, description: "Sessions per last command." },
  by_name: { type: counts, description: "Sessions per client name." },
  idle_buckets: { type: counts, description: "Sessions per idle time: <1m, 1m-10m, 10m-1h, 1h-24h, >=24h." },
  max_idle_seconds: { type: "number", description: "The longest idle time." },
  max_age_seconds: { type: "number", description: "The oldest connection's age." },
  subscribers: { type: "number", description: "Sessions subscribed to channels or patterns." },
  top_idle: { type: ["list", SESSION_SUMMARY_TYPE], description: "The most idle sessions (top_n)." },
  scanned_at: { type: "string", description: "When the scan ran (ISO 8601)." },
} as const;

export const SCAN_SCHEMA: BlockSpec = {
  description: "A snapshot of an instance's client sessions, counted and grouped (read at every plan).",
  attributes: {
    id: { type: "string", computed: true, description: "The instance id." },
    ...TARGET_ATTRIBUTES,
    clean_cache: {
      type: "bool",
      optional: true,
      description: "Re-query the nodes rather than serve the cached lists (default true).",
    },
    addr: { type: "string", optional: true, description: "Only sessions whose address matches." },
    top_n: { type: "number", optional: true, description: "How many of the most idle sessions (0–100, 10)." },
    wait_timeout_seconds: {
      type: "number",
      optional: true,
      description: "Deadline for each scan job, in seconds (default 300).",
    },
    ...Object.fromEntries(Object.entries(OUTPUTS).map(([name, o]) => [name, { ...o, computed: true }])),
  },
};

const INPUTS = Object.keys(SCAN_SCHEMA.attributes).filter((name) => !(name in OUTPUTS) && name !== "id");
const OUTPUT_TYPE: ValueType = [
  "object",
  Object.fromEntries(Object.entries(OUTPUTS).map(([name, o]) => [name, o.type])),
];

/** Nodes the scan could not name (no `node_id`): their sessions are missing from the outputs, so say so. */
function skippedNodesWarnings(snapshot: SessionSnapshot): Diagnostic[] {
  const skipped = snapshot.skippedNodes ?? [];
  if (skipped.length === 0) return [];
  const names = skipped.map(nodeWithoutIdLabel).join(", ");
  return [
    {
      severity: "warning",
      summary: `${skipped.length} node(s) of ${snapshot.instanceId} were not scanned`,
      detail: `Listed without a node_id (${names}): their sessions are not in total_sessions.`,
    },
  ];
}

export function scanDataSource(context: ProviderContext): DataSourceDefinition {
  const inputsOf = (config: Record<string, unknown>) =>
    toCore(Object.fromEntries(INPUTS.map((name) => [name, (config[name] ?? null) as never])));
  return {
    schema: SCAN_SCHEMA,
    async validate(config) {
      const { resourceInputIssues } = await loadCore();
      return issueDiagnostics(resourceInputIssues("SessionScan", inputsOf(config), isUnknownValue));
    },
    async read(config, signal) {
      const inputs = inputsOf(config) as Omit<ScanOptions, "clientOptions">;
      try {
        const snapshot = await context.operations.scanSessions({
          ...inputs,
          clientOptions: context.clientOptions(),
          signal,
        });
        const outputs = fromCore(snapshot, OUTPUT_TYPE) as Record<string, never>;
        const warnings = skippedNodesWarnings(snapshot);
        return {
          state: { ...config, id: snapshot.instanceId, ...outputs },
          ...(warnings.length > 0 ? { diagnostics: warnings } : {}),
        };
      } catch (error) {
        return { state: null, diagnostics: [errorDiagnostic("dcssessions_scan", error, context.secrets())] };
      }
    },
  };
}

/** The data source's value type (tests). */
export const SCAN_TYPE = blockType(SCAN_SCHEMA);
