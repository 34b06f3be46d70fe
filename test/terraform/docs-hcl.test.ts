/**
 * The HCL that README.md and docs/terraform.md show for the provider is valid for the provider as built:
 * each `hcl` block that uses `dcssessions_*` is initialized from the mirror `install-provider` filled and
 * passes `terraform validate` (attribute names, types and the provider's own checks), with the variables it
 * reads declared when a fragment does not declare them. A version the docs pin is the package's.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageVersion } from "../../src/cli/program";
import { assertBuilt, CHECKOUT } from "../cli/support";
import { describeWithTerraform, requiredProviders, TerraformWorkspace } from "./support";

jest.setTimeout(300_000);

const FILES = ["README.md", "docs/terraform.md"];

/** The `hcl` fenced blocks of a Markdown file that use this provider, with the line each starts on. */
function providerBlocks(file: string): Array<{ where: string; hcl: string }> {
  const text = readFileSync(join(CHECKOUT, file), "utf8");
  const blocks: Array<{ where: string; hcl: string }> = [];
  for (const m of text.matchAll(/^```hcl\n([\s\S]*?)^```$/gm)) {
    const line = text.slice(0, m.index).split("\n").length;
    if (/\bdcssessions_(scan|purge)\b/.test(m[1]!)) blocks.push({ where: `${file}:${line}`, hcl: m[1]! });
  }
  return blocks;
}

/** A fragment made a whole configuration: the provider's requirement and the variables it reads. */
function wholeConfiguration(hcl: string): string {
  const parts: string[] = [];
  if (!hcl.includes("required_providers")) parts.push(requiredProviders());
  const declared = new Set([...hcl.matchAll(/^variable "(\w+)"/gm)].map((m) => m[1]));
  const used = new Set([...hcl.matchAll(/\bvar\.(\w+)/g)].map((m) => m[1]!));
  for (const name of used) if (!declared.has(name)) parts.push(`variable "${name}" { type = string }`);
  parts.push(hcl);
  return parts.join("\n");
}

const BLOCKS = FILES.flatMap(providerBlocks);

test("the docs show the provider in HCL (README.md and docs/terraform.md)", () => {
  expect(BLOCKS.map((b) => b.where.split(":")[0])).toEqual(expect.arrayContaining(FILES));
  for (const { where, hcl } of BLOCKS) {
    for (const [, version] of hcl.matchAll(/dcs-sessions\/dcssessions",\s*version\s*=\s*"([^"]+)"/g)) {
      expect([where, version]).toEqual([where, packageVersion()]);
    }
  }
});

describeWithTerraform("the HCL of the docs under terraform validate", () => {
  let ws: TerraformWorkspace;

  beforeAll(async () => {
    assertBuilt();
    ws = await TerraformWorkspace.create();
  });
  afterAll(() => ws?.remove());

  test.each(BLOCKS.map((b) => [b.where, b.hcl] as const))("%s", async (where, hcl) => {
    const dir = ws.stack(where.replace(/\W+/g, "-"), wholeConfiguration(hcl));
    await ws.ok(dir, ["init", "-input=false", "-no-color"]);
    const validated = await ws.terraform(dir, ["validate", "-no-color"]);
    expect({ where, code: validated.code, stderr: validated.stderr }).toEqual({ where, code: 0, stderr: "" });
    expect(ws.leftoverProcesses()).toEqual([]);
  });
});
