/** `dcs-sessions/pulumi`: the `SessionScan` and `SessionPurge` dynamic resources. */
export { SessionScan, SessionPurge, TYPE_MODULE } from "./resources";
export type { SessionArgsBase, SessionScanArgs, SessionPurgeArgs } from "./resources";
export { dynamicProvider, SessionProvider, CONFIG_KEYS } from "./provider";
export type { StackConfig, SessionOperations } from "./provider";
export { serializedProviders } from "./serialized";
export { PulumiInputsSchema, INPUT_KEYS } from "./inputs";
export type { ResourceKind, SessionScanInputs, SessionPurgeInputs } from "./inputs";
