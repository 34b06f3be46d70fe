/** `dcs-sessions/emulator`: the local API emulator. */
export * from "./types";
export { startEmulator, DEFAULT_JOB_MS, DEFAULT_SYNTHETIC } from "./server";
export { runEmulator, startupLine, type RunEmulatorIo } from "./cli";
export { SyntheticNode, createSyntheticNodes } from "./synthetic";
export { createRedisBackend } from "./backends/redis";
export { FaultRuleSchema } from "./faults";
