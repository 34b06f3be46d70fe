/**
 * The example program (examples/pulumi) under `pulumi.runtime.setMocks`: it registers the two resources with
 * the inputs of the issue, wires the outputs, and its `__provider` — what the state would store for every
 * resource — is small, names our package and holds no code, no path and no secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { CHECKOUT } from "./support/consumer";

const ENV_SECRET = "env-secret-key-7f3a9c";
const CONFIG_SECRET = "config-secret-key-41be02";
const PROJECT = "dcs-sessions-example";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const registered: Registered[] = [];

function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

describe("the example program under setMocks", () => {
  let program: Record<string, pulumi.Output<unknown>>;
  const savedSecret = process.env.HW_SECRET_KEY;

  beforeAll(async () => {
    process.env.HW_SECRET_KEY = ENV_SECRET;
    pulumi.runtime.setAllConfig(
      {
        [`${PROJECT}:instanceId`]: "dcs-instance-1",
        [`${PROJECT}:releaseId`]: "release-42",
        "huaweicloud:secretKey": CONFIG_SECRET,
        "huaweicloud:accessKey": "AK-EXAMPLE",
      },
      ["huaweicloud:secretKey"],
    );
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push({ type: args.type, name: args.name, inputs: args.inputs });
          const outputs =
            args.name === "purge"
              ? { status: "purged", sessionsBefore: 120, sessionsAfter: 3 }
              : { totalSessions: 120, byClientIp: { "10.0.0.7": 120 } };
          return { id: `${args.name}-id`, state: { ...args.inputs, ...outputs } };
        },
        call: (args) => args.inputs,
      },
      PROJECT,
      "dev",
      false,
    );
    program = require("../../examples/pulumi/index");
  });

  afterAll(() => {
    if (savedSecret === undefined) delete process.env.HW_SECRET_KEY;
    else process.env.HW_SECRET_KEY = savedSecret;
  });

  test("registers a SessionScan and a guarded SessionPurge with the issue's inputs", async () => {
    await valueOf(program.sessionsAfter!);
    const scan = registered.find((r) => r.name === "before");
    const purge = registered.find((r) => r.name === "purge");
    expect(scan?.type).toBe("pulumi-nodejs:dynamic/dcs-sessions:SessionScan");
    expect(purge?.type).toBe("pulumi-nodejs:dynamic/dcs-sessions:SessionPurge");
    expect(scan?.inputs.instanceId).toBe("dcs-instance-1");
    expect(purge?.inputs).toMatchObject({
      instanceId: "dcs-instance-1",
      allNodes: true,
      maxSessions: 5000,
      maintenanceWindow: { days: ["sat", "sun"], start: "02:00", end: "04:00", timeZone: "Europe/Paris" },
      triggers: ["release-42"],
    });
  });

  test("the stack outputs come from the resources' outputs", async () => {
    expect(await valueOf(program.sessionsBefore!)).toBe(120);
    expect(await valueOf(program.sessionsAfter!)).toBe(3);
    expect(await valueOf(program.purgeStatus!)).toBe("purged");
    expect(await valueOf(program.sessionsByClientIp!)).toEqual({ "10.0.0.7": 120 });
  });

  test("__provider is under 4 KB, reaches dcs-sessions/pulumi by name, and holds no code, path or secret", async () => {
    await valueOf(program.sessionsAfter!);
    for (const resource of registered) {
      const text = resource.inputs.__provider;
      expect(typeof text).toBe("string");
      const serialized = text as string;
      console.log(`${resource.type}: __provider is ${Buffer.byteLength(serialized)} bytes`);
      expect(Buffer.byteLength(serialized)).toBeLessThan(4096);
      expect(serialized).toContain('require("dcs-sessions/pulumi").dynamicProvider(');
      for (const forbidden of [ENV_SECRET, CONFIG_SECRET, "AK-EXAMPLE", CHECKOUT, "/tmp/", "/home/"]) {
        expect(serialized).not.toContain(forbidden);
      }
      // Our implementation stays in the package: none of its names is in the text.
      for (const ours of [
        "scanSessions",
        "purgeSessions",
        "createClient",
        "SessionProvider",
        "zod",
        "undici",
      ]) {
        expect(serialized).not.toContain(ours);
      }
    }
  });

  test("no input of either resource carries a credential", () => {
    for (const resource of registered) {
      const inputs = JSON.stringify({ ...resource.inputs, __provider: undefined });
      for (const secret of [ENV_SECRET, CONFIG_SECRET, "AK-EXAMPLE"]) expect(inputs).not.toContain(secret);
    }
  });
});
