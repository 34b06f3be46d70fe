/**
 * The top-level Pulumi.yaml, loaded as `pulumi up` loads it: the engine's rule for `main` (a directory
 * becomes the working directory with the program `.`, a file its directory and the file), then the SDK's
 * own `run` from `@pulumi/pulumi/cmd/run`, which resolves the entry point and loads the program through
 * ts-node with the tsconfig.json of that directory. The example program must be what gets loaded, and it
 * must type-check with its own tsconfig.json.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const CHECKOUT = resolve(__dirname, "../..");
const run = promisify(execFile);

interface SdkRun {
  pwd: string;
  program: string;
  loaded?: string[];
  resources: Array<{ type: string; name: string }>;
  outputs?: string[];
  error?: string;
}

async function sdkRun(main: string): Promise<SdkRun> {
  const { stdout } = await run(process.execPath, [join(__dirname, "support/sdk-run.js"), CHECKOUT, main], {
    cwd: CHECKOUT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as SdkRun;
}

function mainOf(): string {
  const yaml = readFileSync(join(CHECKOUT, "Pulumi.yaml"), "utf8");
  expect(yaml).toMatch(/^runtime: nodejs$/m);
  const main = /^main: (\S+)$/m.exec(yaml)?.[1];
  expect(main).toBeDefined();
  return main!;
}

test("pulumi up of Pulumi.yaml loads examples/pulumi/index.ts, type-checked, and registers its three resources", async () => {
  const result = await sdkRun(mainOf());
  expect(result.error).toBeUndefined();
  expect(result.pwd).toBe(join(CHECKOUT, "examples/pulumi"));
  // The program the SDK required is the example, compiled from TypeScript; nothing of dist/ but the package.
  expect(result.loaded).toContain(join(CHECKOUT, "examples/pulumi/index.ts"));
  expect(result.loaded!.filter((f) => f.startsWith(join(CHECKOUT, "examples")))).toEqual([
    join(CHECKOUT, "examples/pulumi/index.ts"),
  ]);
  expect(result.resources).toEqual([
    { type: "pulumi:pulumi:Stack", name: "dcs-sessions-example-dev" },
    { type: "pulumi-nodejs:dynamic/dcs-sessions:SessionScan", name: "before" },
    { type: "pulumi-nodejs:dynamic/dcs-sessions:SessionPurge", name: "purge" },
    { type: "pulumi-nodejs:dynamic/dcs-sessions:SessionScan", name: "after" },
  ]);
  expect(result.outputs).toEqual([
    "purgeStatus",
    "sessionsAfter",
    "sessionsBefore",
    "sessionsByClientIp",
    "sessionsLeft",
  ]);
});

test("a main naming only the folder would load the package's dist/index.js instead (why main names the file)", async () => {
  const result = await sdkRun("examples/pulumi/");
  expect(result.program).toBe(".");
  expect(result.loaded).toContain(join(CHECKOUT, "dist/index.js"));
  expect(result.loaded).not.toContain(join(CHECKOUT, "examples/pulumi/index.ts"));
  expect(result.resources.map((r) => r.name)).toEqual(["dcs-sessions-example-dev"]);
});

test("examples/pulumi type-checks on its own, with its own tsconfig.json", async () => {
  const tsc = require.resolve("typescript/bin/tsc");
  const { stdout } = await run(process.execPath, [tsc, "-p", "examples/pulumi/tsconfig.json", "--noEmit"], {
    cwd: CHECKOUT,
  }).catch((error: { stdout?: string }) => ({ stdout: `FAILED\n${error.stdout ?? ""}` }));
  expect(stdout).toBe("");
});
