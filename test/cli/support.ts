/** Runs the BUILT `dcs-sessions` as a child process, as a pipeline or Terraform would. */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const CHECKOUT = resolve(__dirname, "../..");
export const CLI_MAIN = resolve(CHECKOUT, "dist/cli/main.js");

export function assertBuilt(): void {
  if (!existsSync(CLI_MAIN))
    throw new Error(`${CLI_MAIN} is missing: build first with npx tsc -p tsconfig.build.json`);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Variables added to a minimal environment (PATH only): nothing leaks in from the test runner. */
  env?: Record<string, string>;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  timeoutMs?: number;
  /** The working directory (default the runner's). */
  cwd?: string;
}

/** Spawns `file args…` and collects everything; kills it after `timeoutMs` (the result then says so). */
export function runProcess(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.on("error", () => undefined); // the child may exit before reading
    child.stdin.end(options.input ?? "");
  });
}

export function runCliProcess(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return runProcess(process.execPath, [CLI_MAIN, ...args], options);
}
