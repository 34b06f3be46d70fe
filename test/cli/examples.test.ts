/**
 * The CLI command lines of the GitOps examples are valid: each runs (as a dry run) against the emulator, in
 * a temporary folder standing for the pipeline's workspace, and writes what the pipeline then shows and keeps
 * (the step summary, the Markdown for a merge-request comment, the HTML report, the JSON), so that a flag
 * renamed in the CLI or a file the artifacts forget cannot silently break the pipelines.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { load } from "js-yaml";
import { runCli } from "../../src/cli/program";
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed pipeline file, read by path
type Yaml = any;

function pipeline(file: string): Yaml {
  return load(readFileSync(resolve(__dirname, "../../examples/gitops", file), "utf8"));
}

interface Example {
  file: string;
  /** The command the example runs: `purge` (the CLI pipelines) or `scan` (the report after `pulumi up`). */
  verb: "purge" | "scan";
  /** The shell text of the command. */
  script: string;
  /** The files the pipeline keeps. */
  artifacts: string[];
}

function githubExample(): Example {
  const doc = pipeline("github-actions-cli.yml");
  const steps = doc.jobs.purge.steps as Yaml[];
  const upload = steps.find((s) => String(s.uses).startsWith("actions/upload-artifact"));
  return {
    file: "github-actions-cli.yml",
    verb: "purge",
    script: steps.find((s) => s.name === "purge (guarded)").run,
    artifacts: String(upload.with.path).trim().split(/\s+/),
  };
}

function gitlabExample(): Example {
  const job = pipeline("gitlab-ci-cli.yml")["redis-sessions-purge"];
  return {
    file: "gitlab-ci-cli.yml",
    verb: "purge",
    script: (job.script as string[]).find((line) => line.includes("dcs-sessions purge"))!,
    artifacts: job.artifacts.paths,
  };
}

/** The Pulumi pipelines: the read-only scan after `pulumi up` that writes the summary and the report. */
function githubPulumiExample(): Example {
  const steps = pipeline("github-actions-pulumi.yml").jobs["pulumi-up"].steps as Yaml[];
  const up = steps.findIndex((s) => String(s.uses).startsWith("pulumi/actions"));
  const report = steps.findIndex((s) => /dcs-sessions scan/.test(String(s.run)));
  const upload = steps.find((s) => String(s.uses).startsWith("actions/upload-artifact"));
  // After the up, and even when it failed; the upload too.
  expect({ up: up >= 0, after: report > up }).toEqual({ up: true, after: true });
  expect([steps[report].if, upload.if]).toEqual(["always()", "always()"]);
  return {
    file: "github-actions-pulumi.yml",
    verb: "scan",
    script: steps[report].run,
    artifacts: String(upload.with.path).trim().split(/\s+/),
  };
}

function gitlabPulumiExample(): Example {
  const job = pipeline("gitlab-ci-pulumi.yml")["redis-sessions-maintenance"];
  const script = job.script as string[];
  const up = script.findIndex((line) => line.startsWith("pulumi up"));
  const report = script.findIndex((line) => line.includes("dcs-sessions scan"));
  expect({ up: up >= 0, after: report > up }).toEqual({ up: true, after: true });
  expect(job.artifacts.when).toBe("always");
  return {
    file: "gitlab-ci-pulumi.yml",
    verb: "scan",
    script: script[report]!,
    artifacts: job.artifacts.paths,
  };
}

/** The `dcs-sessions …` words and the file stdout goes to, with the variables substituted. */
function commandOf(
  script: string,
  verb: Example["verb"],
  vars: Record<string, string>,
): { args: string[]; stdoutFile: string } {
  const match = new RegExp(`dcs-sessions (${verb}[\\s\\S]*?)> (\\S+)`).exec(script);
  if (!match) throw new Error(`no dcs-sessions ${verb} command with a redirection in: ${script}`);
  const line = match[1]!
    .replace(/\\\n/g, " ")
    .replace(/\$(\w+)|"\$(\w+)"/g, (_m, a?: string, b?: string) => vars[(a ?? b)!] ?? "");
  // Words, with "double quoted" ones kept whole (the examples use no other quoting).
  return { args: [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!), stdoutFile: match[2]! };
}

describe("GitOps examples", () => {
  let emulator: EmulatorHandle;
  let workspace: string;

  beforeAll(async () => {
    emulator = await startEmulator({ synthetic: { nodes: 2, sessionsPerNode: 20 }, jobMs: 10 });
  });

  afterAll(async () => {
    await emulator?.close();
  });

  beforeEach(() => {
    workspace = mkdtempSync(join(tmpdir(), "dcs-sessions-gitops-"));
  });

  afterEach(() => {
    rmSync(workspace, { recursive: true, force: true });
  });

  /** Runs the example's command with relative paths in the workspace; stdout is written where it redirects. */
  async function runExample(example: Example, env: Record<string, string> = {}): Promise<string[]> {
    const { args, stdoutFile } = commandOf(example.script, example.verb, {
      INSTANCE_ID: emulator.instanceId,
      DCS_INSTANCE_ID: emulator.instanceId,
      DRY_RUN: "--dry-run",
    });
    if (example.verb === "purge")
      expect(args).toEqual(
        expect.arrayContaining([
          "--all-nodes",
          "--dry-run",
          "--max-sessions",
          "--window",
          "--outside-window",
        ]),
      );
    const report = args.indexOf("--report");
    if (report >= 0) args[report + 1] = join(workspace, args[report + 1]!);
    let out = "";
    let err = "";
    const stdin = new PassThrough();
    stdin.end();
    const code = await runCli(["node", "dcs-sessions", ...args, "--quiet"], {
      stdout: { write: (s: string) => (out += s), isTTY: false },
      stderr: { write: (s: string) => (err += s), isTTY: false },
      stdin,
      env: { ...emulator.env, ...env },
      now: () => new Date(),
    });
    expect({ code, err }).toEqual({ code: 0, err: "" });
    writeFileSync(join(workspace, stdoutFile), out);
    // Every file the pipeline keeps was written.
    for (const file of example.artifacts)
      expect({ file, written: existsSync(join(workspace, file)) }).toEqual({ file, written: true });
    expect((await emulator.control.counters()).killAllClients ?? 0).toBe(0);
    return args;
  }

  /** Inside the window a dry run, outside it a skip: both exit 0, neither kills. */
  const STATUS = /^(dry-run|skipped-outside-window)$/;

  test("github-actions-cli.yml: JSON kept, the Markdown summary on the run's page, the HTML report kept", async () => {
    const example = githubExample();
    const summary = join(workspace, "step-summary.md");
    const args = await runExample(example, { GITHUB_STEP_SUMMARY: summary });
    expect(args).toEqual(expect.arrayContaining(["--output", "json", "--summary", "--report"]));
    expect(example.artifacts).toEqual(["purge-report.json", "purge-report.html"]);
    const report = JSON.parse(readFileSync(join(workspace, "purge-report.json"), "utf8")) as {
      status: string;
    };
    expect(report.status).toMatch(STATUS);
    expect(readFileSync(summary, "utf8")).toContain(`### dcs-sessions purge: ${report.status}\n`);
    expect(readFileSync(join(workspace, "purge-report.html"), "utf8")).toContain(
      `data-field="status">${report.status}</span>`,
    );
  });

  test("gitlab-ci-cli.yml: the Markdown summary for the merge-request comment and the HTML report kept", async () => {
    const example = gitlabExample();
    const args = await runExample(example);
    expect(args).toEqual(expect.arrayContaining(["--output", "markdown", "--report"]));
    expect(example.artifacts).toEqual(["purge-summary.md", "purge-report.html"]);
    const md = readFileSync(join(workspace, "purge-summary.md"), "utf8");
    const status = /^### dcs-sessions purge: (\S+)\n/.exec(md)?.[1];
    expect(status).toMatch(STATUS);
    expect(readFileSync(join(workspace, "purge-report.html"), "utf8")).toContain(
      `data-field="status">${status}</span>`,
    );
    // The comment posts the same file the purge wrote.
    const job = pipeline("gitlab-ci-cli.yml")["redis-sessions-purge"];
    expect((job.script as string[]).join("\n")).toContain('--data-urlencode "body@purge-summary.md"');
  });

  test("github-actions-pulumi.yml: after pulumi up, the scan's Markdown summary on the run's page and its HTML report kept", async () => {
    const example = githubPulumiExample();
    const summary = join(workspace, "step-summary.md");
    writeFileSync(summary, "## pulumi up\n\n");
    const args = await runExample(example, { GITHUB_STEP_SUMMARY: summary });
    expect(args).toEqual(expect.arrayContaining(["--output", "json", "--summary", "--report"]));
    expect(example.artifacts).toEqual(["sessions-report.json", "sessions-report.html"]);
    const report = JSON.parse(readFileSync(join(workspace, "sessions-report.json"), "utf8")) as {
      totalSessions: number;
    };
    expect(report.totalSessions).toBe(40);
    // Appended after what the Pulumi step wrote.
    expect(readFileSync(summary, "utf8")).toMatch(
      /^## pulumi up\n\n### dcs-sessions scan: 40 session\(s\)\n/,
    );
    expect(readFileSync(join(workspace, "sessions-report.html"), "utf8")).toContain(
      `data-field="totalSessions" data-value="40"`,
    );
  });

  test("gitlab-ci-pulumi.yml: after pulumi up, the scan's Markdown summary and its HTML report kept", async () => {
    const example = gitlabPulumiExample();
    const args = await runExample(example);
    expect(args).toEqual(expect.arrayContaining(["--output", "markdown", "--report"]));
    expect(example.artifacts).toEqual(["sessions-summary.md", "sessions-report.html"]);
    const md = readFileSync(join(workspace, "sessions-summary.md"), "utf8");
    expect(md).toMatch(/^### dcs-sessions scan: 40 session\(s\)\n/);
    expect(readFileSync(join(workspace, "sessions-report.html"), "utf8")).toContain(
      `data-field="totalSessions" data-value="40"`,
    );
  });
});
