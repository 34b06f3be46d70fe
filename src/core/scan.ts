/** `scanSessions`. Stub: the SessionScan issue implements it. */
import type { ScanOptions, SessionSnapshot } from "./types";

export async function scanSessions(_options: ScanOptions): Promise<SessionSnapshot> {
  throw new Error("not implemented");
}
