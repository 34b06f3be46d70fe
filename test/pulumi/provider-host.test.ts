/**
 * The provider-host driver on its own, with a dynamic provider of a user's (not ours): the real host
 * started from a consumer project, every lifecycle call over gRPC, secrets and unknowns on the wire as the
 * engine encodes them, errors and logs as the engine would see them.
 */
import type * as pulumi from "@pulumi/pulumi";
import {
  annotateSecrets,
  fromWire,
  ProviderHostError,
  reveal,
  SECRET_SIG,
  secret,
  SecretValue,
  SIG_KEY,
  startProviderHost,
  toWire,
  UNKNOWN,
  UNKNOWN_WIRE_VALUE,
  type ProviderHost,
} from "../../src/testing/provider-host";
import { serializeProvider } from "../../src/testing/serialize";
import { createConsumerProject, type ConsumerProject } from "./support/consumer";

/** Runs in the host: what it saw comes back as outputs. */
const userProvider: pulumi.dynamic.ResourceProvider = {
  async configure(req) {
    (globalThis as Record<string, unknown>).userConfig = {
      // A Struct cannot carry undefined.
      region: req.config.get("huaweicloud:region") ?? null,
      token: req.config.get("test:token") ?? null,
    };
  },
  async check(_olds, news) {
    const failures =
      typeof news.size === "number" && news.size > 3 ? [{ property: "size", reason: "too big" }] : [];
    return { inputs: news, failures };
  },
  async diff(_id, olds, news) {
    return { changes: olds.size !== news.size, replaces: olds.name !== news.name ? ["name"] : [] };
  },
  async create(inputs) {
    if (inputs.fail) throw new Error("create refused: fail was set");
    console.log(`creating ${String(inputs.name)}`);
    const config = (globalThis as Record<string, unknown>).userConfig as Record<string, unknown>;
    return {
      id: `user-${String(inputs.name)}`,
      outs: { ...inputs, cwd: process.cwd(), passwordType: typeof inputs.password, config },
    };
  },
  async update(_id, _olds, news) {
    return { outs: { ...news, updated: true } };
  },
  async read(id, props) {
    return { id, props: { ...props, refreshed: true } };
  },
  async delete(_id, props) {
    if (props.failDelete) throw new Error("delete refused");
  },
};

describe("wire encoding", () => {
  test("secrets and unknowns are encoded as the engine does, and decoded back", () => {
    const value = { a: secret("s"), b: [UNKNOWN, 1], c: undefined, d: { e: secret({ f: 2 }) } };
    const wire = toWire(value, true);
    expect(wire).toEqual({
      a: { [SIG_KEY]: SECRET_SIG, value: "s" },
      b: [UNKNOWN_WIRE_VALUE, 1],
      d: { e: { [SIG_KEY]: SECRET_SIG, value: { f: 2 } } },
    });
    expect(fromWire(wire)).toEqual({
      a: new SecretValue("s"),
      b: [UNKNOWN, 1],
      d: { e: new SecretValue({ f: 2 }) },
    });
    expect(toWire(value, false)).toEqual({ a: "s", b: [UNKNOWN_WIRE_VALUE, 1], d: { e: { f: 2 } } });
  });

  test("annotateSecrets marks outputs whose input of the same name was secret, recursing into objects", () => {
    const outs = annotateSecrets(
      { a: "x", b: { c: 1, d: 2 }, e: 3 },
      { a: secret("x"), b: { c: secret(1) } },
    );
    expect(outs.a).toBeInstanceOf(SecretValue);
    expect((outs.b as Record<string, unknown>).c).toBeInstanceOf(SecretValue);
    expect((outs.b as Record<string, unknown>).d).toBe(2);
    expect(outs.e).toBe(3);
  });

  test("a secret never prints its value", () => {
    expect(String(secret("hunter2"))).toBe("[secret]");
    expect(JSON.stringify({ p: secret("hunter2") })).not.toContain("hunter2");
  });
});

describe("startProviderHost with a user's dynamic provider", () => {
  let project: ConsumerProject;
  let host: ProviderHost;
  let providerText: string;
  const urn = (name: string): string => host.urn("pulumi-nodejs:dynamic:Resource", name);

  beforeAll(async () => {
    project = createConsumerProject();
    providerText = await serializeProvider(userProvider);
    host = await startProviderHost({ cwd: project.dir, env: { PATH: process.env.PATH } });
  });

  afterAll(async () => {
    await host?.close();
    project?.remove();
  });

  test("Configure hands the stack config (secrets unwrapped) to the provider; it declines secrets", async () => {
    const result = await host.configure({
      "huaweicloud:region": "eu-west-101",
      "test:token": secret("t0ken"),
    });
    expect(result).toEqual({ acceptSecrets: false, supportsPreview: false });
    const created = await host.create(urn("configured"), { __provider: providerText, name: "configured" });
    expect(created.properties.config).toEqual({ region: "eu-west-101", token: "t0ken" });
  });

  test("Check returns the inputs with __provider and the provider's failures", async () => {
    const ok = await host.check(urn("a"), {}, { __provider: providerText, name: "a", size: 1 });
    expect(ok.failures).toEqual([]);
    expect(ok.inputs).toEqual({ __provider: providerText, name: "a", size: 1 });
    const bad = await host.check(urn("a"), {}, { __provider: providerText, name: "a", size: 9 });
    expect(bad.failures).toEqual([{ property: "size", reason: "too big" }]);
  });

  test("Create runs in the project folder; a secret input reaches it plain and its output comes back secret", async () => {
    const created = await host.create(urn("b"), {
      __provider: providerText,
      name: "b",
      password: secret("hunter2"),
    });
    expect(created.id).toBe("user-b");
    expect(created.properties.cwd).toBe(project.dir);
    expect(created.properties.passwordType).toBe("string");
    expect(created.properties.password).toEqual(new SecretValue("hunter2"));
    expect(created.properties.__provider).toBe(providerText);
    await expect(host.waitForLog("creating b")).resolves.toBe("creating b");
  });

  test("a preview Create is not sent to a provider that does not support previews, as the engine does", async () => {
    const props = { __provider: providerText, name: "previewed" };
    const previewed = await host.create(urn("previewed"), props, { preview: true });
    expect(previewed).toEqual({ id: "", properties: props });
    // A real create afterwards: once its line is in, a call made before it would have logged already.
    await host.create(urn("marker"), { __provider: providerText, name: "marker" });
    await host.waitForLog("creating marker");
    expect(host.logs).not.toContain("creating previewed");
  });

  test("Diff, Update, Read and Delete reach the provider", async () => {
    const olds = { __provider: providerText, name: "c", size: 1 };
    expect(await host.diff("user-c", urn("c"), olds, { ...olds, size: 2 })).toMatchObject({
      changes: "some",
      replaces: [],
    });
    expect(await host.diff("user-c", urn("c"), olds, olds)).toMatchObject({ changes: "none" });
    expect((await host.diff("user-c", urn("c"), olds, { ...olds, name: "d" })).replaces).toEqual(["name"]);
    expect((await host.update("user-c", urn("c"), olds, { ...olds, size: 2 })).properties).toMatchObject({
      size: 2,
      updated: true,
    });
    const read = await host.read("user-c", urn("c"), olds);
    expect(read.id).toBe("user-c");
    expect(read.properties).toMatchObject({ refreshed: true, __provider: providerText });
    await expect(host.delete("user-c", urn("c"), olds)).resolves.toBeUndefined();
  });

  test("a provider's error comes back as a ProviderHostError carrying its message", async () => {
    const failed = host.create(urn("e"), { __provider: providerText, name: "e", fail: true });
    await expect(failed).rejects.toThrow(ProviderHostError);
    await expect(failed).rejects.toThrow("Create failed: create refused: fail was set");
    await expect(host.delete("x", urn("x"), { __provider: providerText, failDelete: true })).rejects.toThrow(
      "delete refused",
    );
  });

  test("reveal strips the secret wrappers for comparisons", () => {
    expect(reveal({ a: [secret(1)], b: secret({ c: "d" }) })).toEqual({ a: [1], b: { c: "d" } });
  });
});

describe("startProviderHost lifecycle", () => {
  test("a resource call before Configure configures with an empty config first, as the engine always does", async () => {
    const project = createConsumerProject();
    const host = await startProviderHost({ cwd: project.dir, env: { PATH: process.env.PATH } });
    try {
      const text = await serializeProvider(userProvider);
      const created = await host.create(host.urn("pulumi-nodejs:dynamic:Resource", "n"), {
        __provider: text,
        name: "n",
      });
      expect(created.properties.config).toEqual({ region: null, token: null });
    } finally {
      await host.close();
      project.remove();
    }
  });

  test("close() stops the host process and can be called twice", async () => {
    const project = createConsumerProject();
    try {
      const host = await startProviderHost({ cwd: project.dir, env: { PATH: process.env.PATH } });
      const pid = host.pid;
      expect(() => process.kill(pid, 0)).not.toThrow();
      await host.close();
      expect(() => process.kill(pid, 0)).toThrow();
      await host.close();
      await expect(host.check("urn:pulumi:dev::p::t::n", {}, {})).rejects.toThrow("closed");
    } finally {
      project.remove();
    }
  });
});
