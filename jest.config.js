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
};
