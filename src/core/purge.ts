/**
 * `purgeSessions`: kill every session of some nodes or of the whole instance, behind guards, in the order of
 * DESIGN §4 "Purge": validate → window (no remote call) → before snapshot → maxSessions / minSessions →
 * dry run → confirmation → window again (it may have closed meanwhile) → kill (sent once, never retried
 * here) → wait → after snapshot → report.
 */
import { z } from "zod";
import { ApiError, ConnectionError, GuardRefusedError, ValidationError } from "../api/errors";
import { parseInput } from "../api/schemas";
import type { CallOptions, SessionsClient } from "../api/types";
import { SessionMatchSchema } from "./match";
import { resolveTargets, type TargetNode } from "./nodes";
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_WAIT_TIMEOUT_SECONDS,
  commonInputShape,
  dataOf,
  checkBehaviourOptions,
  clockOf,
  dedupe,
  forEachLimited,
  takeSnapshot,
  withClient,
  type SnapshotPlan,
} from "./scan";
import {
  DEFAULT_TOP_N,
  MAX_TOP_N,
  type Engine,
  type NodePurge,
  type PurgeOptions,
  type PurgeReport,
  type SessionSnapshot,
} from "./types";
import { MaintenanceWindowSchema, formatLocal, formatWindow, windowStatus } from "./window";

const count = z
  .number()
  .int({ message: "must be a non-negative integer" })
  .min(0, { message: "must be a non-negative integer" });

/** What a purge accepts, strictly, with the rules between fields: front ends validate with it too. */
export const PurgeInputSchema = z
  .strictObject({
    ...commonInputShape,
    allNodes: z.boolean().optional(),
    dryRun: z.boolean().optional(),
    maxSessions: count.optional(),
    minSessions: count.optional(),
    maintenanceWindow: MaintenanceWindowSchema.optional(),
    outsideWindow: z.enum(["fail", "skip"]).optional(),
    verify: z.boolean().optional(),
    match: SessionMatchSchema.optional(),
    topN: z.number().int({ message: "must be an integer" }).min(0).max(MAX_TOP_N).optional(),
  })
  .superRefine((input, ctx) => {
    if (input.allNodes === true && input.nodeIds !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["nodeIds"],
        message: "cannot be given with allNodes: true (choose the nodes or every node, not both)",
      });
    } else if (input.allNodes !== true && input.nodeIds === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["nodeIds"],
        message: "is required unless allNodes is true (a purge names its nodes or asks for every node)",
      });
    }
    if (input.match?.users !== undefined && input.engine === "geminidb") {
      ctx.addIssue({
        code: "custom",
        path: ["match", "users"],
        message: "cannot select GeminiDB sessions: the GeminiDB API lists no user for a session",
      });
    }
    if (
      input.minSessions !== undefined &&
      input.maxSessions !== undefined &&
      input.minSessions > input.maxSessions
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["minSessions"],
        message: `must not exceed maxSessions (${input.maxSessions})`,
      });
    }
  });
export type PurgeInput = z.infer<typeof PurgeInputSchema>;

/** Validates purge options; throws a ValidationError naming the field before anything remote happens. */
export function validatePurgeOptions(options: PurgeOptions): PurgeInput {
  checkBehaviourOptions(options, true);
  const input = parseInput(PurgeInputSchema, dataOf(options));
  return { ...input, nodeIds: dedupe(input.nodeIds) };
}

/** Why the window guard stopped the purge, with the local time and the next opening. */
function outsideWindowReason(input: PurgeInput, now: Date): string | undefined {
  const window = input.maintenanceWindow;
  if (!window) return undefined;
  const status = windowStatus(window, now);
  if (status.inside) return undefined;
  const next = status.opensAt ? `; it next opens ${formatLocal(status.opensAt, status.timeZone)}` : "";
  return `outside the maintenance window "${formatWindow(window)}": it is ${status.localTime} ${status.timeZone}${next}`;
}

function perNode(before: SessionSnapshot, after: SessionSnapshot | undefined): NodePurge[] {
  const afterCounts = new Map(after?.nodes.map((n) => [n.nodeId, n.sessions]));
  const rows: NodePurge[] = before.nodes.map((n) => ({
    nodeId: n.nodeId,
    before: n.sessions,
    after: after ? (afterCounts.get(n.nodeId) ?? 0) : null,
  }));
  // A node that shows up only after (GeminiDB lists what it has) still gets its row.
  for (const n of after?.nodes ?? []) {
    if (!before.nodes.some((b) => b.nodeId === n.nodeId))
      rows.push({ nodeId: n.nodeId, before: 0, after: n.sessions });
  }
  return rows;
}

/**
 * Whether a failed kill request certainly changed nothing: refused before it left this machine, or answered
 * with a 4xx (the service looked at it and refused). Anything else — a 5xx, a reset or a timeout after it was
 * sent, an answer we could not read — may mean the kill took effect.
 */
export function killCertainlyNotSent(error: unknown): boolean {
  if (error instanceof ConnectionError) return !error.mayHaveReachedServer;
  if (error instanceof ApiError) return error.status >= 400 && error.status < 500;
  return error instanceof ValidationError;
}

interface KillOutcome {
  /** The job ids the service answered with. */
  jobIds: string[];
  /** A kill request failed after a kill may have reached the server: what is known ends there. */
  error?: unknown;
}

/**
 * Kills the sessions: one request for every node, or one per node. Returns the job ids to wait for. Throws
 * only when no kill can have reached the server; after that, a failure is returned for the report.
 */
async function kill(
  client: SessionsClient,
  input: PurgeInput,
  engine: Engine,
  targets: TargetNode[] | undefined,
  call: CallOptions,
  onProgress: PurgeOptions["onProgress"],
): Promise<KillOutcome> {
  const { instanceId } = input;
  const jobIds: string[] = [];
  let attempted = 0;
  try {
    if (engine === "geminidb") {
      for (const nodeId of input.allNodes ? [undefined] : (targets ?? []).map((t) => t.nodeId)) {
        attempted++;
        await client.geminidb.closeSessions(instanceId, nodeId === undefined ? {} : { nodeId }, call);
        onProgress?.({ kind: "message", message: `closed the sessions of ${nodeId ?? "every node"}` });
      }
      return { jobIds };
    }
    if (input.allNodes) {
      // One request for the whole instance; the client never repeats it once it may have reached the server.
      attempted++;
      const { jobId } = await client.dcs.killAllClients(instanceId, { allNodes: true }, call);
      onProgress?.({ kind: "kill-sent", jobId, target: "every node" });
      jobIds.push(jobId);
      return { jobIds };
    }
    for (const { nodeId } of targets ?? []) {
      attempted++;
      const { jobId } = await client.dcs.killAllClients(instanceId, { nodeId }, call);
      onProgress?.({ kind: "kill-sent", jobId, target: nodeId });
      jobIds.push(jobId);
    }
    return { jobIds };
  } catch (error) {
    // The first request failed in a way that proves it did nothing: nothing to record, the caller sees why.
    if (attempted === 1 && killCertainlyNotSent(error)) throw error;
    return { jobIds, error };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Kills every session of the chosen nodes, or of the whole instance, behind the guards. */
export async function purgeSessions(options: PurgeOptions): Promise<PurgeReport> {
  const input = validatePurgeOptions(options);
  if (input.match !== undefined) throw new Error("selective purge (match): not yet implemented");
  const engine = input.engine ?? "dcs";
  const now = clockOf(options.now);
  const startedAt = now();
  const base = { instanceId: input.instanceId, engine };

  // The window guard needs no remote call: it runs before a client even exists.
  const outside = outsideWindowReason(input, startedAt);
  if (outside !== undefined) {
    if ((input.outsideWindow ?? "fail") === "fail") {
      throw new GuardRefusedError("maintenanceWindow", `purge refused: ${outside}`);
    }
    return {
      ...base,
      status: "skipped-outside-window",
      sessionsBefore: null,
      sessionsAfter: null,
      nodes: [],
      jobIds: [],
      purgedAt: startedAt.toISOString(),
      reason: outside,
    };
  }

  const call: CallOptions = options.signal ? { signal: options.signal } : {};
  return withClient(options, async (client) => {
    const targets = await resolveTargets(client, input, call, options.onProgress);
    const timeoutMs = (input.waitTimeoutSeconds ?? DEFAULT_WAIT_TIMEOUT_SECONDS) * 1000;
    const plan: SnapshotPlan = {
      client,
      instanceId: input.instanceId,
      engine,
      targets,
      cleanCache: true,
      rescan: true,
      topN: DEFAULT_TOP_N,
      concurrency: input.concurrency ?? DEFAULT_CONCURRENCY,
      timeoutMs,
      call,
      onProgress: options.onProgress,
      now,
    };
    const before = await takeSnapshot(plan);
    const sessionsBefore = before.totalSessions;
    const unchanged = (status: PurgeReport["status"], reason?: string): PurgeReport => ({
      ...base,
      status,
      sessionsBefore,
      sessionsAfter: null,
      nodes: perNode(before, undefined),
      jobIds: [],
      purgedAt: startedAt.toISOString(),
      ...(reason === undefined ? {} : { reason }),
      before,
    });

    if (input.maxSessions !== undefined && sessionsBefore > input.maxSessions) {
      throw new GuardRefusedError(
        "maxSessions",
        `purge refused: ${sessionsBefore} sessions are connected, more than maxSessions (${input.maxSessions}); ` +
          `check the instance id, or raise maxSessions`,
      );
    }
    if (input.minSessions !== undefined && sessionsBefore < input.minSessions) {
      return unchanged(
        "skipped-below-minimum",
        `${sessionsBefore} sessions are connected, fewer than minSessions (${input.minSessions})`,
      );
    }
    if (input.dryRun) return unchanged("dry-run");

    const nodeIds = before.nodes.map((n) => n.nodeId);
    if (options.confirm) {
      const confirmed = await options.confirm({
        instanceId: input.instanceId,
        engine,
        allNodes: input.allNodes === true,
        nodeIds,
        sessions: sessionsBefore,
      });
      if (!confirmed) throw new GuardRefusedError("confirmation", "purge not confirmed: nothing was killed");
    }

    // The snapshot and the confirmation take time: the window may have closed since the first check.
    const killAt = now();
    const closed = outsideWindowReason(input, killAt);
    if (closed !== undefined) {
      if ((input.outsideWindow ?? "fail") === "fail") {
        throw new GuardRefusedError("maintenanceWindow", `purge refused before the kill: ${closed}`);
      }
      return unchanged("skipped-outside-window", closed);
    }

    const purgedAt = killAt.toISOString();
    // From here on a kill may have reached the server: the purge ends with a report, never a throw.
    const killed = await kill(client, input, engine, targets, call, options.onProgress);
    const { jobIds } = killed;
    const unverified = (verificationError: string): PurgeReport => {
      options.onProgress?.({ kind: "message", message: `warning: ${verificationError}` });
      return {
        ...base,
        status: "purged-unverified",
        sessionsBefore,
        sessionsAfter: null,
        nodes: perNode(before, undefined),
        jobIds,
        purgedAt,
        verificationError,
        before,
      };
    };
    if (killed.error !== undefined) {
      return unverified(
        `a kill request may have reached the server but did not complete (${messageOf(killed.error)}); ` +
          "check the instance before purging again",
      );
    }
    try {
      await forEachLimited(jobIds, plan.concurrency, async (jobId) => {
        await client.dcs.waitForJob(jobId, { ...call, timeoutMs });
        options.onProgress?.({ kind: "kill-done", jobId });
      });
    } catch (error) {
      return unverified(`the kill was sent, but waiting for its job failed: ${messageOf(error)}`);
    }

    let after: SessionSnapshot | undefined;
    if (input.verify !== false) {
      try {
        after = await takeSnapshot(plan);
      } catch (error) {
        return unverified(`the kill job succeeded, but the after snapshot failed: ${messageOf(error)}`);
      }
    }
    const report: PurgeReport = {
      ...base,
      status: "purged",
      sessionsBefore,
      sessionsAfter: after ? after.totalSessions : null,
      nodes: perNode(before, after),
      jobIds,
      purgedAt,
      before,
    };
    if (after) report.after = after;
    return report;
  });
}
