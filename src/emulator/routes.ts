/**
 * The API operations of DESIGN §1: routing, validation with the strict request schemas, and the answers of
 * DCS v2 and GeminiDB v3 over the emulator's instances. Transport concerns (auth, faults, sockets) live in
 * server.ts.
 */
import type { z } from "zod";
import {
  GeminiCloseNodeSessionsBodySchema,
  GeminiNodeSessionsQuerySchema,
  IdSchema,
  KillAllBodySchema,
  KillClientsBodySchema,
  ListClientsQuerySchema,
  OPERATIONS,
  ScanClientsBodySchema,
  toValidationError,
  type ClientInfo,
  type OperationName,
} from "../api/schemas";
import type { JobBook, JobFault } from "./jobs";
import { Snapshot, newestFirst } from "./snapshot";
import type { InstanceSpec, NodeSpec, SessionView } from "./types";

export interface NodeState {
  spec: NodeSpec;
  instance: InstanceState;
  /** The cached list that the last finished scan left (DCS); absent before any scan. */
  snapshot?: Snapshot;
}

export interface InstanceState {
  spec: InstanceSpec;
  nodes: NodeState[];
}

export interface EmulatorState {
  projectId: string;
  instances: Map<string, InstanceState>;
  jobs: JobBook;
  now: () => number;
  /** Keep each rendered list page of a snapshot (EmulatorOptions.pageCache). */
  pageCache?: boolean;
}

/**
 * Error codes. APIGW.* (the gateway), DCS.4957 and GeminiDB's DBS.200001 (parameter error), DBS.200002 (the
 * instance does not exist) and DBS.200013 (the node does not exist) are the services' own. No page names a
 * DCS code for a bad parameter, an unknown object or an internal failure, nor a GeminiDB one for an internal
 * failure: DCS.4000/4004/5000 and EMULATOR.5000 are the emulator's stand-ins.
 */
export const ERROR_CODES = {
  dcs: { invalid: "DCS.4000", notFound: "DCS.4004", nodeNotFound: "DCS.4004", internal: "DCS.5000" },
  geminidb: {
    invalid: "DBS.200001",
    notFound: "DBS.200002",
    nodeNotFound: "DBS.200013",
    internal: "EMULATOR.5000",
  },
  noSuchApi: "APIGW.0101",
} as const;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    readonly errorMsg: string,
  ) {
    super(`${status} ${errorCode} ${errorMsg}`);
  }
}

/**
 * An error body in the shape its API uses: GeminiDB `{errCode, externalMessage}`, DCS `{error_code,
 * error_msg}`. The API gateway (APIGW.*: signature, throttling, unknown path) answers in the DCS shape for both.
 */
export function errorBodyOf(engine: Engine, code: string, msg: string): Record<string, string> {
  return engine === "geminidb" && !code.startsWith("APIGW.")
    ? { errCode: code, externalMessage: msg }
    : { error_code: code, error_msg: msg };
}

export interface RouteMatch {
  operation: OperationName;
  params: Record<string, string>;
}

const ROUTES = (Object.keys(OPERATIONS) as OperationName[]).map((operation) => {
  const { method, path } = OPERATIONS[operation];
  const names: string[] = [];
  const pattern = path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { operation, method, regex: new RegExp(`^${pattern}/?$`), names };
});

/** The operation a method and path call, with its path parameters (decoded); undefined when none. */
export function matchRoute(method: string, pathname: string): RouteMatch | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const m = route.regex.exec(pathname);
    if (!m) continue;
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => {
      const raw = m[i + 1] ?? "";
      try {
        params[name] = decodeURIComponent(raw);
      } catch {
        params[name] = raw;
      }
    });
    return { operation: route.operation, params };
  }
  return undefined;
}

export interface RouteRequest {
  match: RouteMatch;
  query: URLSearchParams;
  body: Buffer;
  /** A job fault to apply to the job this call starts. */
  jobFault?: JobFault;
}

export interface RouteResult {
  status: number;
  /** Serialised as JSON; absent for 204. */
  body?: unknown;
  /** The body already serialised (a cached page): sent as it is instead of `body`. */
  text?: string;
}

export type Engine = "dcs" | "geminidb";

export function engineOf(operation: OperationName): Engine {
  return OPERATIONS[operation].path.startsWith("/v3/") ? "geminidb" : "dcs";
}

/** Runs one API operation. Throws HttpError for every documented failure. */
export async function handleRoute(state: EmulatorState, req: RouteRequest): Promise<RouteResult> {
  const { operation, params } = req.match;
  const engine = engineOf(operation);
  if (params["project_id"] !== state.projectId) {
    throw new HttpError(
      404,
      ERROR_CODES[engine].notFound,
      `project ${params["project_id"] ?? ""} is not known here (this emulator serves project ${state.projectId})`,
    );
  }
  switch (operation) {
    case "listNodes":
      return listNodes(instanceOf(state, params, engine));
    case "scanClients":
      return scanClients(state, instanceOf(state, params, engine), req);
    case "listClients":
      return listClients(state, instanceOf(state, params, engine), req);
    case "killAllClients":
      return killAllClients(state, instanceOf(state, params, engine), req);
    case "killClients":
      return killClients(instanceOf(state, params, engine), req);
    case "showJob":
      return showJob(state, params["job_id"] ?? "");
    case "geminidbListSessions":
      return geminidbListSessions(instanceOf(state, params, engine), req);
    case "geminidbCloseSessions":
      return geminidbCloseSessions(instanceOf(state, params, engine), req);
    case "geminidbListNodeSessions":
      return geminidbListNodeSessions(state, params["node_id"] ?? "", req);
    case "geminidbCloseNodeSessions":
      return geminidbCloseNodeSessions(state, params["node_id"] ?? "", req);
    case "geminidbNodeSessionStatistics":
      return geminidbNodeSessionStatistics(state, params["node_id"] ?? "");
  }
}

// ---------------------------------------------------------------------------------------------------------
// Lookups and validation
// ---------------------------------------------------------------------------------------------------------

function instanceOf(state: EmulatorState, params: Record<string, string>, engine: Engine): InstanceState {
  const id = params["instance_id"] ?? "";
  const instance = state.instances.get(id);
  if (!instance || instance.spec.engine !== engine) {
    const kind = engine === "dcs" ? "DCS" : "GeminiDB Redis";
    throw new HttpError(404, ERROR_CODES[engine].notFound, `${kind} instance ${id} does not exist`);
  }
  return instance;
}

function nodeOf(instance: InstanceState, nodeId: string, engine: Engine): NodeState {
  const node = instance.nodes.find((n) => n.spec.nodeId === nodeId);
  if (!node) {
    throw new HttpError(
      404,
      ERROR_CODES[engine].nodeNotFound,
      `node ${nodeId} does not exist in instance ${instance.spec.instanceId}`,
    );
  }
  return node;
}

function geminidbNode(state: EmulatorState, nodeId: string): NodeState {
  for (const instance of state.instances.values()) {
    if (instance.spec.engine !== "geminidb") continue;
    const node = instance.nodes.find((n) => n.spec.nodeId === nodeId);
    if (node) return node;
  }
  throw new HttpError(404, ERROR_CODES.geminidb.nodeNotFound, `node ${nodeId} does not exist`);
}

/** Validates with a strict schema; a failure is a 400 naming the parameter and what is allowed. */
function validate<S extends z.ZodType>(schema: S, value: unknown, engine: Engine): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const error = toValidationError(result.error);
  throw new HttpError(400, ERROR_CODES[engine].invalid, `Invalid parameter ${error.message}`);
}

function jsonBody(body: Buffer, engine: Engine): unknown {
  const text = body.toString("utf8").trim();
  if (text === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, ERROR_CODES[engine].invalid, "Invalid request body: it is not valid JSON");
  }
}

/** Query parameters as an object; integer-looking values become numbers so the schemas can check ranges. */
function queryObject(query: URLSearchParams, numeric: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of query) {
    if (key in out) continue; // the first of repeated parameters wins
    out[key] = numeric.includes(key) && /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

/** Nodes that hold sessions: the proxies when the instance has some, else every data node. */
function sessionNodes(instance: InstanceState): NodeState[] {
  const proxies = instance.nodes.filter((n) => n.spec.role === "redis-proxy");
  return proxies.length > 0 ? proxies : instance.nodes;
}

const EMPTY_VIEW: SessionView = { count: 0, at: () => ({}) };

/** The sessions of a node as the API shows them (see `presented`). */
async function liveView(node: NodeState): Promise<SessionView> {
  return node.spec.backend ? presented(node, await node.spec.backend.snapshot()) : EMPTY_VIEW;
}

/** The address a node shows in `logical-nodes` (`node_ip`). */
function nodeIpOf(node: NodeState): string {
  return node.spec.ip ?? `192.168.0.${10 + node.instance.nodes.indexOf(node)}`;
}

/** A port for the proxy's side of a session's connection, stable for the session (derived from its id). */
function proxySidePort(id: string | undefined): number {
  let h = 0;
  for (const ch of id ?? "") h = (h * 31 + ch.charCodeAt(0)) % 64000;
  return 1024 + h;
}

/**
 * Behind a proxy with client-IP pass-through off, `addr` is the proxy's side of the connection and only
 * `peer` names the real client; the backends always see the real client, so the rewrite happens here.
 */
function presented(node: NodeState, view: SessionView): SessionView {
  if (node.instance.spec.clientIpPassThrough !== false || node.spec.role !== "redis-proxy") return view;
  const ip = nodeIpOf(node);
  return {
    count: view.count,
    at(index: number): ClientInfo {
      const client = view.at(index);
      return { ...client, peer: client.peer || client.addr, addr: `${ip}:${proxySidePort(client.id)}` };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// DCS v2
// ---------------------------------------------------------------------------------------------------------

function listNodes(instance: InstanceState): RouteResult {
  const nodes = instance.nodes.map((node, i) => {
    const spec = node.spec;
    const group = spec.groupName ?? (spec.role === "redis-proxy" ? "proxy" : `group-${i}`);
    return {
      node_id: spec.listedWithoutId ? undefined : spec.nodeId,
      logical_node_id: `${spec.nodeId.slice(0, 8)}-logical-${i}`,
      name: spec.name ?? `${spec.type}-${i}`,
      status: "Active",
      az_code: "az1",
      node_role: spec.role,
      node_type: spec.type,
      node_ip: nodeIpOf(node),
      // The logical-nodes page types node_port as String.
      node_port: String(spec.port ?? 6379),
      group_id: `group-id-${group}`,
      group_name: group,
    };
  });
  return { status: 200, body: { instance_id: instance.spec.instanceId, total: nodes.length, nodes } };
}

function scanClients(state: EmulatorState, instance: InstanceState, req: RouteRequest): RouteResult {
  const body = validate(ScanClientsBodySchema, jsonBody(req.body, "dcs"), "dcs");
  const node = nodeOf(instance, body.node_id, "dcs");
  // Only an explicit clean_cache: false keeps the cached list; a scan re-reads the node otherwise.
  const keep = body.clean_cache === false && node.snapshot !== undefined;
  const jobId = state.jobs.start(
    "ScanClients",
    async () => {
      if (keep) return;
      const view = await liveView(node);
      return () => {
        node.snapshot = new Snapshot(view, new Date(state.now()).toISOString());
      };
    },
    req.jobFault,
  );
  return { status: 200, body: { job_id: jobId } };
}

function listClients(state: EmulatorState, instance: InstanceState, req: RouteRequest): RouteResult {
  const query = validate(ListClientsQuerySchema, queryObject(req.query, ["offset", "limit"]), "dcs");
  const node = nodeOf(instance, query.node_id, "dcs");
  if (!node.snapshot) {
    throw new HttpError(
      500,
      ERROR_CODES.dcs.internal,
      `no session list is cached for node ${query.node_id}: scan it first (POST .../clients)`,
    );
  }
  const { snapshot } = node;
  const render = () => {
    const page = snapshot.page(query);
    return { time: snapshot.time, clients: page.clients, count: page.count };
  };
  if (state.pageCache)
    return { status: 200, text: snapshot.renderedPage(query, () => JSON.stringify(render())) };
  return { status: 200, body: render() };
}

function killAllClients(state: EmulatorState, instance: InstanceState, req: RouteRequest): RouteResult {
  const body = validate(KillAllBodySchema, jsonBody(req.body, "dcs"), "dcs");
  const targets =
    body.kill_all_nodes === true ? instance.nodes : [nodeOf(instance, body.node_id ?? "", "dcs")];
  const jobId = state.jobs.start(
    "KillAllClients",
    async () => {
      for (const node of targets) await node.spec.backend?.killAll();
    },
    req.jobFault,
  );
  return { status: 200, body: { job_id: jobId } };
}

/**
 * Kill-chosen: the addresses name sessions by `peer` (the real client), which is what the backends know. An
 * address that names no session (already gone, or a proxy-side `addr`) is not an error, as on the service.
 */
async function killClients(instance: InstanceState, req: RouteRequest): Promise<RouteResult> {
  const body = validate(KillClientsBodySchema, jsonBody(req.body, "dcs"), "dcs");
  const node = nodeOf(instance, body.node_id, "dcs");
  await node.spec.backend?.killByAddrs(body.client_addrs);
  return { status: 204 };
}

function showJob(state: EmulatorState, jobId: string): RouteResult {
  const job = state.jobs.show(jobId);
  if (!job) throw new HttpError(404, ERROR_CODES.dcs.notFound, `job ${jobId} does not exist`);
  return { status: 200, body: job };
}

// ---------------------------------------------------------------------------------------------------------
// GeminiDB v3
// ---------------------------------------------------------------------------------------------------------

const GeminiInstanceQuerySchema = {
  parse(query: URLSearchParams): string | undefined {
    for (const key of query.keys()) {
      if (key !== "node_id") {
        throw new HttpError(
          400,
          ERROR_CODES.geminidb.invalid,
          `Invalid parameter ${key}: is not a known field`,
        );
      }
    }
    const nodeId = query.get("node_id");
    return nodeId === null ? undefined : validate(IdSchema, nodeId, "geminidb");
  },
};

/**
 * GeminiDB's session shape, every field a String as the page's table types them (its example sends numbers;
 * the client reads both).
 */
function geminiSession(client: ClientInfo): Record<string, string | undefined> {
  const text = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
  return {
    id: text(client.id),
    name: client.name ?? "",
    cmd: client.cmd ?? "",
    age: text(client.age),
    idle: text(client.idle),
    db: text(client.db),
    addr: client.addr,
    fd: text(client.fd),
    sub: text(client.sub ?? 0),
    psub: text(client.psub ?? 0),
    multi: text(client.multi ?? -1),
  };
}

/** A node's live sessions as GeminiDB lists them: newest first. */
async function geminiView(node: NodeState): Promise<SessionView> {
  return newestFirst(await liveView(node));
}

async function geminidbListSessions(instance: InstanceState, req: RouteRequest): Promise<RouteResult> {
  const nodeId = GeminiInstanceQuerySchema.parse(req.query);
  const nodes = nodeId === undefined ? sessionNodes(instance) : [nodeOf(instance, nodeId, "geminidb")];
  const nodeSessions = [];
  for (const node of nodes) {
    const view = await geminiView(node);
    const sessions = [];
    for (let i = 0; i < view.count; i++) sessions.push(geminiSession(view.at(i)));
    nodeSessions.push({ node_id: node.spec.nodeId, total_count: view.count, sessions });
  }
  return { status: 200, body: { node_sessions: nodeSessions } };
}

/** The instance-wide close: the service supports it on proxy-cluster instances only. */
async function geminidbCloseSessions(instance: InstanceState, req: RouteRequest): Promise<RouteResult> {
  if (!instance.nodes.some((n) => n.spec.role === "redis-proxy")) {
    throw new HttpError(
      400,
      ERROR_CODES.geminidb.invalid,
      `closing the sessions of instance ${instance.spec.instanceId} at once is supported for proxy-cluster ` +
        "instances only; close them node by node (DELETE /v3/{project_id}/redis/nodes/{node_id}/sessions)",
    );
  }
  const nodeId = GeminiInstanceQuerySchema.parse(req.query);
  const nodes = nodeId === undefined ? instance.nodes : [nodeOf(instance, nodeId, "geminidb")];
  for (const node of nodes) await node.spec.backend?.killAll();
  return { status: 200, body: {} };
}

async function geminidbListNodeSessions(
  state: EmulatorState,
  nodeId: string,
  req: RouteRequest,
): Promise<RouteResult> {
  validate(IdSchema, nodeId, "geminidb");
  const query = validate(
    GeminiNodeSessionsQuerySchema,
    queryObject(req.query, ["offset", "limit"]),
    "geminidb",
  );
  const node = geminidbNode(state, nodeId);
  const live = new Snapshot(await geminiView(node), new Date(state.now()).toISOString());
  const page = live.page({ offset: query.offset, limit: query.limit ?? 50, addrPrefix: query.addr_prefix });
  return { status: 200, body: { total_count: page.count, sessions: page.clients.map(geminiSession) } };
}

async function geminidbCloseNodeSessions(
  state: EmulatorState,
  nodeId: string,
  req: RouteRequest,
): Promise<RouteResult> {
  validate(IdSchema, nodeId, "geminidb");
  const body = validate(GeminiCloseNodeSessionsBodySchema, jsonBody(req.body, "geminidb"), "geminidb");
  const node = geminidbNode(state, nodeId);
  const backend = node.spec.backend;
  if (!backend) return { status: 200, body: {} };
  if (body.is_all) {
    await backend.killAll();
  } else {
    const ids = body.session_ids ?? [];
    if (backend.killByIds) {
      await backend.killByIds(ids);
    } else {
      // No id-based kill on this backend: find the ids' addresses in a fresh snapshot.
      const wanted = new Set(ids);
      const view = await backend.snapshot();
      const addrs: string[] = [];
      for (let i = 0; i < view.count; i++) {
        const client = view.at(i);
        if (client.id !== undefined && wanted.has(String(client.id)) && client.addr) addrs.push(client.addr);
      }
      if (addrs.length > 0) await backend.killByAddrs(addrs);
    }
  }
  return { status: 200, body: {} };
}

/** The IP of an `ip:port` address (`[v6]:port` too); the address itself when it has no port. */
function ipOfAddr(addr: string): string {
  if (addr.startsWith("[")) return addr.slice(1, Math.max(1, addr.indexOf("]")));
  const colon = addr.lastIndexOf(":");
  return colon > 0 ? addr.slice(0, colon) : addr;
}

/** How many of the top client IPs the statistics list (the page: "at most ten"). */
const TOP_SOURCE_IPS = 10;

/**
 * Counts over the node's live sessions. "Active" is not defined by the page: here, a session idle for less
 * than a second. `top_dbs` is left empty: the emulator does not model its entries.
 */
async function geminidbNodeSessionStatistics(state: EmulatorState, nodeId: string): Promise<RouteResult> {
  validate(IdSchema, nodeId, "geminidb");
  const view = await liveView(geminidbNode(state, nodeId));
  const byIp = new Map<string, number>();
  let active = 0;
  for (let i = 0; i < view.count; i++) {
    const session = view.at(i);
    if ((session.idle ?? 0) < 1) active++;
    const ip = ipOfAddr(session.addr ?? "");
    byIp.set(ip, (byIp.get(ip) ?? 0) + 1);
  }
  const top = [...byIp.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP_SOURCE_IPS)
    .map(([ip, count]) => ({ client_ip: ip, connection_count: count }));
  return {
    status: 200,
    body: {
      total_connection_count: view.count,
      active_connection_count: active,
      top_source_ips: top,
      top_dbs: [],
    },
  };
}
