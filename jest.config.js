/** Jest runs the TypeScript sources through ts-jest (transpile only; `npm run typecheck` type-checks). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.test.json" }] },
  // The examples import the package by name, as a user's project does; in tests that name means src/.
  moduleNameMapper: {
    "^dcs-sessions$": "<rootDir>/src/index.ts",
    "^dcs-sessions/(pulumi|cdktf|emulator|testing)$": "<rootDir>/src/$1/index.ts",
  },
  testTimeout: 60000,
  maxWorkers: 2,
  // A worker that ran the Pulumi and CDKTF suites ends with 600-700 MB of heap, and Node takes 300-600 ms after
  // its exit event to tear that down (measured; its only handles by then are stdio and the IPC channel). Jest's
  // 500 ms default then reports a graceful exit as a forced one. A worker kept alive by a leaked handle is
  // still force-exited after 5 s, and `.ci/run` fails on that warning.
  workerGracefulExitTimeout: 5000,
};
