/**
 * The README's TypeScript examples compile against the package as a user installs it, so that a renamed
 * input or output cannot leave the front page showing code that no longer type-checks. The Pulumi example
 * is a whole program and is checked as written; the CDKTF one is the body of a stack's constructor, so it is
 * checked inside the smallest stack that gives it what it uses (`this` and an `instanceId` variable). The
 * project links this checkout (built dist/) and the peers into its node_modules, as an install lays them
 * out. (The README's shell commands are run by test/package/docs-commands.test.ts.)
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { CHECKOUT, assertBuilt } from "../cli/support";
import { createLinkedProject, type LinkedProject } from "../support/linked-project";

const LINKED = ["dcs-sessions", "@pulumi", "cdktn", "constructs", "@types", "@grpc"];

/** The ```ts blocks of README.md, by the `## ` section they are in. */
function typescriptBlocks(markdown: string): Array<{ section: string; code: string }> {
  const blocks: Array<{ section: string; code: string }> = [];
  let section = "";
  const fence = /^```(\S*)\n([\s\S]*?)^```$/gm;
  let last = 0;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    const headings = [...markdown.slice(last, m.index).matchAll(/^## (.+)$/gm)];
    if (headings.length > 0) section = headings.at(-1)![1]!;
    last = m.index;
    if (m[1] === "ts" || m[1] === "typescript") blocks.push({ section, code: m[2]! });
  }
  return blocks;
}

/** The CDKTF example inside a stack: the imports and the variable it uses but does not show. */
function cdktfStack(body: string): string {
  const indented = body
    .trimEnd()
    .split("\n")
    .map((line) => (line ? `    ${line}` : line))
    .join("\n");
  return `import { TerraformOutput, TerraformStack, TerraformVariable } from "cdktn";
import type { Construct } from "constructs";
import { SessionPurge, SessionScan } from "dcs-sessions/cdktf";

export class ReadmeStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const instanceId = new TerraformVariable(this, "instance_id", { type: "string" });
${indented}
  }
}
`;
}

/** A wrong type must be an error, or the check proves nothing. */
const BROKEN = `import { SessionPurge } from "dcs-sessions/pulumi";
export const wrong: string = new SessionPurge("p", { instanceId: "i", allNodes: true }).sessionsAfter;
`;

const blocks = typescriptBlocks(readFileSync(join(CHECKOUT, "README.md"), "utf8"));
let project: LinkedProject | undefined;
let dir: string;

beforeAll(() => {
  assertBuilt();
  project = createLinkedProject("dcs-sessions-readme-", { name: "readme-examples", private: true }, LINKED);
  dir = project.dir;
});

afterAll(() => project?.remove());

async function typeCheck(files: Record<string, string>): Promise<string[]> {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "es2022",
        module: "node16",
        moduleResolution: "node16",
        skipLibCheck: true,
        noEmit: true,
        types: [],
      },
      files: Object.keys(files),
    }),
  );
  const tsc = require.resolve("typescript/bin/tsc");
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [tsc, "-p", "tsconfig.json", "--pretty", "false"],
    {
      cwd: dir,
      timeout: 170_000,
    },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }));
  return stdout.trim() === "" ? [] : stdout.trim().split("\n");
}

test("the README shows one TypeScript example for Pulumi and one for CDKTF (Terraform's is HCL)", () => {
  expect(blocks.map((b) => b.section)).toEqual(["Pulumi", "CDKTF"]);
  expect(blocks[0]!.code).toContain('from "dcs-sessions/pulumi"');
  expect(blocks[1]!.code).toMatch(/new SessionPurge\(this,/);
});

test("both examples type-check against the built package, and a type error would be caught", async () => {
  const errors = await typeCheck({
    "pulumi.ts": blocks[0]!.code,
    "cdktf.ts": cdktfStack(blocks[1]!.code),
    "broken.ts": BROKEN,
  });
  expect(errors).toEqual([expect.stringMatching(/^broken\.ts\(2,14\): error TS2322: /)]);
}, 180_000);
