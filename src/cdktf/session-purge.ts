/**
 * `SessionPurge`: kills the sessions when Terraform creates (or replaces) a `terraform_data` resource, through
 * a `local-exec` provisioner that runs `dcs-sessions purge` in its environment mode. Every user value travels
 * in `environment` (DCS_SESSIONS_* and HW_* variables); the interpreter is the CLI's argv and the command is
 * the fixed word `purge`, so Terraform runs `npx --no-install dcs-sessions purge` with no shell in between.
 */
import { DataResource, Fn } from "cdktf";
import type { ITerraformDependable, TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import type { MaintenanceWindow } from "../core/types";
import { formatWindow } from "../core/window";
import { PURGE_ENV } from "../cli/purge-env";
import { DEFAULT_COMMAND, SessionScan, asString, checkConstructProps, joinIds } from "./session-scan";
import type { ConnectionProps } from "./session-scan";

export interface SessionPurgeProps extends ConnectionProps {
  /** Nodes to purge. Exactly one of `nodeIds` and `allNodes`. */
  readonly nodeIds?: string[];
  /** Purge every node of the instance (`kill_all_nodes`). */
  readonly allNodes?: boolean;
  /** Report what would be killed, kill nothing. */
  readonly dryRun?: boolean;
  /** Refuse (the apply fails) when more sessions than this are connected: a catch for the wrong instance. */
  readonly maxSessions?: number;
  /** Skip when fewer sessions than this are connected. */
  readonly minSessions?: number;
  /** `{days?, start: "HH:MM", end: "HH:MM", timeZone?}`; may cross midnight. */
  readonly maintenanceWindow?: MaintenanceWindow;
  /** Outside the window: `fail` (default: the apply fails) or `skip`. */
  readonly outsideWindow?: "fail" | "skip";
  /** Scan again after the kill and expose `sessionsAfter` (default true). */
  readonly verify?: boolean;
  /** Deadline of each job, in seconds (default 300). */
  readonly waitTimeoutSeconds?: number;
  /** Values whose change makes the next apply purge again (e.g. a release id). */
  readonly triggers?: unknown[];
  /** Purge on every apply. */
  readonly alwaysRun?: boolean;
  /** The `external` provider for the after scan (see SessionScan). */
  readonly provider?: TerraformProvider;
  /** Purge only after these. */
  readonly dependsOn?: ITerraformDependable[];
}

/** The environment of the local-exec: the purge inputs as DCS_SESSIONS_* and the connection as HW_*. */
export function purgeEnvironment(props: SessionPurgeProps): Record<string, string> {
  const env: Record<string, string> = { [PURGE_ENV.instanceId]: props.instanceId };
  const put = (name: string, value: string | number | boolean | undefined): void => {
    if (value !== undefined) env[name] = asString(value);
  };
  put(PURGE_ENV.engine, props.engine);
  if (props.nodeIds !== undefined) env[PURGE_ENV.nodeIds] = joinIds(props.nodeIds);
  put(PURGE_ENV.allNodes, props.allNodes);
  put(PURGE_ENV.dryRun, props.dryRun);
  put(PURGE_ENV.maxSessions, props.maxSessions);
  put(PURGE_ENV.minSessions, props.minSessions);
  if (props.maintenanceWindow) env[PURGE_ENV.window] = formatWindow(props.maintenanceWindow);
  put(PURGE_ENV.outsideWindow, props.outsideWindow);
  put(PURGE_ENV.verify, props.verify);
  put(PURGE_ENV.waitTimeoutSeconds, props.waitTimeoutSeconds);
  put("HW_REGION_NAME", props.region);
  put("HW_PROJECT_ID", props.projectId);
  put("HW_DCS_ENDPOINT", props.endpoint);
  put("HW_GEMINIDB_ENDPOINT", props.geminidbEndpoint);
  return env;
}

export class SessionPurge extends Construct {
  /** The `terraform_data` resource whose creation runs the purge. */
  readonly resource: DataResource;
  /** The scan read after the purge (absent with `verify: false`). */
  readonly after?: SessionScan;
  /** Sessions left after the purge, read by a scan that depends on it (absent with `verify: false`). */
  readonly sessionsAfter?: number;

  constructor(scope: Construct, id: string, props: SessionPurgeProps) {
    super(scope, id);
    checkConstructProps("SessionPurge", props);

    const environment = purgeEnvironment(props);
    this.resource = new DataResource(this, "purge", {
      // Any change of what the purge would do, of the triggers, or (alwaysRun) of the clock replaces the
      // resource, and creating it is what runs the provisioner.
      triggersReplace: {
        ...environment,
        triggers: props.triggers ?? [],
        ...(props.alwaysRun ? { always: Fn.timestamp() } : {}),
      },
      provisioners: [
        {
          type: "local-exec",
          interpreter: [...(props.command ?? DEFAULT_COMMAND)],
          command: "purge",
          environment,
        },
      ],
      ...(props.dependsOn ? { dependsOn: props.dependsOn } : {}),
    });

    if (props.verify !== false) {
      this.after = new SessionScan(this, "after", {
        instanceId: props.instanceId,
        ...(props.engine !== undefined ? { engine: props.engine } : {}),
        ...(props.nodeIds !== undefined ? { nodeIds: props.nodeIds } : {}),
        cleanCache: true,
        topN: 0,
        ...(props.waitTimeoutSeconds !== undefined ? { waitTimeoutSeconds: props.waitTimeoutSeconds } : {}),
        ...(props.region !== undefined ? { region: props.region } : {}),
        ...(props.projectId !== undefined ? { projectId: props.projectId } : {}),
        ...(props.endpoint !== undefined ? { endpoint: props.endpoint } : {}),
        ...(props.geminidbEndpoint !== undefined ? { geminidbEndpoint: props.geminidbEndpoint } : {}),
        ...(props.command !== undefined ? { command: props.command } : {}),
        ...(props.provider !== undefined ? { provider: props.provider } : {}),
        dependsOn: [this.resource],
      });
      this.sessionsAfter = this.after.totalSessions;
    }
  }
}
