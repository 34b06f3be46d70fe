/**
 * A throwaway project folder laid out as a user's install, without an install: `node_modules/dcs-sessions`
 * links this checkout (its built dist/, through the package's `exports`) and each other named package links
 * the checkout's own copy. Removal unlinks first, so that it never walks into the checkout through a link.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const CHECKOUT = resolve(__dirname, "../..");

export interface LinkedProject {
  /** The project folder (its real path). */
  dir: string;
  remove(): void;
}

/** `prefix` names the temporary folder; `packageJson` is written as the project's package.json. */
export function createLinkedProject(
  prefix: string,
  packageJson: Record<string, unknown>,
  linked: readonly string[],
): LinkedProject {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  mkdirSync(join(dir, "node_modules"));
  const links: string[] = [];
  for (const name of linked) {
    const link = join(dir, "node_modules", name);
    symlinkSync(name === "dcs-sessions" ? CHECKOUT : join(CHECKOUT, "node_modules", name), link, "dir");
    links.push(link);
  }
  writeFileSync(join(dir, "package.json"), JSON.stringify(packageJson));
  return {
    dir,
    remove: () => {
      for (const link of links) if (existsSync(link)) unlinkSync(link);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
