/**
 * Every shell command of README.md and docs/*.md is run by a test or by `.ci/run`, so none can rot.
 *
 * The commands are the lines of the fenced `sh`, `bash`, `shell` and `console` blocks (`$ ` lines of a
 * `console` block), continuation lines joined and trailing comments dropped. Each must be covered:
 *
 * - `HERE`: this test runs it. A block that holds a `HERE` command runs whole, as one bash script, in a
 *   fresh temporary folder with an emulator of its own serving the ids the docs use (see "the blocks run
 *   here" below): its other lines (exports, `sleep`, `kill %1`, …) run with it and need no row; lines with a
 *   `by` or `example` row are left out of the script. It must exit 0, write the files its commands name, and
 *   leave no process running.
 * - `{ by: [{ file, contains }] }`: another test file (or `.ci/run`) runs it; this test checks that each
 *   file holds each string, the command's essential part.
 * - `{ example: reason }`: it cannot run here (no Pulumi CLI, a real account); the doc must say it is an
 *   example (in the block's section or comments), and the reason says why.
 * - No row at all for `export NAME=value` lines of a block that does not run: they are covered when the
 *   package reads every NAME they set.
 *
 * To cover a new command, add a row to COVERAGE keyed by the command as the failure message prints it.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { startEmulator } from "../../src/emulator/server";
import { SyntheticNode } from "../../src/emulator/synthetic";
import type { EmulatorHandle, NodeSpec } from "../../src/emulator/types";
import { CHECKOUT, assertBuilt } from "../cli/support";

type Coverage =
  typeof HERE | { by: Array<{ file: string; contains: string[] }>; note?: string } | { example: string };

const HERE = "run by this test against the emulator" as const;
const PACK_INSTALL = "test/package/pack-install.test.ts";
const NPM_INSTALL = {
  by: [{ file: PACK_INSTALL, contains: ['"npm"', '"install"', "PEERS"] }],
  note: "installs the packed tarball (the files the registry serves) and lays the optional peers beside it",
};
const PULUMI_CLI = {
  example:
    "needs the Pulumi CLI and a stack; npm start and test/pulumi/example.test.ts run the same program through Pulumi's provider host",
};

/** The instance and node the docs name: the emulator of a run block serves them under these ids. */
const DOC_INSTANCE = "2f9c1e4a-instance";
const DOC_NODES = ["8a1b-proxy-1", "8a1b-proxy-2"];

const COVERAGE: Record<string, Coverage> = {
  // README.md
  "npm ci && npm start": {
    by: [
      { file: ".ci/run", contains: ["npm ci"] },
      { file: "test/demo/start.test.ts", contains: ['spawn("npm", ["start"]'] },
    ],
  },
  "npm test": { by: [{ file: ".ci/run", contains: ["npm test"] }] },
  "npm install dcs-sessions": NPM_INSTALL,
  "npm install @pulumi/pulumi": NPM_INSTALL,
  "npm install cdktn constructs": NPM_INSTALL,
  "pulumi config set instanceId a1b2c3d4-…": PULUMI_CLI,
  "pulumi config set huaweicloud:region eu-west-101": PULUMI_CLI,
  "pulumi config set --secret huaweicloud:secretKey": PULUMI_CLI,
  "pulumi up": PULUMI_CLI,
  "dcs-sessions nodes 2f9c1e4a-instance": HERE,
  "dcs-sessions scan 2f9c1e4a-instance --output table": HERE,
  "dcs-sessions purge 2f9c1e4a-instance --all-nodes --dry-run": HERE,
  'dcs-sessions purge 2f9c1e4a-instance --all-nodes --max-sessions 5000 --window "sat,sun 02:00-04:00 Europe/Paris" --outside-window skip --yes --output json > purge-report.json':
    HERE,

  // docs/cdktf.md
  "npm install dcs-sessions cdktn constructs": NPM_INSTALL,
  "npx dcs-sessions terraform install-provider": HERE,
  "cd examples/cdktf && npm install && npm run synth": {
    by: [{ file: "test/cdktf/example.test.ts", contains: ["makeConsumer({ from: EXAMPLE", "config.app"] }],
    note: "a copy of examples/cdktf with its own dependencies runs the app cdktf.json names (npm run --silent synth)",
  },
  "terraform -chdir=cdktf.out/stacks/dcs-sessions-maintenance init": {
    by: [{ file: "test/terraform/hcl.test.ts", contains: ['"init"'] }],
    note: "terraform init against the mirror install-provider filled, on HCL stacks",
  },
  "terraform -chdir=cdktf.out/stacks/dcs-sessions-maintenance apply -var instance_id=2f9c1e4a-instance": {
    by: [{ file: "test/terraform/hcl.test.ts", contains: ['"apply"', "instance_id"] }],
    note: "terraform apply of a scan and a purge against the emulator, on HCL stacks",
  },

  // docs/cli.md
  "npm install --save-dev dcs-sessions": NPM_INSTALL,
  "npx dcs-sessions --help": HERE,
  "dcs-sessions scan 2f9c1e4a-instance --top 20": HERE,
  "dcs-sessions list 2f9c1e4a-instance --node 8a1b-proxy-1 --refresh --sort idle --order desc --limit 20":
    HERE,
  "dcs-sessions scan 2f9c1e4a-instance --output markdown --report sessions.html": HERE,
  "dcs-sessions purge 2f9c1e4a-instance --all-nodes --dry-run --output json --summary --report purge.html > purge.json":
    HERE,
  'echo \'{"instance_id":"2f9c1e4a-instance","top_n":"5"}\' | dcs-sessions terraform-external scan': HERE,
  "dcs-sessions purge 2f9c1e4a-instance --all-nodes --idle-over 3600 --client 10.20.0.0/16 --dry-run --output table":
    HERE,
  "dcs-sessions purge 2f9c1e4a-instance --all-nodes --idle-over 3600 --client 10.20.0.0/16 --max-sessions 500 --yes":
    HERE,
  "dcs-sessions purge 2f9c1e4a-instance --node 8a1b-proxy-1 --user reporting --yes": HERE,
  'npx --no-install dcs-sessions purge "$INSTANCE_ID" --all-nodes --max-sessions 5000 --window "sat,sun 02:00-04:00 Europe/Paris" --outside-window skip --yes --output json --summary --report purge-report.html > purge-report.json':
    HERE,

  // docs/credentials.md
  "npx dcs-sessions nodes <instance-id>": HERE,

  // docs/emulator.md
  "node_modules/.bin/dcs-sessions emulator --synthetic-nodes 3 --sessions-per-node 200 > emulator.json &":
    HERE,
  "npm run build": {
    by: [{ file: ".ci/run", contains: ["npm run build"] }],
    note: "rebuilding dist/ would empty it under the tests running beside this one",
  },
  "node dist/cli/main.js emulator --synthetic-nodes 3 --sessions-per-node 200 > /tmp/emulator.json &": HERE,
  'curl -s -X PUT "$ctl/faults" -d \'[{"route":"killAllClients","fault":{"kind":"dcs-4957"}}]\'': HERE,

  // docs/performance.md
  "npm run bench": {
    by: [{ file: ".ci/run", contains: ["npm run bench"] }],
    note: "a small run (BENCH_SCENARIOS, BENCH_SESSIONS_PER_NODE, BENCH_RUNS): the full one measures the machine for minutes",
  },

  // docs/pulumi.md
  "npm install dcs-sessions @pulumi/pulumi": NPM_INSTALL,
  "pulumi config set releaseId 2026-11-28": PULUMI_CLI,
  "pulumi config set huaweicloud:projectId 0123456789abcdef…": PULUMI_CLI,
  "pulumi config set huaweicloud:accessKey AKIA…": PULUMI_CLI,

  // docs/terraform.md
  "npx dcs-sessions terraform install-provider --mirror ./terraform-mirror": HERE,
};

// ---------------------------------------------------------------------------------------------------------
// Reading the commands out of the Markdown

interface DocCommand {
  /** `docs/cli.md:42`: the file and the line the command starts on. */
  where: string;
  /** The command as the table keys it: continuation joined, comment dropped, spaces collapsed. */
  key: string;
  /** The command as bash runs it (comment dropped). */
  text: string;
}

interface DocBlock {
  file: string;
  line: number;
  commands: DocCommand[];
  /** The block's section (from its heading) and its comment lines: where a doc says "example". */
  context: string;
}

const SHELL_INFO = /^(sh|bash|shell|zsh|console)\b/;

/** The state after scanning `text` from `state`: inside single or double quotes, or neither. */
function quoteState(text: string, state: "'" | '"' | "" = ""): { state: "'" | '"' | ""; commentAt: number } {
  let commentAt = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (state === "'") {
      if (c === "'") state = "";
    } else if (state === '"') {
      if (c === "\\") i++;
      else if (c === '"') state = "";
    } else if (c === "\\") i++;
    else if (c === "'" || c === '"') state = c;
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!)) && commentAt < 0) {
      commentAt = i;
      break;
    }
  }
  return { state, commentAt };
}

/** The commands of one shell block's lines (`console` blocks: only the `$ ` lines). */
function commandsOf(file: string, firstLine: number, lines: string[], console: boolean): DocCommand[] {
  const commands: DocCommand[] = [];
  let pending: string[] = [];
  let start = 0;
  let state: "'" | '"' | "" = "";
  lines.forEach((raw, index) => {
    let line = raw;
    if (pending.length === 0) {
      if (console) {
        if (!line.startsWith("$ ")) return;
        line = line.slice(2);
      }
      if (/^\s*(#|$)/.test(line)) return;
      start = firstLine + index;
    }
    const scanned = quoteState(line, state);
    if (scanned.commentAt >= 0) line = line.slice(0, scanned.commentAt);
    state = scanned.state;
    line = line.trimEnd();
    const continued = state !== "" || line.endsWith("\\");
    pending.push(line);
    if (continued) return;
    const text = pending.join("\n").replace(/\\\n\s*/g, "");
    commands.push({ where: `${file}:${start}`, key: text.replace(/\s+/g, " ").trim(), text });
    pending = [];
  });
  return commands;
}

/** The shell blocks of a Markdown file, with their commands. */
function shellBlocks(file: string): DocBlock[] {
  const lines = readFileSync(join(CHECKOUT, file), "utf8").split("\n");
  const blocks: DocBlock[] = [];
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const fence = lines[i]!.match(/^(\s*)(```+|~~~+)\s*(\S*)/);
    if (!fence) {
      if (/^#{1,6}\s/.test(lines[i]!)) section = "";
      section += `${lines[i]}\n`;
      continue;
    }
    const close = i + 1 + lines.slice(i + 1).findIndex((l) => l.trim().startsWith(fence[2]!));
    const body = lines.slice(i + 1, close).map((l) => l.slice(fence[1]!.length));
    if (SHELL_INFO.test(fence[3]!)) {
      const comments = body.filter((l) => /^\s*#/.test(l) || /\s#\s/.test(l)).join("\n");
      blocks.push({
        file,
        line: i + 1,
        commands: commandsOf(file, i + 2, body, fence[3]!.startsWith("console")),
        context: `${section}\n${comments}`,
      });
    }
    i = close;
  }
  return blocks;
}

function docFiles(): string[] {
  const docs = readdirSync(join(CHECKOUT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

const BLOCKS = docFiles().flatMap(shellBlocks);
const COMMANDS = BLOCKS.flatMap((block) => block.commands);
const SOURCES = (function readSources(dir: string): string {
  return readdirSync(dir, { withFileTypes: true })
    .map((e) => (e.isDirectory() ? readSources(join(dir, e.name)) : readFileSync(join(dir, e.name), "utf8")))
    .join("\n");
})(join(CHECKOUT, "src"));

/** `export A=1 B=2` → ["A", "B"]; anything else → undefined. */
function exportedNames(key: string): string[] | undefined {
  const match = key.match(/^export ((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s*)+)$/);
  return match ? [...match[1]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!) : undefined;
}

const runs = (block: DocBlock) => block.commands.some((c) => COVERAGE[c.key] === HERE);

// ---------------------------------------------------------------------------------------------------------
// Coverage

test("the docs hold shell commands to check (the extraction works)", () => {
  expect(BLOCKS.length).toBeGreaterThan(10);
  expect(COMMANDS.map((c) => c.key)).toEqual(
    expect.arrayContaining([
      "npm test",
      'dcs-sessions purge 2f9c1e4a-instance --all-nodes --max-sessions 5000 --window "sat,sun 02:00-04:00 Europe/Paris" --outside-window skip --yes --output json > purge-report.json',
    ]),
  );
});

test("every command of README.md and docs/*.md is run here, run by a named test or .ci/run, or marked an example", () => {
  const uncovered: string[] = [];
  for (const block of BLOCKS) {
    for (const command of block.commands) {
      if (COVERAGE[command.key] !== undefined || runs(block)) continue;
      const names = exportedNames(command.key);
      if (names) {
        const unread = names.filter((name) => !new RegExp(`\\b${name}\\b`).test(SOURCES));
        if (unread.length === 0) continue;
        uncovered.push(
          `${command.where}: \`${command.key}\` sets ${unread.join(", ")}, which nothing in src/ reads`,
        );
        continue;
      }
      uncovered.push(
        `${command.where}: \`${command.key}\` is run by no test. Add a row to COVERAGE in ` +
          `test/package/docs-commands.test.ts: ${JSON.stringify(command.key)}: HERE, { by: [{ file, contains }] } ` +
          `or { example: "why it cannot run here" }`,
      );
    }
  }
  expect(uncovered).toEqual([]);
});

test("each file a row names exists and holds the command's essential part", () => {
  const missing: string[] = [];
  for (const [key, coverage] of Object.entries(COVERAGE)) {
    if (typeof coverage !== "object" || !("by" in coverage)) continue;
    for (const { file, contains } of coverage.by) {
      const path = join(CHECKOUT, file);
      const text = existsSync(path) ? readFileSync(path, "utf8") : undefined;
      if (text === undefined) missing.push(`\`${key}\`: ${file} does not exist`);
      else
        for (const part of contains)
          if (!text.includes(part)) missing.push(`\`${key}\`: ${file} does not contain ${part}`);
    }
  }
  expect(missing).toEqual([]);
});

test("a command marked an example is one its doc calls an example", () => {
  const unsaid = BLOCKS.flatMap((block) =>
    block.commands
      .filter((c) => {
        const coverage = COVERAGE[c.key];
        return typeof coverage === "object" && "example" in coverage;
      })
      .filter(() => !/\bexamples?\b(?![/.])/i.test(block.context))
      .map((c) => `${c.where}: \`${c.key}\` cannot run here, but its section does not say it is an example`),
  );
  expect(unsaid).toEqual([]);
});

test("every row of COVERAGE names a command the docs still hold", () => {
  const keys = new Set(COMMANDS.map((c) => c.key));
  expect(Object.keys(COVERAGE).filter((key) => !keys.has(key))).toEqual([]);
});

// ---------------------------------------------------------------------------------------------------------
// Running the blocks that hold a HERE command

/** An emulator serving the instance and nodes the docs name, over synthetic sessions. */
function docsEmulator(): Promise<EmulatorHandle> {
  const now = () => Date.now();
  const proxies: NodeSpec[] = DOC_NODES.map((nodeId, index) => ({
    nodeId,
    role: "redis-proxy",
    type: "proxy",
    backend: new SyntheticNode(7, index, 40, 0, now),
  }));
  return startEmulator({
    instances: [{ instanceId: DOC_INSTANCE, engine: "dcs", nodes: proxies }],
    jobMs: 20,
  });
}

/**
 * A folder laid out as a project that installed the package (node_modules/dcs-sessions and its bin, so
 * `dcs-sessions` and `npx dcs-sessions` run this checkout's dist/) and as a checkout (dist/ linked).
 */
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "dcs-sessions-docs-"));
  mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
  symlinkSync(CHECKOUT, join(dir, "node_modules", "dcs-sessions"), "dir");
  // npm install makes the bin executable; dist/cli/main.js in a checkout is not, so a wrapper stands in.
  writeFileSync(
    join(dir, "node_modules", ".bin", "dcs-sessions"),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(CHECKOUT, "dist/cli/main.js"))} "$@"\n`,
    { mode: 0o755 },
  );
  symlinkSync(join(CHECKOUT, "dist"), join(dir, "dist"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "docs-user", private: true }));
  return dir;
}

/** What the docs write in place of values only a run knows. */
function placeholders(text: string, dir: string, env: Record<string, string>): string {
  return text
    .replace(/\/tmp\/emulator\.json/g, join(dir, "emulator.json"))
    .replace(/http:\/\/127\.0\.0\.1:(18080|41234)/g, env.HW_DCS_ENDPOINT!)
    .replace(/<instance-id>/g, DOC_INSTANCE)
    .replace(
      /\b([A-Z_][A-Z0-9_]*)=(…|\.\.\.)(?=\s|$)/g,
      (_placeholder, name: string) => `${name}=${env[name] ?? ""}`,
    );
}

/** The files a command says it writes: `> file`, `--report file`, `--mirror dir`, `--summary`. */
function writtenBy(text: string, env: Record<string, string>): string[] {
  const files = [...text.matchAll(/(?:>|--report|--mirror)\s+([^\s&|;]+)/g)].map((m) => m[1]!);
  if (/--summary\b/.test(text)) files.push(env.GITHUB_STEP_SUMMARY!);
  return files.filter((f) => f !== "/dev/null" && !f.startsWith("&"));
}

interface BashRun {
  code: number | null;
  out: string;
  /** Processes of the script's group still alive after it ended (then killed): something it left running. */
  leftRunning: string[];
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function groupMembers(pgid: number): string[] {
  const found: string[] = [];
  if (!existsSync("/proc")) return [`a process of group ${pgid} (no /proc to name it)`];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command's closing parenthesis: state, ppid, pgrp.
      const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      if (pgrp === pgid) found.push(readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim());
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Runs a script in its own process group; resolves once bash exits and its group is gone or killed. */
function bash(script: string, cwd: string, env: Record<string, string>): Promise<BashRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], {
      cwd,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pgid = child.pid!;
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (out += s));
    const timer = setTimeout(() => groupAlive(pgid) && process.kill(-pgid, "SIGKILL"), 60_000);
    child.once("error", reject);
    child.once("exit", async (code) => {
      clearTimeout(timer);
      // What the script stopped (kill %1) gets a moment to close; anything still there was left running.
      for (let i = 0; i < 30 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 100));
      const leftRunning = groupAlive(pgid) ? groupMembers(pgid) : [];
      if (leftRunning.length > 0) process.kill(-pgid, "SIGKILL");
      const closed = new Promise((r) => child.once("close", r));
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((r) => (grace = setTimeout(r, 2_000)))]);
      clearTimeout(grace);
      resolve({ code, out, leftRunning });
    });
  });
}

/**
 * Before a block's lines: stop at the first failing command, and let a doc's `curl -s` fail on an HTTP
 * error as its reader would notice (the doc keeps its plain `curl -s`).
 */
const PRELUDE = ["set -eEo pipefail", 'curl() { command curl --fail "$@"; }'].join("\n");

const RUN_BLOCKS = BLOCKS.filter(runs);

test("some blocks run here", () => {
  expect(RUN_BLOCKS.length).toBeGreaterThan(5);
});

describe("the blocks run here", () => {
  beforeAll(assertBuilt);

  test.each(RUN_BLOCKS.map((block) => [`${block.file}:${block.line}`, block] as const))(
    "%s runs and exits 0",
    async (_where, block) => {
      for (const tool of ["jq", "curl"]) {
        const used = block.commands.some((c) => new RegExp(`\\b${tool}\\b`).test(c.text));
        if (used && spawnSync(tool, ["--version"]).status !== 0) {
          throw new Error(
            `${block.file}:${block.line} uses ${tool}, which is not installed: apt-get install -y ${tool} (.ci/run does)`,
          );
        }
      }
      const emulator = await docsEmulator();
      const dir = workspace();
      try {
        const env: Record<string, string> = {
          PATH: `${join(dir, "node_modules", ".bin")}:${process.env.PATH}`,
          HOME: dir,
          HW_DCS_ENDPOINT: emulator.endpoint,
          HW_GEMINIDB_ENDPOINT: emulator.geminidbEndpoint,
          HW_PROJECT_ID: emulator.projectId,
          HW_REGION_NAME: emulator.region,
          HW_ACCESS_KEY: emulator.accessKey,
          HW_SECRET_KEY: emulator.secretKey,
          INSTANCE_ID: DOC_INSTANCE,
          GITHUB_STEP_SUMMARY: join(dir, "step-summary.md"),
          NO_COLOR: "1",
          npm_config_update_notifier: "false",
        };
        const lines = block.commands
          .filter((c) => COVERAGE[c.key] === undefined || COVERAGE[c.key] === HERE)
          .map((c) => `echo "docs-command ${c.where}" >&2\n${placeholders(c.text, dir, env)}`);
        const script = [PRELUDE, ...lines, "wait"].join("\n");
        const { code, out, leftRunning } = await bash(script, dir, env);
        expect(leftRunning).toEqual([]);
        const last = out.match(/docs-command (\S+)(?![\s\S]*docs-command)/)?.[1];
        expect({ code, failedAt: code === 0 ? undefined : last, out: code === 0 ? "" : out }).toEqual({
          code: 0,
          failedAt: undefined,
          out: "",
        });
        const notWritten = block.commands
          .flatMap((c) => writtenBy(placeholders(c.text, dir, env), env))
          .map((f) => (isAbsolute(f) ? f : join(dir, f)))
          .filter((f) => !existsSync(f) || statSync(f).size === 0);
        expect(notWritten).toEqual([]);
      } finally {
        await emulator.close();
        // Unlink first: removal must never walk into the checkout through a link.
        for (const link of ["node_modules/dcs-sessions", "dist"]) unlinkSync(join(dir, link));
        rmSync(dir, { recursive: true, force: true });
      }
    },
    90_000,
  );
});
