/**
 * The constructs in projects that install only CDK Terrain (cdktn) or only cdktf, with dcs-sessions installed
 * as npm installs it (a copy: the checkout's own cdktf/cdktn are out of reach): the app synthesizes. The
 * cdktn app is TypeScript, compiled against the package's declarations with the default module resolution
 * of a CommonJS project; the cdktf app is plain JavaScript. The declarations the cdktf entry point reaches
 * import neither library (a project with only one of them type-checks even with `skipLibCheck: false`).
 */
import { dirname } from "node:path";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PROVIDER_VERSION } from "../../src/cdktf";
import { CHECKOUT, assertBuilt, runProcess } from "../cli/support";
import { makeConsumer } from "./consumers";

/** Every module a declaration file imports, followed from `entry` through relative imports. */
function declarationImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const modules = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, "utf8").matchAll(/from "([^"]+)"/g)) {
      if (spec!.startsWith(".")) visit(join(dirname(file), `${spec}.d.ts`));
      else modules.add(spec!);
    }
  };
  visit(entry);
  return modules;
}

test("the declarations dcs-sessions/cdktf reaches import neither cdktf nor cdktn", () => {
  assertBuilt();
  const modules = declarationImports(join(CHECKOUT, "dist", "cdktf", "index.d.ts"));
  expect(modules).toContain("constructs");
  expect([...modules].filter((m) => /^cdkt[fn]($|\/)/.test(m))).toEqual([]);
});

/** The JSON without cdktf's `//` metadata entries. */
function withoutMetadata(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "//"));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed Terraform JSON, read by path
type Json = Record<string, any>;

const TSC = join(CHECKOUT, "node_modules", "typescript", "bin", "tsc");

function app(lib: string, other: string, typescript: boolean): string {
  const imports = typescript
    ? `import { App, TerraformOutput, TerraformStack } from "${lib}";
import { DcsSessionsProvider, SessionPurge, SessionScan } from "dcs-sessions/cdktf";`
    : `const { App, TerraformOutput, TerraformStack } = require("${lib}");
const { DcsSessionsProvider, SessionPurge, SessionScan } = require("dcs-sessions/cdktf");`;
  return `${imports}

// The other library must be out of reach, from here and from the installed package.
for (const from of [__dirname, require.resolve("dcs-sessions/cdktf")]) {
  let found = "";
  try {
    found = require.resolve("${other}", { paths: [from] });
  } catch {
    // expected
  }
  if (found) throw new Error("${other} is reachable from " + from + ": " + found);
}

const app = new App({ outdir: process.argv[2] });
const stack = new TerraformStack(app, "consumer");
new DcsSessionsProvider(stack, "dcssessions", { region: "eu-west-101" });
const scan = new SessionScan(stack, "scan", { instanceId: "inst-1", topN: 3 });
const purge = new SessionPurge(stack, "purge", {
  instanceId: "inst-1",
  allNodes: true,
  triggers: { release: "1" },
  dependsOn: [scan],
});
const total${typescript ? ": number" : ""} = scan.totalSessions;
new TerraformOutput(stack, "total", { value: total });
new TerraformOutput(stack, "after", { value: purge.sessionsAfter });
app.synth();
`;
}

const TSCONFIG = JSON.stringify({
  compilerOptions: {
    target: "ES2022",
    module: "commonjs",
    strict: true,
    noEmitOnError: true,
    esModuleInterop: true,
    skipLibCheck: true,
    types: ["node"],
    outDir: "dist",
  },
  files: ["main.ts"],
});

describe.each([
  ["cdktn", "cdktf", true],
  ["cdktf", "cdktn", false],
])("a project with only %s", (lib, other, typescript) => {
  let project = "";

  beforeAll(() => {
    assertBuilt();
    project = makeConsumer({
      packages: [lib, "constructs", "@types/node"],
      dcsSessions: "copy",
      files: typescript
        ? { "main.ts": app(lib, other, true), "tsconfig.json": TSCONFIG }
        : { "dist/main.js": app(lib, other, false) },
    });
  });

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  test("synthesizes the provider's scan and purge (after compiling, for TypeScript)", async () => {
    if (typescript) {
      const built = await runProcess(process.execPath, [TSC, "-p", join(project, "tsconfig.json")], {
        timeoutMs: 280_000,
      });
      expect(built.stdout + built.stderr).toBe("");
      expect(built.code).toBe(0);
    }

    const outdir = join(project, "out");
    const run = await runProcess(process.execPath, [join(project, "dist", "main.js"), outdir], {
      timeoutMs: 120_000,
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const file = join(outdir, "stacks", "consumer", "cdk.tf.json");
    expect(existsSync(file)).toBe(true);
    const json = JSON.parse(readFileSync(file, "utf8")) as Json;
    expect(json.terraform.required_providers.dcssessions).toEqual({
      source: "dcs-sessions/dcssessions",
      version: PROVIDER_VERSION,
    });
    expect(json.provider.dcssessions).toEqual([{ region: "eu-west-101" }]);
    const [scanName, scan] = Object.entries(json.data.dcssessions_scan as Record<string, Json>)[0]!;
    expect(withoutMetadata(scan)).toEqual({ instance_id: "inst-1", top_n: 3 });
    const [purgeName, purge] = Object.entries(json.resource.dcssessions_purge as Record<string, Json>)[0]!;
    expect(withoutMetadata(purge)).toEqual({
      instance_id: "inst-1",
      all_nodes: true,
      triggers: { release: "1" },
      depends_on: [`data.dcssessions_scan.${scanName}`],
    });
    expect(json.output.total.value).toBe(`\${data.dcssessions_scan.${scanName}.total_sessions}`);
    expect(json.output.after.value).toBe(`\${dcssessions_purge.${purgeName}.sessions_after}`);
  }, 300_000);
});
