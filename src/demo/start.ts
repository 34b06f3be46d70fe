/**
 * `npm start`: the product on one machine, with no cloud account and no Pulumi CLI. Starts real
 * `redis-server` nodes holding real client connections (synthetic sessions when `redis-server` is missing),
 * the emulator in front of them, and the real dynamic-provider host of `@pulumi/pulumi`; then runs the
 * repository's Pulumi program (`Pulumi.yaml`) through the SDK's own program loader, as `pulumi up` would,
 * with an engine of ours that sends each resource the provider host's Check and Create. It prints what
 * `pulumi up` would show, and stops everything it started.
 *
 * Not part of the package's API: it needs a checkout (the example program and `Pulumi.yaml`).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import Module from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type * as pulumiTypes from "@pulumi/pulumi";
import { startEmulator } from "../emulator/server";
import type { EmulatorHandle } from "../emulator/types";
import { startProviderHost, secret, type Props, type ProviderHost } from "../testing/provider-host";
import {
  findRedisServer,
  openClients,
  startRedisServers,
  type OpenClient,
  type OpenClients,
  type RedisServers,
} from "../testing/redis";

export interface StartIo {
  write(text: string): void;
}

/** The checkout this file was built in (dist/demo/start.js → the repository). */
export const CHECKOUT = resolve(__dirname, "../..");

/** The applications whose connections the demo opens on each node: name prefix, db, connections. */
const APPS: Array<{ name: string; db: number; count: number }> = [
  { name: "orders", db: 0, count: 8 },
  { name: "billing", db: 1, count: 6 },
  { name: "search", db: 2, count: 4 },
];
const REDIS_NODES = 2;
const SYNTHETIC = { nodes: 2, sessionsPerNode: 18 };
/** Every day, the whole day: the demo runs the purge now, whatever the time. */
const OPEN_WINDOW = { start: "00:00", end: "24:00", timeZone: "UTC" };

interface Step {
  type: string;
  name: string;
  ms: number;
  outputs: Props;
}

/** The project of `Pulumi.yaml`: its name and the program its `main` names, by the engine's rule. */
export function pulumiProject(root: string = CHECKOUT): { name: string; pwd: string; program: string } {
  const text = readFileSync(join(root, "Pulumi.yaml"), "utf8");
  const field = (key: string): string | undefined =>
    new RegExp(`^${key}:\\s*(.+?)\\s*$`, "m").exec(text)?.[1]?.replace(/^["']|["']$/g, "");
  const name = field("name");
  if (!name) throw new Error(`Pulumi.yaml in ${root} has no name`);
  return { name, ...engineEntryPoint(root, field("main")) };
}

/**
 * What the Pulumi engine gives the Node.js language host for a project's `main` (its `getPwdMain`): a
 * directory becomes the working directory with the program `.` (the SDK then looks for an entry point in
 * the nearest package.json); a file's directory becomes the working directory and the file the program.
 */
export function engineEntryPoint(root: string, main: string | undefined): { pwd: string; program: string } {
  if (!main) return { pwd: root, program: "." };
  const full = resolve(root, main);
  if (existsSync(full) && statSync(full).isDirectory()) return { pwd: full, program: "." };
  return { pwd: dirname(full), program: full };
}

/**
 * The SDK's `run` (`@pulumi/pulumi/cmd/run/run.js`): the code that resolves the entry point, registers
 * TypeScript and loads the program. Its sibling `index.js` is the command-line wrapper, which parses
 * `process.argv` and exits when it is loaded; `run.js` only reads one constant from it, so a stand-in with
 * that constant is put in its place first.
 */
export function loadSdkRun(root: string = CHECKOUT): {
  run: (
    argv: { _: string[]; pwd?: string },
    programStarted: () => void,
    reportLoggedError: (error: Error) => void,
    isErrorReported: (error: Error) => boolean,
  ) => Promise<Record<string, unknown> | undefined>;
} {
  const indexPath = require.resolve("@pulumi/pulumi/cmd/run/index.js", { paths: [root] });
  if (!require.cache[indexPath]) {
    const standIn = new Module(indexPath);
    standIn.filename = indexPath;
    standIn.loaded = true;
    // The value `cmd/run/index.js` exports: the exit code after a message the user can act on.
    standIn.exports = { nodeJSProcessExitedAfterLoggingUserActionableMessage: 32 };
    require.cache[indexPath] = standIn;
  }
  return require(require.resolve("@pulumi/pulumi/cmd/run/run.js", { paths: [root] }));
}

/** A Pulumi project folder as a user's install lays it out, for the provider host to run in. */
function consumerFolder(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "dcs-sessions-start-"));
  const modules = join(dir, "node_modules");
  mkdirSync(modules);
  const pulumiScope = dirname(dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [CHECKOUT] })));
  const links = [join(modules, "dcs-sessions"), join(modules, "@pulumi")];
  symlinkSync(CHECKOUT, links[0]!, "dir");
  symlinkSync(pulumiScope, links[1]!, "dir");
  return {
    dir,
    remove: () => {
      // Unlink first: removal must never walk into the checkout through a link.
      for (const link of links) if (existsSync(link)) unlinkSync(link);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

/** Runs the demo; resolves with the exit code. Everything it starts is stopped before it resolves. */
export async function start(io: StartIo = { write: (s) => process.stdout.write(s) }): Promise<number> {
  const began = Date.now();
  const say = (line = ""): void => io.write(`${line}\n`);
  let servers: RedisServers | undefined;
  let emulator: EmulatorHandle | undefined;
  let host: ProviderHost | undefined;
  let folder: { dir: string; remove(): void } | undefined;
  const connections: OpenClients[] = [];
  const cwd = process.cwd();
  let code = 1;
  try {
    const project = pulumiProject();
    const redisServer = findRedisServer();
    if (redisServer) {
      servers = await startRedisServers(REDIS_NODES);
      for (const url of servers.urls) {
        const specs = APPS.flatMap((app) =>
          Array.from({ length: app.count }, (_, i) => ({ name: `${app.name}-${i + 1}`, db: app.db })),
        );
        connections.push(await openClients(url, specs));
      }
      emulator = await startEmulator({ redis: servers.urls, jobMs: 50 });
      const opened = connections.reduce((n, c) => n + c.clients.length, 0);
      say(
        `Started ${REDIS_NODES} redis-server nodes (${redisServer}, pids ${servers.servers.map((s) => s.pid).join(" ")})`,
      );
      say(`with ${opened} real client connections`);
      say(`(${APPS.map((a) => `${a.count} × ${a.name} on db ${a.db}`).join(", ")}, on each node),`);
    } else {
      emulator = await startEmulator({ synthetic: { ...SYNTHETIC, seed: 7 }, jobMs: 50 });
      say("redis-server was not found on PATH: using the emulator's synthetic backend instead");
      say(
        `(${SYNTHETIC.nodes} nodes × ${SYNTHETIC.sessionsPerNode} generated sessions; no real connection to close).`,
      );
      say("Install it for real nodes and connections: apt-get install -y redis-server");
    }
    say(`and the DCS API emulator at ${emulator.endpoint} (instance ${emulator.instanceId}).`);

    const consumer = consumerFolder();
    folder = consumer;
    // The endpoint comes from the environment, the rest from the stack config, as in a user's stack.
    host = await startProviderHost({
      cwd: consumer.dir,
      env: { PATH: process.env.PATH, HW_DCS_ENDPOINT: emulator.endpoint },
      project: project.name,
      stack: "dev",
    });
    await host.configure({
      "huaweicloud:region": emulator.region,
      "huaweicloud:projectId": emulator.projectId,
      "huaweicloud:accessKey": emulator.accessKey,
      "huaweicloud:secretKey": secret(emulator.secretKey),
    });
    say(
      `Started the dynamic-provider host of @pulumi/pulumi (pid ${host.pid}, gRPC on 127.0.0.1:${host.port}).`,
    );
    say();

    const steps = await runProgram(
      project,
      emulator,
      host,
      (step) => {
        const status = step.type === "pulumi:pulumi:Stack" ? "" : `created (${seconds(step.ms)})`;
        say(` +   ${pad(step.type, 48)} ${pad(step.name, 28)} ${status}`);
      },
      say,
    );
    const outputs = steps.stackOutputs;
    const purge = steps.steps.find((s) => s.name === "purge")?.outputs ?? {};
    const after = steps.steps.find((s) => s.name === "after")?.outputs ?? {};

    say();
    say("Outputs:");
    for (const [key, value] of Object.entries(outputs).sort(([a], [b]) => a.localeCompare(b))) {
      say(`    ${pad(`${key}:`, 22)} ${shortJson(value)}`);
    }
    say();
    say("Sessions per node (SessionPurge before/after, then the SessionScan after it):");
    say(`    ${pad("node", 40)} ${pad("before", 8)} ${pad("after", 8)} scan after`);
    const afterByNode = new Map(
      ((after.nodes as Array<{ nodeId: string; sessions: number }> | undefined) ?? []).map((n) => [
        n.nodeId,
        n.sessions,
      ]),
    );
    for (const node of (purge.nodes as Array<{ nodeId: string; before: number; after: number | null }>) ??
      []) {
      say(
        `    ${pad(node.nodeId, 40)} ${pad(String(node.before), 8)} ${pad(String(node.after), 8)} ${afterByNode.get(node.nodeId) ?? "-"}`,
      );
    }

    let closedAll = true;
    if (connections.length > 0) {
      const clients = connections.flatMap((c) => c.clients);
      await waitForClosing(clients, 5000);
      const closed = clients.filter((c) => c.isClosed());
      closedAll = closed.length === clients.length;
      say();
      say(`Client connections closed by the servers: ${closed.length} of ${clients.length}`);
      for (const app of APPS) {
        const ofApp = clients.filter((c) => c.name.startsWith(`${app.name}-`));
        const gone = ofApp.filter((c) => c.isClosed());
        const sample = gone.slice(0, 3).map((c) => `${c.name} ${c.addr}`);
        const more = gone.length > sample.length ? `, … ${gone.length - sample.length} more` : "";
        say(
          `    ${pad(`${app.name} (db ${app.db}):`, 16)} ${gone.length} of ${ofApp.length} closed (${sample.join(", ")}${more})`,
        );
      }
    }
    say();
    say("Resources:");
    say(`    + ${steps.steps.length + 1} created`);
    say();
    const ok = outputs.purgeStatus === "purged" && outputs.sessionsLeft === 0 && closedAll;
    say(
      `Duration: ${seconds(Date.now() - began)}${ok ? "" : "  (the purge did not end with every session closed)"}`,
    );
    code = ok ? 0 : 1;
  } catch (error) {
    say(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    process.chdir(cwd);
    await host?.close().catch(() => undefined);
    folder?.remove();
    await emulator?.close().catch(() => undefined);
    await Promise.all(connections.map((c) => c.closeAll().catch(() => undefined)));
    await servers?.stop().catch(() => undefined);
  }
  const stopped = [
    host ? `the provider host (pid ${host.pid})` : undefined,
    "the emulator",
    servers ? `${servers.servers.length} redis-server nodes` : undefined,
    connections.length > 0 ? "our client connections" : undefined,
  ].filter(Boolean);
  say(
    `Stopped ${stopped.join(", ")}${folder ? `; removed the temporary project folder ${folder.dir}` : ""}.`,
  );
  return code;
}

/** JSON, with an object of many keys cut to its first five (Pulumi prints them all, over many lines). */
function shortJson(value: unknown): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return JSON.stringify(value);
  const entries = Object.entries(value);
  if (entries.length <= 6) return JSON.stringify(value);
  const head = entries.slice(0, 5).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  return `{${head.join(",")}, … ${entries.length - 5} more}`;
}

/** Resolves once every client is closed, or after `ms`. */
async function waitForClosing(clients: OpenClient[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(clients.map((c) => c.closedByServer)),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/**
 * Runs the program through the SDK's `run` under `pulumi.runtime.setMocks`, whose monitor stands for the
 * engine: each resource the program registers is checked and created by the provider host, in the order
 * the program's `dependsOn` imposes, and the host's outputs go back to the program.
 */
async function runProgram(
  project: { name: string; pwd: string; program: string },
  emulator: EmulatorHandle,
  host: ProviderHost,
  onStep: (step: Step) => void,
  say: (line?: string) => void,
): Promise<{ steps: Step[]; stackOutputs: Record<string, unknown> }> {
  const pulumi = require(require.resolve("@pulumi/pulumi", { paths: [CHECKOUT] })) as typeof pulumiTypes;
  const steps: Step[] = [];
  let failure: Error | undefined;
  process.env.PULUMI_CONFIG = JSON.stringify({
    [`${project.name}:instanceId`]: emulator.instanceId,
    [`${project.name}:releaseId`]: "npm-start",
    [`${project.name}:maintenanceWindow`]: JSON.stringify(OPEN_WINDOW),
  });
  // `pulumi up` type-checks the program; the test of Pulumi.yaml does that, the demo only transpiles.
  process.env.PULUMI_NODEJS_TYPESCRIPT = "true";
  process.env.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
  say(`Updating (dev): the program ${project.program === "." ? project.pwd : project.program}`);
  say(`  (config: instanceId=${emulator.instanceId}, maintenanceWindow=${JSON.stringify(OPEN_WINDOW)})`);
  say();
  say(`     ${pad("Type", 48)} ${pad("Name", 28)} Status`);
  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        const t0 = Date.now();
        if (args.type === "pulumi:pulumi:Stack") {
          onStep({ type: args.type, name: `${project.name}-dev`, ms: 0, outputs: {} });
          return { id: args.name, state: {} };
        }
        try {
          const urn = host.urn(args.type, args.name);
          const checked = await host.check(urn, {}, args.inputs as Props);
          if (checked.failures.length > 0) {
            throw new Error(
              `${args.name}: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`,
            );
          }
          const created = await host.create(urn, checked.inputs);
          const step = { type: args.type, name: args.name, ms: Date.now() - t0, outputs: created.properties };
          steps.push(step);
          onStep(step);
          return { id: created.id, state: created.properties };
        } catch (error) {
          failure ??= error instanceof Error ? error : new Error(String(error));
          throw error;
        }
      },
      call: (args) => args.inputs,
    },
    project.name,
    "dev",
    false,
  );
  const { run } = loadSdkRun();
  const reported = new Set<Error>();
  const exported = await run(
    { _: [project.program], pwd: project.pwd },
    () => undefined,
    (error) => reported.add(error),
    (error) => reported.has(error),
  );
  if (failure) throw failure;
  const stackOutputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported ?? {})) {
    stackOutputs[key] = pulumi.Output.isInstance(value) ? await outputValue(value) : value;
  }
  return { steps, stackOutputs };
}

function outputValue(output: pulumiTypes.Output<unknown>): Promise<unknown> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}
