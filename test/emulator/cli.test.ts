import { spawn } from "node:child_process";
import { once } from "node:events";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { runEmulator } from "../../src/emulator/cli";
import type { EmulatorHandle } from "../../src/emulator/types";
import { paths, rawRequest, signed } from "./signed-request";

const STARTUP_KEYS = [
  "endpoint",
  "geminidbEndpoint",
  "projectId",
  "instanceId",
  "nodeIds",
  "accessKey",
  "secretKey",
  "region",
];

describe("runEmulator in process", () => {
  test("prints the JSON line first, serves the default synthetic instance, and closes on abort", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const abort = new AbortController();
    let handle: EmulatorHandle | undefined;
    const running = runEmulator(
      { accessKey: "CLIAK", secretKey: "cli-secret" },
      {
        stdout: { write: (t: string) => out.push(t) },
        stderr: { write: (t: string) => err.push(t) },
        signal: abort.signal,
        onStarted: (h) => (handle = h),
      },
    );
    for (let i = 0; i < 200 && !handle; i++) await new Promise((r) => setTimeout(r, 5));
    if (!handle) throw new Error("the emulator did not start");
    const line = JSON.parse(out[0] as string);
    expect(Object.keys(line)).toEqual(STARTUP_KEYS);
    expect(line).toMatchObject({ accessKey: "CLIAK", secretKey: "cli-secret", endpoint: handle.endpoint });
    expect(out[0]).toMatch(/\n$/);
    expect(err.join("")).not.toContain("cli-secret");

    // The default: 3 synthetic proxies with sessions, plus data nodes without.
    const nodes = await signed(handle, "GET", paths(handle).nodes);
    const proxies = nodes.json.nodes.filter((n: { node_role: string }) => n.node_role === "redis-proxy");
    expect(proxies).toHaveLength(3);
    expect(line.nodeIds.slice(0, 3)).toEqual(proxies.map((n: { node_id: string }) => n.node_id));

    abort.abort();
    await running;
    await expect(
      rawRequest(`${line.endpoint}${paths(handle).nodes}`, { method: "GET" }),
    ).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
  });
});

/** Runs src/emulator/cli.ts in a child Node process, compiling TypeScript on the fly (test only). */
const CHILD = `
const ts = require("typescript");
const fs = require("fs");
require.extensions[".ts"] = (module, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(out.outputText, filename);
};
require(process.argv[1]).runEmulator({ synthetic: { nodes: 2, sessionsPerNode: 10 }, jobMs: 5 }).then(
  () => undefined, // no process.exit: the process must end by itself once everything is closed
  (e) => { console.error(e.message); process.exit(1); },
);
`;

describe("runEmulator as a process", () => {
  test.each(["SIGTERM", "SIGINT"] as const)("serves until %s, then exits 0", async (signal) => {
    const child = spawn(process.execPath, ["-e", CHILD, path.join(__dirname, "../../src/emulator/cli.ts")], {
      cwd: path.join(__dirname, "../.."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const [first] = (await once(lines, "line")) as [string];
      const line = JSON.parse(first);
      expect(Object.keys(line)).toEqual(STARTUP_KEYS);
      expect(line.nodeIds.length).toBeGreaterThanOrEqual(2);
      const handle = { ...line, projectId: line.projectId } as EmulatorHandle;
      expect((await signed(handle, "GET", paths(handle).nodes)).status).toBe(200);
      const exited = once(child, "exit");
      child.kill(signal);
      const watchdog = setTimeout(() => child.kill("SIGKILL"), 10_000); // a leftover handle would keep it alive
      const [code, killedBy] = (await exited) as [number | null, string | null];
      clearTimeout(watchdog);
      expect({ code, killedBy }).toEqual({ code: 0, killedBy: null });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
