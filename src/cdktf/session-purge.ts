/**
 * `SessionPurge`: the provider's `dcssessions_purge` resource. Creating it runs the purge; a change of the
 * instance, the engine, the targets, `match` or `triggers`, or turning `dryRun` off, replaces it (so it
 * purges again); plan, refresh and destroy never kill.
 */
import { Construct } from "constructs";
import type { MaintenanceWindow, SessionMatch } from "../core/types";
import { elementClassesOf } from "./elements";
import { PURGE_TYPE } from "./names";
import type { Attributes, ResourceElement } from "./elements";
import { libraryOf } from "./library";
import { WIRING_PROPS } from "./session-scan";
import { elementConfig } from "./wiring";
import type { SessionTargetProps } from "./session-scan";
import type { Dependable, PurgeNodeAttributes, Resolvable, TerraformElementHandle } from "./types";
import { checkSessionProps } from "./validate";

export interface SessionPurgeProps extends SessionTargetProps {
  /** Nodes to purge. Exactly one of `nodeIds` and `allNodes`. */
  readonly nodeIds?: string[];
  /** Purge every node of the instance (`kill_all_nodes`). */
  readonly allNodes?: boolean;
  /** Report what would be killed, kill nothing; turning it off later purges (replacement). */
  readonly dryRun?: boolean;
  /** Refuse (the apply fails) when more sessions than this are connected (matched, with `match`). */
  readonly maxSessions?: number;
  /** Skip when fewer sessions than this are connected (matched, with `match`). */
  readonly minSessions?: number;
  /** `{days?, start: "HH:MM", end: "HH:MM", timeZone?}`; may cross midnight. */
  readonly maintenanceWindow?: MaintenanceWindow;
  /** Outside the window: `fail` (default: the apply fails) or `skip` (recorded as skipped, proposed again). */
  readonly outsideWindow?: "fail" | "skip";
  /** Scan again after the kill and record `sessionsAfter` (default true). */
  readonly verify?: boolean;
  /** Deadline of each job, in seconds (default 300). */
  readonly waitTimeoutSeconds?: number;
  /** Kill only the sessions this selects (a selective purge, never a kill-all). */
  readonly match?: SessionMatch;
  /** Values whose change makes the next apply purge again (e.g. `{ release: "42" }`). */
  readonly triggers?: Record<string, string>;
  /** Purge on every apply (a `timestamp()` trigger, so every plan proposes a replacement). */
  readonly alwaysRun?: boolean;
}

/** The trigger key `alwaysRun` adds. */
export const ALWAYS_RUN_TRIGGER = "always_run";

function windowBlock(window: MaintenanceWindow | undefined): Attributes | undefined {
  if (window === undefined) return undefined;
  return {
    maintenance_window: {
      kind: "block",
      attributes: {
        days: { kind: "stringList", value: window.days },
        start: { kind: "string", value: window.start },
        end: { kind: "string", value: window.end },
        time_zone: { kind: "string", value: window.timeZone },
      },
    },
  };
}

function matchBlock(match: SessionMatch | undefined): Attributes | undefined {
  if (match === undefined) return undefined;
  return {
    match: {
      kind: "block",
      attributes: {
        idle_over_seconds: { kind: "number", value: match.idleOverSeconds },
        clients: { kind: "stringList", value: match.clients },
        users: { kind: "stringList", value: match.users },
        names: { kind: "stringList", value: match.names },
        dbs: { kind: "numberList", value: match.dbs },
        cmds: { kind: "stringList", value: match.cmds },
      },
    },
  };
}

export class SessionPurge extends Construct implements Dependable {
  /** The `dcssessions_purge` resource. */
  readonly resource: TerraformElementHandle;
  /** `purged`, `purged-unverified`, `dry-run`, `skipped-outside-window` or `skipped-below-minimum`. */
  readonly status: string;
  /** Sessions before the kill (null in the state when skipped before the before snapshot). */
  readonly sessionsBefore: number;
  /** Sessions right after the kill, as recorded then (null without verification); current counts: a scan. */
  readonly sessionsAfter: number;
  /** Selective purge: the sessions `match` selected. */
  readonly matchedSessions: number;
  /** Selective purge: the first matched sessions, a list of `{node_id, peer, user, name, idle, db, cmd}`. */
  readonly selectedSessions: Resolvable;
  /** Per-node figures: a list of `{node_id, before, after, matched}` (see `nodeAt(i)`). */
  readonly nodes: Resolvable;
  /** The ids of the kill jobs. */
  readonly jobIds: string[];
  /** When the purge ran (ISO 8601), a dry run included; null when it was skipped (it is proposed again). */
  readonly purgedAt: string;
  /** Why the purge was skipped, in words. */
  readonly reason: string;
  /** `purged-unverified`: why the kill could not be confirmed. */
  readonly verificationError: string;

  private readonly element: ResourceElement;

  constructor(scope: Construct, id: string, props: SessionPurgeProps) {
    super(scope, id);
    const lib = libraryOf(this);
    checkSessionProps("SessionPurge", props, WIRING_PROPS, lib);

    const triggers =
      props.alwaysRun === true
        ? { ...props.triggers, [ALWAYS_RUN_TRIGGER]: lib.Fn.timestamp() }
        : props.triggers;
    const { Resource } = elementClassesOf(lib);
    const element = new Resource(
      this,
      "purge",
      PURGE_TYPE,
      {
        instance_id: { kind: "string", value: props.instanceId },
        engine: { kind: "string", value: props.engine },
        node_ids: { kind: "stringList", value: props.nodeIds },
        all_nodes: { kind: "boolean", value: props.allNodes },
        dry_run: { kind: "boolean", value: props.dryRun },
        max_sessions: { kind: "number", value: props.maxSessions },
        min_sessions: { kind: "number", value: props.minSessions },
        outside_window: { kind: "string", value: props.outsideWindow },
        verify: { kind: "boolean", value: props.verify },
        wait_timeout_seconds: { kind: "number", value: props.waitTimeoutSeconds },
        triggers: { kind: "stringMap", value: triggers },
        ...windowBlock(props.maintenanceWindow),
        ...matchBlock(props.match),
      },
      elementConfig(this, props),
    );
    this.element = element;
    this.resource = element;
    this.status = element.getStringAttribute("status");
    this.sessionsBefore = element.getNumberAttribute("sessions_before");
    this.sessionsAfter = element.getNumberAttribute("sessions_after");
    this.matchedSessions = element.getNumberAttribute("matched_sessions");
    this.nodes = element.interpolationForAttribute("nodes");
    this.selectedSessions = element.interpolationForAttribute("selected_sessions");
    this.jobIds = element.getListAttribute("job_ids");
    this.purgedAt = element.getStringAttribute("purged_at");
    this.reason = element.getStringAttribute("reason");
    this.verificationError = element.getStringAttribute("verification_error");
  }

  get fqn(): string {
    return this.element.fqn;
  }

  /** The typed fields of the node at `index` of `nodes`. */
  nodeAt(index: number): PurgeNodeAttributes {
    const at = `nodes[${index}]`;
    return {
      nodeId: this.element.getStringAttribute(`${at}.node_id`),
      before: this.element.getNumberAttribute(`${at}.before`),
      after: this.element.getNumberAttribute(`${at}.after`),
      matched: this.element.getNumberAttribute(`${at}.matched`),
    };
  }
}
