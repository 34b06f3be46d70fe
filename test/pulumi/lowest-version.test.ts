/**
 * The lowest `@pulumi/pulumi` of the peer range, as a user's project installs it: its own dynamic-provider
 * host, its own closure serializer, and dcs-sessions installed next to it (a copy of package.json and
 * dist/, so that our provider loads that SDK and not this checkout's). Its host must forward the stack
 * config to the provider's `configure`: the `huaweicloud:*` keys are the only credentials the provider gets.
 * Under CI=true a missing install fails; elsewhere the suite is skipped with the command that installs it.
 */
import { execFile } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { startEmulator } from "../../src/emulator/server";
import type { EmulatorHandle } from "../../src/emulator/types";
import {
  dynamicProviderHostPath,
  secret,
  startProviderHost,
  type ProviderHost,
} from "../../src/testing/provider-host";
import { findLowestPulumi, installHint, lowestPulumiVersion } from "./support/lowest";

const CHECKOUT = resolve(__dirname, "../..");
const RUNTIME_DEPENDENCIES = ["commander", "ioredis", "undici", "zod"];
const lowest = findLowestPulumi();

/** A project folder: the lowest SDK's install linked in, dcs-sessions copied (its own dependencies linked). */
function consumerWith(pulumiDir: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "dcs-sessions-lowest-")));
  const modules = join(dir, "node_modules");
  mkdirSync(modules);
  for (const name of readdirSync(join(pulumiDir, "node_modules"))) {
    if (name.startsWith(".")) continue;
    symlinkSync(join(pulumiDir, "node_modules", name), join(modules, name), "dir");
  }
  const ours = join(modules, "dcs-sessions");
  mkdirSync(join(ours, "node_modules"), { recursive: true });
  cpSync(join(CHECKOUT, "package.json"), join(ours, "package.json"));
  cpSync(join(CHECKOUT, "dist"), join(ours, "dist"), { recursive: true });
  for (const name of RUNTIME_DEPENDENCIES) {
    symlinkSync(join(CHECKOUT, "node_modules", name), join(ours, "node_modules", name), "dir");
  }
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  return dir;
}

/** `__provider` as that SDK's `pulumi.dynamic.Resource` writes it, in the project folder. */
async function serializedWithThatSdk(dir: string): Promise<string> {
  const script = `
    const pulumi = require("@pulumi/pulumi");
    const target = require("dcs-sessions/pulumi").serializedProviders.SessionScan;
    pulumi.runtime.serializeFunction(() => target, { allowSecrets: true })
      .then((s) => process.stdout.write(JSON.stringify({ version: require("@pulumi/pulumi/package.json").version, text: s.text })));`;
  const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], { cwd: dir });
  const { version, text } = JSON.parse(stdout) as { version: string; text: string };
  expect(version).toBe(lowestPulumiVersion());
  return text;
}

if (!lowest && process.env.CI === "true") {
  test(`@pulumi/pulumi ${lowestPulumiVersion()} is installed for this test (required under CI=true)`, () => {
    throw new Error(`the lowest @pulumi/pulumi of the peer range is missing; install it: ${installHint()}`);
  });
} else if (!lowest) {
  console.warn(`Skipping the lowest-@pulumi/pulumi test; install it: ${installHint()}`);
  test.skip(`the lowest @pulumi/pulumi [skipped: not installed; ${installHint()}]`, () => undefined);
} else {
  describe(`the dynamic-provider host of @pulumi/pulumi ${lowest.version}, the lowest of the peer range`, () => {
    let dir: string;
    let emulator: EmulatorHandle;
    let providerText: string;
    const hosts: ProviderHost[] = [];

    beforeAll(async () => {
      dir = consumerWith(lowest.dir);
      emulator = await startEmulator({ synthetic: { nodes: 2, sessionsPerNode: 25, seed: 3 }, jobMs: 20 });
      providerText = await serializedWithThatSdk(dir);
    });

    afterAll(async () => {
      await Promise.all(hosts.map((h) => h.close()));
      await emulator?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function host(): Promise<ProviderHost> {
      // Only the endpoint comes from the environment: credentials, region and project only from config.
      const started = await startProviderHost({
        cwd: dir,
        env: { PATH: process.env.PATH, HW_DCS_ENDPOINT: emulator.endpoint },
      });
      hosts.push(started);
      return started;
    }

    async function scan(h: ProviderHost) {
      const urn = h.urn("pulumi-nodejs:dynamic/dcs-sessions:SessionScan", "before");
      const checked = await h.check(urn, {}, { instanceId: emulator.instanceId, __provider: providerText });
      expect(checked.failures).toEqual([]);
      return h.create(urn, checked.inputs);
    }

    test("is that version's own host script", () => {
      expect(realpathSync(dynamicProviderHostPath(dir))).toBe(
        realpathSync(join(lowest.dir, "node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js")),
      );
    });

    test("passes the huaweicloud:* stack config to configure, and a scan runs with it", async () => {
      const h = await host();
      await h.configure({
        "huaweicloud:region": emulator.region,
        "huaweicloud:projectId": emulator.projectId,
        "huaweicloud:accessKey": emulator.accessKey,
        "huaweicloud:secretKey": secret(emulator.secretKey),
      });
      const created = await scan(h);
      expect(created.properties.totalSessions).toBe(50);
      expect(JSON.stringify(created.properties)).not.toContain(emulator.secretKey);
    });

    test("without that config (what a host that never calls configure gives) the scan finds no credentials", async () => {
      const h = await host();
      await h.configure({});
      await expect(scan(h)).rejects.toThrow(/credentials/i);
    });
  });
}
