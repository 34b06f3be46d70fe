/**
 * A throwaway Pulumi project folder laid out as a user's install: `node_modules/dcs-sessions` (this checkout)
 * and `node_modules/@pulumi` (its Pulumi SDK). The provider host runs there and resolves the serialized
 * providers' `require("dcs-sessions/pulumi")` from it, through the package's `exports` map into dist/.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { createLinkedProject, type LinkedProject } from "../../support/linked-project";

export const CHECKOUT = resolve(__dirname, "../../..");

export type ConsumerProject = LinkedProject;

/** Fails early, with the command to run, when dist/ is missing or older than the Pulumi sources. */
function assertBuilt(): void {
  const built = join(CHECKOUT, "dist/pulumi/index.js");
  const hint = "build it first: npx tsc -p tsconfig.build.json";
  if (!existsSync(built)) throw new Error(`dist/pulumi is missing; ${hint}`);
  const builtAt = statSync(built).mtimeMs;
  const sources = readdirSync(join(CHECKOUT, "src/pulumi")).map((f) => join(CHECKOUT, "src/pulumi", f));
  const stale = sources.find((f) => statSync(f).mtimeMs > builtAt);
  if (stale) throw new Error(`dist/ is older than ${stale}; ${hint}`);
}

export function createConsumerProject(): ConsumerProject {
  assertBuilt();
  return createLinkedProject(
    "dcs-sessions-consumer-",
    { name: "consumer", private: true, dependencies: { "@pulumi/pulumi": "*", "dcs-sessions": "*" } },
    ["dcs-sessions", "@pulumi"],
  );
}
