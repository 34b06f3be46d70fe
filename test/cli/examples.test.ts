/**
 * The CLI command lines of the GitOps examples are valid: each runs (as a dry run) against the emulator
 * and prints one JSON document, so a flag renamed in the CLI cannot silently break the pipelines.
 */
import { readFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import { resolve } from "node:path";
import { runCli } from "../../src/cli/program";
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator";

const EXAMPLES = ["github-actions-cli.yml", "gitlab-ci-cli.yml"];

/** The `dcs-sessions …` words of the example, up to the redirection, with variables substituted. */
function commandOf(file: string, vars: Record<string, string>): string[] {
  const text = readFileSync(resolve(__dirname, "../../examples/gitops", file), "utf8");
  const match = /dcs-sessions (purge[\s\S]*?)> purge-report\.json/.exec(text);
  if (!match) throw new Error(`no dcs-sessions purge command in ${file}`);
  const line = match[1]!
    .replace(/\\\n/g, " ")
    .replace(/\$(\w+)|"\$(\w+)"/g, (_m, a?: string, b?: string) => vars[(a ?? b)!] ?? "");
  // Words, with "double quoted" ones kept whole (the examples use no other quoting).
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

describe("GitOps examples", () => {
  let emulator: EmulatorHandle;

  beforeAll(async () => {
    emulator = await startEmulator({ synthetic: { nodes: 2, sessionsPerNode: 20 }, jobMs: 10 });
  });

  afterAll(async () => {
    await emulator?.close();
  });

  test.each(EXAMPLES)(
    "%s: the purge command line runs as a dry run and prints one JSON document",
    async (file) => {
      const args = commandOf(file, {
        INSTANCE_ID: emulator.instanceId,
        DCS_INSTANCE_ID: emulator.instanceId,
        DRY_RUN: "--dry-run",
      });
      expect(args).toEqual(
        expect.arrayContaining([
          "--all-nodes",
          "--dry-run",
          "--max-sessions",
          "--window",
          "--outside-window",
          "--output",
          "json",
        ]),
      );
      let out = "";
      let err = "";
      const stdin = new PassThrough();
      stdin.end();
      const code = await runCli(["node", "dcs-sessions", ...args, "--quiet"], {
        stdout: { write: (s: string) => (out += s), isTTY: false },
        stderr: { write: (s: string) => (err += s), isTTY: false },
        stdin,
        env: emulator.env,
        now: () => new Date(),
      });
      expect({ code, err }).toEqual({ code: 0, err: "" });
      const report = JSON.parse(out) as { status: string };
      // Inside the window a dry run, outside it a skip: both exit 0, neither kills.
      expect(["dry-run", "skipped-outside-window"]).toContain(report.status);
      expect((await emulator.control.counters()).killAllClients ?? 0).toBe(0);
    },
  );
});
