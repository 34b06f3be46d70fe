/**
 * A throwaway Pulumi project folder laid out as a user's install: `node_modules/dcs-sessions` (this checkout)
 * and `node_modules/@pulumi` (its Pulumi SDK). The provider host runs there and resolves the serialized
 * providers' `require("dcs-sessions/pulumi")` from it, through the package's `exports` map into dist/.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  readdirSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const CHECKOUT = resolve(__dirname, "../../..");

export interface ConsumerProject {
  /** The project folder (its real path). */
  dir: string;
  remove(): void;
}

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
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "dcs-sessions-consumer-")));
  const modules = join(dir, "node_modules");
  mkdirSync(modules);
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      name: "consumer",
      private: true,
      dependencies: { "@pulumi/pulumi": "*", "dcs-sessions": "*" },
    }),
  );
  const links = [join(modules, "dcs-sessions"), join(modules, "@pulumi")];
  symlinkSync(CHECKOUT, links[0]!, "dir");
  symlinkSync(join(CHECKOUT, "node_modules/@pulumi"), links[1]!, "dir");
  return {
    dir,
    remove: () => {
      // Unlink first: removal must never walk into the checkout through a link.
      for (const link of links) if (existsSync(link)) unlinkSync(link);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
