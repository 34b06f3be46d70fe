/**
 * The core, loaded after the handshake: zod and undici take longer to load than the rest of the start, and
 * Terraform waits for the handshake line. `main` starts loading it as soon as the line is out.
 */
export type Core = typeof import("./core-modules");

let loading: Promise<Core> | undefined;

export function loadCore(): Promise<Core> {
  loading ??= import("./core-modules");
  return loading;
}
