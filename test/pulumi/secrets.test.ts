/**
 * Credentials through the real provider host: from the environment or from the `huaweicloud:*` stack config
 * (Configure), with their precedence, and never in `__provider`, an input, an output, an error or a log line.
 */
import { startEmulator } from "../../src/emulator/server";
import type { EmulatorHandle } from "../../src/emulator/types";
import {
  reveal,
  secret,
  startProviderHost,
  type Props,
  type ProviderHost,
} from "../../src/testing/provider-host";
import { serializeProvider } from "../../src/testing/serialize";
import { openClients, startRedisServers, type OpenClients, type RedisServers } from "../../src/testing/redis";
import { describeWithRedis } from "../support/redis";
import { createConsumerProject, type ConsumerProject } from "./support/consumer";
import { Stack } from "./support/stack";
import { SecretWitness } from "../safety/secret-witness";

const SECURITY_TOKEN = "STS-Security-Token-PulumiSafety-8899aabbcc";
const DEBUG_ENV = { DEBUG: "*", NODE_DEBUG: "http,undici,net" };

/** Everything a test saw, as text (secret values revealed), to search for a secret. */
function seen(...values: unknown[]): string {
  return values
    .map((v) => (v instanceof Error ? `${v.message}\n${v.stack ?? ""}` : JSON.stringify(reveal(v))))
    .join("\n");
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure");
}

describeWithRedis("credentials through the provider host", () => {
  let servers: RedisServers | undefined;
  let emulator: EmulatorHandle | undefined;
  let project: ConsumerProject | undefined;
  let connections: OpenClients | undefined;
  const hosts: ProviderHost[] = [];
  const witness = new SecretWitness();

  /** The emulator's location without credentials: what a CI job exports besides its secrets. */
  function locationEnv(): Record<string, string | undefined> {
    const { HW_ACCESS_KEY: _ak, HW_SECRET_KEY: _sk, ...location } = emulator!.env;
    return { PATH: process.env.PATH, ...location };
  }

  async function hostWith(env: Record<string, string | undefined>, config: Props = {}): Promise<Stack> {
    const host = await startProviderHost({ cwd: project!.dir, env });
    hosts.push(host);
    await host.configure(config);
    return new Stack(host);
  }

  beforeAll(async () => {
    servers = await startRedisServers(1);
    connections = await openClients(servers.urls[0]!, [{ name: "app-1" }, { name: "app-2" }]);
    emulator = await startEmulator({ redis: servers.urls, jobMs: 50, onCredentials: witness.observe });
    witness.add("the secret key", emulator.secretKey).add("the security token", SECURITY_TOKEN);
    project = createConsumerProject();
  });

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.close()));
    project?.remove();
    await emulator?.close();
    await connections?.closeAll();
    await servers?.stop();
  });

  test("a secret key in the environment reaches the API but no provider text, property, error or log", async () => {
    const secretKey = emulator!.secretKey;
    const saved = process.env.HW_SECRET_KEY;
    process.env.HW_SECRET_KEY = secretKey;
    let providers: string[];
    try {
      providers = [await serializeProvider("SessionScan"), await serializeProvider("SessionPurge")];
    } finally {
      if (saved === undefined) delete process.env.HW_SECRET_KEY;
      else process.env.HW_SECRET_KEY = saved;
    }
    const stack = await hostWith({
      ...locationEnv(),
      HW_ACCESS_KEY: emulator!.accessKey,
      HW_SECRET_KEY: secretKey,
    });
    const scan = await stack.create("SessionScan", "scan", { instanceId: emulator!.instanceId });
    expect(scan.outputs.totalSessions).toBe(2);
    const refreshed = await stack.refresh(scan);
    const purge = await stack.create("SessionPurge", "purge", {
      instanceId: emulator!.instanceId,
      allNodes: true,
      dryRun: true,
    });
    expect(purge.outputs.status).toBe("dry-run");

    // An error whose remote text echoes the secret back: the provider must still not let it out.
    await emulator!.control.addFault({
      route: "listNodes",
      times: 1,
      fault: {
        kind: "status",
        status: 500,
        errorCode: "DCS.5000",
        errorMsg: `internal error near ${secretKey}`,
      },
    });
    const error = await failure(stack.create("SessionScan", "echo", { instanceId: emulator!.instanceId }));
    // The remote text came through, with the secret masked.
    expect(error.message).toContain("DCS.5000 — internal error near ***");

    const text = seen(providers, scan, refreshed, purge, error, stack.host.logs);
    expect(text).not.toContain(secretKey);
  });

  test("a wrong secret key in the environment fails with a 401 that does not show it", async () => {
    const wrong = "wrong-secret-key-3c1d8e2f";
    const stack = await hostWith({
      ...locationEnv(),
      HW_ACCESS_KEY: emulator!.accessKey,
      HW_SECRET_KEY: wrong,
    });
    const error = await failure(stack.create("SessionScan", "scan", { instanceId: emulator!.instanceId }));
    expect(error.message).toContain("401");
    expect(seen(error, stack.host.logs)).not.toContain(wrong);
  });

  test("huaweicloud:accessKey/secretKey from the stack config are used, and never shown", async () => {
    const secretKey = emulator!.secretKey;
    const stack = await hostWith(locationEnv(), {
      "huaweicloud:accessKey": emulator!.accessKey,
      "huaweicloud:secretKey": secret(secretKey),
    });
    const scan = await stack.create("SessionScan", "scan", { instanceId: emulator!.instanceId });
    expect(scan.outputs.totalSessions).toBe(2);
    const purge = await stack.create("SessionPurge", "purge", {
      instanceId: emulator!.instanceId,
      allNodes: true,
      dryRun: true,
    });
    await emulator!.control.addFault({
      route: "listNodes",
      times: 1,
      fault: { kind: "status", status: 500, errorMsg: `failure with ${secretKey} in it` },
    });
    const error = await failure(stack.create("SessionScan", "echo", { instanceId: emulator!.instanceId }));
    expect(seen(scan, purge, error, stack.host.logs)).not.toContain(secretKey);
  });

  test("a wrong huaweicloud:secretKey fails without showing it", async () => {
    const wrong = "wrong-config-secret-9a7b";
    const stack = await hostWith(locationEnv(), {
      "huaweicloud:accessKey": emulator!.accessKey,
      "huaweicloud:secretKey": secret(wrong),
    });
    const error = await failure(stack.create("SessionScan", "scan", { instanceId: emulator!.instanceId }));
    expect(error.message).toContain("401");
    expect(seen(error, stack.host.logs)).not.toContain(wrong);
  });

  test("precedence: the stack config beats the environment, and a resource input beats both", async () => {
    const stack = await hostWith(
      {
        ...locationEnv(),
        HW_ACCESS_KEY: emulator!.accessKey,
        HW_SECRET_KEY: "env-secret-that-is-wrong",
        // Nothing listens there: only the endpoint input can make the call succeed.
        HW_DCS_ENDPOINT: "http://127.0.0.1:9",
        HW_PROJECT_ID: "env-project",
      },
      {
        "huaweicloud:accessKey": emulator!.accessKey,
        "huaweicloud:secretKey": secret(emulator!.secretKey),
        "huaweicloud:projectId": "config-project",
      },
    );
    const scan = await stack.create("SessionScan", "scan", {
      instanceId: emulator!.instanceId,
      endpoint: emulator!.endpoint,
      projectId: emulator!.projectId,
    });
    expect(scan.outputs.totalSessions).toBe(2);
  });

  test("a credential given as an input is refused by Check, which does not echo it", async () => {
    const stack = await hostWith(locationEnv());
    const value = "input-secret-5e6f7a";
    const urn = stack.urn("SessionScan", "scan");
    const checked = await stack.host.check(
      urn,
      {},
      await stack.news("SessionScan", { instanceId: emulator!.instanceId, secretKey: value }),
    );
    expect(checked.failures).toHaveLength(1);
    expect(checked.failures[0]!.property).toBe("secretKey");
    expect(checked.failures[0]!.reason).toContain("huaweicloud:secretKey");
    expect(checked.failures[0]!.reason).not.toContain(value);
  });

  // Last: its purge kills the sessions the tests above count.
  test("with DEBUG on: state, serialized providers, check failures, failed creates and the host's output hold no key, token or signature", async () => {
    const secretKey = emulator!.secretKey;
    const saved = { sk: process.env.HW_SECRET_KEY, st: process.env.HW_SECURITY_TOKEN };
    process.env.HW_SECRET_KEY = secretKey;
    process.env.HW_SECURITY_TOKEN = SECURITY_TOKEN;
    let providers: string[];
    try {
      providers = [await serializeProvider("SessionScan"), await serializeProvider("SessionPurge")];
    } finally {
      for (const [name, value] of [
        ["HW_SECRET_KEY", saved.sk],
        ["HW_SECURITY_TOKEN", saved.st],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    const stack = await hostWith(
      { ...locationEnv(), ...DEBUG_ENV },
      {
        "huaweicloud:accessKey": emulator!.accessKey,
        "huaweicloud:secretKey": secret(secretKey),
        "huaweicloud:securityToken": secret(SECURITY_TOKEN),
      },
    );
    const texts: unknown[] = [providers];
    const before = witness.requests;
    const scan = await stack.create("SessionScan", "debug-scan", { instanceId: emulator!.instanceId });
    expect(scan.outputs.totalSessions).toBe(2);
    texts.push(scan, await stack.refresh(scan));
    // A credential given as an input: Check refuses it, without echoing it.
    for (const [field, value] of [
      ["secretKey", secretKey],
      ["securityToken", SECURITY_TOKEN],
    ] as const) {
      const checked = await stack.host.check(
        stack.urn("SessionPurge", `input-${field}`),
        {},
        await stack.news("SessionPurge", {
          instanceId: emulator!.instanceId,
          allNodes: true,
          [field]: value,
        }),
      );
      expect(checked.failures.map((f) => f.property)).toContain(field);
      texts.push(checked);
    }
    // Failed creates: a 500 echoing the credentials, a failed scan job, a 401 on the kill.
    const echoed = `near ${secretKey} and ${SECURITY_TOKEN}`;
    const faults = [
      { route: "listNodes", times: 1, fault: { kind: "status", status: 500, errorMsg: echoed } },
      { route: "scanClients", times: 1, fault: { kind: "job-fails", reason: echoed } },
      { route: "killAllClients", times: 1, fault: { kind: "status", status: 401, errorMsg: echoed } },
    ] as const;
    for (const [i, rule] of faults.entries()) {
      await emulator!.control.setFaults([rule]);
      const kind = rule.route === "killAllClients" ? "SessionPurge" : "SessionScan";
      const args = {
        instanceId: emulator!.instanceId,
        ...(kind === "SessionPurge" ? { allNodes: true } : {}),
      };
      texts.push(await failure(stack.create(kind, `failing-${i}`, args)));
    }
    // A kill whose answer is lost: recorded as purged-unverified, with the error in the state.
    await emulator!.control.setFaults([
      {
        route: "killAllClients",
        times: 1,
        fault: { kind: "status", status: 502, after: true, errorMsg: echoed },
      },
    ]);
    const purge = await stack.create("SessionPurge", "debug-purge", {
      instanceId: emulator!.instanceId,
      allNodes: true,
    });
    expect(purge.outputs.status).toBe("purged-unverified");
    texts.push(purge);
    await emulator!.control.clearFaults();

    expect(witness.requests).toBeGreaterThan(before);
    expect(witness.securityTokens.has(SECURITY_TOKEN)).toBe(true);
    // The host printed something with DEBUG on (its warning at least), and it was all searched.
    await stack.host.waitForLog(/purged-unverified/);
    witness.expectNoneIn("state, providers, check failures and errors", seen(...texts));
    witness.expectNoneIn("the provider host's stdout and stderr", stack.host.logs.join("\n"));
    // The search would have found one.
    expect(witness.leaksIn(`x${[...witness.signatures][0]!}`)).toEqual(["1 request signature(s)"]);
  });
});
