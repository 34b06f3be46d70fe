/**
 * `dcs-sessions/cdktf`: the SessionScan and SessionPurge constructs. Only cdktf core classes are imported, so
 * that the CDK Terrain fork (`cdktn`, same API) is a rename away.
 */
export { SessionScan, DEFAULT_COMMAND } from "./session-scan";
export type { SessionScanProps, ConnectionProps } from "./session-scan";
export { SessionPurge } from "./session-purge";
export type { SessionPurgeProps } from "./session-purge";
export {
  ExternalProvider,
  ExternalData,
  EXTERNAL_PROVIDER_SOURCE,
  EXTERNAL_PROVIDER_VERSION,
} from "./external-provider";
export { PURGE_ENV } from "../cli/purge-env";
export { EXTERNAL_QUERY_KEYS, EXTERNAL_RESULT_KEYS, IDLE_BUCKET_KEYS } from "../cli/external";
