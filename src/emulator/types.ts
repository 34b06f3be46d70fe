/**
 * The emulator's public options and handle (DESIGN §5 "Emulator"), and the contract between its HTTP server
 * and its backends (a real `redis-server` per node, or synthetic sessions).
 */
import type { ClientInfo, OperationName } from "../api/schemas";

/** A read-only, possibly lazy, list of sessions: a synthetic node never holds its sessions as objects. */
export interface SessionView {
  readonly count: number;
  /** The session at `index` (0 ≤ index < count). */
  at(index: number): ClientInfo;
}

/** One node's sessions, wherever they live. */
export interface NodeBackend {
  /** Takes a snapshot of the live sessions, as a scan does (`CLIENT LIST` on a real node). */
  snapshot(): Promise<SessionView>;
  /** Kills every normal client session of the node (sparing the emulator's own connection); returns how many. */
  killAll(): Promise<number>;
  /** Kills the sessions with these `ip:port` addresses; returns how many were found and killed. */
  killByAddrs(addrs: string[]): Promise<number>;
  /**
   * Kills the sessions with these client ids (GeminiDB `session_ids`); returns how many. Optional: without it
   * the emulator looks the ids up in a fresh snapshot and kills by address.
   */
  killByIds?(ids: string[]): Promise<number>;
  /** Frees what the backend holds (connections). */
  close(): Promise<void>;
}

export type NodeRole = "redis-proxy" | "redis-server";

export interface NodeSpec {
  nodeId: string;
  /** `redis-proxy` nodes hold the sessions of a proxy cluster; `redis-server` nodes otherwise. */
  role: NodeRole;
  /** `proxy`, `master` or `slave`. */
  type: "proxy" | "master" | "slave";
  /** Where the sessions come from; a node without one (a data node behind proxies) has no sessions. */
  backend?: NodeBackend;
  /** Shown by `logical-nodes` (defaults derived from the node's position). */
  name?: string;
  ip?: string;
  port?: number;
  /** The shard (group) the node belongs to; a master and its slaves share one. */
  groupName?: string;
  /**
   * `logical-nodes` lists the node without a `node_id` (as for a node still being created); the clients APIs
   * still know it by `nodeId`.
   */
  listedWithoutId?: boolean;
}

export interface InstanceSpec {
  instanceId: string;
  engine: "dcs" | "geminidb";
  nodes: NodeSpec[];
  /**
   * Client-IP pass-through of the proxies (default true). False: a proxy node lists each session with the
   * proxy's side of the connection in `addr` and the real client in `peer`, as the service does when
   * pass-through is off; a kill-chosen still names sessions by `peer`.
   */
  clientIpPassThrough?: boolean;
}

/** A scripted fault. Matched against each request in order; the first that matches is applied. */
export interface FaultRule {
  /** The operation it applies to (`*` for any). */
  route: OperationName | "*";
  /** 1-based call numbers of that route it hits (`[1, 2]`: the first two calls); default every call. */
  calls?: number[];
  /** Probability 0–1 of hitting a matching call, drawn from the emulator's seeded generator. */
  probability?: number;
  /** How many times it may still hit; default unlimited. */
  times?: number;
  fault:
    | {
        kind: "status";
        status: 400 | 401 | 403 | 429 | 500 | 502 | 503 | 504;
        retryAfterSeconds?: number;
        errorCode?: string;
        errorMsg?: string;
        /** Do the operation first, then answer this status instead of its result (a kill that took effect). */
        after?: boolean;
      }
    | {
        kind: "latency";
        ms: number;
        /** Do the operation first, then wait before answering (a client that times out after the effect). */
        after?: boolean;
      }
    /**
     * `before-body`: before reading the request; `after-body`: after reading it, before doing anything;
     * `after-operation`: after doing the operation, instead of answering.
     */
    | { kind: "reset"; when: "before-body" | "after-body" | "after-operation" }
    | { kind: "malformed-json" }
    | { kind: "truncated-json" }
    | { kind: "job-fails"; reason?: string }
    | { kind: "job-never-ends" }
    /** The job shows this status (one the API does not document) instead of INIT/RUNNING until it ends. */
    | { kind: "job-status"; status: string }
    /** The job API does not know the job's id (404), though the job runs: a client falls back to the list. */
    | { kind: "job-unknown" }
    | { kind: "dcs-4957" };
}

export interface SyntheticOptions {
  nodes: number;
  sessionsPerNode: number;
  seed?: number;
  /** Fraction 0–1 of killed sessions that come back (new ports) after a kill, as applications reconnect. */
  reconnectFraction?: number;
  /** Put the sessions on proxies (a proxy cluster, the default) or on master data nodes. */
  topology?: "proxy" | "data";
}

export interface EmulatorOptions {
  /** Loopback address to listen on (default `127.0.0.1`). */
  host?: string;
  /** Port (default 0: a free port). */
  port?: number;
  projectId?: string;
  region?: string;
  /** The AK/SK pair requests must be signed with (generated when absent). */
  accessKey?: string;
  secretKey?: string;
  /** An IAM token accepted in `X-Auth-Token` instead of a signature. */
  authToken?: string;
  /** Real nodes: one instance whose data nodes (or proxies, with `redisTopology: "proxy"`) are these URLs. */
  redis?: string[];
  redisTopology?: "proxy" | "data";
  /** Synthetic sessions. */
  synthetic?: SyntheticOptions;
  /** Explicit instances (for tests that need several, or GeminiDB ones). Overrides `redis`/`synthetic`. */
  instances?: InstanceSpec[];
  /**
   * Keep every list page once rendered, until the node's next scan: listing again costs the emulator almost
   * nothing, so a benchmark measures the client. Memory grows with the sessions listed (default false).
   */
  pageCache?: boolean;
  /** How long a scan or kill job takes, INIT → RUNNING → SUCCESS (default 200 ms). */
  jobMs?: number;
  faults?: FaultRule[];
  /** Seed of the fault probabilities (default 1). */
  seed?: number;
  /** Largest tolerated `X-Sdk-Date` skew (default 15 minutes). */
  maxClockSkewMs?: number;
  /**
   * Client-IP pass-through of the instance built from `redis` or `synthetic` (default true). False with the
   * proxy topology: sessions list a proxy-side `addr` and the real client in `peer` (see InstanceSpec).
   */
  clientIpPassThrough?: boolean;
  /** Engine of the instance built from `redis` or `synthetic` (default `dcs`: served under `/v2`). */
  engine?: "dcs" | "geminidb";
  /** The emulator's clock in epoch ms (default `Date.now`): signature dates and job times read it. */
  now?: () => number;
  /**
   * Called with the credentials each API request carried (whether valid or not), so that a test can search
   * everything a front end printed or stored for them: the signature of `Authorization`, `X-Security-Token`
   * and `X-Auth-Token`.
   */
  onCredentials?: (seen: SeenCredentials) => void;
}

/** What one request carried: absent fields were not sent. */
export interface SeenCredentials {
  signature?: string;
  securityToken?: string;
  authToken?: string;
}

/** Calls received, per operation, counted whether they succeeded or not. */
export type Counters = Partial<Record<OperationName | "unauthorized" | "throttled", number>>;

export interface EmulatorControl {
  setFaults(faults: FaultRule[]): Promise<void>;
  addFault(fault: FaultRule): Promise<void>;
  clearFaults(): Promise<void>;
  counters(): Promise<Counters>;
  resetCounters(): Promise<void>;
}

export interface EmulatorHandle {
  /** DCS endpoint, e.g. `http://127.0.0.1:41234`. */
  endpoint: string;
  /** GeminiDB endpoint (the same server). */
  geminidbEndpoint: string;
  projectId: string;
  region: string;
  /** The first instance's id. */
  instanceId: string;
  /** The first instance's node ids (those that hold sessions first). */
  nodeIds: string[];
  instances: Array<{ instanceId: string; engine: "dcs" | "geminidb"; nodeIds: string[] }>;
  accessKey: string;
  secretKey: string;
  authToken?: string;
  /** Base URL of the control API (`GET/PUT/DELETE {controlUrl}/faults`, `GET/DELETE {controlUrl}/counters`). */
  controlUrl: string;
  control: EmulatorControl;
  /** Environment variables that point a client (or the CLI) at this emulator. */
  env: Record<string, string>;
  /** Stops the server and frees every backend. */
  close(): Promise<void>;
}
