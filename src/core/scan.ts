/**
 * `scanSessions`: a fresh, bounded snapshot of an instance's sessions (DESIGN §4 "Scan"). DCS: for each
 * node, scan → wait for the job → list every page into the accumulator. GeminiDB: one list call (or one per
 * given node) into the same accumulator.
 */
import { z } from "zod";
import { createClient } from "../api/client";
import { TimeoutError, ValidationError } from "../api/errors";
import { IdSchema, parseInput, textSchema } from "../api/schemas";
import type { ClientInfo, GeminiSession } from "../api/schemas";
import type { CallOptions, SessionsClient, WireClientPage } from "../api/types";
import { PageFacts, SessionAccumulator, factsOfClientInfo, factsOfGeminiSession } from "./aggregate";
import { resolveTargetNodes, type TargetNode } from "./nodes";
import {
  DEFAULT_TOP_N,
  MAX_TOP_N,
  type Engine,
  type NodeSessions,
  type ProgressEvent,
  type ScanOptions,
  type SessionSnapshot,
} from "./types";

export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 300;
/**
 * Nodes scanned and waited for at once, per node listed at once (`concurrency`): scan jobs run on the service,
 * so their waits overlap the listing of nodes already scanned. `concurrency: 1` runs one node at a time.
 */
export const SCANS_AHEAD = 4;
/** How often (in sessions) a node's listing reports progress. */
const PROGRESS_EVERY = 1000;

/** The data fields every operation takes (the functions and the client are checked by their types). */
export const commonInputShape = {
  instanceId: IdSchema,
  engine: z.enum(["dcs", "geminidb"]).optional(),
  nodeIds: z
    .array(IdSchema)
    .min(1, { message: "must list at least one node id (omit nodeIds for every node)" })
    .max(1000)
    .optional(),
  concurrency: z.number().int({ message: "must be an integer" }).min(1).max(32).optional(),
  waitTimeoutSeconds: z.number().positive().max(86_400).optional(),
};

/** What a scan accepts, strictly: front ends validate with it too (Pulumi `check`, the CLI). */
export const ScanInputSchema = z.strictObject({
  ...commonInputShape,
  cleanCache: z.boolean().optional(),
  addr: textSchema(256).optional(),
  topN: z.number().int({ message: "must be an integer" }).min(0).max(MAX_TOP_N).optional(),
  rescan: z.boolean().optional(),
});
export type ScanInput = z.infer<typeof ScanInputSchema>;

/** The keys of the options that are not data (checked by TypeScript, not by the schema). */
const NON_DATA_KEYS = ["client", "clientOptions", "onProgress", "signal", "now", "confirm"] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks the options that are not data (functions, the client, the signal): a wrong one is a ValidationError
 * naming it, before any remote call, rather than a TypeError halfway through. `purge`: `confirm` is allowed.
 */
export function checkBehaviourOptions(options: unknown, purge: boolean): void {
  if (!isObject(options)) {
    throw new ValidationError("options", "must be an object", "an object with instanceId and the options");
  }
  for (const key of ["onProgress", "now", ...(purge ? ["confirm"] : [])]) {
    const value = options[key];
    if (value !== undefined && typeof value !== "function") {
      throw new ValidationError(
        key,
        `must be a function, not ${typeof value}`,
        "a function, or leave it out",
      );
    }
  }
  if (!purge && options.confirm !== undefined) {
    throw new ValidationError("confirm", "is not an option of a scan", "only a purge asks for confirmation");
  }
  const { signal, client, clientOptions } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new ValidationError("signal", "must be an AbortSignal", "an AbortSignal, or leave it out");
  }
  if (clientOptions !== undefined && !isObject(clientOptions)) {
    throw new ValidationError("clientOptions", "must be an object", "the options of createClient");
  }
  if (client !== undefined) {
    const api = isObject(client) ? client : undefined;
    const usable =
      api !== undefined &&
      isObject(api.dcs) &&
      isObject(api.geminidb) &&
      typeof api.dcs.killAllClients === "function" &&
      typeof api.dcs.waitForJob === "function" &&
      typeof api.geminidb.listSessions === "function";
    if (!usable) {
      throw new ValidationError("client", "is not a sessions client", "a client made by createClient()");
    }
  }
}

/** The clock of an operation: `options.now` when given, checked on its first reading. */
export function clockOf(now: (() => Date) | undefined): () => Date {
  if (now === undefined) return () => new Date();
  return () => {
    const value = now();
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
      throw new ValidationError("now", "must return a valid Date", "a function returning a Date");
    }
    return value;
  };
}

/** The data part of an options object, for schema validation. */
export function dataOf(options: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!(NON_DATA_KEYS as ReadonlyArray<string>).includes(key) && value !== undefined) out[key] = value;
  }
  return out;
}

/** Node ids in the order given, each once. */
export function dedupe(ids: ReadonlyArray<string> | undefined): string[] | undefined {
  return ids ? [...new Set(ids)] : undefined;
}

/** Everything one snapshot needs, resolved. */
export interface SnapshotPlan {
  client: SessionsClient;
  instanceId: string;
  engine: Engine;
  /** DCS: always set. GeminiDB: the given nodes, or undefined for the whole instance in one call. */
  targets?: TargetNode[];
  cleanCache: boolean;
  /** False: list what the last scan cached, without scanning first (DCS). */
  rescan: boolean;
  addr?: string;
  topN: number;
  concurrency: number;
  timeoutMs: number;
  call: CallOptions;
  onProgress?: (event: ProgressEvent) => void;
  now: () => Date;
  /** Sees each listed session as it streams past (a selective purge selects from the before snapshot). */
  onSession?: (nodeId: string, session: ClientInfo | GeminiSession) => void;
}

/**
 * Runs `work` on each item with at most `limit` at once. After a failure no new item starts; the running
 * ones are awaited (so nothing is left in flight) and the first error is thrown.
 */
export async function forEachLimited<T>(
  items: ReadonlyArray<T>,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        if (!failed) firstError = error;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw firstError;
}

/** Runs the functions it is given with at most `limit` at once, the others waiting in order. */
export function createLimiter(limit: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (work) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, or is freed.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** A snapshot of the planned nodes. The caller owns the client. */
export async function takeSnapshot(plan: SnapshotPlan): Promise<SessionSnapshot> {
  const scannedAt = plan.now().toISOString();
  const acc = new SessionAccumulator({ topN: plan.topN });
  const nodes = plan.engine === "geminidb" ? await snapshotGeminiDb(plan, acc) : await snapshotDcs(plan, acc);
  const result = acc.result();
  const snapshot: SessionSnapshot = {
    instanceId: plan.instanceId,
    engine: plan.engine,
    totalSessions: result.totalSessions,
    nodes,
    byClientIp: result.byClientIp,
    byUser: result.byUser,
    byDb: result.byDb,
    byCommand: result.byCommand,
    byName: result.byName,
    idleBuckets: result.idleBuckets,
    maxIdleSeconds: result.maxIdleSeconds,
    maxAgeSeconds: result.maxAgeSeconds,
    subscribers: result.subscribers,
    topIdle: result.topIdle,
    scannedAt,
  };
  if (result.approximateMaps.length > 0) snapshot.approximateMaps = result.approximateMaps;
  return snapshot;
}

/**
 * A scan job past its deadline: the same error, saying which node it was and which setting is the deadline
 * (Pulumi's customTimeouts do not reach a dynamic provider, so waitTimeoutSeconds is the only one).
 */
function explainJobTimeout(error: unknown, nodeId: string): unknown {
  if (!(error instanceof TimeoutError) || error.operation !== "waitForJob") return error;
  return new TimeoutError(error.operation, error.timeoutMs, error.detail, {
    cause: error,
    hint: `scanning node ${nodeId}; waitTimeoutSeconds (--wait-timeout) bounds each job's wait`,
  });
}

async function snapshotDcs(plan: SnapshotPlan, acc: SessionAccumulator): Promise<NodeSessions[]> {
  const { client, instanceId, call, onProgress } = plan;
  const targets = plan.targets ?? [];
  const dataTimes = new Map<string, string>();
  for (const t of targets) acc.addNode(t.nodeId);
  onProgress?.({ kind: "nodes", nodeIds: targets.map((t) => t.nodeId) });
  // Job waits are idle time: while `concurrency` nodes are listed, more are scanned and waited for.
  const listing = createLimiter(plan.concurrency);
  const scanning = plan.concurrency === 1 ? 1 : plan.concurrency * SCANS_AHEAD;
  await forEachLimited(targets, scanning, async ({ nodeId }) => {
    if (plan.rescan) {
      // The job API may not know a scan's job id: then the list's data time tells when the scan is done.
      // That time is the server's, so it is compared with the server's clock when the answer gave it.
      const localStart = new Date();
      const { jobId, serverTime } = await client.dcs.scanClients(
        instanceId,
        { nodeId, cleanCache: plan.cleanCache },
        call,
      );
      const since = serverTime ?? localStart;
      onProgress?.({ kind: "scan-started", nodeId, jobId });
      await client.dcs
        .waitForJob(jobId, { ...call, timeoutMs: plan.timeoutMs, fallback: { instanceId, nodeId, since } })
        .catch((error: unknown) => {
          throw explainJobTimeout(error, nodeId);
        });
      onProgress?.({ kind: "scan-done", nodeId });
    }
    await listing(() => listNodeInto(plan, acc, nodeId, (time) => dataTimes.set(nodeId, time)));
  });
  return targets.map((t) => {
    const entry: NodeSessions = { nodeId: t.nodeId, sessions: acc.sessionsOf(t.nodeId) };
    if (t.role !== undefined) entry.role = t.role;
    const time = dataTimes.get(t.nodeId);
    if (time !== undefined) entry.dataTime = time;
    return entry;
  });
}

/**
 * Folds every session of one node's list into the accumulator. A client that offers `listClientPages` is read
 * on the fast path: each page's clients as the wire sent them, only the fields the accumulator needs.
 */
async function listNodeInto(
  plan: SnapshotPlan,
  acc: SessionAccumulator,
  nodeId: string,
  onDataTime: (time: string) => void,
): Promise<void> {
  const { client, instanceId, call, onProgress } = plan;
  let seen = 0;
  let total = 0;
  let reported = 0;
  const request = {
    nodeId,
    ...(plan.addr === undefined ? {} : { addr: plan.addr }),
    onFirstPage: (info: { time: string; count: number }) => {
      onDataTime(info.time);
      total = info.count;
    },
  };
  /** Progress every PROGRESS_EVERY sessions, whatever the page size. */
  const progress = (): void => {
    if (seen - reported < PROGRESS_EVERY) return;
    reported = seen - (seen % PROGRESS_EVERY);
    onProgress?.({ kind: "page", nodeId, sessions: reported, total });
  };
  // A selective purge needs every field of each session (onSession): only a plain snapshot takes the fast path.
  if (client.dcs.listClientPages && !plan.onSession) {
    const facts = new PageFacts();
    for await (const page of client.dcs.listClientPages(instanceId, request, call)) {
      foldPage(acc, nodeId, page, facts);
      seen += page.size;
      progress();
    }
  } else {
    for await (const session of client.dcs.listAllClients(instanceId, request, call)) {
      acc.add(nodeId, factsOfClientInfo(session));
      plan.onSession?.(nodeId, session);
      seen++;
      progress();
    }
  }
  if (seen !== reported || seen === 0) {
    onProgress?.({ kind: "page", nodeId, sessions: seen, total: Math.max(total, seen) });
  }
}

/**
 * Folds every session of a fast-path page into the accumulator. A function of its own, so that V8 compiles
 * this loop apart from the listing's async function, which is then never compiled in the middle of a page.
 */
function foldPage(acc: SessionAccumulator, nodeId: string, page: WireClientPage, facts: PageFacts): void {
  facts.page = page;
  if (page.tallied !== undefined) {
    acc.addTallied(nodeId, page.tallied, page.size, facts);
    page.tallied.release?.();
    return;
  }
  for (let i = 0; i < page.size; i++) {
    if (!page.read(i, facts)) page.reject(i);
    facts.index = i;
    acc.add(nodeId, facts, facts.clientIp);
  }
}

/**
 * GeminiDB answers with every session of the instance (or of one node) in one body: the body is parsed
 * whole by necessity, then folded into the accumulator and dropped. The `addr` option filters by prefix
 * here, as the API has no such filter on this call.
 */
async function snapshotGeminiDb(plan: SnapshotPlan, acc: SessionAccumulator): Promise<NodeSessions[]> {
  const { client, instanceId, call, onProgress } = plan;
  const order: string[] = [];
  const seenNode = (nodeId: string): void => {
    if (!order.includes(nodeId)) order.push(nodeId);
    acc.addNode(nodeId);
  };
  const feed = async (nodeId?: string): Promise<void> => {
    const answer = await client.geminidb.listSessions(
      instanceId,
      nodeId === undefined ? {} : { nodeId },
      call,
    );
    for (const node of answer.nodeSessions) {
      seenNode(node.nodeId);
      let seen = 0;
      for (const session of node.sessions) {
        if (plan.addr !== undefined && !(session.addr ?? "").startsWith(plan.addr)) continue;
        acc.add(node.nodeId, factsOfGeminiSession(session));
        plan.onSession?.(node.nodeId, session);
        seen++;
      }
      onProgress?.({ kind: "page", nodeId: node.nodeId, sessions: seen, total: node.totalCount });
    }
  };
  if (plan.targets) {
    for (const t of plan.targets) seenNode(t.nodeId);
    onProgress?.({ kind: "nodes", nodeIds: plan.targets.map((t) => t.nodeId) });
    await forEachLimited(plan.targets, plan.concurrency, (t) => feed(t.nodeId));
  } else {
    await feed();
    onProgress?.({ kind: "nodes", nodeIds: [...order] });
  }
  return order.map((nodeId) => ({ nodeId, sessions: acc.sessionsOf(nodeId) }));
}

/** Runs `work` with the given client, or with one created for the call and closed after it. */
export async function withClient<T>(
  options: Pick<ScanOptions, "client" | "clientOptions">,
  work: (client: SessionsClient) => Promise<T>,
): Promise<T> {
  if (options.client) return work(options.client);
  const client = createClient(options.clientOptions ?? {});
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** Validates scan options; throws a ValidationError naming the field before anything remote happens. */
export function validateScanOptions(options: ScanOptions): ScanInput {
  checkBehaviourOptions(options, false);
  const input = parseInput(ScanInputSchema, dataOf(options));
  return { ...input, nodeIds: dedupe(input.nodeIds) };
}

/** A fresh snapshot of the instance's sessions: totals, capped maps, idle buckets, the most idle sessions. */
export async function scanSessions(options: ScanOptions): Promise<SessionSnapshot> {
  const input = validateScanOptions(options);
  const engine = input.engine ?? "dcs";
  const now = clockOf(options.now);
  now(); // a clock that answers no Date fails here, before any remote call
  const call: CallOptions = options.signal ? { signal: options.signal } : {};
  return withClient(options, async (client) => {
    const { targets, skipped } = await resolveTargetNodes(client, input, call, options.onProgress);
    const snapshot = await takeSnapshot({
      client,
      instanceId: input.instanceId,
      engine,
      targets,
      cleanCache: input.cleanCache ?? true,
      rescan: input.rescan ?? true,
      addr: input.addr,
      topN: input.topN ?? DEFAULT_TOP_N,
      concurrency: input.concurrency ?? DEFAULT_CONCURRENCY,
      timeoutMs: (input.waitTimeoutSeconds ?? DEFAULT_WAIT_TIMEOUT_SECONDS) * 1000,
      call,
      onProgress: options.onProgress,
      now,
    });
    return skipped.length > 0 ? { ...snapshot, skippedNodes: skipped } : snapshot;
  });
}
