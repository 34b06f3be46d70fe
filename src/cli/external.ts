/**
 * Terraform's external data source protocol (`data "external"`): the program reads one JSON object whose
 * values are all strings on stdin, and writes one flat JSON object whose values are all strings on stdout.
 * Maps and lists are JSON-encoded into strings (`jsondecode` them in Terraform). On failure: a message on
 * stderr and a non-zero exit, which Terraform shows as the data source's error.
 */
import { ValidationError } from "../api/errors";
import type { ClientOptions } from "../api/types";
import { IDLE_BUCKETS, MAX_TOP_N } from "../core/types";
import type { IdleBucket, ScanOptions, SessionSnapshot } from "../core/types";
import { ENGINES, booleanFrom, checkId, choiceFrom, idListFrom, integerFrom, printable } from "./options";

/** The query keys `dcs-sessions terraform-external scan` accepts; the SessionScan construct writes them. */
export const EXTERNAL_QUERY_KEYS = [
  "instance_id",
  "engine",
  "node_ids",
  "clean_cache",
  "addr",
  "top_n",
  "wait_timeout_seconds",
  "region",
  "project_id",
  "endpoint",
  "geminidb_endpoint",
] as const;
export type ExternalQueryKey = (typeof EXTERNAL_QUERY_KEYS)[number];

/** The result key of each idle bucket (Terraform attribute names cannot hold `<`, `-` reads badly). */
export const IDLE_BUCKET_KEYS: Record<IdleBucket, string> = {
  "<1m": "idle_lt_1m",
  "1m-10m": "idle_1m_10m",
  "10m-1h": "idle_10m_1h",
  "1h-24h": "idle_1h_24h",
  ">=24h": "idle_ge_24h",
};

/** The keys of the result, for the construct's attributes and the docs. */
export const EXTERNAL_RESULT_KEYS = [
  "instance_id",
  "engine",
  "total_sessions",
  ...IDLE_BUCKETS.map((b) => IDLE_BUCKET_KEYS[b]),
  "max_idle_seconds",
  "max_age_seconds",
  "subscribers",
  "scanned_at",
  "node_count",
  "nodes",
  "by_client_ip",
  "by_user",
  "by_db",
  "by_command",
  "by_name",
  "idle_buckets",
  "top_idle",
] as const;

export interface ExternalScanRequest {
  scan: Omit<ScanOptions, "clientOptions" | "onProgress">;
  client: Pick<ClientOptions, "region" | "projectId" | "endpoint" | "geminidbEndpoint">;
}

const MAX_WAIT_SECONDS = 86_400;

/** Parses the stdin text of the protocol; every problem is a ValidationError naming the query key. */
export function parseExternalQuery(text: string): ExternalScanRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError(
      "query",
      "stdin is not a JSON object",
      "a JSON object of strings (Terraform's query)",
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ValidationError(
      "query",
      "stdin is not a JSON object",
      "a JSON object of strings (Terraform's query)",
    );
  }
  const query: Partial<Record<ExternalQueryKey, string>> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(EXTERNAL_QUERY_KEYS as readonly string[]).includes(key)) {
      throw new ValidationError(
        `query.${printable(key)}`,
        "is not a known key",
        EXTERNAL_QUERY_KEYS.join(", "),
      );
    }
    if (typeof value !== "string") {
      throw new ValidationError(
        `query.${key}`,
        "is not a string",
        "strings only (Terraform's external protocol)",
      );
    }
    // Terraform users often pass "" for "not set" (an unset variable's default).
    if (value !== "") query[key as ExternalQueryKey] = value;
  }
  if (query.instance_id === undefined)
    throw new ValidationError("query.instance_id", "is required", "an instance id");
  const scan: ExternalScanRequest["scan"] = { instanceId: checkId(query.instance_id, "query.instance_id") };
  if (query.engine !== undefined) scan.engine = choiceFrom(query.engine, "query.engine", ENGINES);
  if (query.node_ids !== undefined) {
    const ids = idListFrom(query.node_ids, "query.node_ids");
    if (ids.length > 0) scan.nodeIds = ids;
  }
  if (query.clean_cache !== undefined) scan.cleanCache = booleanFrom(query.clean_cache, "query.clean_cache");
  if (query.addr !== undefined) scan.addr = query.addr;
  if (query.top_n !== undefined) scan.topN = integerFrom(query.top_n, "query.top_n", 0, MAX_TOP_N);
  if (query.wait_timeout_seconds !== undefined)
    scan.waitTimeoutSeconds = integerFrom(
      query.wait_timeout_seconds,
      "query.wait_timeout_seconds",
      1,
      MAX_WAIT_SECONDS,
    );
  const client: ExternalScanRequest["client"] = {};
  if (query.region !== undefined) client.region = query.region;
  if (query.project_id !== undefined) client.projectId = query.project_id;
  if (query.endpoint !== undefined) client.endpoint = query.endpoint;
  if (query.geminidb_endpoint !== undefined) client.geminidbEndpoint = query.geminidb_endpoint;
  return { scan, client };
}

/** The flat object of strings Terraform expects, from a snapshot. */
export function externalResult(s: SessionSnapshot): Record<string, string> {
  const result: Record<string, string> = {
    instance_id: s.instanceId,
    engine: s.engine,
    total_sessions: String(s.totalSessions),
  };
  for (const bucket of IDLE_BUCKETS) result[IDLE_BUCKET_KEYS[bucket]] = String(s.idleBuckets[bucket] ?? 0);
  Object.assign(result, {
    max_idle_seconds: String(s.maxIdleSeconds),
    max_age_seconds: String(s.maxAgeSeconds),
    subscribers: String(s.subscribers),
    scanned_at: s.scannedAt,
    node_count: String(s.nodes.length),
    nodes: JSON.stringify(s.nodes),
    by_client_ip: JSON.stringify(s.byClientIp),
    by_user: JSON.stringify(s.byUser),
    by_db: JSON.stringify(s.byDb),
    by_command: JSON.stringify(s.byCommand),
    by_name: JSON.stringify(s.byName),
    idle_buckets: JSON.stringify(s.idleBuckets),
    top_idle: JSON.stringify(s.topIdle),
  });
  return result;
}

/** Reads a whole stream as UTF-8 text. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}
