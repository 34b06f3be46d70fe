/**
 * A small scan snapshot (one node, three sessions) for tests of what the front ends make of a scan's result,
 * without a scan: pass what the test is about as overrides.
 */
import type { SessionSnapshot } from "../../src/core/types";

export function snapshot(overrides: Partial<SessionSnapshot> = {}): SessionSnapshot {
  return {
    instanceId: "inst-1",
    engine: "dcs",
    totalSessions: 3,
    nodes: [{ nodeId: "n1", sessions: 3 }],
    byClientIp: { "10.0.0.1": 3 },
    byUser: { default: 3 },
    byDb: { "0": 3 },
    byCommand: { get: 3 },
    byName: { app: 3 },
    idleBuckets: { "<1m": 3, "1m-10m": 0, "10m-1h": 0, "1h-24h": 0, ">=24h": 0 },
    maxIdleSeconds: 5,
    maxAgeSeconds: 50,
    subscribers: 0,
    topIdle: [],
    scannedAt: "2026-11-23T10:00:00.000Z",
    ...overrides,
  };
}
