/**
 * The short soak (issue 11): `bench/soak.js`, the script behind `npm run soak`, run as a child process with 30
 * cycles and 40 application connections instead of 1,000 and 200. Against real `redis-server` nodes behind the
 * emulator's redis backend: every cycle's counts right, no unhandled rejection, and the client's open file
 * descriptors and RSS flat within 10 % after the warm-up — asserted here from the figures it reports.
 */
import { resolve } from "node:path";
import { runProcess } from "../cli/support";
import { describeWithRedis } from "../support/redis";

const SOAK = resolve(__dirname, "../../bench/soak.js");
const CYCLES = 30;
const CLIENTS = 40;

interface Flatness {
  base: number;
  min: number;
  max: number;
  growth: number;
}

interface SoakResult {
  cycles: number;
  clients: number;
  warmUpCycles: number;
  fds: Flatness;
  rssMb: Flatness;
  unhandledRejections: number;
  wrongCounts: number;
  firstErrors: string[];
  series: { fds: number[]; rssMb: number[] };
}

describeWithRedis("soak, short version (bench/soak.js)", () => {
  test(`${CYCLES} scan-and-purge cycles with ${CLIENTS} reconnecting connections`, async () => {
    const run = await runProcess(process.execPath, ["--expose-gc", SOAK], {
      env: { SOAK_CYCLES: String(CYCLES), SOAK_CLIENTS: String(CLIENTS), SOAK_JSON: "1" },
      timeoutMs: 240_000,
    });
    expect(run.signal).toBeNull();
    const result = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "") as SoakResult;
    expect(result).toMatchObject({ cycles: CYCLES, clients: CLIENTS });
    expect({ wrongCounts: result.wrongCounts, firstErrors: result.firstErrors }).toEqual({
      wrongCounts: 0,
      firstErrors: [],
    });
    expect(result.unhandledRejections).toBe(0);
    expect(result.series.fds).toHaveLength(CYCLES);
    // Flat within 10 % of the largest warm-up sample, recomputed from the series.
    const after = (series: number[]) => series.slice(result.warmUpCycles);
    const base = (series: number[]) => Math.max(...series.slice(0, result.warmUpCycles));
    expect(Math.max(...after(result.series.fds))).toBeLessThanOrEqual(base(result.series.fds) * 1.1);
    expect(Math.max(...after(result.series.rssMb))).toBeLessThanOrEqual(base(result.series.rssMb) * 1.1);
    expect(run.code).toBe(0);
  }, 300_000);
});
