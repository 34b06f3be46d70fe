/**
 * `SessionScan` and `SessionPurge`: Pulumi dynamic resources over the core operations (DESIGN §5).
 * Credentials are never inputs: they come from the stack config (`huaweicloud:*`) or the environment.
 */
import * as pulumi from "@pulumi/pulumi";
import { PURGE_OUTPUT_NAMES, SCAN_OUTPUT_NAMES } from "../core/types";
import type {
  Engine,
  IdleBucket,
  MaintenanceWindow,
  NodePurge,
  NodeSessions,
  PurgeStatus,
  SelectedSession,
  SessionMatch,
  SessionSummary,
} from "../core/types";
import { serializedProviders } from "./serialized";

/** The module part of the resources' type tokens: `pulumi-nodejs:dynamic/dcs-sessions:SessionScan`. */
export const TYPE_MODULE = "dcs-sessions";

/** Inputs both resources take. */
export interface SessionArgsBase {
  /** The DCS or GeminiDB instance id. A change replaces the resource. */
  instanceId: pulumi.Input<string>;
  /** `dcs` (default) or `geminidb`. A change replaces the resource. */
  engine?: pulumi.Input<Engine>;
  /** Nodes to act on (`node_id` of `logical-nodes`); default every node that holds sessions. */
  nodeIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** Deadline of each job (scan or kill), in seconds (default 300). */
  waitTimeoutSeconds?: pulumi.Input<number>;
  /** Any values: when one changes, `pulumi up` runs the operation again (e.g. a release id). */
  triggers?: pulumi.Input<unknown[]>;
  /** Run the operation again on every `pulumi up`. */
  alwaysRun?: pulumi.Input<boolean>;
  /** Region, e.g. `eu-west-101`; default `huaweicloud:region`, then `HW_REGION_NAME`. */
  region?: pulumi.Input<string>;
  /** Project id; default `huaweicloud:projectId`, then `HW_PROJECT_ID`. */
  projectId?: pulumi.Input<string>;
  /** DCS endpoint override (e.g. the emulator's); default from the region, then `HW_DCS_ENDPOINT`. */
  endpoint?: pulumi.Input<string>;
  /** GeminiDB endpoint override; default from the region, then `HW_GEMINIDB_ENDPOINT`. */
  geminidbEndpoint?: pulumi.Input<string>;
}

export interface SessionScanArgs extends SessionArgsBase {
  /** Re-query the nodes rather than serve the service's cached list (default true). */
  cleanCache?: pulumi.Input<boolean>;
  /** Only sessions whose address matches (the API's `addr` filter, e.g. `10.0.0.7`). */
  addr?: pulumi.Input<string>;
  /** How many of the most idle sessions `topIdle` lists, 0–100 (default 10). */
  topN?: pulumi.Input<number>;
}

export interface SessionPurgeArgs extends SessionArgsBase {
  /** Kill on every node of the instance in one request (`kill_all_nodes`). Not with `nodeIds`. */
  allNodes?: pulumi.Input<boolean>;
  /** Count what would be killed and kill nothing (`status: "dry-run"`). */
  dryRun?: pulumi.Input<boolean>;
  /** Refuse, failing the update, when more sessions than this are connected: a catch for the wrong instance. */
  maxSessions?: pulumi.Input<number>;
  /** Skip (`status: "skipped-below-minimum"`) when fewer sessions than this are connected. */
  minSessions?: pulumi.Input<number>;
  /** Act only inside this window: `{days?, start: "HH:MM", end: "HH:MM", timeZone?}` (may cross midnight). */
  maintenanceWindow?: pulumi.Input<MaintenanceWindow>;
  /** Outside the window: `fail` the update (default) or `skip` (`status: "skipped-outside-window"`). */
  outsideWindow?: pulumi.Input<"fail" | "skip">;
  /** Count again after the kill for `sessionsAfter` (default true). */
  verify?: pulumi.Input<boolean>;
  /**
   * A selective purge: kill only the sessions this selects, never with a kill-all. Every field is optional
   * (at least one): `idleOverSeconds` (idle for more than this), `clients` (IPs or CIDR ranges, v4 or v6,
   * matched against each session's `peer`, else its `addr`), `users`, `names`, `dbs`, `cmds`. Values within
   * a field are alternatives (OR); fields narrow each other (AND). `maxSessions`/`minSessions` then count the
   * matched sessions. A change re-runs the purge on the next `pulumi up`; the order of the values within a
   * field, repeats, and the case of `cmds` do not count as a change.
   */
  match?: pulumi.Input<SessionMatch>;
}

/** The args plus every output left undefined, so the engine registers the outputs. */
function withOutputs(args: object, outputs: readonly string[]): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const name of outputs) props[name] = undefined;
  return { ...props, ...args };
}

/** What both resources echo of their inputs. */
abstract class SessionResource extends pulumi.dynamic.Resource {
  // `declare`: with ES2022 class fields an initializer-less field would overwrite the outputs that the
  // base constructor sets.
  declare readonly instanceId: pulumi.Output<string>;
  declare readonly engine: pulumi.Output<Engine | undefined>;
  declare readonly nodeIds: pulumi.Output<string[] | undefined>;
  declare readonly waitTimeoutSeconds: pulumi.Output<number | undefined>;
  declare readonly triggers: pulumi.Output<unknown[] | undefined>;
  declare readonly alwaysRun: pulumi.Output<boolean | undefined>;
  declare readonly region: pulumi.Output<string | undefined>;
  declare readonly projectId: pulumi.Output<string | undefined>;
  declare readonly endpoint: pulumi.Output<string | undefined>;
  declare readonly geminidbEndpoint: pulumi.Output<string | undefined>;
}

/**
 * A snapshot of an instance's client sessions: scan, list every page, count. Runs on create and when its
 * inputs or `triggers` change (or on every `pulumi up` with `alwaysRun`); `pulumi refresh` re-counts the
 * service's cached lists without a new scan; `pulumi destroy` only forgets it.
 */
export class SessionScan extends SessionResource {
  declare readonly cleanCache: pulumi.Output<boolean | undefined>;
  declare readonly addr: pulumi.Output<string | undefined>;
  declare readonly topN: pulumi.Output<number | undefined>;

  /** Sessions counted on the scanned nodes. */
  declare readonly totalSessions: pulumi.Output<number>;
  /** Per node: `{nodeId, sessions, dataTime?}` (what the state keeps of a node: about 100 bytes). */
  declare readonly nodes: pulumi.Output<NodeSessions[]>;
  /** Sessions per client IP (address without port): the 20 largest plus `other`. */
  declare readonly byClientIp: pulumi.Output<Record<string, number>>;
  /** Sessions per ACL user: the 20 largest plus `other`. */
  declare readonly byUser: pulumi.Output<Record<string, number>>;
  /** Sessions per db: the 20 largest plus `other`. */
  declare readonly byDb: pulumi.Output<Record<string, number>>;
  /** Sessions per last command: the 20 largest plus `other`. */
  declare readonly byCommand: pulumi.Output<Record<string, number>>;
  /** Sessions per client name: the 20 largest plus `other`. */
  declare readonly byName: pulumi.Output<Record<string, number>>;
  /** Sessions per idle time: `<1m`, `1m-10m`, `10m-1h`, `1h-24h`, `>=24h`. */
  declare readonly idleBuckets: pulumi.Output<Record<IdleBucket, number>>;
  declare readonly maxIdleSeconds: pulumi.Output<number>;
  declare readonly maxAgeSeconds: pulumi.Output<number>;
  /** Sessions subscribed to a channel or pattern. */
  declare readonly subscribers: pulumi.Output<number>;
  /** The `topN` most idle sessions (at most 100). */
  declare readonly topIdle: pulumi.Output<SessionSummary[]>;
  /** When the scan ran (ISO 8601). */
  declare readonly scannedAt: pulumi.Output<string>;

  constructor(name: string, args: SessionScanArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      serializedProviders.SessionScan,
      name,
      withOutputs(args, SCAN_OUTPUT_NAMES),
      opts,
      TYPE_MODULE,
      "SessionScan",
    );
  }
}

/**
 * Kills every client session of an instance (or of the given nodes), or with `match` only the sessions it
 * selects, behind guards. Runs on create and when
 * its inputs or `triggers` change (or on every `pulumi up` with `alwaysRun`). Preview, refresh and destroy
 * never kill a session.
 */
export class SessionPurge extends SessionResource {
  declare readonly allNodes: pulumi.Output<boolean | undefined>;
  declare readonly dryRun: pulumi.Output<boolean | undefined>;
  declare readonly maxSessions: pulumi.Output<number | undefined>;
  declare readonly minSessions: pulumi.Output<number | undefined>;
  declare readonly maintenanceWindow: pulumi.Output<MaintenanceWindow | undefined>;
  declare readonly outsideWindow: pulumi.Output<"fail" | "skip" | undefined>;
  declare readonly verify: pulumi.Output<boolean | undefined>;
  declare readonly match: pulumi.Output<SessionMatch | undefined>;

  /**
   * `purged`, `purged-unverified` (a kill was sent but its job or the after snapshot failed: see
   * `verificationError`), `dry-run`, `skipped-outside-window` or `skipped-below-minimum`.
   */
  declare readonly status: pulumi.Output<PurgeStatus>;
  /** With `purged-unverified`: why the kill could not be confirmed. */
  declare readonly verificationError: pulumi.Output<string | undefined>;
  /** Sessions counted before the kill; null when skipped outside the window. */
  declare readonly sessionsBefore: pulumi.Output<number | null>;
  /** Sessions counted after the kill; null without `verify`, on a dry run or a skip. */
  declare readonly sessionsAfter: pulumi.Output<number | null>;
  /** A selective purge (`match`): the sessions the match selected, the count the guards compared. */
  declare readonly matchedSessions: pulumi.Output<number | undefined>;
  /** A selective purge: the first matched sessions (`nodeId`, `peer`, `user`, `name`, `idle`, `db`, `cmd`). */
  declare readonly selectedSessions: pulumi.Output<SelectedSession[] | undefined>;
  /** Per node: `{nodeId, before, after}`, and `matched` for a selective purge. */
  declare readonly nodes: pulumi.Output<NodePurge[]>;
  /** The kill-all job ids (a selective purge kills chosen sessions without jobs). */
  declare readonly jobIds: pulumi.Output<string[]>;
  /** When the purge ran (ISO 8601). */
  declare readonly purgedAt: pulumi.Output<string>;

  constructor(name: string, args: SessionPurgeArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      serializedProviders.SessionPurge,
      name,
      withOutputs(args, PURGE_OUTPUT_NAMES),
      opts,
      TYPE_MODULE,
      "SessionPurge",
    );
  }
}
