/**
 * What the product does, in the user's words: options and results of `scanSessions` and `purgeSessions`.
 * The result field names are the output names of DESIGN §5, shared by Pulumi, the CLI's JSON and CDKTF.
 */
import type { ClientOptions, SessionsClient } from "../api/types";

export type Engine = "dcs" | "geminidb";

export const IDLE_BUCKETS = ["<1m", "1m-10m", "10m-1h", "1h-24h", ">=24h"] as const;
export type IdleBucket = (typeof IDLE_BUCKETS)[number];

/** How many keys the `by*` maps keep before folding the rest into `other`. */
export const MAP_CAP = 20;
export const OTHER_KEY = "other";
export const DEFAULT_TOP_N = 10;
export const MAX_TOP_N = 100;

/** Where a front end reports progress (the CLI prints it on stderr). */
export type ProgressEvent =
  | { kind: "nodes"; nodeIds: string[] }
  | { kind: "scan-started"; nodeId: string; jobId: string }
  | { kind: "scan-done"; nodeId: string }
  | { kind: "page"; nodeId: string; sessions: number; total: number }
  | { kind: "kill-sent"; jobId: string; target: string }
  | { kind: "kill-done"; jobId: string }
  | { kind: "message"; message: string };

interface CommonOptions {
  instanceId: string;
  /** `dcs` (default) or `geminidb`. */
  engine?: Engine;
  /** Nodes to act on; default every node (every proxy when the instance has proxies, else every data node). */
  nodeIds?: string[];
  /** A client to use; default `createClient(clientOptions)`, closed when the call ends. */
  client?: SessionsClient;
  /** Options for the client created when `client` is not given. */
  clientOptions?: ClientOptions;
  /** How many nodes are listed at once (default 4); up to 4 × as many are scanned meanwhile (1: one at a time). */
  concurrency?: number;
  /** Deadline for each job (scan or kill), in seconds (default 300). */
  waitTimeoutSeconds?: number;
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
  /** The clock (tests). */
  now?: () => Date;
}

export interface ScanOptions extends CommonOptions {
  /** Re-query the node instead of serving the cached list (default true). */
  cleanCache?: boolean;
  /** Only sessions whose address matches (the API's `addr` filter). */
  addr?: string;
  /** How many of the most idle sessions to report, 0–100 (default 10). */
  topN?: number;
  /**
   * Scan the nodes first (default true). False skips the scan and its job and re-lists the cached lists as
   * the last scan left them (every page, aggregated the same way): a Pulumi refresh counts without scanning.
   */
  rescan?: boolean;
}

export interface NodeSessions {
  nodeId: string;
  /** `redis-proxy` / `redis-server`, when known. */
  role?: string;
  sessions: number;
  /** Data time of the node's session list (the scan that produced it). */
  dataTime?: string;
}

export interface SessionSummary {
  nodeId: string;
  addr: string;
  name: string;
  user: string;
  db: string;
  cmd: string;
  idleSeconds: number;
  ageSeconds: number;
}

/** A node that holds sessions but that an operation could not act on. */
export interface SkippedNode {
  name?: string;
  logicalNodeId?: string;
  role?: string;
  reason: string;
}

/** The result of `scanSessions`: bounded in size whatever the number of sessions. */
export interface SessionSnapshot {
  instanceId: string;
  engine: Engine;
  totalSessions: number;
  nodes: NodeSessions[];
  byClientIp: Record<string, number>;
  byUser: Record<string, number>;
  byDb: Record<string, number>;
  byCommand: Record<string, number>;
  byName: Record<string, number>;
  idleBuckets: Record<IdleBucket, number>;
  maxIdleSeconds: number;
  maxAgeSeconds: number;
  subscribers: number;
  topIdle: SessionSummary[];
  /** When the scan ran (ISO 8601). */
  scannedAt: string;
  /**
   * Present only when `logical-nodes` listed session nodes without a `node_id`: the clients APIs cannot name
   * them, so they were not scanned and none of their sessions is counted above.
   */
  skippedNodes?: SkippedNode[];
  /**
   * Present only when a map's key space went past the exact-counting bound (100 000 distinct keys): the maps
   * named here list lower bounds for their keys (their totals, `other` included, stay exact).
   */
  approximateMaps?: string[];
}

/** The outputs of a scan, by the names of DESIGN §5: what the Pulumi resource exposes. */
export const SCAN_OUTPUT_NAMES = [
  "totalSessions",
  "nodes",
  "byClientIp",
  "byUser",
  "byDb",
  "byCommand",
  "byName",
  "idleBuckets",
  "maxIdleSeconds",
  "maxAgeSeconds",
  "subscribers",
  "topIdle",
  "scannedAt",
] as const satisfies ReadonlyArray<keyof SessionSnapshot>;

export interface MaintenanceWindow {
  /** Days the window opens on (`mon`…`sun`); default every day. A window crossing midnight belongs to its opening day. */
  days?: Array<"mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun">;
  /** `HH:MM`, 24-hour. */
  start: string;
  /** `HH:MM`; earlier than `start` means the window crosses midnight. */
  end: string;
  /** IANA time zone name (default `UTC`). */
  timeZone?: string;
}

/**
 * Which sessions a selective purge kills (DESIGN §4 "Selective purge"): every field optional, values within
 * one field are OR, fields are AND. A client matches by its `peer` IP, falling back to `addr`.
 */
export interface SessionMatch {
  /** Sessions idle for more than this many seconds (`idle > idleOverSeconds`). */
  idleOverSeconds?: number;
  /** Client IPs or CIDR ranges, IPv4 or IPv6, matched against the session's `peer` (else `addr`). */
  clients?: string[];
  /** Redis ACL user names. */
  users?: string[];
  /** Client names (`CLIENT SETNAME`). */
  names?: string[];
  /** Database numbers. */
  dbs?: number[];
  /** Last command names (case-insensitive). */
  cmds?: string[];
}

/** One session a selective purge selected, as a dry run lists it. */
export interface SelectedSession {
  nodeId: string;
  /** The address the kill names: the session's `peer` (the real client), else its `addr`. */
  peer: string;
  /** `(none)` when the session has none (GeminiDB sessions have no user). */
  user: string;
  name: string;
  /** Seconds. */
  idle: number;
  db: string;
  cmd: string;
}

export interface PurgeOptions extends CommonOptions {
  /** Kill on every node of the instance (`kill_all_nodes: true`). Exclusive with `nodeIds`. */
  allNodes?: boolean;
  /** Report what would be killed, kill nothing. */
  dryRun?: boolean;
  /** Refuse (GuardRefusedError) when more sessions than this are connected: a catch for the wrong instance. */
  maxSessions?: number;
  /** Skip when fewer sessions than this are connected. */
  minSessions?: number;
  maintenanceWindow?: MaintenanceWindow;
  /** What to do outside the window: `fail` (default, GuardRefusedError) or `skip`. */
  outsideWindow?: "fail" | "skip";
  /** Take an after snapshot (default true). */
  verify?: boolean;
  /** Kill only the sessions this selects (a selective purge: never a kill-all). */
  match?: SessionMatch;
  /** Selective purge: how many selected sessions the report lists in `selectedSessions`, 0–100 (default 10). */
  topN?: number;
  /**
   * Asked after the guards pass and before the kill, with what is about to happen; return false to stop
   * (the CLI's confirmation prompt): a GuardRefusedError with guard `confirmation`. Not called on a dry run.
   */
  confirm?: (plan: PurgePlan) => Promise<boolean>;
}

export interface PurgePlan {
  instanceId: string;
  engine: Engine;
  allNodes: boolean;
  nodeIds: string[];
  /** How many sessions the kill is about to close: every connected one, or the matched ones when selective. */
  sessions: number;
  /** Selective purge: the selection (its matched count is `sessions`). */
  match?: SessionMatch;
}

export type PurgeStatus =
  "purged" | "purged-unverified" | "dry-run" | "skipped-outside-window" | "skipped-below-minimum";

export interface NodePurge {
  nodeId: string;
  before: number;
  /** Selective purge: how many of the node's sessions the match selected (killed, unless a dry run). */
  matched?: number;
  /** Null when the after snapshot was not taken (`verify: false`, dry run, skip). */
  after: number | null;
}

/** The result of `purgeSessions`. */
export interface PurgeReport {
  instanceId: string;
  engine: Engine;
  status: PurgeStatus;
  /** Null when the purge was skipped before the before snapshot (outside the window). */
  sessionsBefore: number | null;
  sessionsAfter: number | null;
  nodes: NodePurge[];
  jobIds: string[];
  /** When the purge ran (ISO 8601). */
  purgedAt: string;
  /** Why it was skipped, in words. */
  reason?: string;
  /** Selective purge: how many sessions the match selected (the count the guards compare). */
  matchedSessions?: number;
  /** Selective purge: the first N selected sessions in listing order (N = `topN`, default 10, at most 100). */
  selectedSessions?: SelectedSession[];
  /** `purged-unverified`: why the kill could not be confirmed (job wait or after snapshot failed), in words. */
  verificationError?: string;
  before?: SessionSnapshot;
  after?: SessionSnapshot;
}

/** The outputs of a purge, by the names of DESIGN §5 (the snapshots stay out: a state keeps figures). */
export const PURGE_OUTPUT_NAMES = [
  "status",
  "sessionsBefore",
  "sessionsAfter",
  "nodes",
  "jobIds",
  "purgedAt",
  "verificationError",
  "matchedSessions",
  "selectedSessions",
] as const satisfies ReadonlyArray<keyof PurgeReport>;
