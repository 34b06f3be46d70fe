/** Machine output: exactly one JSON document on stdout, the Pulumi output names in camelCase. */
import type { OutputStream } from "../context";

export function writeJson(stdout: OutputStream, document: unknown): void {
  stdout.write(`${JSON.stringify(document, null, 2)}\n`);
}
