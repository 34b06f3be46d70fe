/**
 * The purge's environment mode, for callers that must not build a command line from user values (a pipeline
 * step whose inputs are variables): `dcs-sessions purge` WITHOUT an instance argument reads its inputs from
 * `DCS_SESSIONS_*` variables. A flag given on the command line still wins over its variable; with an
 * instance argument the variables are ignored, so an exported variable cannot change an interactive purge.
 */
import { ValidationError } from "../api/errors";
import { validatePurgeOptions } from "../core/purge";
import type { Engine, PurgeOptions, SessionMatch } from "../core/types";
import { ENGINES, booleanFrom, checkId, choiceFrom, idListFrom, integerFrom } from "./options";

export const PURGE_ENV = {
  instanceId: "DCS_SESSIONS_INSTANCE_ID",
  engine: "DCS_SESSIONS_ENGINE",
  nodeIds: "DCS_SESSIONS_NODE_IDS",
  allNodes: "DCS_SESSIONS_ALL_NODES",
  dryRun: "DCS_SESSIONS_DRY_RUN",
  maxSessions: "DCS_SESSIONS_MAX_SESSIONS",
  minSessions: "DCS_SESSIONS_MIN_SESSIONS",
  window: "DCS_SESSIONS_WINDOW",
  outsideWindow: "DCS_SESSIONS_OUTSIDE_WINDOW",
  verify: "DCS_SESSIONS_VERIFY",
  waitTimeoutSeconds: "DCS_SESSIONS_WAIT_TIMEOUT_SECONDS",
} as const;

/** The purge inputs as the flags carry them. */
export interface PurgeInputs {
  instanceId?: string;
  engine?: Engine;
  nodeIds?: string[];
  allNodes?: boolean;
  dryRun?: boolean;
  maxSessions?: number;
  minSessions?: number;
  window?: string;
  outsideWindow?: "fail" | "skip";
  verify?: boolean;
  waitTimeoutSeconds?: number;
  /** The selectors (`--idle-over`, `--client`, …): a selective purge. Flags only, no variable. */
  match?: SessionMatch;
  /** How many matched sessions the report lists (`--top`). */
  topN?: number;
}

/** Reads the `DCS_SESSIONS_*` variables that are set and not empty; errors name the variable. */
export function purgeInputsFromEnv(env: Record<string, string | undefined>): PurgeInputs {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === "" ? undefined : v;
  };
  const out: PurgeInputs = {};
  const v = (key: keyof typeof PURGE_ENV): string | undefined => get(PURGE_ENV[key]);
  if (v("instanceId") !== undefined) out.instanceId = checkId(v("instanceId")!, PURGE_ENV.instanceId);
  if (v("engine") !== undefined) out.engine = choiceFrom(v("engine")!, PURGE_ENV.engine, ENGINES);
  if (v("nodeIds") !== undefined) out.nodeIds = idListFrom(v("nodeIds")!, PURGE_ENV.nodeIds);
  if (v("allNodes") !== undefined) out.allNodes = booleanFrom(v("allNodes")!, PURGE_ENV.allNodes);
  if (v("dryRun") !== undefined) out.dryRun = booleanFrom(v("dryRun")!, PURGE_ENV.dryRun);
  if (v("maxSessions") !== undefined)
    out.maxSessions = integerFrom(v("maxSessions")!, PURGE_ENV.maxSessions, 0);
  if (v("minSessions") !== undefined)
    out.minSessions = integerFrom(v("minSessions")!, PURGE_ENV.minSessions, 0);
  if (v("window") !== undefined) out.window = v("window");
  if (v("outsideWindow") !== undefined)
    out.outsideWindow = choiceFrom(v("outsideWindow")!, PURGE_ENV.outsideWindow, ["fail", "skip"] as const);
  if (v("verify") !== undefined) out.verify = booleanFrom(v("verify")!, PURGE_ENV.verify);
  if (v("waitTimeoutSeconds") !== undefined)
    out.waitTimeoutSeconds = integerFrom(v("waitTimeoutSeconds")!, PURGE_ENV.waitTimeoutSeconds, 1, 86_400);
  return out;
}

/** Flags win over the environment, key by key (`fromCli` holds only what the user typed). */
export function mergePurgeInputs(fromCli: PurgeInputs, fromEnv: PurgeInputs): PurgeInputs {
  const merged: PurgeInputs = { ...fromEnv };
  for (const [key, value] of Object.entries(fromCli) as Array<[keyof PurgeInputs, unknown]>) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  // Nodes and all-nodes are one choice: a flag for either replaces the variable for the other.
  if (fromCli.nodeIds !== undefined) delete merged.allNodes;
  if (fromCli.allNodes !== undefined) delete merged.nodeIds;
  return merged;
}

/** The flag of each purge option, to name it in a message (with its variable, for the environment mode). */
const PURGE_FLAGS: Partial<Record<keyof PurgeOptions, string>> = {
  instanceId: "<instance>",
  engine: "--engine",
  nodeIds: "--node",
  allNodes: "--all-nodes",
  dryRun: "--dry-run",
  maxSessions: "--max-sessions",
  minSessions: "--min-sessions",
  maintenanceWindow: "--window",
  outsideWindow: "--outside-window",
  verify: "--no-verify",
  waitTimeoutSeconds: "--wait-timeout",
  topN: "--top",
};

/** The flag of each field of `match`: the selectors of a selective purge. */
export const MATCH_FLAGS: Record<keyof SessionMatch, string> = {
  idleOverSeconds: "--idle-over",
  clients: "--client",
  users: "--user",
  names: "--name",
  dbs: "--db",
  cmds: "--cmd",
};

/**
 * A problem the core found in `match` (`match.clients[1]: is not …`) said with the flag that gave the value:
 * `--client "10.0.0.300": is not …`. A problem with `match` as a whole names every selector.
 */
function matchError(error: ValidationError, match: SessionMatch | undefined): ValidationError {
  const [, key, index] = /^match(?:\.(\w+))?(?:\[(\d+)\])?/.exec(error.field) ?? [];
  const problem = error.message.slice(error.field.length + 2);
  const flag = key === undefined ? undefined : MATCH_FLAGS[key as keyof SessionMatch];
  if (flag === undefined) return new ValidationError(Object.values(MATCH_FLAGS).join("/"), problem);
  const values = match?.[key as keyof SessionMatch];
  const value = Array.isArray(values) && index !== undefined ? values[Number(index)] : undefined;
  // The value is named once: the core's message may already quote it.
  const quoted = value === undefined ? undefined : JSON.stringify(value);
  const named = quoted === undefined || problem.includes(quoted) ? flag : `${flag} ${quoted}`;
  return new ValidationError(named, problem);
}

/**
 * Checks purge options with the core's rules (one target: nodes or every node; min <= max; …) before any
 * remote call, and names the flag and the variable of the field at fault rather than the option's name.
 */
export function checkPurgeOptions(options: PurgeOptions): void {
  try {
    validatePurgeOptions(options);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const key = error.field.split(/[.[]/)[0] as keyof PurgeOptions;
    if (key === "match") throw matchError(error, options.match);
    const flag = PURGE_FLAGS[key];
    if (flag === undefined) throw error;
    const variable = (PURGE_ENV as Partial<Record<string, string>>)[key];
    const problem = error.message.slice(error.field.length + 2);
    throw new ValidationError(variable ? `${flag} (${variable})` : flag, problem);
  }
}
