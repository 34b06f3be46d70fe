/**
 * `dcs-sessions/testing`: run stacks locally without a cloud account or the Pulumi CLI — real redis-server
 * processes and client connections, and the real Pulumi dynamic-provider host driven over gRPC.
 */
export * from "./redis";
export * from "./provider-host";
export { serializeProvider } from "./serialize";
