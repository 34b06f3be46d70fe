/**
 * `npm run bench` (after bench/run.js): what the Terraform provider costs a user.
 *
 *   1. provider start: from spawning the executable `install-provider` writes (the wrapper script Terraform
 *      starts) to its handshake line on stdout, median of BENCH_PROVIDER_STARTS runs (default 9), against
 *      the 300 ms target; and to the first answer over mTLS (what Terraform waits for next), after which
 *      the bench sends Shutdown as Terraform does and checks that no socket directory is left;
 *   2. `terraform plan` of a stack with one `dcssessions_scan` and one `dcssessions_purge` through the
 *      provider, median of BENCH_PLANS runs (default 3), against the same scan through the CLI
 *      (`dcs-sessions scan`), with the ratio.
 *
 * Both run against dist/ and an in-process emulator with synthetic sessions, over loopback. Part 2 needs
 * `terraform` on the PATH (it runs offline: the mirror and CLI configuration are in a temporary directory)
 * and is skipped, saying so, without it. Everything it starts it stops; the temporary directory goes.
 */
"use strict";
const { spawn, spawnSync } = require("node:child_process");
const { X509Certificate } = require("node:crypto");
const { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const dist = path.resolve(__dirname, "../dist");
const { startEmulator } = require(path.join(dist, "emulator"));
const { installProvider } = require(path.join(dist, "terraform/install"));
const { createServerCertificate } = require(path.join(dist, "terraform/protocol/certificate"));
const { MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE } = require(path.join(dist, "terraform/protocol/server"));
const { serviceDefinition } = require(path.join(dist, "terraform/protocol/services"));
const grpc = require("@grpc/grpc-js");

const Provider = grpc.makeGenericClientConstructor(serviceDefinition("tfplugin6", "Provider"), "Provider");
const Controller = grpc.makeGenericClientConstructor(
  serviceDefinition("plugin", "GRPCController"),
  "Controller",
);
const { version } = require("../package.json");

const STARTS = Number(process.env.BENCH_PROVIDER_STARTS ?? 9);
const PLANS = Number(process.env.BENCH_PLANS ?? 3);
const START_TARGET_MS = 300;
const NODES = 3;
const SESSIONS_PER_NODE = 2_000;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const ms = (value) => `${value.toFixed(0)} ms`;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");

/** Runs a command to its end; rejects with what it printed when it fails or outlives `timeoutMs`. */
function run(file, args, env, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const elapsed = performance.now() - started;
      if (code === 0) resolve(elapsed);
      else
        reject(new Error(`${path.basename(file)} ${args.join(" ")} ended with ${code ?? signal}:\n${out}`));
    });
  });
}

/** A promise of a unary call's answer. */
const call = (client, method) =>
  new Promise((resolve, reject) =>
    client[method]({}, (error, answer) => (error ? reject(error) : resolve(answer))),
  );

/**
 * Spawns the provider as Terraform does, and plays Terraform's part: reads the handshake line, connects over
 * mTLS (its certificate the only root, ours the client certificate), asks for the schema, then Shutdown.
 * Returns the times from spawning to the handshake line and to the schema's answer.
 */
function timeProviderStart(executable, terraformCert, socketDir) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(executable, [], {
      env: {
        PATH: process.env.PATH,
        [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
        PLUGIN_PROTOCOL_VERSIONS: "6",
        PLUGIN_CLIENT_CERT: terraformCert.certPem,
        PLUGIN_UNIX_SOCKET_DIR: socketDir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let handshake;
    let firstAnswer;
    const clients = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const fail = (error) => {
      child.kill("SIGKILL");
      reject(error);
    };
    const talk = async (line) => {
      const [, , , address, , der] = line.trim().split("|");
      const serverPem = new X509Certificate(Buffer.from(der, "base64")).toString();
      const credentials = grpc.credentials.createSsl(
        Buffer.from(serverPem),
        Buffer.from(terraformCert.keyPem),
        Buffer.from(terraformCert.certPem),
      );
      const options = { "grpc.ssl_target_name_override": "localhost" };
      const provider = new Provider(`unix:${address}`, credentials, options);
      const controller = new Controller(`unix:${address}`, credentials, options);
      clients.push(provider, controller);
      await call(provider, "GetProviderSchema");
      firstAnswer = performance.now() - started;
      await call(controller, "Shutdown");
    };
    child.stdout.on("data", (d) => {
      out += d;
      if (handshake === undefined && out.includes("\n")) {
        handshake = performance.now() - started;
        if (!out.startsWith("1|6|unix|")) return fail(new Error(`not a handshake line: ${out}`));
        talk(out).catch(fail);
      }
    });
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      for (const client of clients) client.close();
      if (code !== 0 || firstAnswer === undefined)
        reject(new Error(`the provider ended with ${code}:\n${out}`));
      else resolve({ handshake, firstAnswer });
    });
  });
}

async function benchProviderStart(executable, root) {
  const socketDir = path.join(root, "start-sockets");
  mkdirSync(socketDir);
  const terraformCert = createServerCertificate(); // any valid certificate stands for Terraform's
  const runs = [];
  for (let i = 0; i < STARTS; i++) runs.push(await timeProviderStart(executable, terraformCert, socketDir));
  const left = readdirSync(socketDir);
  if (left.length > 0) throw new Error(`the provider left socket directories behind: ${left.join(", ")}`);
  return runs;
}

function stack(emulator) {
  return [
    "terraform {",
    "  required_providers {",
    `    dcssessions = { source = "dcs-sessions/dcssessions", version = "${version}" }`,
    "  }",
    "}",
    'provider "dcssessions" {',
    `  endpoint   = "${emulator.endpoint}"`,
    `  project_id = "${emulator.projectId}"`,
    "}",
    'data "dcssessions_scan" "now" {',
    `  instance_id = "${emulator.instanceId}"`,
    "}",
    'resource "dcssessions_purge" "night" {',
    `  instance_id = "${emulator.instanceId}"`,
    "  all_nodes   = true",
    "}",
    "",
  ].join("\n");
}

async function benchPlanAgainstCli(root, mirror, emulator) {
  const cliConfig = path.join(root, "cli.tfrc");
  writeFileSync(
    cliConfig,
    ["provider_installation {", `  filesystem_mirror { path = ${JSON.stringify(mirror)} }`, "}", ""].join(
      "\n",
    ),
  );
  const dir = path.join(root, "stack");
  mkdirSync(dir);
  writeFileSync(path.join(dir, "main.tf"), stack(emulator));
  const credentials = { HW_ACCESS_KEY: emulator.accessKey, HW_SECRET_KEY: emulator.secretKey };
  const tfEnv = {
    PATH: process.env.PATH,
    HOME: root,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: "1",
    ...credentials,
  };
  await run("terraform", [`-chdir=${dir}`, "init", "-input=false", "-no-color"], tfEnv);
  const plans = [];
  for (let i = 0; i < PLANS; i++) {
    plans.push(await run("terraform", [`-chdir=${dir}`, "plan", "-input=false", "-no-color"], tfEnv));
  }
  const cliEnv = { PATH: process.env.PATH, HOME: root, ...credentials };
  const cliArgs = [
    path.join(dist, "cli/main.js"),
    "scan",
    emulator.instanceId,
    "--endpoint",
    emulator.endpoint,
    "--project-id",
    emulator.projectId,
    "--output",
    "json",
    "--quiet",
  ];
  const scans = [];
  for (let i = 0; i < PLANS; i++) scans.push(await run(process.execPath, cliArgs, cliEnv));
  const counters = await emulator.control.counters();
  const kills = ["killAllClients", "killClients"].reduce((n, op) => n + (counters[op] ?? 0), 0);
  if (kills !== 0) throw new Error(`terraform plan sent ${kills} kill(s): a plan must never kill`);
  return { plans, scans };
}

async function main() {
  const root = mkdtempSync(path.join(os.tmpdir(), "dcs-sessions-bench-tf-"));
  let emulator;
  try {
    const mirror = path.join(root, "mirror");
    const { executable } = installProvider({ mirror, version });
    console.log(
      `\nTerraform provider (load average ${load()}, ${os.cpus().length} CPUs, Node ${process.version})`,
    );

    const starts = await benchProviderStart(executable, root);
    const handshakes = starts.map((r) => r.handshake);
    const answers = starts.map((r) => r.firstAnswer);
    const startMedian = median(handshakes);
    const list = (values) => values.map((t) => t.toFixed(0)).join(", ");
    console.log(
      `  provider start, process start → handshake line: median ${ms(startMedian)} of ${starts.length} ` +
        `(${list(handshakes)} ms)`,
    );
    console.log(
      `  verdict: ${startMedian <= START_TARGET_MS ? "within" : "OVER"} the ${START_TARGET_MS} ms target ` +
        `(load average ${load()})`,
    );
    console.log(
      `  process start → first answer (GetProviderSchema over mTLS, grpc-js and the codecs loaded after the ` +
        `handshake): median ${ms(median(answers))} (${list(answers)} ms); exits on Shutdown, no socket left`,
    );

    if (spawnSync("terraform", ["version"]).status !== 0) {
      console.log(
        "  terraform plan: skipped, terraform is not on the PATH (install Terraform 1.11 or later)",
      );
      return;
    }
    emulator = await startEmulator({
      synthetic: { nodes: NODES, sessionsPerNode: SESSIONS_PER_NODE, seed: 3 },
      jobMs: 30,
    });
    const { plans, scans } = await benchPlanAgainstCli(root, mirror, emulator);
    const plan = median(plans);
    const scan = median(scans);
    console.log(
      `  terraform plan, one scan + one purge (${NODES * SESSIONS_PER_NODE} sessions on ${NODES} nodes): ` +
        `median ${ms(plan)} of ${plans.length} (${plans.map((t) => t.toFixed(0)).join(", ")} ms), no kill sent`,
    );
    console.log(
      `  the same scan through the CLI (dcs-sessions scan): median ${ms(scan)} of ${scans.length} ` +
        `(${scans.map((t) => t.toFixed(0)).join(", ")} ms)`,
    );
    console.log(`  ratio plan / CLI scan: ${(plan / scan).toFixed(2)}× (load average ${load()})`);
  } finally {
    await emulator?.close();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
