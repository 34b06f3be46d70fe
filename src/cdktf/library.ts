/**
 * Which CDK library a construct tree belongs to: `cdktf`, or its community fork CDK Terrain (`cdktn`), which
 * keeps the same API. Nothing here imports either at load time, so a project with only one of them works.
 * The elements must come from the very module instance that built the user's App (cdktf keeps its token
 * registry per instance), so the library is chosen by `instanceof` on the tree's root, among the copies
 * found from the user's program, the working directory and this package.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import type * as Cdktf from "cdktf";
import type { IConstruct } from "constructs";

/** The API shared by cdktf and cdktn; typed with cdktf's declarations. */
export type CdkLibrary = typeof Cdktf;

export const LIBRARY_PACKAGES = ["cdktf", "cdktn"] as const;

interface FoundLibrary {
  path: string;
  library: CdkLibrary;
}

const loaded = new Map<string, FoundLibrary>();

/** Where to resolve the libraries from, in order: this package first (one copy in an ordinary install). */
function resolutionBases(): string[] {
  const bases = [__filename, join(process.cwd(), "package.json")];
  if (require.main?.filename) bases.push(require.main.filename);
  return bases;
}

function* libraries(): Generator<FoundLibrary> {
  for (const base of resolutionBases()) {
    const requireFrom = createRequire(base);
    for (const name of LIBRARY_PACKAGES) {
      let path: string;
      try {
        path = requireFrom.resolve(name);
      } catch {
        continue;
      }
      let found = loaded.get(path);
      if (!found) {
        found = { path, library: requireFrom(name) as CdkLibrary };
        loaded.set(path, found);
      }
      yield found;
    }
  }
}

/** The cdktf or cdktn module whose App (or stack) holds `scope`. */
export function libraryOf(scope: IConstruct): CdkLibrary {
  const root = scope.node.root;
  const seen: string[] = [];
  for (const { path, library } of libraries()) {
    if (root instanceof library.App || scope.node.scopes.some((s) => s instanceof library.TerraformStack)) {
      return library;
    }
    if (!seen.includes(path)) seen.push(path);
  }
  if (seen.length === 0) {
    throw new Error(
      "dcs-sessions/cdktf needs cdktf or cdktn (CDK Terrain) installed next to it: npm install cdktn constructs",
    );
  }
  throw new Error(
    `the construct "${scope.node.path}" is not in an App or TerraformStack of the cdktf/cdktn copies found ` +
      `(${seen.join(", ")}): create it under a stack of one of them`,
  );
}
