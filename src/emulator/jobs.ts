/**
 * Asynchronous jobs as the DCS job API shows them: INIT, then RUNNING after half of `jobMs`, then SUCCESS or
 * FAIL once the work is done and `jobMs` has passed. A scan's work returns a commit that replaces the node's
 * snapshot when the job ends, not before.
 */
import { randomBytes } from "node:crypto";
import type { JobStatus, KnownJobStatus } from "../api/schemas";

export type JobWork = () => Promise<(() => void) | void>;

export type JobFault =
  | { kind: "job-fails"; reason?: string }
  | { kind: "job-never-ends" }
  | { kind: "job-status"; status: string }
  | { kind: "job-unknown" };

interface Job {
  id: string;
  type: string;
  status: KnownJobStatus;
  /** Shown instead of INIT/RUNNING until the job ends (a `job-status` fault). */
  shownWhileRunning?: string;
  /** The job API answers 404 for it (a `job-unknown` fault). */
  unknown?: boolean;
  beginMs: number;
  endMs?: number;
  failReason?: string;
}

export interface JobView {
  job_id: string;
  job_type: string;
  status: JobStatus;
  begin_time: string;
  end_time: string;
  fail_reason: string;
}

/** Finished jobs kept for `show`; the oldest are forgotten beyond this, so a long-running emulator stays small. */
export const DEFAULT_KEPT_FINISHED_JOBS = 10_000;

export class JobBook {
  private readonly jobs = new Map<string, Job>();
  /** Ids of finished jobs, oldest first. */
  private readonly finished = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly jobMs: number,
    private readonly now: () => number,
    private readonly keptFinished = DEFAULT_KEPT_FINISHED_JOBS,
  ) {}

  /** Starts a job and returns its id at once; the work runs when the job moves to RUNNING. */
  start(type: string, work: JobWork, fault?: JobFault): string {
    const job: Job = { id: randomBytes(16).toString("hex"), type, status: "INIT", beginMs: this.now() };
    if (fault?.kind === "job-status") job.shownWhileRunning = fault.status;
    if (fault?.kind === "job-unknown") job.unknown = true;
    this.jobs.set(job.id, job);
    const half = Math.floor(this.jobMs / 2);
    this.after(half, () => {
      job.status = "RUNNING";
      if (fault?.kind === "job-never-ends") return;
      const elapsed = new Promise<void>((resolve) => this.after(this.jobMs - half, resolve));
      void this.run(
        job,
        fault?.kind === "job-fails" ? (fault.reason ?? "the job failed (injected fault)") : undefined,
        work,
        elapsed,
      );
    });
    return job.id;
  }

  show(id: string): JobView | undefined {
    const job = this.jobs.get(id);
    if (!job || job.unknown) return undefined;
    const running = job.status === "INIT" || job.status === "RUNNING";
    return {
      job_id: job.id,
      job_type: job.type,
      status: running && job.shownWhileRunning !== undefined ? job.shownWhileRunning : job.status,
      // Millisecond-epoch strings, as the job API sends them.
      begin_time: String(job.beginMs),
      end_time: job.endMs === undefined ? "" : String(job.endMs),
      fail_reason: job.failReason ?? "",
    };
  }

  /** Stops every timer; work still under way finishes but changes nothing. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Runs the work, waits for the job's duration, then commits and ends it (a failure also waits). */
  private async run(
    job: Job,
    injectedFailure: string | undefined,
    work: JobWork,
    elapsed: Promise<void>,
  ): Promise<void> {
    let outcome: { commit?: (() => void) | void; error?: string };
    try {
      if (injectedFailure !== undefined) throw new Error(injectedFailure);
      outcome = { commit: await work() };
    } catch (error) {
      outcome = { error: error instanceof Error ? error.message : String(error) };
    }
    await elapsed;
    if (this.closed) return;
    if (outcome.error !== undefined) return this.finish(job, "FAIL", outcome.error);
    if (outcome.commit) outcome.commit();
    this.finish(job, "SUCCESS");
  }

  private finish(job: Job, status: "SUCCESS" | "FAIL", failReason?: string): void {
    job.status = status;
    job.endMs = this.now();
    job.failReason = failReason;
    this.finished.add(job.id);
    // One job ends at a time, so at most one is forgotten. A forgotten job is unknown (404), for which the
    // client falls back to the list's `time` (DESIGN §1).
    const oldest = this.finished.values().next().value;
    if (this.finished.size > this.keptFinished && oldest !== undefined) {
      this.finished.delete(oldest);
      this.jobs.delete(oldest);
    }
  }

  private after(ms: number, fn: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}
