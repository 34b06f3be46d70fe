/**
 * `SessionScan`: a snapshot of an instance's sessions as the provider's `dcssessions_scan` data source.
 * Terraform reads data sources at plan time (or at apply, when they depend on a change), and a scan never
 * changes anything.
 */
import { Construct } from "constructs";
import { IDLE_BUCKETS } from "../core/types";
import type { Engine, IdleBucket } from "../core/types";
import { elementClassesOf } from "./elements";
import { SCAN_TYPE } from "./names";
import type { DataSourceElement } from "./elements";
import { elementConfig } from "./wiring";
import { libraryOf } from "./library";
import type { DcsSessionsProvider } from "./provider";
import type { Dependable, Resolvable, ScanNodeAttributes, TerraformElementHandle } from "./types";
import { checkSessionProps } from "./validate";

/** What both constructs share: the instance, and Terraform's wiring. */
export interface SessionTargetProps {
  /** The instance id. */
  readonly instanceId: string;
  /** `dcs` (default) or `geminidb`. */
  readonly engine?: Engine;
  /** The provider configuration to use; default the stack's unaliased one (added, empty, when there is none). */
  readonly provider?: DcsSessionsProvider;
  /** Read or run only after these. */
  readonly dependsOn?: Dependable[];
}

export interface SessionScanProps extends SessionTargetProps {
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
}

/** The props that are Terraform wiring, not attributes. */
export const WIRING_PROPS = ["provider", "dependsOn"] as const;

/** Per-key number tokens of a map attribute (`idle_buckets[">=24h"]`). */
function numberEntries<K extends string>(
  element: DataSourceElement,
  attribute: string,
  keys: readonly K[],
): Record<K, number> {
  return Object.fromEntries(
    keys.map((key) => [key, element.getNumberAttribute(`${attribute}[${JSON.stringify(key)}]`)]),
  ) as Record<K, number>;
}

export class SessionScan extends Construct implements Dependable {
  /** The `dcssessions_scan` data source. */
  readonly dataSource: TerraformElementHandle;
  readonly totalSessions: number;
  readonly maxIdleSeconds: number;
  readonly maxAgeSeconds: number;
  /** Sessions subscribed to a channel or pattern. */
  readonly subscribers: number;
  /** Sessions per idle bucket (`<1m`, `1m-10m`, `10m-1h`, `1h-24h`, `>=24h`), each a number token. */
  readonly idleBuckets: Record<IdleBucket, number>;
  /** When the scan ran (ISO 8601). */
  readonly scannedAt: string;
  /** Sessions by client IP, by user, by db, by command, by client name (maps of numbers, 20 keys + `other`). */
  readonly byClientIp: Record<string, number>;
  readonly byUser: Record<string, number>;
  readonly byDb: Record<string, number>;
  readonly byCommand: Record<string, number>;
  readonly byName: Record<string, number>;
  /** Per-node figures: a list of `{node_id, role, sessions, data_time}` (see `nodeAt(i)` for typed fields). */
  readonly nodes: Resolvable;
  /** The most idle sessions: a list of `{node_id, addr, name, user, db, cmd, idle_seconds, age_seconds}`. */
  readonly topIdle: Resolvable;

  private readonly element: DataSourceElement;

  constructor(scope: Construct, id: string, props: SessionScanProps) {
    super(scope, id);
    const lib = libraryOf(this);
    checkSessionProps("SessionScan", props, WIRING_PROPS, lib);

    const { DataSource } = elementClassesOf(lib);
    const element = new DataSource(
      this,
      "scan",
      SCAN_TYPE,
      {
        instance_id: { kind: "string", value: props.instanceId },
        engine: { kind: "string", value: props.engine },
        node_ids: { kind: "stringList", value: props.nodeIds },
        clean_cache: { kind: "boolean", value: props.cleanCache },
        addr: { kind: "string", value: props.addr },
        top_n: { kind: "number", value: props.topN },
        wait_timeout_seconds: { kind: "number", value: props.waitTimeoutSeconds },
      },
      elementConfig(this, props),
    );
    this.element = element;
    this.dataSource = element;
    this.totalSessions = element.getNumberAttribute("total_sessions");
    this.maxIdleSeconds = element.getNumberAttribute("max_idle_seconds");
    this.maxAgeSeconds = element.getNumberAttribute("max_age_seconds");
    this.subscribers = element.getNumberAttribute("subscribers");
    this.scannedAt = element.getStringAttribute("scanned_at");
    this.idleBuckets = numberEntries(element, "idle_buckets", IDLE_BUCKETS);
    this.byClientIp = element.getNumberMapAttribute("by_client_ip");
    this.byUser = element.getNumberMapAttribute("by_user");
    this.byDb = element.getNumberMapAttribute("by_db");
    this.byCommand = element.getNumberMapAttribute("by_command");
    this.byName = element.getNumberMapAttribute("by_name");
    this.nodes = element.interpolationForAttribute("nodes");
    this.topIdle = element.interpolationForAttribute("top_idle");
  }

  get fqn(): string {
    return this.element.fqn;
  }

  /** The typed fields of the node at `index` of `nodes` (in the order the scan lists them). */
  nodeAt(index: number): ScanNodeAttributes {
    const at = `nodes[${index}]`;
    return {
      nodeId: this.element.getStringAttribute(`${at}.node_id`),
      role: this.element.getStringAttribute(`${at}.role`),
      sessions: this.element.getNumberAttribute(`${at}.sessions`),
      dataTime: this.element.getStringAttribute(`${at}.data_time`),
    };
  }
}
