/**
 * `dcs-sessions/cdktf`: constructs for the package's own Terraform provider (`dcs-sessions/dcssessions`):
 * `DcsSessionsProvider`, `SessionScan` (the `dcssessions_scan` data source) and `SessionPurge` (the
 * `dcssessions_purge` resource). They work with cdktf and with its fork CDK Terrain (`cdktn`): the library
 * is the one the stack was built with, found at run time.
 */
export { DcsSessionsProvider, DEFAULT_PROVIDER_ID } from "./provider";
export type { DcsSessionsProviderProps } from "./provider";
export { SessionScan } from "./session-scan";
export type { SessionScanProps, SessionTargetProps } from "./session-scan";
export { SessionPurge, ALWAYS_RUN_TRIGGER } from "./session-purge";
export type { SessionPurgeProps } from "./session-purge";
export { PROVIDER_NAME, PROVIDER_SOURCE, PROVIDER_VERSION, SCAN_TYPE, PURGE_TYPE } from "./names";
export type {
  Dependable,
  Resolvable,
  TerraformElementHandle,
  ScanNodeAttributes,
  PurgeNodeAttributes,
} from "./types";
