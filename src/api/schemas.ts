/**
 * The wire format of DCS v2 and GeminiDB v3 session APIs, declared once as zod schemas; the TypeScript types
 * are inferred from them. Responses are parsed liberally (numbers as strings and the reverse, unknown
 * fields kept); what users send is validated strictly (see `parseInput`). The emulator shares this file and
 * nothing else of the client.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { ValidationError } from "./errors";

// ---------------------------------------------------------------------------------------------------------
// Liberal scalars for responses
// ---------------------------------------------------------------------------------------------------------

// A list a response must carry (`nodes`, `clients`, `sessions`, …) may arrive as null (read as empty) but not
// be absent: a 200 answer without it is not the document asked for (an error body, a proxy's page), and
// reading it as "no sessions" would be an empty success.

/** An integer that may arrive as a number or a numeric string ("16"); empty or absent stays undefined. */
export const looseInt = z.preprocess((v) => {
  if (typeof v === "string") {
    const t = v.trim();
    if (t === "") return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : v;
  }
  return v === null ? undefined : v;
}, z.number().optional());

/** A string that may arrive as a number (`"db": 0`, `"id": 54487`). */
export const looseString = z.preprocess(
  (v) =>
    typeof v === "number" || typeof v === "bigint" || typeof v === "boolean"
      ? String(v)
      : v === null
        ? undefined
        : v,
  z.string().optional(),
);

// ---------------------------------------------------------------------------------------------------------
// DCS v2
// ---------------------------------------------------------------------------------------------------------

/** The fields of Redis `CLIENT LIST` as the DCS API wraps them. */
export const CLIENT_INFO_FIELDS = [
  "id",
  "addr",
  "fd",
  "name",
  "cmd",
  "age",
  "idle",
  "db",
  "flags",
  "sub",
  "psub",
  "multi",
  "qbuf",
  "qbuf_free",
  "obl",
  "oll",
  "omem",
  "events",
  "network",
  "peer",
  "user",
] as const;
export type ClientInfoField = (typeof CLIENT_INFO_FIELDS)[number];

/** Which ClientInfo fields are numbers (the rest are strings): sorting and the emulator need to know. */
export const NUMERIC_CLIENT_INFO_FIELDS: ReadonlySet<ClientInfoField> = new Set([
  "age",
  "idle",
  "sub",
  "psub",
  "multi",
  "qbuf",
  "qbuf_free",
  "obl",
  "oll",
  "omem",
]);

export const ClientInfoSchema = z.looseObject({
  id: looseString,
  addr: looseString,
  fd: looseString,
  name: looseString,
  cmd: looseString,
  age: looseInt,
  idle: looseInt,
  db: looseString,
  flags: looseString,
  sub: looseInt,
  psub: looseInt,
  multi: looseInt,
  qbuf: looseInt,
  qbuf_free: looseInt,
  obl: looseInt,
  oll: looseInt,
  omem: looseInt,
  events: looseString,
  network: looseString,
  peer: looseString,
  user: looseString,
});
export type ClientInfo = z.infer<typeof ClientInfoSchema>;

export const ListClientsResponseSchema = z.looseObject({
  time: looseString,
  clients: z.preprocess((v) => (v === null ? [] : v), z.array(ClientInfoSchema)),
  count: looseInt,
});
export type ListClientsResponse = z.infer<typeof ListClientsResponseSchema>;

/**
 * A list page's envelope only: its clients are left as the wire sent them, for a reader that coerces just the
 * fields it needs (the scan's fast path, `readWireClient` in core/aggregate.ts).
 */
export const ListClientsEnvelopeSchema = z.looseObject({
  time: looseString,
  clients: z.preprocess((v) => (v === null ? [] : v), anyArray()),
  count: looseInt,
});

export type ListClientsEnvelope = z.output<typeof ListClientsEnvelopeSchema>;

/**
 * The envelope as the wire almost always sends it (`time` a string, `count` a finite number, either absent,
 * `clients` an array), accepted without zod: it is then exactly what `ListClientsEnvelopeSchema` would return,
 * the body itself rather than a copy of it. Anything else is undefined, for the schema to coerce or to name
 * what is wrong. Run on each of a listing's pages, the schema cost about 28 µs a page where V8 had seen all
 * the API's schemas go through zod's shared parse functions; this costs well under one.
 */
export function plainEnvelope(body: unknown): ListClientsEnvelope | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { time, count, clients } = body as { time?: unknown; count?: unknown; clients?: unknown };
  if (time !== undefined && typeof time !== "string") return undefined;
  if (count !== undefined && !(typeof count === "number" && Number.isFinite(count))) return undefined;
  return Array.isArray(clients) ? (body as ListClientsEnvelope) : undefined;
}

/**
 * An array, taken as it is: `z.array(z.unknown())` would visit and copy each of a page's 1,000 clients only to
 * accept them all. The message is the one `z.array` gives.
 */
function anyArray() {
  return z.custom<unknown[]>((v) => Array.isArray(v), {
    error: (issue) =>
      `Invalid input: expected array, received ${issue.input === null ? "null" : typeof issue.input}`,
  });
}

/** `{job_id}`: the id is always a string to us, whatever the wire sent. */
export const JobIdResponseSchema = z.looseObject({
  job_id: z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.string().min(1)),
});

export const JOB_STATUSES = ["INIT", "RUNNING", "SUCCESS", "FAIL"] as const;
/** The four documented job statuses. */
export type KnownJobStatus = (typeof JOB_STATUSES)[number];
/**
 * A job status as the job API sent it (upper-cased). Values other than the documented four are kept as sent:
 * a waiter treats them as still running, as Huawei's Terraform provider does (DESIGN §1).
 */
export type JobStatus = KnownJobStatus | (string & {});

export const JobResponseSchema = z.looseObject({
  job_id: looseString,
  job_type: looseString,
  status: z.preprocess(
    (v) => (typeof v === "string" ? v.trim().toUpperCase() : typeof v === "number" ? String(v) : v),
    z.string().min(1),
  ),
  begin_time: looseString,
  end_time: looseString,
  fail_reason: looseString,
});
export type JobResponse = z.infer<typeof JobResponseSchema>;

export const LogicalNodeSchema = z.looseObject({
  // Optional: a node listed without an id (one being created, say) is kept out of the clients APIs by the
  // caller, with a warning, rather than failing the whole listing.
  node_id: z.preprocess(
    (v) => (typeof v === "number" ? String(v) : v === null || v === "" ? undefined : v),
    z.string().min(1).optional(),
  ),
  logical_node_id: looseString,
  name: looseString,
  status: looseString,
  az_code: looseString,
  node_role: looseString,
  node_type: looseString,
  node_ip: looseString,
  node_port: looseInt,
  group_id: looseString,
  group_name: looseString,
  is_access: z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean().optional()),
});
export type LogicalNode = z.infer<typeof LogicalNodeSchema>;

export const ListNodesResponseSchema = z.looseObject({
  instance_id: looseString,
  total: looseInt,
  nodes: z.preprocess((v) => (v === null ? [] : v), z.array(LogicalNodeSchema)),
});
export type ListNodesResponse = z.infer<typeof ListNodesResponseSchema>;

/**
 * GeminiDB answers errors as `{errCode, externalMessage}`; DCS (and the API gateway) as `{error_code,
 * error_msg}`. Both are read into the DCS names, so one error type serves both APIs.
 */
function normaliseErrorBody(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const body = value as Record<string, unknown>;
  if (body.error_code !== undefined || body.error_msg !== undefined) return body;
  if (body.errCode === undefined && body.externalMessage === undefined) return body;
  return { ...body, error_code: body.errCode, error_msg: body.externalMessage };
}

/** The error body of every API: `{error_code, error_msg, error_ext_msg?}`, or GeminiDB's `{errCode, externalMessage}`. */
export const ErrorBodySchema = z.preprocess(
  normaliseErrorBody,
  z.looseObject({
    error_code: looseString,
    error_msg: looseString,
    error_ext_msg: looseString,
  }),
);
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

// ---------------------------------------------------------------------------------------------------------
// GeminiDB v3
// ---------------------------------------------------------------------------------------------------------

/** The GeminiDB page types these as String while its example sends numbers: accept both. */
export const GeminiSessionSchema = z.looseObject({
  id: looseString,
  name: looseString,
  cmd: looseString,
  age: looseInt,
  idle: looseInt,
  db: looseString,
  addr: looseString,
  fd: looseString,
  sub: looseInt,
  psub: looseInt,
  multi: looseInt,
});
export type GeminiSession = z.infer<typeof GeminiSessionSchema>;

export const GeminiNodeSessionsSchema = z.looseObject({
  node_id: z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.string()),
  total_count: looseInt,
  sessions: z.preprocess((v) => (v === null ? [] : v), z.array(GeminiSessionSchema)),
});

export const GeminiListSessionsResponseSchema = z.looseObject({
  node_sessions: z.preprocess((v) => (v === null ? [] : v), z.array(GeminiNodeSessionsSchema)),
});
export type GeminiListSessionsResponse = z.infer<typeof GeminiListSessionsResponseSchema>;

/** `GET /v3/{project_id}/redis/nodes/{node_id}/sessions`: paged; the page does not document the body. */
export const GeminiNodeSessionPageSchema = z.looseObject({
  total_count: looseInt,
  sessions: z.preprocess((v) => (v === null ? [] : v), z.array(GeminiSessionSchema)),
});
export type GeminiNodeSessionPage = z.infer<typeof GeminiNodeSessionPageSchema>;

/** One client IP of a node's session statistics, the busiest first. */
export const GeminiSourceCountSchema = z.looseObject({
  client_ip: looseString,
  connection_count: looseInt,
});

/**
 * `GET /v3/{project_id}/redis/nodes/{node_id}/session-statistics`: counts without listing the sessions. The
 * entries of `top_dbs` are kept as sent (their fields are not read).
 */
export const GeminiSessionStatisticsSchema = z.looseObject({
  total_connection_count: looseInt,
  active_connection_count: looseInt,
  top_source_ips: z.preprocess(
    (v) => (v === null || v === undefined ? [] : v),
    z.array(GeminiSourceCountSchema),
  ),
  top_dbs: z.preprocess((v) => (v === null || v === undefined ? [] : v), z.array(z.looseObject({}))),
});
export type GeminiSessionStatisticsResponse = z.infer<typeof GeminiSessionStatisticsSchema>;

// ---------------------------------------------------------------------------------------------------------
// Requests (strict: these are what we send, and what the emulator checks)
// ---------------------------------------------------------------------------------------------------------

/** Ids in paths and queries: non-empty, URL-safe, no separators or shell metacharacters. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const ID_ALLOWED = "1-128 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)";
export const IdSchema = z.string().regex(ID_PATTERN, { message: `must be ${ID_ALLOWED}` });

/** A lone UTF-16 surrogate (it cannot be encoded in a URL or UTF-8) or a control character. */
const UNSAFE_TEXT =
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it finds
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|[\u0000-\u001F\u007F]/;
export const TEXT_ALLOWED = "text without control characters or lone UTF-16 surrogates";

/** Whether a string can be sent as it is: well-formed UTF-16, no control characters. */
export function isSafeText(value: string): boolean {
  return !UNSAFE_TEXT.test(value);
}

/** A free-text input (a filter, a session id): 1–`max` characters of well-formed text. */
export function textSchema(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine(isSafeText, { message: `must be ${TEXT_ALLOWED}` });
}

export const SORT_ORDERS = ["asc", "desc"] as const;

export const ScanClientsBodySchema = z.strictObject({
  node_id: IdSchema,
  clean_cache: z.boolean().optional(),
});
export type ScanClientsBody = z.infer<typeof ScanClientsBodySchema>;

export const ListClientsQuerySchema = z.strictObject({
  node_id: IdSchema,
  offset: z.number().int().min(0).optional(),
  limit: z.number().int().min(1).max(1000).optional(),
  addr: textSchema(256).optional(),
  sort: z.enum(CLIENT_INFO_FIELDS).optional(),
  order: z.enum(SORT_ORDERS).optional(),
});
export type ListClientsQuery = z.infer<typeof ListClientsQuerySchema>;

export const KillAllBodySchema = z
  .strictObject({
    node_id: IdSchema.optional(),
    kill_all_nodes: z.boolean().optional(),
  })
  .refine((b) => b.kill_all_nodes === true || b.node_id !== undefined, {
    message: "node_id is required when kill_all_nodes is not true",
    path: ["node_id"],
  });
export type KillAllBody = z.infer<typeof KillAllBodySchema>;

/** `ip:port` (IPv4 or bracketed IPv6) as in ClientInfo `addr`/`peer`. */
export const CLIENT_ADDR_PATTERN = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;

export const CLIENT_ADDR_ALLOWED =
  "ip:port (IPv4 a.b.c.d with each part 0-255, or [IPv6], or IPv6 unbracketed as the service prints it; port 1-65535)";

/**
 * Whether an `ip:port` has a port of 1–65535 and IPv4 parts of 0–255 (the pattern checks the shape). The
 * unbracketed IPv6 form the service prints (`::1:6379`: the last group is the port) is accepted too, so that a
 * kill can name a session's `peer` exactly as it was listed.
 */
export function isClientAddr(value: string): boolean {
  const colon = value.lastIndexOf(":");
  const port = Number(value.slice(colon + 1));
  if (!/^\d{1,5}$/.test(value.slice(colon + 1)) || port < 1 || port > 65535) return false;
  const host = value.slice(0, colon);
  if (!CLIENT_ADDR_PATTERN.test(value)) return isIP(host) === 6;
  return host.startsWith("[") || host.split(".").every((part) => Number(part) <= 255);
}

export const KillClientsBodySchema = z.strictObject({
  node_id: IdSchema,
  client_addrs: z
    .array(z.string().refine(isClientAddr, { message: `must be ${CLIENT_ADDR_ALLOWED}` }))
    .min(1)
    .max(1000),
});
export type KillClientsBody = z.infer<typeof KillClientsBodySchema>;

export const GeminiNodeSessionsQuerySchema = z.strictObject({
  offset: z.number().int().min(0).optional(),
  limit: z.number().int().min(1).max(100).optional(),
  addr_prefix: textSchema(256).optional(),
});

/** A GeminiDB session id as a close request names it. */
export const GeminiSessionIdSchema = textSchema(128);

export const GeminiCloseNodeSessionsBodySchema = z
  .strictObject({
    is_all: z.boolean(),
    session_ids: z.array(GeminiSessionIdSchema).max(1000).optional(),
  })
  .refine((b) => b.is_all || (b.session_ids !== undefined && b.session_ids.length > 0), {
    message: "session_ids is required when is_all is false",
    path: ["session_ids"],
  });

// ---------------------------------------------------------------------------------------------------------
// Operations: one name per API operation, shared by the client (errors, retry policy) and the emulator
// (routes, counters, faults).
// ---------------------------------------------------------------------------------------------------------

export const OPERATIONS = {
  listNodes: { method: "GET", path: "/v2/{project_id}/instances/{instance_id}/logical-nodes" },
  scanClients: { method: "POST", path: "/v2/{project_id}/instances/{instance_id}/clients" },
  listClients: { method: "GET", path: "/v2/{project_id}/instances/{instance_id}/clients" },
  killAllClients: { method: "POST", path: "/v2/{project_id}/instances/{instance_id}/clients/kill-all" },
  killClients: { method: "POST", path: "/v2/{project_id}/instances/{instance_id}/clients/kill" },
  showJob: { method: "GET", path: "/v2/{project_id}/jobs/{job_id}" },
  geminidbListSessions: { method: "GET", path: "/v3/{project_id}/instances/{instance_id}/sessions" },
  geminidbCloseSessions: { method: "DELETE", path: "/v3/{project_id}/instances/{instance_id}/sessions" },
  geminidbListNodeSessions: { method: "GET", path: "/v3/{project_id}/redis/nodes/{node_id}/sessions" },
  geminidbCloseNodeSessions: { method: "DELETE", path: "/v3/{project_id}/redis/nodes/{node_id}/sessions" },
  geminidbNodeSessionStatistics: {
    method: "GET",
    path: "/v3/{project_id}/redis/nodes/{node_id}/session-statistics",
  },
} as const;
export type OperationName = keyof typeof OPERATIONS;

// ---------------------------------------------------------------------------------------------------------
// Lenient JSON
// ---------------------------------------------------------------------------------------------------------

/** The operations whose answer carries a `job_id`: the only bodies `parseWireJson` repairs. */
export const JOB_ID_OPERATIONS: ReadonlySet<OperationName> = new Set([
  "scanClients",
  "killAllClients",
  "showJob",
]);

/**
 * Parses a response body. The kill-all reference page shows `{ "job_id": 8abf6e1e8... }` with the id
 * unquoted, which is not JSON; a long all-digit id would also lose precision as a number. So a bare
 * `job_id` value is quoted before parsing. Throws `SyntaxError` on anything else that is not JSON.
 */
export function parseWireJson(text: string): unknown {
  const quoted = text.replace(
    /("job_id"\s*:\s*)([A-Za-z0-9_-]+)(?=\s*[,}])/g,
    (_m, key: string, value: string) => (value === "null" ? `${key}null` : `${key}"${value}"`),
  );
  return JSON.parse(quoted);
}

// ---------------------------------------------------------------------------------------------------------
// Input validation
// ---------------------------------------------------------------------------------------------------------

/** Words for what a zod issue allowed, so a ValidationError can say it. */
function allowedOf(issue: z.core.$ZodIssue): string | undefined {
  switch (issue.code) {
    case "invalid_value":
      return `one of: ${issue.values.map(String).join(", ")}`;
    case "too_small":
      return issue.origin === "array" || issue.origin === "string"
        ? `at least ${String(issue.minimum)} ${issue.origin === "array" ? "item(s)" : "character(s)"}`
        : `a value ${issue.inclusive === false ? ">" : ">="} ${String(issue.minimum)}`;
    case "too_big":
      return issue.origin === "array" || issue.origin === "string"
        ? `at most ${String(issue.maximum)} ${issue.origin === "array" ? "item(s)" : "character(s)"}`
        : `a value ${issue.inclusive === false ? "<" : "<="} ${String(issue.maximum)}`;
    case "invalid_type":
      return `a value of type ${issue.expected}`;
    case "invalid_format":
      return issue.format === "regex" ? undefined : `a ${issue.format}`;
    case "unrecognized_keys":
      return "only the documented fields";
    default:
      return undefined;
  }
}

/** Formats a zod issue path as a field name (`nodeIds[2]`, `maintenanceWindow.start`). */
export function fieldName(prefix: string | undefined, path: ReadonlyArray<PropertyKey>): string {
  let out = prefix ?? "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || "input";
}

/**
 * Converts the first zod issue to a ValidationError naming the field and what is allowed. `knownFields`: the
 * fields of the top-level object, listed when the issue is an unknown field at the top.
 */
export function toValidationError(
  error: z.ZodError,
  prefix?: string,
  knownFields?: readonly string[],
): ValidationError {
  const issue = error.issues[0];
  if (!issue) return new ValidationError(prefix ?? "input", "is invalid");
  if (issue.code === "unrecognized_keys") {
    const known = issue.path.length === 0 && knownFields?.length ? knownFields.join(", ") : undefined;
    return new ValidationError(
      fieldName(prefix, [...issue.path, issue.keys[0] ?? ""]),
      "is not a known field",
      known,
    );
  }
  return new ValidationError(fieldName(prefix, issue.path), issue.message, allowedOf(issue));
}

/** The field names of an object schema, when it is one. */
function fieldsOf(schema: z.ZodType): string[] | undefined {
  const shape = (schema as { shape?: unknown }).shape;
  return shape && typeof shape === "object" ? Object.keys(shape) : undefined;
}

/** Validates user input strictly; throws a ValidationError naming the field (under `prefix`) on failure. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw toValidationError(result.error, prefix, fieldsOf(schema));
  return result.data;
}

/** Every issue as a `{field, message}` pair, for front ends that report all at once (Pulumi `check`). */
export function listIssues(
  schema: z.ZodType,
  value: unknown,
  prefix?: string,
): { field: string; message: string }[] {
  const result = schema.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0] ?? ""] : issue.path;
    const field = fieldName(prefix, path);
    const allowed = allowedOf(issue);
    const message =
      issue.code === "unrecognized_keys"
        ? "is not a known field"
        : issue.message + (allowed ? `; allowed: ${allowed}` : "");
    return { field, message: `${field}: ${message}` };
  });
}
