/**
 * `purgeSessions`: kill every session of some nodes or of the whole instance, or only the sessions a `match`
 * selects, behind guards, in the order of DESIGN §4 "Purge": validate → window (no remote call) → before
 * snapshot (selecting while it streams) → maxSessions / minSessions → dry run → confirmation → window again
 * (it may have closed meanwhile) → kill (each request sent once, never retried here) → wait → after
 * snapshot → report.
 */
import { z } from "zod";
import { ApiError, ConnectionError, GuardRefusedError, ValidationError } from "../api/errors";
import { parseInput } from "../api/schemas";
import type { CallOptions, SessionsClient } from "../api/types";
import { SessionMatchSchema } from "./match";
import { resolveTargetNodes, type TargetNode } from "./nodes";
import { SessionSelection } from "./selection";
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

/** One kill request, sent once: it answers the job id to wait for when the operation has one. */
interface KillRequest {
  /** What it kills, in words, for progress. */
  target: string;
  send(): Promise<string | undefined>;
}

/** Everything the kill requests are built from. */
interface KillPlan {
  client: SessionsClient;
  input: PurgeInput;
  engine: Engine;
  targets: TargetNode[] | undefined;
  before: SessionSnapshot;
  selection: SessionSelection | undefined;
  call: CallOptions;
}

/**
 * The requests of a purge, in order. Selective: kill-chosen per node in batches (DCS `client_addrs` of each
 * session's peer, GeminiDB `session_ids`). Whole nodes: DCS kill-all (one request for every node, or one per
 * node); GeminiDB the per-node close with `is_all: true` for each node of the before snapshot (the
 * instance-wide close works on proxy clusters only).
 */
function killRequests(plan: KillPlan): KillRequest[] {
  const { client, input, engine, call } = plan;
  const { instanceId } = input;
  if (plan.selection) {
    return plan.selection.batches().map(({ nodeId, keys }) => ({
      target: `${keys.length} sessions of ${nodeId}`,
      send: async () => {
        if (engine === "geminidb") {
          await client.geminidb.closeNodeSessions(nodeId, { isAll: false, sessionIds: keys }, call);
        } else {
          await client.dcs.killClients(instanceId, { nodeId, clientAddrs: keys }, call);
        }
        return undefined;
      },
    }));
  }
  if (engine === "geminidb") {
    const nodeIds = plan.targets ? plan.targets.map((t) => t.nodeId) : plan.before.nodes.map((n) => n.nodeId);
    return nodeIds.map((nodeId) => ({
      target: `every session of ${nodeId}`,
      send: async () => {
        await client.geminidb.closeNodeSessions(nodeId, { isAll: true }, call);
        return undefined;
      },
    }));
  }
  if (input.allNodes) {
    return [
      {
        target: "every node",
        send: async () => (await client.dcs.killAllClients(instanceId, { allNodes: true }, call)).jobId,
      },
    ];
  }
  return (plan.targets ?? []).map(({ nodeId }) => ({
    target: nodeId,
    send: async () => (await client.dcs.killAllClients(instanceId, { nodeId }, call)).jobId,
  }));
}

/**
 * Sends the kill requests one after the other, each once (the client never repeats a kill). Throws only when
 * the first request fails in a way that proves nothing reached the server; after that, a failure is
 * returned for the report, with the job ids answered so far.
 */
async function sendKills(
  requests: KillRequest[],
  onProgress: PurgeOptions["onProgress"],
): Promise<KillOutcome> {
  const jobIds: string[] = [];
  let attempted = 0;
  try {
    for (const request of requests) {
      attempted++;
      const jobId = await request.send();
      if (jobId === undefined) {
        onProgress?.({ kind: "message", message: `kill sent: ${request.target}` });
      } else {
        onProgress?.({ kind: "kill-sent", jobId, target: request.target });
        jobIds.push(jobId);
      }
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

/**
 * Kills every session of the chosen nodes, or of the whole instance, or (with `match`) exactly the sessions
 * the match selects on them, behind the guards. A selective purge never sends a kill-all.
 */
export async function purgeSessions(options: PurgeOptions): Promise<PurgeReport> {
  const input = validatePurgeOptions(options);
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
    // Skipped nodes (no node_id) were reported to onProgress; a purge report does not list them.
    const { targets } = await resolveTargetNodes(client, input, call, options.onProgress);
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
    // A selective purge selects while the before snapshot streams: one listing serves both.
    const selection = input.match
      ? new SessionSelection(input.match, engine, input.topN ?? DEFAULT_TOP_N)
      : undefined;
    const before = await takeSnapshot(
      selection ? { ...plan, onSession: (nodeId, session) => selection.offer(nodeId, session) } : plan,
    );
    const sessionsBefore = before.totalSessions;
    if (selection && selection.unnamed > 0) {
      options.onProgress?.({
        kind: "message",
        message:
          `warning: ${selection.unnamed} matching sessions have no address (or id) a kill can name; ` +
          "they are left alone",
      });
    }
    // What the guards count and the kill closes: every connected session, or the matched ones.
    const toKill = selection ? selection.matched : sessionsBefore;
    const counted = selection ? "sessions match" : "sessions are connected";
    const selective = (): Partial<PurgeReport> =>
      selection ? { matchedSessions: selection.matched, selectedSessions: selection.selected } : {};
    const nodesOf = (after: SessionSnapshot | undefined): NodePurge[] =>
      perNode(before, after).map((row) =>
        selection ? { ...row, matched: selection.matchedOn(row.nodeId) } : row,
      );
    const unchanged = (status: PurgeReport["status"], reason?: string): PurgeReport => ({
      ...base,
      status,
      sessionsBefore,
      sessionsAfter: null,
      nodes: nodesOf(undefined),
      jobIds: [],
      purgedAt: startedAt.toISOString(),
      ...(reason === undefined ? {} : { reason }),
      ...selective(),
      before,
    });

    if (input.maxSessions !== undefined && toKill > input.maxSessions) {
      throw new GuardRefusedError(
        "maxSessions",
        `purge refused: ${toKill} ${counted}, more than maxSessions (${input.maxSessions}); ` +
          (selection
            ? "narrow the match, or raise maxSessions"
            : "check the instance id, or raise maxSessions"),
      );
    }
    if (input.minSessions !== undefined && toKill < input.minSessions) {
      return unchanged(
        "skipped-below-minimum",
        `${toKill} ${counted}, fewer than minSessions (${input.minSessions})`,
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
        sessions: toKill,
        ...(input.match ? { match: input.match } : {}),
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
    const requests = killRequests({ client, input, engine, targets, before, selection, call });
    const killed = await sendKills(requests, options.onProgress);
    const { jobIds } = killed;
    const unverified = (verificationError: string): PurgeReport => {
      options.onProgress?.({ kind: "message", message: `warning: ${verificationError}` });
      return {
        ...base,
        status: "purged-unverified",
        sessionsBefore,
        sessionsAfter: null,
        nodes: nodesOf(undefined),
        jobIds,
        purgedAt,
        verificationError,
        ...selective(),
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
        return unverified(`the kill was done, but the after snapshot failed: ${messageOf(error)}`);
      }
    }
    const report: PurgeReport = {
      ...base,
      status: "purged",
      sessionsBefore,
      sessionsAfter: after ? after.totalSessions : null,
      nodes: nodesOf(after),
      jobIds,
      purgedAt,
      ...selective(),
      before,
    };
    if (after) report.after = after;
    return report;
  });
}
