/**
 * The shape of the client that `createClient` returns (DESIGN §2 "Programmatic API"). Core code depends on
 * these interfaces only, so it never knows how requests are signed or sent.
 */
import type { Dispatcher } from "undici";
import type { ClientInfo, ClientInfoField, GeminiSession, JobStatus } from "./schemas";
import type { WireClientPage } from "./wire-page";

/** Per-call options every operation accepts. */
export interface CallOptions {
  /** Aborts the call (and its retries). */
  signal?: AbortSignal;
  /** Deadline for the whole call including retries, in milliseconds (default from the client options). */
  deadlineMs?: number;
}

/** A node of `logical-nodes`, with the field names in camelCase. */
export interface SessionNode {
  /** The id the clients APIs take (`node_id`, not `logical_node_id`). */
  nodeId: string;
  logicalNodeId?: string;
  name?: string;
  status?: string;
  /** `redis-proxy` or `redis-server`. */
  nodeRole?: string;
  /** `proxy`, `master`, `slave`, … */
  nodeType?: string;
  nodeIp?: string;
  nodePort?: number;
  groupId?: string;
  groupName?: string;
}

/** A node `logical-nodes` listed without a `node_id`: the clients APIs cannot name it. */
export type NodeWithoutId = Omit<SessionNode, "nodeId">;

export interface NodeList {
  instanceId: string;
  total: number;
  /** The nodes the clients APIs can name. */
  nodes: SessionNode[];
  /** Present when some nodes came without a `node_id`: left out of `nodes` (a warning is logged). */
  withoutNodeId?: NodeWithoutId[];
}

export interface ClientPage {
  /** Data time of the cached session list (the last scan), as sent. */
  time: string;
  clients: ClientInfo[];
  /** Total number of sessions in the cached list (not the page). */
  count: number;
}

/** A list page for the scan's fast path (wire-page.ts). */
export type { WireClientPage, WireSessionFacts } from "./wire-page";

export interface Job {
  jobId: string;
  jobType?: string;
  status: JobStatus;
  beginTime?: string;
  endTime?: string;
  failReason?: string;
}

export interface ListClientsOptions {
  nodeId: string;
  offset?: number;
  limit?: number;
  addr?: string;
  sort?: ClientInfoField;
  order?: "asc" | "desc";
}

export interface ListAllClientsOptions {
  nodeId: string;
  addr?: string;
  sort?: ClientInfoField;
  order?: "asc" | "desc";
  /** Page size, 1–1000 (default 1000). */
  pageSize?: number;
  /** How many pages are fetched at once (default 4). Pages are still yielded in order. */
  concurrency?: number;
  /** Called once with the first page's data time and total count, before its sessions are yielded. */
  onFirstPage?: (info: { time: string; count: number }) => void;
}

export type KillAllTarget = { nodeId: string } | { allNodes: true };

export interface WaitForJobOptions extends CallOptions {
  /** Give up after this long (default 300 000 ms): a `TimeoutError`. */
  timeoutMs?: number;
  /** First poll delay (default 50 ms); doubles up to `maxIntervalMs`. */
  initialIntervalMs?: number;
  /** Poll delay cap (default 400 ms): a job's end is noticed within it. */
  maxIntervalMs?: number;
  /**
   * When the job API does not know the id (404), a scan job can still be followed by polling the node's
   * session list until its `time` is at or after `since` (DESIGN §1). Give the scan's `serverTime` when
   * there is one: the list's `time` is the server's clock.
   */
  fallback?: { instanceId: string; nodeId: string; since: Date };
}

export interface DcsApi {
  listNodes(instanceId: string, options?: CallOptions): Promise<NodeList>;
  /**
   * `serverTime`: the server's clock when it accepted the scan (the answer's `Date` header, whole seconds),
   * when it sent one: the `since` of a `waitForJob` fallback, so that this machine's clock does not matter.
   */
  scanClients(
    instanceId: string,
    request: { nodeId: string; cleanCache?: boolean },
    options?: CallOptions,
  ): Promise<{ jobId: string; serverTime?: Date }>;
  listClients(instanceId: string, request: ListClientsOptions, options?: CallOptions): Promise<ClientPage>;
  listAllClients(
    instanceId: string,
    request: ListAllClientsOptions,
    options?: CallOptions,
  ): AsyncIterable<ClientInfo>;
  /**
   * Every page of a node's list, as `listAllClients` fetches them, with the clients left unparsed: the scan's
   * fast path. Optional, so that a client written by hand needs only `listAllClients`.
   */
  listClientPages?(
    instanceId: string,
    request: ListAllClientsOptions,
    options?: CallOptions,
  ): AsyncIterable<WireClientPage>;
  /** Never repeated once the request may have reached the server. */
  killAllClients(
    instanceId: string,
    target: KillAllTarget,
    options?: CallOptions,
  ): Promise<{ jobId: string }>;
  killClients(
    instanceId: string,
    request: { nodeId: string; clientAddrs: string[] },
    options?: CallOptions,
  ): Promise<void>;
  showJob(jobId: string, options?: CallOptions): Promise<Job>;
  waitForJob(jobId: string, options?: WaitForJobOptions): Promise<Job>;
}

export interface GeminiNodeSessions {
  nodeId: string;
  totalCount: number;
  sessions: GeminiSession[];
}

export interface GeminiDbApi {
  listSessions(
    instanceId: string,
    request?: { nodeId?: string },
    options?: CallOptions,
  ): Promise<{ nodeSessions: GeminiNodeSessions[] }>;
  /** Proxy-cluster instances only. Never repeated once the request may have reached the server. */
  closeSessions(instanceId: string, request?: { nodeId?: string }, options?: CallOptions): Promise<void>;
  listNodeSessions(
    nodeId: string,
    request?: { offset?: number; limit?: number; addrPrefix?: string },
    options?: CallOptions,
  ): Promise<{ totalCount: number; sessions: GeminiSession[] }>;
  closeNodeSessions(
    nodeId: string,
    request: { isAll: true } | { isAll: false; sessionIds: string[] },
    options?: CallOptions,
  ): Promise<void>;
  /** A node's session counts without listing its sessions: a cheap count. */
  nodeSessionStatistics(nodeId: string, options?: CallOptions): Promise<GeminiSessionStatistics>;
}

/** `session-statistics` of a GeminiDB node, in camelCase. */
export interface GeminiSessionStatistics {
  totalConnections: number;
  /** As the service counts them; the emulator counts the sessions idle for less than a second. */
  activeConnections?: number;
  /** The client IPs with the most connections (at most ten), the busiest first. */
  topSourceIps: Array<{ clientIp: string; connections: number }>;
  /** As sent: the page names no fields this package reads. */
  topDbs: Array<Record<string, unknown>>;
}

/** Static AK/SK (optionally temporary, with a security token) or an IAM token. */
export type Credentials =
  | { kind: "aksk"; accessKey: string; secretKey: string; securityToken?: string }
  | { kind: "token"; authToken: string };

export interface RetryOptions {
  /** Attempts in all, the first included (default 4). */
  maxAttempts?: number;
  /** Base backoff (default 500 ms), doubled per attempt, with full jitter. */
  baseDelayMs?: number;
  /** Backoff cap (default 10 000 ms); a longer `Retry-After` is honoured up to the deadline. */
  maxDelayMs?: number;
}

export interface TimeoutOptions {
  /** TCP/TLS connect timeout (default 10 000 ms). */
  connectMs?: number;
  /** Time to the response headers (default 30 000 ms). */
  headersMs?: number;
  /** Time between body chunks (default 30 000 ms). */
  bodyMs?: number;
  /** Deadline of one call including its retries (default 120 000 ms). */
  callMs?: number;
}

/** A log line sink; messages never contain secrets. */
export type Logger = (
  level: "debug" | "info" | "warn",
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface ClientOptions {
  region?: string;
  projectId?: string;
  /** DCS endpoint override, e.g. `https://dcs.example` or `http://127.0.0.1:8080`. */
  endpoint?: string;
  /** GeminiDB endpoint override. */
  geminidbEndpoint?: string;
  credentials?: Credentials;
  /** Environment to read (default `process.env`); tests pass their own. */
  env?: Record<string, string | undefined>;
  retry?: RetryOptions;
  timeouts?: TimeoutOptions;
  /** An undici dispatcher to use instead of the client's own pools (tests pass a `MockAgent`). */
  dispatcher?: Dispatcher;
  logger?: Logger;
  /** The clock used for `X-Sdk-Date` (tests). */
  now?: () => Date;
}

export interface SessionsClient {
  readonly dcs: DcsApi;
  readonly geminidb: GeminiDbApi;
  /** The resolved configuration, without secrets. */
  readonly config: {
    region?: string;
    projectId: string;
    endpoint: string;
    geminidbEndpoint: string;
    auth: "aksk" | "temporary-aksk" | "token";
  };
  /** Closes the connection pools. */
  close(): Promise<void>;
}
