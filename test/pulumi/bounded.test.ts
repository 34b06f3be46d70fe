/**
 * Outputs stay small whatever the number of sessions: a scan of 20,000 synthetic sessions through the real
 * provider host yields capped maps and at most 100 top-idle sessions.
 */
import { useProviderHostStack } from "./support/host-stack";

describe("SessionScan outputs are bounded", () => {
  const rig = useProviderHostStack({ synthetic: { nodes: 4, sessionsPerNode: 5000, seed: 7 }, jobMs: 20 });

  test("20,000 sessions: maps of at most 20 keys plus other, topIdle capped at 100", async () => {
    const scan = await rig.stack.create("SessionScan", "big", {
      instanceId: rig.emulator.instanceId,
      topN: 100,
    });
    const out = scan.outputs;
    expect(out.totalSessions).toBe(20_000);
    for (const map of ["byClientIp", "byUser", "byDb", "byCommand", "byName"]) {
      const entries = Object.values(out[map] as Record<string, number>);
      expect(entries.length).toBeLessThanOrEqual(21);
      expect(entries.reduce((a, b) => a + b, 0)).toBe(20_000);
    }
    // Far more client IPs and names than 20: the cap is what keeps these maps small.
    expect(out.byClientIp).toHaveProperty("other");
    expect(out.byName).toHaveProperty("other");
    expect(out.topIdle).toHaveLength(100);
    const bytes = Buffer.byteLength(JSON.stringify(out));
    console.log(`outputs of a 20,000-session scan: ${bytes} bytes`);
    expect(bytes).toBeLessThan(64 * 1024);
  });
});
