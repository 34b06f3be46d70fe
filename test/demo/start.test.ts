/**
 * `npm start`, as a newcomer runs it after `npm ci`: the README's command in a child process. It must print
 * the steps of the example program, the counts per node before and after, the real connections it saw
 * closing, exit 0, and leave nothing running: no redis-server, no provider host, no emulator, no folder.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describeWithRedis } from "../support/redis";

const CHECKOUT = resolve(__dirname, "../..");

function npmStart(
  env: Record<string, string | undefined> = {},
  cwd: string = CHECKOUT,
): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn("npm", ["start"], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.once("error", fail);
    child.once("close", (code) => done({ code, out }));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refused(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      done(false);
    });
    socket.once("error", () => done(true));
  });
}

/** What every run must show, whatever the backend. */
async function expectCommonRun(code: number | null, out: string): Promise<void> {
  expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining("Duration:") });
  // The example program's three resources, created in the order its dependsOn imposes.
  const created = [...out.matchAll(/^ \+ {3}(\S+) +(\S+) +created/gm)].map((m) => `${m[1]} ${m[2]}`);
  expect(created).toEqual([
    "pulumi-nodejs:dynamic/dcs-sessions:SessionScan before",
    "pulumi-nodejs:dynamic/dcs-sessions:SessionPurge purge",
    "pulumi-nodejs:dynamic/dcs-sessions:SessionScan after",
  ]);
  expect(out).toMatch(/purgeStatus: +"purged"/);
  expect(out).toMatch(/sessionsBefore: +36\n/);
  expect(out).toMatch(/sessionsAfter: +0\n/);
  expect(out).toMatch(/sessionsLeft: +0\n/);
  // Two nodes, 18 sessions each before, none after the purge nor in the scan after it.
  const perNode = [...out.matchAll(/^ {4}([0-9a-f-]{36}) +(\d+) +(\d+) +(\d+)$/gm)].map((m) => m.slice(2));
  expect(perNode).toEqual([
    ["18", "0", "0"],
    ["18", "0", "0"],
  ]);
  // Everything it started is stopped.
  const hostPid = Number(/provider host of @pulumi\/pulumi \(pid (\d+)/.exec(out)?.[1]);
  expect(hostPid).toBeGreaterThan(0);
  expect(alive(hostPid)).toBe(false);
  const endpoint = /DCS API emulator at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  expect(endpoint).toBeDefined();
  expect(await refused(endpoint!)).toBe(true);
  const folder = /removed the temporary project folder (\S+)\.$/m.exec(out)?.[1];
  expect(folder).toBeDefined();
  expect(existsSync(folder!)).toBe(false);
  // The stack config carries the secret key to the provider host, never to the output.
  expect(out).not.toMatch(/secretKey|HW_SECRET_KEY/);
}

describeWithRedis("npm start over real redis-server nodes", () => {
  test("runs SessionScan, SessionPurge, SessionScan through the provider host and closes the 36 real connections", async () => {
    const { code, out } = await npmStart();
    await expectCommonRun(code, out);
    expect(out).toContain("with 36 real client connections");
    expect(out).toContain("Client connections closed by the servers: 36 of 36");
    for (const [app, count] of [
      ["orders", 16],
      ["billing", 12],
      ["search", 8],
    ] as const) {
      expect(out).toMatch(
        new RegExp(`${app} \\(db \\d\\): +${count} of ${count} closed \\(${app}-1 127\\.0\\.0\\.1:\\d+`),
      );
    }
    const pids = /redis-server nodes \(.*, pids (\d+) (\d+)\)/.exec(out);
    expect(pids).not.toBeNull();
    for (const pid of pids!.slice(1)) expect(alive(Number(pid))).toBe(false);
  });
});

test("npm start without redis-server says so and uses the synthetic backend", async () => {
  const { code, out } = await npmStart({ REDIS_SERVER: "/nonexistent/redis-server" });
  await expectCommonRun(code, out);
  expect(out).toContain("redis-server was not found on PATH: using the emulator's synthetic backend instead");
  expect(out).not.toContain("Client connections closed");
});

/**
 * A fresh clone after `npm ci`: the files git tracks, with the installed node_modules, and no dist/. The
 * copy holds the working tree's version of each tracked file (what the next commit would clone).
 */
function freshClone(): string {
  const listed = spawnSync("git", ["ls-files", "-z"], { cwd: CHECKOUT, encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files failed in ${CHECKOUT}: ${listed.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), "dcs-sessions-clone-"));
  for (const file of listed.stdout.split("\0").filter(Boolean)) {
    if (!existsSync(join(CHECKOUT, file))) continue; // deleted, not yet committed
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    cpSync(join(CHECKOUT, file), join(dir, file));
  }
  symlinkSync(join(CHECKOUT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

test("on a fresh clone without dist/, npm start builds the package first, then runs the same program", async () => {
  const clone = freshClone();
  try {
    expect(existsSync(join(clone, "dist"))).toBe(false);
    const { code, out } = await npmStart({ REDIS_SERVER: "/nonexistent/redis-server" }, clone);
    // The build is announced before anything starts (npm prints its own header before it).
    expect(out.indexOf("\nBuilding dist/ (npm run build) ...\n")).toBeGreaterThan(-1);
    expect(out.indexOf("\nBuilding dist/")).toBeLessThan(out.indexOf("\nStarted "));
    await expectCommonRun(code, out);
    expect(existsSync(join(clone, "dist/demo/start.js"))).toBe(true);
    // A second run finds the build current and does not build again.
    const again = await npmStart({ REDIS_SERVER: "/nonexistent/redis-server" }, clone);
    expect(again.out).not.toContain("Building dist/");
    await expectCommonRun(again.code, again.out);
  } finally {
    // Unlink first: removal must never walk into the checkout through the link.
    unlinkSync(join(clone, "node_modules"));
    rmSync(clone, { recursive: true, force: true });
  }
}, 240_000);
