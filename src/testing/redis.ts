/**
 * Real `redis-server` processes and real client connections for tests (ours and users'): servers on free
 * loopback ports with no persistence, in temporary directories, always cleaned up.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants as fsConstants, mkdtempSync, rmSync } from "node:fs";
import { connect as netConnect, createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import Redis, { AbstractConnector, type RedisOptions } from "ioredis";

export interface RedisServer {
  host: string;
  port: number;
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  /** The `redis-server` process id. */
  pid: number;
  /** Its temporary working directory (removed by `stop`). */
  dir: string;
  stop(): Promise<void>;
}

export interface RedisServers {
  servers: RedisServer[];
  urls: string[];
  /** Stops every server and removes their directories; safe to call twice. */
  stop(): Promise<void>;
}

export interface ClientSpec {
  /** `CLIENT SETNAME`. */
  name: string;
  /** `SELECT db`. */
  db?: number;
  /** A last command to run after connecting, e.g. `["GET", "k"]` (default `PING`). */
  lastCommand?: string[];
  /** Connect to this address of the server instead of the URL's host, e.g. `::1` (see `startRedisServers`). */
  host?: string;
  /** The local address to connect from, e.g. `127.0.0.7`: the client's IP as the server sees it. */
  localAddress?: string;
  /** An ACL user to authenticate as (`AUTH username password`). */
  username?: string;
  password?: string;
}

export interface OpenClient {
  name: string;
  db: number;
  /** The client's own `ip:port`, as `CLIENT LIST` shows it in `addr`. */
  addr: string;
  /** The client's id on the server, as `CLIENT LIST` shows it in `id`. */
  id: string;
  /** Resolves when the server closes the connection (not when we close it). */
  closedByServer: Promise<void>;
  isClosed(): boolean;
  /** Sends `PING` and answers the reply (`PONG`); rejects when the connection is gone. */
  ping(): Promise<string>;
  /** Closes this connection from our side (`closedByServer` then never resolves); safe to call twice. */
  close(): Promise<void>;
}

export interface RedisServersOptions {
  /** Listen on `::1` too, so that clients can connect over IPv6 loopback (default false). */
  ipv6?: boolean;
}

export interface OpenClients {
  clients: OpenClient[];
  /** Closes every connection still open; safe to call twice. */
  closeAll(): Promise<void>;
}

const HOST = "127.0.0.1";
/** How long a new server may take to answer (as itself) before we give up on it. */
const START_TIMEOUT_MS = 10_000;
/** How long a server may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 5_000;
/** Bind races (another process took the port between our probe and redis' bind) are retried this often. */
const PORT_ATTEMPTS = 5;

/** The path of `redis-server` on PATH, or undefined. `REDIS_SERVER` overrides the search. */
export function findRedisServer(): string | undefined {
  const candidates = process.env.REDIS_SERVER
    ? [process.env.REDIS_SERVER]
    : [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/sbin", "/usr/local/bin"]
        .filter((dir) => dir !== "")
        .map((dir) => join(dir, "redis-server"));
  return candidates.find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Servers still running, so that the exit hook can kill what a crashed test left behind. */
const running = new Map<ChildProcess, string>();

// 'exit' handlers must be synchronous: SIGKILL and rmSync are.
function killLeftovers(): void {
  for (const [child, dir] of running) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
  running.clear();
}

/** The hook is on the process only while servers run: many test files in one worker never pile up hooks. */
function track(child: ChildProcess, dir: string): void {
  if (running.size === 0) process.on("exit", killLeftovers);
  running.set(child, dir);
}

function untrack(child: ChildProcess): void {
  if (running.delete(child) && running.size === 0) process.off("exit", killLeftovers);
}

/** Starts `count` redis-servers on free loopback ports; on any failure the ones already started are stopped. */
export async function startRedisServers(
  count: number,
  options: RedisServersOptions = {},
): Promise<RedisServers> {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`count must be a positive integer, got ${String(count)}`);
  }
  const binary = findRedisServer();
  if (!binary) {
    throw new Error("redis-server was not found on PATH; install it with `apt-get install -y redis-server`");
  }
  const settled = await Promise.allSettled(
    Array.from({ length: count }, () => startOneWithRetry(binary, options)),
  );
  const servers = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failure) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failure.reason;
  }
  return {
    servers,
    urls: servers.map((s) => s.url),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

class BindRaceError extends Error {}

async function startOneWithRetry(binary: string, options: RedisServersOptions): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOne(binary, await freePort(), options);
    } catch (err) {
      if (!(err instanceof BindRaceError) || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

/** A port the kernel considers free right now (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error("could not read the probed port"))));
    });
  });
}

/** The arguments of a throwaway server: loopback only, nothing written to disk. */
export function redisServerArgs(port: number, dir: string, options: RedisServersOptions = {}): string[] {
  return [
    "--port",
    String(port),
    "--bind",
    HOST,
    ...(options.ipv6 ? ["::1"] : []),
    "--protected-mode",
    "no",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--daemonize",
    "no",
    "--logfile",
    "",
    "--loglevel",
    "warning",
  ];
}

async function startOne(binary: string, port: number, options: RedisServersOptions): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "dcs-sessions-redis-"));
  const child = spawn(binary, redisServerArgs(port, dir, options), { stdio: ["ignore", "pipe", "pipe"] });
  track(child, dir);
  // Keep the last output for error messages; reading it also keeps the pipes from filling up.
  let output = "";
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  let spawnError: Error | undefined;
  child.once("error", (err) => {
    spawnError = err;
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(killer);
      }
      untrack(child);
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      await stop();
      if (/address already in use/i.test(output)) throw new BindRaceError(`port ${port} was taken`);
      throw new Error(
        `redis-server on port ${port} exited before answering` +
          (spawnError ? `: ${spawnError.message}` : "") +
          (output.trim() ? `\n${output.trim()}` : ""),
      );
    }
    // Another test worker's server may hold the same port for a moment: only our own process counts.
    const pid = await serverPidAt(port);
    if (pid !== undefined && pid === child.pid) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on port ${port} did not answer within ${START_TIMEOUT_MS} ms`);
    }
    await sleep(25);
  }
  return { host: HOST, port, url: `redis://${HOST}:${port}`, pid: child.pid ?? 0, dir, stop };
}

/** The `process_id` of the server answering on a port (`INFO server` over a fresh socket), if any. */
function serverPidAt(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: HOST, port });
    let reply = "";
    const done = (pid: number | undefined): void => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(1000, () => done(undefined));
    socket.once("error", () => done(undefined));
    socket.once("connect", () => socket.write("INFO server\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (reply.startsWith("-")) return done(undefined);
      const match = /\r\nprocess_id:(\d+)\r\n/.exec(reply);
      if (match) done(Number(match[1]));
    });
    socket.once("end", () => done(undefined));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A connection of our own that never retries, reconnects or queues: when the server closes it, it stays
 * closed, which is exactly what a test of a kill needs to observe.
 */
export function rawConnection(
  url: string,
  connectionName?: string,
  from: Pick<ClientSpec, "host" | "localAddress" | "username" | "password"> = {},
): Redis {
  const options: RedisOptions = {
    lazyConnect: true,
    retryStrategy: () => null,
    reconnectOnError: () => false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    connectTimeout: 5000,
    // A reply that never comes fails the test's setup instead of hanging it.
    commandTimeout: 10_000,
    ...(connectionName ? { connectionName } : {}),
    ...(from.username === undefined ? {} : { username: from.username }),
    ...(from.password === undefined ? {} : { password: from.password }),
  };
  if (from.host === undefined && from.localAddress === undefined) return new Redis(url, options);
  // The URL's fields would win over explicit ones: name the host and port directly instead.
  const target = new URL(url);
  const host = from.host ?? target.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(target.port || 6379);
  const connector =
    from.localAddress === undefined ? {} : { Connector: boundConnector(host, port, from.localAddress) };
  return new Redis({ ...options, host, port, ...connector });
}

/**
 * An ioredis connector that connects from a given local address (ioredis has no option for it): the server
 * then sees the client at that IP, as it would see a client on another host.
 */
function boundConnector(host: string, port: number, localAddress: string) {
  return class BoundConnector extends AbstractConnector {
    constructor() {
      super(2000);
    }

    connect(): Promise<Socket> {
      this.connecting = true;
      const stream = createConnection({ host, port, localAddress });
      stream.once("error", (err) => {
        this.firstError = err;
      });
      this.stream = stream;
      return Promise.resolve(stream);
    }
  };
}

/** Opens raw client connections that keep open until closed, each named and on its db. */
export async function openClients(url: string, specs: ClientSpec[]): Promise<OpenClients> {
  const settled = await Promise.allSettled(specs.map((spec) => openClient(url, spec)));
  const clients = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const closeAll = async (): Promise<void> => {
    await Promise.all(clients.map((c) => c.close()));
  };
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failure) {
    await closeAll();
    throw failure.reason;
  }
  return { clients, closeAll };
}

async function openClient(url: string, spec: ClientSpec): Promise<OpenClient> {
  const db = spec.db ?? 0;
  const redis = rawConnection(url, undefined, spec);
  let closed = false;
  let closingByUs = false;
  let markClosedByServer: () => void = () => undefined;
  const closedByServer = new Promise<void>((resolve) => {
    markClosedByServer = resolve;
  });
  // A killed connection may report ECONNRESET; it is expected, and an unhandled 'error' would be noise.
  redis.on("error", () => undefined);
  redis.on("close", () => {
    closed = true;
    if (!closingByUs) markClosedByServer();
  });
  const close = async (): Promise<void> => {
    if (closed) return;
    closingByUs = true;
    // QUIT lets the server drop the connection cleanly; disconnect is the fallback if it cannot answer.
    if (redis.status === "ready") {
      await redis.quit().catch(() => undefined);
      if (!closed) await closeEvent(redis, 1000);
    }
    // ioredis' disconnect arms a timer on a stream that is already closed; only call it when needed.
    if (!closed && redis.status !== "end") {
      redis.disconnect();
      await closeEvent(redis, 2000);
    }
  };
  try {
    await redis.connect();
    await redis.call("CLIENT", "SETNAME", spec.name);
    await redis.call("SELECT", String(db));
    const info = await ownClientInfo(redis);
    const [command, ...args] = spec.lastCommand ?? ["PING"];
    if (!command) throw new Error(`lastCommand of client ${spec.name} is empty`);
    await runLastCommand(redis, command, args);
    return {
      name: spec.name,
      db,
      addr: info.addr,
      id: info.id,
      closedByServer,
      isClosed: () => closed,
      ping: async () => String(await redis.call("PING")),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** ioredis tracks subscriptions itself, so (P)SUBSCRIBE must go through its own methods, not `call`. */
async function runLastCommand(redis: Redis, command: string, args: string[]): Promise<void> {
  const upper = command.toUpperCase();
  if (upper === "SUBSCRIBE") await redis.subscribe(...args);
  else if (upper === "PSUBSCRIBE") await redis.psubscribe(...args);
  else await redis.call(command, ...args);
}

/** Waits for the connection's 'close' event, or at most `ms` (a connection that never opened has none). */
function closeEvent(redis: Redis, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms).unref();
    redis.once("close", done);
    function done(): void {
      clearTimeout(timer);
      redis.off("close", done);
      resolve();
    }
  });
}

/** The connection's own `id` and `addr`: `CLIENT INFO` (Redis ≥ 6.2), else its line of `CLIENT LIST`. */
async function ownClientInfo(redis: Redis): Promise<{ id: string; addr: string }> {
  let line: string;
  try {
    line = String(await redis.call("CLIENT", "INFO"));
  } catch {
    const id = String(await redis.call("CLIENT", "ID"));
    const list = String(await redis.call("CLIENT", "LIST"));
    line = list.split("\n").find((l) => l.startsWith(`id=${id} `)) ?? "";
  }
  const id = /(?:^| )id=(\S+)/.exec(line)?.[1];
  const addr = /(?:^| )addr=(\S+)/.exec(line)?.[1];
  if (!id || !addr) throw new Error(`could not read this connection's id and addr from: ${line.trim()}`);
  return { id, addr };
}
