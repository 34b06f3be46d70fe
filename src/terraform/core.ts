/**
 * The core, loaded by the first call that needs it (validation, a scan, a purge), never before the
 * handshake: zod takes longer to load than the rest of the start, Terraform waits for the handshake line,
 * and one of the processes Terraform starts for each command only asks for the schema.
 */
export type Core = typeof import("./core-modules");

let loading: Promise<Core> | undefined;

export function loadCore(): Promise<Core> {
  loading ??= import("./core-modules");
  return loading;
}
