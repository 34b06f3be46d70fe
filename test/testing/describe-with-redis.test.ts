import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");

/** Runs the fixture suite in a child Jest where redis-server cannot be found (REDIS_SERVER names nothing). */
function runWithoutRedis(ci: string | undefined): { status: number | null; output: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_SERVER: "/nonexistent/redis-server" };
  if (ci === undefined) delete env.CI;
  else env.CI = ci;
  const run = spawnSync(
    process.execPath,
    [
      require.resolve("jest/bin/jest"),
      "--testMatch",
      "**/test/support/fixtures/needs-redis.fixture.ts",
      "--verbose",
      "--colors=false",
    ],
    { cwd: ROOT, env, encoding: "utf8", timeout: 120_000 },
  );
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

describe("describeWithRedis when redis-server is missing", () => {
  test("under CI=true the suite fails and says why", () => {
    const run = runWithoutRedis("true");
    expect(run.status).toBe(1);
    expect(run.output).toContain("redis-server was not found on PATH and CI=true");
    expect(run.output).toContain("apt-get install -y redis-server");
    expect(run.output).toMatch(/Tests:\s+1 failed, 1 total/);
  });

  test("elsewhere the suite is skipped with the install hint", () => {
    const run = runWithoutRedis(undefined);
    expect(run.status).toBe(0);
    expect(run.output).toContain("apt-get install -y redis-server");
    expect(run.output).toMatch(/Tests:\s+1 skipped, 1 total/);
  });
});
