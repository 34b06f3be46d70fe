/** `purgeSessions`. Stub: the SessionPurge issue implements it. */
import type { PurgeOptions, PurgeReport } from "./types";

export async function purgeSessions(_options: PurgeOptions): Promise<PurgeReport> {
  throw new Error("not implemented");
}
