/**
 * Pulumi's `customTimeouts` and the deadline of a purge or a scan (issue 11).
 *
 * The engine puts a resource's `customTimeouts.create`/`update` in the `timeout` field (seconds) of the
 * CreateRequest/UpdateRequest it sends to the provider. The dynamic-provider host of `@pulumi/pulumi`
 * (`cmd/dynamic-provider/index.js`, `ResourceProviderService.create`/`update`) reads only the properties
 * (and the id and olds for an update) from the request and calls the dynamic provider's `create(inputs)` /
 * `update(id, olds, news)`; its `cancel` answers and does nothing. So the timeout cannot reach our provider:
 * the first describe proves it with a probe provider through the real host (the installed SDK and, when
 * installed, the lowest of the peer range), so a future host that passes it makes this test fail and tells
 * us to honour it. Until then `waitTimeoutSeconds` is the deadline, and the second describe shows that it
 * ends a scan and a purge cleanly, through the real host, with `purged-unverified` recorded after a kill.
 */
import { startProviderHost, type ProviderHost } from "../../src/testing/provider-host";
import { useProviderHostStack } from "./support/host-stack";
import { findLowestPulumi } from "./support/lowest";

jest.setTimeout(120_000);

/**
 * A dynamic provider (the `__provider` text the host `require`s) that answers with what it was given: how
 * many arguments each call received, those arguments, and the keys of `this`.
 */
const PROBE_PROVIDER = [
  "exports.handler = () => ({",
  "  async create(...args) {",
  '    return { id: "probe", outs: { calledWith: JSON.stringify({ count: args.length, args, self: Object.keys(this) }) } };',
  "  },",
  "  async update(...args) {",
  "    return { outs: { calledWith: JSON.stringify({ count: args.length, args, self: Object.keys(this) }) } };",
  "  },",
  "});",
].join("\n");

interface Seen {
  count: number;
  args: unknown[];
  self: string[];
}

const TIMEOUT_SECONDS = 4321.5;

const sdks: Array<[string, string | undefined]> = [
  ["the installed @pulumi/pulumi", undefined],
  ...(findLowestPulumi() ? [[`@pulumi/pulumi ${findLowestPulumi()!.version}`, findLowestPulumi()!.dir]] : []),
] as Array<[string, string | undefined]>;

describe.each(sdks)("the request's timeout does not reach a dynamic provider (%s)", (_name, sdkDir) => {
  let host: ProviderHost | undefined;

  beforeAll(async () => {
    // The probe needs nothing but the host: the one this checkout installs, or the lowest SDK's.
    host = await startProviderHost({ cwd: sdkDir ?? process.cwd(), env: { PATH: process.env.PATH } });
    await host.configure({});
  });
  afterAll(() => host?.close());

  const seen = (outs: Record<string, unknown>): Seen => JSON.parse(outs.calledWith as string) as Seen;

  test("create(inputs) and update(id, olds, news) get no timeout, and nothing that leads to the request", async () => {
    const urn = host!.urn("pulumi-nodejs:dynamic:Resource", "probe");
    const inputs = { __provider: PROBE_PROVIDER, marker: "m" };
    const created = await host!.create(urn, inputs, { timeoutSeconds: TIMEOUT_SECONDS });
    const onCreate = seen(created.properties);
    expect(onCreate.count).toBe(1);
    expect(onCreate.args).toEqual([inputs]);
    // `this` is the provider object itself: its two methods, no request, call or deadline.
    expect(onCreate.self.sort()).toEqual(["create", "update"]);
    expect(created.properties.calledWith).not.toContain(String(TIMEOUT_SECONDS));

    const updated = await host!.update("probe", urn, created.properties, inputs, {
      oldInputs: inputs,
      timeoutSeconds: TIMEOUT_SECONDS,
    });
    const onUpdate = seen(updated.properties);
    expect(onUpdate.count).toBe(3);
    expect(onUpdate.args[0]).toBe("probe");
    expect(onUpdate.self.sort()).toEqual(["create", "update"]);
    expect(updated.properties.calledWith).not.toContain(String(TIMEOUT_SECONDS));
  });
});

describe("waitTimeoutSeconds is the deadline of a scan and a purge, through the provider host", () => {
  const NODES = 2;
  const rig = useProviderHostStack(
    { synthetic: { nodes: NODES, sessionsPerNode: 10, seed: 3 }, jobMs: 20 },
    { resetBeforeEach: true },
  );

  const counters = () => rig.emulator.control.counters();

  test("a scan whose job never ends fails at waitTimeoutSeconds with an error naming the job and the deadline", async () => {
    await rig.emulator.control.setFaults([{ route: "scanClients", fault: { kind: "job-never-ends" } }]);
    const urn = rig.stack.urn("SessionScan", "stuck-scan");
    const inputs = await rig.stack.news("SessionScan", {
      instanceId: rig.emulator.instanceId,
      waitTimeoutSeconds: 1,
    });
    const checked = await rig.host.check(urn, {}, inputs);
    expect(checked.failures).toEqual([]);
    // A customTimeouts of 3 hours in the request changes nothing: waitTimeoutSeconds ends it.
    const error = await rig.host.create(urn, checked.inputs, { timeoutSeconds: 10_800 }).then(
      () => new Error("the scan should have failed"),
      (e: Error) => e,
    );
    expect(error.message).toMatch(
      /waitForJob timed out after 1000 ms: job \w+ did not end; last status seen: RUNNING/,
    );
    expect(error.message).toMatch(/scanning node \S+; waitTimeoutSeconds \(--wait-timeout\) bounds/);
    // Ended, not abandoned: no job poll goes on after the error.
    const polls = (await counters()).showJob ?? 0;
    expect(polls).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await counters()).showJob ?? 0).toBe(polls);
    // The host is still fine: the next call answers.
    await rig.emulator.control.clearFaults();
    const ok = await rig.stack.create("SessionScan", "after-stuck", { instanceId: rig.emulator.instanceId });
    expect(ok.outputs.totalSessions).toBe(NODES * 10);
  });

  test("a purge whose kill job never ends stops at waitTimeoutSeconds: purged-unverified recorded, one kill, none on the next up", async () => {
    await rig.emulator.control.setFaults([{ route: "killAllClients", fault: { kind: "job-never-ends" } }]);
    const args = { instanceId: rig.emulator.instanceId, allNodes: true, waitTimeoutSeconds: 1 };
    const urn = rig.stack.urn("SessionPurge", "stuck-kill");
    const checked = await rig.host.check(urn, {}, await rig.stack.news("SessionPurge", args));
    expect(checked.failures).toEqual([]);
    const created = await rig.host.create(urn, checked.inputs, { timeoutSeconds: 10_800 });
    expect(created.properties).toMatchObject({ status: "purged-unverified", sessionsBefore: NODES * 10 });
    expect(created.properties.verificationError).toMatch(
      /the kill was sent, but waiting for its job failed: waitForJob timed out after 1000 ms/,
    );
    expect((await counters()).killAllClients).toBe(1);
    await rig.host.waitForLog(/purged-unverified/);

    await rig.emulator.control.clearFaults();
    const state = {
      kind: "SessionPurge" as const,
      urn,
      id: created.id,
      inputs: checked.inputs,
      outputs: created.properties,
    };
    const again = await rig.stack.up(state, args);
    expect(again.updated).toBe(false);
    expect((await counters()).killAllClients).toBe(1);
  });
});
