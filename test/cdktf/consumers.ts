/**
 * Temporary consumer projects, laid out as npm would install them, from the packages of this checkout:
 * each dependency a link into the checkout's node_modules (so a consumer has exactly the libraries it
 * names), its `bin` entries in node_modules/.bin, and `dcs-sessions` either copied (an ordinary install:
 * nothing of the checkout's node_modules is reachable from it) or linked (`npm link`, `file:`).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CHECKOUT } from "../cli/support";

const MODULES = join(CHECKOUT, "node_modules");

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  bin?: string | Record<string, string>;
}

function readPackage(dir: string): PackageJson & { name: string } {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson & { name: string };
}

function linkBins(project: string, pkgDir: string): void {
  const pkg = readPackage(pkgDir);
  const bins = typeof pkg.bin === "string" ? { [pkg.name.split("/").pop()!]: pkg.bin } : (pkg.bin ?? {});
  const binDir = join(project, "node_modules", ".bin");
  mkdirSync(binDir, { recursive: true });
  for (const [name, file] of Object.entries(bins)) symlinkSync(join(pkgDir, file), join(binDir, name));
}

/** Links `name` from the checkout's node_modules into the project's (with its bins). */
function linkPackage(project: string, name: string): void {
  const target = join(project, "node_modules", name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(join(MODULES, name), target, "dir");
  linkBins(project, join(MODULES, name));
}

/** The runtime dependencies of dcs-sessions: what an install of the package brings along. */
function runtimeDependencies(): string[] {
  return Object.keys(readPackage(CHECKOUT).dependencies ?? {});
}

export interface ConsumerOptions {
  /** Packages the consumer installs besides dcs-sessions (e.g. `["cdktn", "constructs"]`). */
  packages: string[];
  /** `copy`: as `npm install dcs-sessions`; `link`: as `npm link` or a `file:` dependency. */
  dcsSessions: "copy" | "link";
  /** Files of the project, by relative path. */
  files?: Record<string, string>;
  /** A directory to copy as the project (its package.json names the packages). */
  from?: string;
}

/** Creates the project in a new temporary directory and returns its path. The caller removes it. */
export function makeConsumer(options: ConsumerOptions): string {
  const project = mkdtempSync(join(tmpdir(), "dcs-sessions-consumer-"));
  if (options.from) {
    cpSync(options.from, project, {
      recursive: true,
      filter: (src) => !/(^|\/)(node_modules|dist|cdktf\.out)$/.test(src),
    });
  }
  for (const [file, text] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(project, file)), { recursive: true });
    writeFileSync(join(project, file), text);
  }
  mkdirSync(join(project, "node_modules"), { recursive: true });
  for (const name of options.packages) linkPackage(project, name);
  const installed = join(project, "node_modules", "dcs-sessions");
  if (options.dcsSessions === "link") {
    symlinkSync(CHECKOUT, installed, "dir");
  } else {
    mkdirSync(installed);
    cpSync(join(CHECKOUT, "package.json"), join(installed, "package.json"));
    cpSync(join(CHECKOUT, "dist"), join(installed, "dist"), { recursive: true });
    for (const name of runtimeDependencies()) {
      if (!options.packages.includes(name)) linkPackage(project, name);
    }
  }
  linkBins(project, installed);
  return project;
}
