/**
 * The emulator's jobs on their own: the states a poller sees, and that a scan's snapshot is committed when its
 * job ends (SUCCESS), never while it is still RUNNING.
 */
import { JobBook } from "../../src/emulator/jobs";

const JOB_MS = 300;
const POLL_MS = 5;
/** Bounds every loop: far above JOB_MS, so only a broken job reaches it. */
const GIVE_UP_MS = 10_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("JobBook", () => {
  let book: JobBook;
  beforeEach(() => {
    book = new JobBook(JOB_MS, Date.now);
  });
  afterEach(() => book.close());

  test("INIT → RUNNING → SUCCESS, and the work's commit runs only as the job ends", async () => {
    let committed = false;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const id = book.start("ScanClients", async () => {
      await gate; // the work cannot finish before the test has seen RUNNING
      return () => {
        committed = true;
      };
    });
    const seen: string[] = [];
    const giveUpAt = Date.now() + GIVE_UP_MS;
    for (;;) {
      const job = book.show(id)!;
      if (seen[seen.length - 1] !== job.status) seen.push(job.status);
      // The snapshot a scan takes replaces the cached list at the end of the job, not before.
      expect({ status: job.status, committed }).toEqual({
        status: job.status,
        committed: job.status === "SUCCESS",
      });
      if (job.status === "RUNNING") release();
      if (job.status === "SUCCESS" || job.status === "FAIL" || Date.now() > giveUpAt) break;
      await pause(POLL_MS);
    }
    expect(seen).toEqual(["INIT", "RUNNING", "SUCCESS"]);
    const done = book.show(id)!;
    expect(done).toMatchObject({ job_id: id, job_type: "ScanClients", fail_reason: "" });
    // Millisecond-epoch strings, as the job API sends them.
    expect(done.begin_time).toMatch(/^\d{13}$/);
    expect(done.end_time).toMatch(/^\d{13}$/);
    expect(Number(done.end_time) - Number(done.begin_time)).toBeGreaterThanOrEqual(JOB_MS - 5);
  });

  test("a job-status fault shows an undocumented status while the job runs, then the real end", async () => {
    const id = book.start("ScanClients", async () => undefined, { kind: "job-status", status: "QUEUED" });
    expect(book.show(id)!.status).toBe("QUEUED");
    const giveUpAt = Date.now() + GIVE_UP_MS;
    while (book.show(id)!.status === "QUEUED" && Date.now() < giveUpAt) await pause(POLL_MS);
    expect(book.show(id)!.status).toBe("SUCCESS");
  });

  test("a job-unknown fault: the job runs and commits, but show() does not know it", async () => {
    let committed = false;
    const id = book.start(
      "ScanClients",
      async () => () => {
        committed = true;
      },
      { kind: "job-unknown" },
    );
    expect(book.show(id)).toBeUndefined();
    const giveUpAt = Date.now() + GIVE_UP_MS;
    while (!committed && Date.now() < giveUpAt) await pause(POLL_MS);
    expect(committed).toBe(true);
    expect(book.show(id)).toBeUndefined();
  });

  test("work that throws ends in FAIL with its message, and commits nothing", async () => {
    const id = book.start("KillAllClients", async () => {
      throw new Error("redis-server went away");
    });
    const giveUpAt = Date.now() + GIVE_UP_MS;
    while (book.show(id)!.status !== "FAIL" && Date.now() < giveUpAt) await pause(POLL_MS);
    expect(book.show(id)).toMatchObject({ status: "FAIL", fail_reason: "redis-server went away" });
  });

  test("an unknown id is undefined; close stops jobs where they are", async () => {
    expect(book.show("nope")).toBeUndefined();
    const id = book.start("ScanClients", async () => undefined);
    book.close();
    await pause(JOB_MS + 50);
    expect(book.show(id)?.status).toBe("INIT");
  });
});

describe("JobBook keeps a bounded number of finished jobs", () => {
  test("beyond the limit the oldest finished jobs are forgotten; running ones are kept", async () => {
    const small = new JobBook(0, Date.now, 3);
    try {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const running = small.start("ScanClients", () => gate);
      const ids = Array.from({ length: 5 }, () => small.start("ScanClients", async () => undefined));
      const giveUpAt = Date.now() + GIVE_UP_MS;
      const done = () => ids.filter((id) => small.show(id)?.status === "SUCCESS").length;
      while (done() < 3 && Date.now() < giveUpAt) await pause(POLL_MS);
      await pause(20); // every job of the batch has ended by now (jobMs 0)
      expect(ids.map((id) => small.show(id)?.status)).toEqual([
        undefined,
        undefined,
        "SUCCESS",
        "SUCCESS",
        "SUCCESS",
      ]);
      expect(small.show(running)?.status).toBe("RUNNING");
      release();
      while (small.show(running)?.status !== "SUCCESS" && Date.now() < giveUpAt) await pause(POLL_MS);
      expect(small.show(running)?.status).toBe("SUCCESS");
      expect(small.show(ids[2] as string)).toBeUndefined();
    } finally {
      small.close();
    }
  });
});
