/**
 * The lowest `@pulumi/pulumi` of the peer range, installed on its own by `.ci/run` (`npm install` into a
 * folder of its own, default `~/.cache/dcs-sessions/pulumi-<version>`, `DCS_SESSIONS_PULUMI_LOWEST` to
 * change it), so that a test can drive that version's dynamic-provider host.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

const CHECKOUT = resolve(__dirname, "../../..");

/** The lower bound of the `@pulumi/pulumi` peer range in package.json (`^3.139.0` → `3.139.0`). */
export function lowestPulumiVersion(): string {
  const pkg = JSON.parse(readFileSync(join(CHECKOUT, "package.json"), "utf8")) as {
    peerDependencies: Record<string, string>;
  };
  const range = pkg.peerDependencies["@pulumi/pulumi"] ?? "";
  const version = /^\^(\d+\.\d+\.\d+)$/.exec(range)?.[1];
  if (!version) throw new Error(`the @pulumi/pulumi peer range should be ^X.Y.Z, not ${range}`);
  return version;
}

export function lowestPulumiDir(version = lowestPulumiVersion()): string {
  return (
    process.env.DCS_SESSIONS_PULUMI_LOWEST ?? join(homedir(), ".cache/dcs-sessions", `pulumi-${version}`)
  );
}

/** The install folder when it holds that version, else undefined. */
export function findLowestPulumi(): { dir: string; version: string } | undefined {
  const version = lowestPulumiVersion();
  const dir = lowestPulumiDir(version);
  const manifest = join(dir, "node_modules/@pulumi/pulumi/package.json");
  if (!existsSync(manifest)) return undefined;
  const installed = (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
  return installed === version ? { dir, version } : undefined;
}

export function installHint(version = lowestPulumiVersion()): string {
  const dir = lowestPulumiDir(version);
  return `mkdir -p ${dir} && npm install --prefix ${dir} --ignore-scripts @pulumi/pulumi@${version} (bash .ci/run does it)`;
}
