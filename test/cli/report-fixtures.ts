/** Results with hostile wire values (Markdown, HTML, mentions, control characters), for the report tests. */
import type { PurgeReport, SessionSnapshot } from "../../src/core/types";

/** Values a client can give itself (CLIENT SETNAME, ACL user names) or a server can send. */
export const HOSTILE = {
  name: "<script>window.pwned=1</script>",
  image: '<img src=x onerror="window.pwned=2">',
  pipe: "a|b\\|c",
  ticks: "``x`y``",
  mention: "@everyone",
  newline: "line1\n| injected | row |",
  link: "[click](http://127.0.0.1:9/x)",
};

export function hostileSnapshot(): SessionSnapshot {
  return {
    instanceId: "inst-1",
    engine: "dcs",
    totalSessions: 60,
    nodes: [
      { nodeId: "node-a", role: "redis-proxy", sessions: 40 },
      { nodeId: "node-<b>", role: "redis-proxy", sessions: 20 },
    ],
    byClientIp: { "10.0.0.1": 30, "10.0.0.2": 20, [HOSTILE.image]: 6, other: 4 },
    byUser: { default: 50, [HOSTILE.pipe]: 10 },
    byDb: { "0": 60 },
    byCommand: { get: 60 },
    byName: { [HOSTILE.name]: 25, [HOSTILE.ticks]: 20, [HOSTILE.mention]: 10, [HOSTILE.newline]: 5 },
    idleBuckets: { "<1m": 30, "1m-10m": 15, "10m-1h": 10, "1h-24h": 4, ">=24h": 1 },
    maxIdleSeconds: 90_000,
    maxAgeSeconds: 200_000,
    subscribers: 2,
    topIdle: [
      {
        nodeId: "node-a",
        addr: "10.0.0.1:5000",
        name: HOSTILE.name,
        user: HOSTILE.pipe,
        db: "0",
        cmd: HOSTILE.link,
        idleSeconds: 90_000,
        ageSeconds: 200_000,
      },
    ],
    scannedAt: "2026-03-01T10:00:00.000Z",
  };
}

export function purgedReport(overrides: Partial<PurgeReport> = {}): PurgeReport {
  const before = hostileSnapshot();
  return {
    instanceId: "inst-1",
    engine: "dcs",
    status: "purged",
    sessionsBefore: 60,
    sessionsAfter: 3,
    nodes: [
      { nodeId: "node-a", before: 40, after: 2 },
      { nodeId: "node-<b>", before: 20, after: 1 },
    ],
    jobIds: ["job-1", "job-2"],
    purgedAt: "2026-03-01T10:05:00.000Z",
    before,
    after: {
      ...before,
      totalSessions: 3,
      idleBuckets: { "<1m": 3, "1m-10m": 0, "10m-1h": 0, "1h-24h": 0, ">=24h": 0 },
    },
    ...overrides,
  };
}
