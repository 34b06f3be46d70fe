/**
 * Scripted faults and call counters. A rule matches a call by route, call number and probability (drawn from
 * a seeded generator, so a run can be replayed); the first matching rule is applied.
 */
import { z } from "zod";
import { OPERATIONS, type OperationName } from "../api/schemas";
import type { JobFault } from "./jobs";
import type { Counters, FaultRule } from "./types";

type Fault = FaultRule["fault"];

const OPERATION_NAMES = Object.keys(OPERATIONS) as [OperationName, ...OperationName[]];

/** Validates rules received by the control API (the in-process API is typed). */
export const FaultRuleSchema = z.strictObject({
  route: z.enum([...OPERATION_NAMES, "*"]),
  calls: z.array(z.number().int().min(1)).optional(),
  probability: z.number().min(0).max(1).optional(),
  times: z.number().int().min(0).optional(),
  fault: z.discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("status"),
      status: z.union([
        z.literal(400),
        z.literal(401),
        z.literal(403),
        z.literal(429),
        z.literal(500),
        z.literal(502),
        z.literal(503),
        z.literal(504),
      ]),
      retryAfterSeconds: z.number().int().min(0).optional(),
      errorCode: z.string().optional(),
      errorMsg: z.string().optional(),
      after: z.boolean().optional(),
    }),
    z.strictObject({
      kind: z.literal("latency"),
      ms: z.number().int().min(0).max(600000),
      after: z.boolean().optional(),
    }),
    z.strictObject({
      kind: z.literal("reset"),
      when: z.enum(["before-body", "after-body", "after-operation"]),
    }),
    z.strictObject({ kind: z.literal("malformed-json") }),
    z.strictObject({ kind: z.literal("truncated-json") }),
    z.strictObject({ kind: z.literal("job-fails"), reason: z.string().optional() }),
    z.strictObject({ kind: z.literal("job-never-ends") }),
    z.strictObject({ kind: z.literal("job-status"), status: z.string().min(1).max(64) }),
    z.strictObject({ kind: z.literal("job-unknown") }),
    z.strictObject({ kind: z.literal("dcs-4957") }),
  ]),
});
export const FaultRulesSchema = z.array(FaultRuleSchema);

/** The operations that start a job: only they can take a job fault. */
export const JOB_ROUTES: ReadonlySet<OperationName> = new Set(["scanClients", "killAllClients"]);

const JOB_FAULT_KINDS: ReadonlySet<Fault["kind"]> = new Set<JobFault["kind"]>([
  "job-fails",
  "job-never-ends",
  "job-status",
  "job-unknown",
]);

/** A fault that acts on the job a call starts (the job book takes it as it is). */
export function isJobFault(fault: Fault): fault is JobFault {
  return JOB_FAULT_KINDS.has(fault.kind);
}

/** mulberry32: small, seeded, good enough to decide whether a fault hits. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultBook {
  private rules: FaultRule[] = [];
  private counts: Counters = {};
  private readonly random: () => number;

  constructor(rules: FaultRule[] = [], seed = 1) {
    this.random = seededRandom(seed);
    this.set(rules);
  }

  list(): FaultRule[] {
    return this.rules.map((r) => structuredClone(r));
  }

  set(rules: FaultRule[]): void {
    this.rules = rules.map((r) => structuredClone(r));
  }

  add(rule: FaultRule): void {
    this.rules.push(structuredClone(rule));
  }

  clear(): void {
    this.rules = [];
  }

  counters(): Counters {
    return { ...this.counts };
  }

  resetCounters(): void {
    this.counts = {};
  }

  count(name: keyof Counters): number {
    const next = (this.counts[name] ?? 0) + 1;
    this.counts[name] = next;
    return next;
  }

  /** Counts a call of `route` and returns the fault to apply to it, if any. */
  callOf(route: OperationName): Fault | undefined {
    const call = this.count(route);
    for (const rule of this.rules) {
      if (rule.route !== "*" && rule.route !== route) continue;
      if (rule.calls && !rule.calls.includes(call)) continue;
      if (rule.times !== undefined && rule.times <= 0) continue;
      if (isJobFault(rule.fault) && !JOB_ROUTES.has(route)) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      if (rule.times !== undefined) rule.times--;
      return rule.fault;
    }
    return undefined;
  }
}
