/**
 * A TypeScript project that installs dcs-sessions type-checks its imports of every entry point under each
 * module resolution a user may have: `node` (what `pulumi new typescript` writes; it reads `typesVersions`,
 * not `exports`), `node16` and `bundler` (which read `exports`). The project links this checkout (built
 * dist/) and the peer dependencies into its node_modules, as an install lays them out.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { createLinkedProject, type LinkedProject } from "../support/linked-project";

const LINKED = ["dcs-sessions", "@pulumi", "cdktf", "constructs", "@types", "@grpc"];

const PROGRAM = `import { createClient, scanSessions, type SessionSnapshot } from "dcs-sessions";
import { SessionPurge, SessionScan } from "dcs-sessions/pulumi";
import { SessionScan as ScanConstruct } from "dcs-sessions/cdktf";
import { startEmulator, type EmulatorHandle } from "dcs-sessions/emulator";
import { startProviderHost, type ProviderHost } from "dcs-sessions/testing";

export async function check(emulator: EmulatorHandle, host: ProviderHost): Promise<number> {
  const client = createClient({ endpoint: emulator.endpoint, projectId: emulator.projectId });
  const snapshot: SessionSnapshot = await scanSessions({ instanceId: emulator.instanceId, client });
  const scan = new SessionScan("before", { instanceId: emulator.instanceId });
  const purge = new SessionPurge("purge", { instanceId: emulator.instanceId, allNodes: true, maxSessions: 10 });
  void [scan.totalSessions, purge.status, ScanConstruct, startEmulator, startProviderHost, host.port];
  // A wrong type must be an error, or the check proves nothing: totalSessions is a number.
  const total: number = snapshot.totalSessions;
  return total;
}
`;

const BROKEN = `import { scanSessions } from "dcs-sessions";
export const wrong: string = scanSessions;
`;

/**
 * The compiler options each resolution is used with; the first is the tsconfig.json of `pulumi new
 * typescript`. `skipLibCheck` is set: without it, tsc (not `pulumi up`, whose ts-node reports only the
 * program's own diagnostics) also reports errors inside zod 4's declarations under `module: commonjs`
 * without `esModuleInterop` (see docs/troubleshooting.md).
 */
const SETTINGS: Record<string, Record<string, unknown>> = {
  node: {
    strict: true,
    outDir: "bin",
    target: "es2020",
    module: "commonjs",
    moduleResolution: "node",
    sourceMap: true,
    experimentalDecorators: true,
    pretty: true,
    noFallthroughCasesInSwitch: true,
    noImplicitReturns: true,
    forceConsistentCasingInFileNames: true,
  },
  node16: { strict: true, target: "es2022", module: "node16", moduleResolution: "node16", outDir: "bin" },
  bundler: { strict: true, target: "es2022", module: "esnext", moduleResolution: "bundler", outDir: "bin" },
};

let consumer: LinkedProject | undefined;
let dir: string;

beforeAll(() => {
  consumer = createLinkedProject("dcs-sessions-types-", { name: "consumer", private: true }, LINKED);
  dir = consumer.dir;
  writeFileSync(join(dir, "index.ts"), PROGRAM);
  writeFileSync(join(dir, "broken.ts"), BROKEN);
  for (const [name, compilerOptions] of Object.entries(SETTINGS)) {
    writeFileSync(
      join(dir, `tsconfig.${name}.json`),
      JSON.stringify({
        compilerOptions: { ...compilerOptions, skipLibCheck: true, noEmit: true },
        files: ["index.ts", "broken.ts"],
      }),
    );
  }
});

afterAll(() => consumer?.remove());

async function tsc(project: string): Promise<string> {
  const compiler = require.resolve("typescript/bin/tsc");
  try {
    await promisify(execFile)(process.execPath, [compiler, "-p", project, "--pretty", "false"], {
      cwd: dir,
      timeout: 170_000,
    });
    return "";
  } catch (error) {
    return String((error as { stdout?: string }).stdout || error);
  }
}

test.each(Object.keys(SETTINGS))(
  "every entry point type-checks under moduleResolution %s, and a type error is still caught",
  async (name) => {
    // The only error is the deliberate one: every import resolved, with its types.
    const output = (await tsc(`tsconfig.${name}.json`)).trim().split("\n");
    expect(output).toEqual([expect.stringMatching(/^broken\.ts\(2,14\): error TS2322: /)]);
  },
  180_000,
);
