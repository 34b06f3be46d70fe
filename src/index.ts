/** `dcs-sessions`: the client of the Huawei Cloud session APIs and the core operations. */
export { createClient } from "./api/client";
export { resolveConfig } from "./api/config";
export type { ResolvedConfig } from "./api/config";
export * from "./api/errors";
export * from "./api/types";
export type {
  ClientInfo,
  ClientInfoField,
  GeminiSession,
  JobStatus,
  KnownJobStatus,
  OperationName,
} from "./api/schemas";
export { CLIENT_INFO_FIELDS } from "./api/schemas";
export * from "./core";
