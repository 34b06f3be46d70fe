/**
 * The package as a user gets it: `npm pack` of this checkout (its built dist/), installed with npm into a
 * fresh project, then used only from that install: every entry point, the `dcs-sessions` bin, an emulator
 * started from it, a scan against that emulator, and the Terraform provider that `install-provider` writes.
 *
 * `npm pack --ignore-scripts`: `npm test` has just built dist/, and `prepack` (which builds again) would
 * empty dist/ under the tests running beside this one. The dependencies come from npm's cache when it has
 * them (`--prefer-offline`) and from the registry otherwise.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { createServerCertificate } from "../../src/terraform/protocol/certificate";
import { MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE } from "../../src/terraform/protocol/server";
import { CHECKOUT, assertBuilt, runProcess, type RunResult } from "../cli/support";

const run = promisify(execFile);
const PACKAGE = JSON.parse(readFileSync(join(CHECKOUT, "package.json"), "utf8")) as {
  version: string;
  license: string;
  scripts: Record<string, string>;
};
/** The optional peer dependencies a Pulumi or CDKTF user installs next to the package. */
const PEERS = ["@pulumi", "cdktf", "cdktn", "constructs"];

/** The files the tarball must hold, derived from src/: each module compiled, the provider's .proto files. */
function expectedFiles(): string[] {
  const files = ["package.json", "README.md", "LICENSE", "CHANGELOG.md"];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const inDist = join("dist", relative(join(CHECKOUT, "src"), path));
      if (entry.isDirectory()) {
        if (entry.name !== "demo") walk(path); // npm start's demo needs a checkout; it is not shipped
      } else if (entry.name.endsWith(".ts")) {
        files.push(inDist.replace(/\.ts$/, ".js"), inDist.replace(/\.ts$/, ".d.ts"));
      } else if (entry.name.endsWith(".proto") || entry.name.endsWith(".json")) {
        files.push(inDist); // the .proto files, and their descriptors that the provider loads
      }
    }
  };
  walk(join(CHECKOUT, "src"));
  // The WebAssembly modules compiled from wasm/ (AssemblyScript), beside the code that loads them.
  for (const name of readdirSync(join(CHECKOUT, "wasm"))) {
    if (name.endsWith(".ts")) files.push(join("dist", "api", name.replace(/\.ts$/, ".wasm")));
  }
  return files.sort();
}

/** npm's environment without what the `npm test` around us set for this checkout's own scripts. */
function npmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(package|lifecycle)_|^npm_config_(local_)?prefix$|^npm_config_global$|^INIT_CWD$/.test(key)) {
      delete env[key];
    }
  }
  return env;
}

let dir = "";
let consumer = "";
let installed = "";
let bin = "";
let packed: string[] = [];
const children: ChildProcess[] = [];
const links: string[] = [];

beforeAll(async () => {
  assertBuilt();
  dir = realpathSync(mkdtempSync(join(tmpdir(), "dcs-sessions-pack-")));
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
    cwd: CHECKOUT,
    env: npmEnv(),
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [tarball] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = tarball!.files.map((f) => f.path).sort();

  consumer = join(dir, "consumer");
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(dir, tarball!.filename)], {
    cwd: consumer,
    env: npmEnv(),
    timeout: 150_000,
  }).catch((error: { stderr?: string }) => {
    throw new Error(
      `npm install of the packed tarball failed (is the registry or npm's cache reachable?)\n${error.stderr}`,
    );
  });
  installed = join(consumer, "node_modules", "dcs-sessions");
  bin = join(consumer, "node_modules", ".bin", "dcs-sessions");
}, 200_000);

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "close");
    }
  }
  // Unlink first: removal must never walk into the checkout through a link.
  for (const link of links) if (existsSync(link)) unlinkSync(link);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `node -e` in the consumer project: what a user's `require` gets there. */
async function inConsumer(script: string): Promise<string> {
  const { stdout } = await run(process.execPath, ["-e", script], { cwd: consumer, timeout: 30_000 });
  return stdout.trim();
}

/** The installed bin, with only PATH and a private HOME from the test's environment. */
function dcsSessions(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runProcess(bin, args, { cwd: consumer, env: { HOME: dir, ...env }, timeoutMs: 30_000 });
}

/** Starts a long-running process and resolves with its first stdout line. */
async function firstLine(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<[ChildProcess, string]> {
  const child = spawn(command, args, { cwd: consumer, env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    const [line] = (await Promise.race([
      once(lines, "line"),
      once(child, "close").then(() => {
        throw new Error(`${command} ${args.join(" ")} ended before its first line:\n${stderr}`);
      }),
    ])) as [string];
    return [child, line];
  } finally {
    clearTimeout(timer);
    lines.close();
  }
}

async function stop(child: ChildProcess): Promise<number | null> {
  const closed = once(child, "close");
  child.kill("SIGTERM");
  const [code] = (await closed) as [number | null];
  return code;
}

describe("the tarball", () => {
  test("holds dist/ compiled from src/ and wasm/ (no demo, no source maps), the .proto files and their descriptors, README, LICENSE, CHANGELOG and nothing else", () => {
    expect(packed).toEqual(expectedFiles());
    expect(packed).toEqual(
      expect.arrayContaining([
        "dist/terraform/protocol/tfplugin6.proto",
        "dist/terraform/protocol/plugin.proto",
      ]),
    );
    expect(packed.filter((path) => /^(test|src|bench|examples|scripts)\//.test(path))).toEqual([]);
  });

  test("is built by prepack and licensed as its LICENSE says", () => {
    expect(PACKAGE.scripts.prepack).toBe("npm run build");
    expect(PACKAGE.license).toBe("Apache-2.0");
    const licence = readFileSync(join(installed, "LICENSE"), "utf8");
    expect(licence).toContain("Apache License");
    expect(licence).toContain("Version 2.0, January 2004");
    expect(licence).toContain("END OF TERMS AND CONDITIONS");
    expect(readFileSync(join(installed, "CHANGELOG.md"), "utf8")).toContain(`## [${PACKAGE.version}]`);
  });
});

describe("installed without the optional peers (a CLI, Terraform or API user)", () => {
  test("dcs-sessions and dcs-sessions/emulator load from the install; dcs-sessions/pulumi names its missing peer", async () => {
    const loaded = JSON.parse(
      await inConsumer(`
        const out = {};
        for (const name of ["dcs-sessions", "dcs-sessions/emulator"]) {
          const m = require(name);
          out[name] = { file: require.resolve(name), exports: Object.keys(m) };
        }
        try { require("dcs-sessions/pulumi"); out.pulumi = "loaded"; } catch (e) { out.pulumi = e.message; }
        const dist = require("node:path").dirname(require.resolve("dcs-sessions"));
        out.wasm = require(dist + "/api/wasm-clients.js").wasmClientsReader() !== null;
        console.log(JSON.stringify(out));`),
    ) as Record<string, { file: string; exports: string[] }> & { pulumi: string; wasm: boolean };
    // The list pages' WebAssembly reader loads from the install, as the JavaScript that uses it does.
    expect(loaded.wasm).toBe(true);
    expect(loaded["dcs-sessions"]!.file).toBe(join(installed, "dist/index.js"));
    expect(loaded["dcs-sessions"]!.exports).toEqual(
      expect.arrayContaining(["createClient", "scanSessions", "purgeSessions"]),
    );
    expect(loaded["dcs-sessions/emulator"]!.file).toBe(join(installed, "dist/emulator/index.js"));
    expect(loaded["dcs-sessions/emulator"]!.exports).toEqual(expect.arrayContaining(["startEmulator"]));
    expect(loaded.pulumi).toContain("@pulumi/pulumi");
  });

  test("the bin prints the package's version", async () => {
    const result = await dcsSessions(["--version"]);
    expect({ code: result.code, stdout: result.stdout.trim() }).toEqual({ code: 0, stdout: PACKAGE.version });
    expect(realpathSync(bin)).toBe(join(installed, "dist/cli/main.js"));
  });

  test("the bin starts an emulator and scans it", async () => {
    const [emulator, line] = await firstLine(
      bin,
      ["emulator", "--synthetic-nodes", "2", "--sessions-per-node", "25", "--job-ms", "20"],
      { PATH: process.env.PATH, HOME: dir },
    );
    const started = JSON.parse(line) as Record<string, string>;
    const scan = await dcsSessions(["scan", started.instanceId!, "--output", "json", "--quiet"], {
      HW_DCS_ENDPOINT: started.endpoint!,
      HW_PROJECT_ID: started.projectId!,
      HW_REGION_NAME: started.region!,
      HW_ACCESS_KEY: started.accessKey!,
      HW_SECRET_KEY: started.secretKey!,
    });
    expect({ code: scan.code, stderr: scan.stderr }).toEqual({ code: 0, stderr: "" });
    const snapshot = JSON.parse(scan.stdout) as { totalSessions: number; nodes: unknown[] };
    expect(snapshot.totalSessions).toBe(50);
    expect(snapshot.nodes).toHaveLength(2);
    expect(await stop(emulator)).toBe(0);
  });

  test("terraform install-provider writes a provider that runs the install and completes Terraform's handshake", async () => {
    const mirror = join(dir, "mirror");
    const result = await dcsSessions(["terraform", "install-provider", "--mirror", mirror]);
    expect(result.code).toBe(0);
    const executable = result.stdout.match(/Installed the provider: (\S+)/)?.[1] ?? "";
    expect(executable.startsWith(mirror)).toBe(true);
    expect(statSync(executable).mode & 0o111).not.toBe(0);
    expect(readFileSync(executable, "utf8")).toContain(join(installed, "dist/terraform/main.js"));

    const sockets = join(dir, "sockets");
    mkdirSync(sockets);
    const [provider, handshake] = await firstLine(executable, [], {
      PATH: process.env.PATH,
      [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
      PLUGIN_PROTOCOL_VERSIONS: "6",
      PLUGIN_CLIENT_CERT: createServerCertificate().certPem,
      PLUGIN_UNIX_SOCKET_DIR: sockets,
    });
    // go-plugin's line: core protocol 1, app protocol 6, a unix socket, grpc, the server's certificate.
    const [core, app, network, address, protocol, certificate] = handshake.split("|");
    expect({ core, app, network, protocol }).toEqual({
      core: "1",
      app: "6",
      network: "unix",
      protocol: "grpc",
    });
    expect(address!.startsWith(sockets)).toBe(true);
    expect(existsSync(address!)).toBe(true);
    expect(certificate!.length).toBeGreaterThan(100);
    expect(await stop(provider)).toBe(0);
    expect(readdirSync(sockets)).toEqual([]);
  });
});

describe("installed with the optional peers (a Pulumi or CDKTF user)", () => {
  beforeAll(() => {
    // The peers this checkout tests with, laid out beside the install as `npm install @pulumi/pulumi …` does.
    for (const name of PEERS) {
      const link = join(consumer, "node_modules", name);
      symlinkSync(join(CHECKOUT, "node_modules", name), link, "dir");
      links.push(link);
    }
  });

  test.each(["pulumi", "cdktf", "testing"])("dcs-sessions/%s loads from the install", async (entry) => {
    const loaded = JSON.parse(
      await inConsumer(
        `const m = require("dcs-sessions/${entry}");
         console.log(JSON.stringify({ file: require.resolve("dcs-sessions/${entry}"), exports: Object.keys(m) }));`,
      ),
    ) as { file: string; exports: string[] };
    expect(loaded.file).toBe(join(installed, "dist", entry, "index.js"));
    const expected: Record<string, string[]> = {
      pulumi: ["SessionScan", "SessionPurge"],
      cdktf: ["SessionScan", "SessionPurge", "DcsSessionsProvider"],
      testing: ["startProviderHost"],
    };
    expect(loaded.exports).toEqual(expect.arrayContaining(expected[entry]!));
  });
});
