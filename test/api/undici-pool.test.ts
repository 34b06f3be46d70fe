/**
 * undici's Pool loaded from its own files (src/api/undici-pool.ts): it sends a real request over loopback, a
 * fresh process that loads it never loads undici's index (fetch, WebSocket, caches…), and the whole package is
 * loaded instead when those files cannot be.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runProcess } from "../cli/support";
import { startServer, type TestServer } from "./helpers";

const CHECKOUT = resolve(__dirname, "../..");

/** What a fresh Node process loads for `expression`: undici's files, and whether its index is among them. */
async function undiciFilesLoadedBy(
  expression: string,
): Promise<{ files: number; index: boolean; request: boolean }> {
  const script = `
    const Pool = ${expression};
    const files = Object.keys(require.cache).filter((f) => f.includes("/node_modules/undici/"));
    process.stdout.write(JSON.stringify({
      files: files.length,
      index: files.some((f) => f.endsWith("/node_modules/undici/index.js")),
      request: typeof Pool.prototype.request === "function",
    }));`;
  const run = await runProcess(process.execPath, ["-e", script], { cwd: CHECKOUT });
  expect(run.stderr).toBe("");
  return JSON.parse(run.stdout) as { files: number; index: boolean; request: boolean };
}

describe("undici's Pool from its own files", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer((_rec, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: true, body: "x".repeat(100_000) }));
    });
  });

  afterAll(async () => {
    await server.close();
  });

  it("sends a request and reads its whole body", async () => {
    const { undiciPool } = await import("../../src/api/undici-pool");
    const Pool = undiciPool();
    const pool = new Pool(server.url, { connections: 2 });
    try {
      const res = await pool.request({ path: "/v1/anything?x=1", method: "GET" });
      expect(res.statusCode).toBe(200);
      const body = JSON.parse(await res.body.text()) as { ok: boolean; body: string };
      expect(body.ok).toBe(true);
      expect(body.body).toHaveLength(100_000);
      expect(server.requests.map((r) => `${r.method} ${r.path}?${r.rawQuery}`)).toEqual([
        "GET /v1/anything?x=1",
      ]);
    } finally {
      await pool.close();
    }
  });

  it("is the same class every time", async () => {
    const { undiciPool } = await import("../../src/api/undici-pool");
    expect(undiciPool()).toBe(undiciPool());
  });

  it("loads a third of undici's files, and not its index, in a fresh process", async () => {
    const whole = await undiciFilesLoadedBy(`require("undici").Pool`);
    const own = await undiciFilesLoadedBy(`require("./dist/api/undici-pool").undiciPool()`);
    expect(whole.index).toBe(true);
    expect(own.index).toBe(false);
    expect(own.request).toBe(true);
    expect(own.files).toBeGreaterThan(0);
    expect(own.files * 3).toBeLessThanOrEqual(whole.files);
  });

  it("falls back to the whole package when undici's files are not where expected", async () => {
    // A project whose undici is a package of one file: its Pool, and none of the files read by path.
    const project = mkdtempSync(join(tmpdir(), "dcs-undici-pool-"));
    try {
      mkdirSync(join(project, "node_modules", "undici"), { recursive: true });
      writeFileSync(
        join(project, "node_modules", "undici", "package.json"),
        '{"name":"undici","main":"index.js"}',
      );
      writeFileSync(
        join(project, "node_modules", "undici", "index.js"),
        "exports.Pool = class WholePackagePool { request() {} };",
      );
      copyFileSync(join(CHECKOUT, "dist", "api", "undici-pool.js"), join(project, "undici-pool.js"));
      const script = `process.stdout.write(require("./undici-pool").undiciPool().name)`;
      const run = await runProcess(process.execPath, ["-e", script], { cwd: project });
      expect(run.stderr).toBe("");
      expect(run.stdout).toBe("WholePackagePool");
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
