/**
 * `SessionScan`: a snapshot of an instance's sessions as a `data "external"` source that runs
 * `dcs-sessions terraform-external scan`. Terraform reads data sources at plan time, so a scan never
 * changes anything.
 */
import { Fn, Token } from "cdktf";
import type { ITerraformDependable, TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import { IDLE_BUCKETS } from "../core/types";
import type { Engine, IdleBucket } from "../core/types";
import { IDLE_BUCKET_KEYS } from "../cli/external";
import { ExternalData, externalProviderOf } from "./external-provider";
import { checkCommandProp, checkResourceProps } from "./validate";

/** The command that runs the CLI when `command` is not set: the package's own bin, no absolute path. */
export const DEFAULT_COMMAND: readonly string[] = ["npx", "--no-install", "dcs-sessions"];

/** Where the instance is and how to reach the CLI; shared by both constructs. Credentials: environment only. */
export interface ConnectionProps {
  /** The instance id. */
  readonly instanceId: string;
  /** `dcs` (default) or `geminidb`. */
  readonly engine?: Engine;
  /** Region, e.g. `eu-west-101`; default `HW_REGION_NAME` in Terraform's environment. */
  readonly region?: string;
  /** Project id; default `HW_PROJECT_ID`. */
  readonly projectId?: string;
  /** DCS endpoint override; default `HW_DCS_ENDPOINT`, else from the region. */
  readonly endpoint?: string;
  /** GeminiDB endpoint override; default `HW_GEMINIDB_ENDPOINT`. */
  readonly geminidbEndpoint?: string;
  /**
   * The argv that runs the CLI, before its subcommand; default `["npx", "--no-install", "dcs-sessions"]`.
   * Terraform runs it without a shell.
   */
  readonly command?: string[];
}

export interface SessionScanProps extends ConnectionProps {
  /** Nodes to scan; default every node (every proxy when the instance has proxies, else every data node). */
  readonly nodeIds?: string[];
  /** Re-query the nodes instead of serving the cached list (default true). */
  readonly cleanCache?: boolean;
  /** Only sessions whose address matches. */
  readonly addr?: string;
  /** How many of the most idle sessions `topIdle` lists, 0–100 (default 10). */
  readonly topN?: number;
  /** Deadline of each scan job, in seconds (default 300). */
  readonly waitTimeoutSeconds?: number;
  /** An `external` provider already declared in the stack; default one the constructs declare once per stack. */
  readonly provider?: TerraformProvider;
  /** Read the scan only after these (a scan after a purge is read at apply). */
  readonly dependsOn?: ITerraformDependable[];
}

/** The props the constructs have and the resources' schemas do not: how to run the CLI, and Terraform's wiring. */
export const CONSTRUCT_PROPS = ["command", "provider", "dependsOn"] as const;

/** Validates a construct's props (the resources' schemas, then the construct's own); names the prop. */
export function checkConstructProps(kind: "SessionScan" | "SessionPurge", props: ConnectionProps): void {
  checkResourceProps(kind, props, CONSTRUCT_PROPS);
  checkCommandProp(props.command, "command");
}

/** A prop as a string for the Terraform JSON; a number token must go through `Token.asString`. */
export function asString(value: string | number | boolean): string {
  return typeof value === "number" && Token.isUnresolved(value) ? Token.asString(value) : String(value);
}

/** Node ids as `a,b`: joined now when known, by Terraform's `join` when they are a token. */
export function joinIds(ids: string[]): string {
  return Token.isUnresolved(ids) ? Fn.join(",", ids) : ids.join(",");
}

/** The query of `terraform-external scan` (strings only; unset props are left out). */
export function scanQuery(props: SessionScanProps): Record<string, string> {
  const query: Record<string, string> = { instance_id: props.instanceId };
  const put = (key: string, value: string | number | boolean | undefined): void => {
    if (value !== undefined) query[key] = asString(value);
  };
  put("engine", props.engine);
  if (props.nodeIds !== undefined) query.node_ids = joinIds(props.nodeIds);
  put("clean_cache", props.cleanCache);
  put("addr", props.addr);
  put("top_n", props.topN);
  put("wait_timeout_seconds", props.waitTimeoutSeconds);
  put("region", props.region);
  put("project_id", props.projectId);
  put("endpoint", props.endpoint);
  put("geminidb_endpoint", props.geminidbEndpoint);
  return query;
}

export class SessionScan extends Construct {
  /** The `data "external"` source. */
  readonly dataSource: ExternalData;
  readonly totalSessions: number;
  readonly maxIdleSeconds: number;
  readonly maxAgeSeconds: number;
  /** Sessions subscribed to a channel or pattern. */
  readonly subscribers: number;
  /** Sessions per idle bucket (`<1m`, `1m-10m`, `10m-1h`, `1h-24h`, `>=24h`). */
  readonly idleBuckets: Record<IdleBucket, number>;
  /** When the scan ran (ISO 8601). */
  readonly scannedAt: string;
  /** Per-node figures, `[{nodeId, role?, sessions, dataTime?}]` (a decoded JSON token). */
  readonly nodes: unknown;
  /** Sessions by client IP, by user, by db, by command, by client name (decoded JSON tokens, capped to 20 + `other`). */
  readonly byClientIp: unknown;
  readonly byUser: unknown;
  readonly byDb: unknown;
  readonly byCommand: unknown;
  readonly byName: unknown;
  /** The most idle sessions (a decoded JSON token). */
  readonly topIdle: unknown;
  /** The raw result map of the external program (every value a string). */
  readonly result: Record<string, string>;

  constructor(scope: Construct, id: string, props: SessionScanProps) {
    super(scope, id);
    checkConstructProps("SessionScan", props);

    this.dataSource = new ExternalData(this, "scan", {
      program: [...(props.command ?? DEFAULT_COMMAND), "terraform-external", "scan"],
      query: scanQuery(props),
      provider: props.provider ?? externalProviderOf(this),
      ...(props.dependsOn ? { dependsOn: props.dependsOn } : {}),
    });
    const ds = this.dataSource;
    this.totalSessions = ds.resultNumber("total_sessions");
    this.maxIdleSeconds = ds.resultNumber("max_idle_seconds");
    this.maxAgeSeconds = ds.resultNumber("max_age_seconds");
    this.subscribers = ds.resultNumber("subscribers");
    this.scannedAt = ds.resultString("scanned_at");
    this.idleBuckets = Object.fromEntries(
      IDLE_BUCKETS.map((b) => [b, ds.resultNumber(IDLE_BUCKET_KEYS[b])]),
    ) as Record<IdleBucket, number>;
    const decoded = (key: string): unknown => Fn.jsondecode(ds.resultString(key));
    this.nodes = decoded("nodes");
    this.byClientIp = decoded("by_client_ip");
    this.byUser = decoded("by_user");
    this.byDb = decoded("by_db");
    this.byCommand = decoded("by_command");
    this.byName = decoded("by_name");
    this.topIdle = decoded("top_idle");
    this.result = ds.getStringMapAttribute("result");
  }
}
