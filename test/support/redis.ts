/**
 * `describeWithRedis`: a `describe` for suites that need a real `redis-server`. Without one it skips with an
 * install hint, except under CI=true, where a missing redis-server must fail the run rather than hide it.
 */
import { findRedisServer } from "../../src/testing/redis";

export const REDIS_INSTALL_HINT = "apt-get install -y redis-server";

export function describeWithRedis(name: string, fn: () => void): void {
  if (findRedisServer()) {
    describe(name, fn);
  } else if (process.env.CI === "true") {
    describe(name, () => {
      test("redis-server is installed (required under CI=true)", () => {
        throw new Error(`redis-server was not found on PATH and CI=true; install it: ${REDIS_INSTALL_HINT}`);
      });
    });
  } else {
    // Jest does not print the names of a fully skipped file, so say it once where people look.
    console.warn(`Skipping "${name}": redis-server was not found on PATH; install it: ${REDIS_INSTALL_HINT}`);
    describe.skip(`${name} [skipped: redis-server not found on PATH; install it: ${REDIS_INSTALL_HINT}]`, fn);
  }
}
