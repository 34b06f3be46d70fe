/** The core operations, free of any front end: scan, purge, their guards and the pieces they are made of. */
export * from "./types";
export { scanSessions, ScanInputSchema, validateScanOptions } from "./scan";
export type { ScanInput } from "./scan";
export { purgeSessions, PurgeInputSchema, validatePurgeOptions } from "./purge";
export type { PurgeInput } from "./purge";
export {
  CLIENT_RANGE_ALLOWED,
  SessionMatchSchema,
  clientAddressOf,
  compileMatch,
  ipOfSessionAddress,
  parseClientRange,
} from "./match";
export type { ClientRange, MatchableSession } from "./match";
export {
  MaintenanceWindowSchema,
  WEEKDAYS,
  formatLocal,
  formatWindow,
  isInWindow,
  isTimeZone,
  parseWindowSpec,
  validateWindow,
  windowStatus,
} from "./window";
export type { Weekday, WindowStatus } from "./window";
export {
  BoundedCounter,
  NONE_KEY,
  SessionAccumulator,
  clientIpOf,
  factsOfClientInfo,
  factsOfGeminiSession,
  idleBucketOf,
} from "./aggregate";
export type { AccumulatorOptions, SessionAggregate, SessionFacts } from "./aggregate";
export { checkKnownIds, resolveDcsNodes, sessionNodesOf } from "./nodes";
export { SECRET_ENV_VARS, secretsInEnv } from "./secrets";
export type { TargetNode } from "./nodes";
