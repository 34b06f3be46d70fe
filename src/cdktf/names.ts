/** The names of the provider and its types, as Terraform and the mirror know them. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const PROVIDER_NAME = "dcssessions";
export const PROVIDER_SOURCE = "dcs-sessions/dcssessions";
export const SCAN_TYPE = "dcssessions_scan";
export const PURGE_TYPE = "dcssessions_purge";

/** The provider's version is the package's: `install-provider` puts exactly this version in the mirror. */
export const PROVIDER_VERSION: string = (
  JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string }
).version;
