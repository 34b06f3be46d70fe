/** `dcs-sessions emulator`: the local API emulator, for pipelines and stacks tried without a cloud account. */
import type { Command } from "commander";
import { Option } from "commander";
import type { EmulatorOptions } from "../../emulator/types";
import type { CliContext } from "../context";
import { ENGINES, integerArgument } from "../options";

interface EmulatorFlags {
  engine?: "dcs" | "geminidb";
  host?: string;
  port?: number;
  redis?: string[];
  topology?: "proxy" | "data";
  /** commander's negated flag: false with `--no-client-ip-pass-through`. */
  clientIpPassThrough?: boolean;
  syntheticNodes?: number;
  sessionsPerNode?: number;
  seed?: number;
  jobMs?: number;
  pageCache?: boolean;
  projectId?: string;
  region?: string;
  accessKey?: string;
  secretKey?: string;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(",").filter(Boolean)];
}

export function emulatorOptionsOf(
  flags: EmulatorFlags,
  env: Record<string, string | undefined>,
): EmulatorOptions {
  const options: EmulatorOptions = {};
  if (flags.engine !== undefined) options.engine = flags.engine;
  if (flags.host !== undefined) options.host = flags.host;
  if (flags.port !== undefined) options.port = flags.port;
  if (flags.projectId !== undefined) options.projectId = flags.projectId;
  if (flags.region !== undefined) options.region = flags.region;
  if (flags.jobMs !== undefined) options.jobMs = flags.jobMs;
  if (flags.pageCache === true) options.pageCache = true;
  if (flags.seed !== undefined) options.seed = flags.seed;
  if (flags.clientIpPassThrough === false) options.clientIpPassThrough = false;
  // The emulator's own test keys (never cloud credentials): a flag wins over the environment.
  const accessKey = flags.accessKey ?? env.DCS_EMULATOR_ACCESS_KEY;
  const secretKey = flags.secretKey ?? env.DCS_EMULATOR_SECRET_KEY;
  if (accessKey) options.accessKey = accessKey;
  if (secretKey) options.secretKey = secretKey;
  if (flags.redis && flags.redis.length > 0) {
    options.redis = flags.redis;
    if (flags.topology) options.redisTopology = flags.topology;
  } else {
    options.synthetic = {
      nodes: flags.syntheticNodes ?? 3,
      sessionsPerNode: flags.sessionsPerNode ?? 100,
      ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      ...(flags.topology ? { topology: flags.topology } : {}),
    };
  }
  return options;
}

export function registerEmulator(program: Command, ctx: CliContext): void {
  program
    .command("emulator")
    .description(
      "serve the DCS and GeminiDB session APIs on loopback, backed by redis-server nodes or synthetic sessions",
    )
    .addOption(
      new Option("--engine <engine>", "the API the instance answers on (default: dcs)").choices(ENGINES),
    )
    .option("--host <address>", "loopback address to listen on (default: 127.0.0.1)")
    .option("--port <port>", "port (default: a free port)", integerArgument(0, 65535))
    .option(
      "--redis <url>",
      "a redis-server node, redis://127.0.0.1:6379 (repeatable); default synthetic sessions",
      collect,
    )
    .addOption(
      new Option(
        "--topology <topology>",
        "sessions on proxies or on data nodes (default: proxy, or data with --redis)",
      ).choices(["proxy", "data"]),
    )
    .option(
      "--no-client-ip-pass-through",
      "proxies list a proxy-side addr and the real client in peer (as with pass-through off)",
    )
    .option("--synthetic-nodes <n>", "synthetic nodes (default: 3)", integerArgument(1, 1000))
    .option(
      "--sessions-per-node <n>",
      "synthetic sessions per node (default: 100)",
      integerArgument(0, 10_000_000),
    )
    .option("--seed <n>", "seed of the synthetic sessions and fault draws", integerArgument(0))
    .option(
      "--job-ms <ms>",
      "how long a scan or kill job takes (default: 200)",
      integerArgument(0, 3_600_000),
    )
    .option(
      "--page-cache",
      "keep each rendered list page until the node's next scan (for benchmarks: memory grows with sessions)",
    )
    .option("--project-id <id>", "project id the emulator serves")
    .option("--region <region>", "region the emulator reports")
    .option(
      "--access-key <ak>",
      "the emulator's own test access key (default: generated, or DCS_EMULATOR_ACCESS_KEY)",
    )
    .option(
      "--secret-key <sk>",
      "the emulator's own test secret key (default: generated, or DCS_EMULATOR_SECRET_KEY)",
    )
    .addHelpText(
      "after",
      [
        "",
        "Prints one JSON line first (endpoint, geminidbEndpoint, projectId, instanceId, nodeIds, accessKey,",
        "secretKey, region), then serves until SIGINT or SIGTERM. The keys are the emulator's own test",
        "keys, never cloud credentials: no other command takes a key as a flag.",
        "",
        "Examples:",
        "  $ dcs-sessions emulator --synthetic-nodes 2 --sessions-per-node 500",
        "  $ dcs-sessions emulator --redis redis://127.0.0.1:6379 --redis redis://127.0.0.1:6380",
      ].join("\n"),
    )
    .action(async (flags: EmulatorFlags) => {
      // Loaded on demand: only this command needs the emulator and its Redis client.
      const { runEmulator } = await import("../../emulator/cli");
      await runEmulator(emulatorOptionsOf(flags, ctx.env), { stdout: ctx.stdout, stderr: ctx.stderr });
    });
}
