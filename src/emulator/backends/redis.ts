/**
 * The `redis` backend: a node is a real `redis-server`. A scan is `CLIENT LIST`, a kill-all is
 * `CLIENT KILL TYPE normal` (and `TYPE pubsub`), a kill-chosen is `CLIENT KILL ADDR` per address (or
 * `CLIENT KILL ID` per id, for GeminiDB's `session_ids`).
 */
import Redis from "ioredis";
import type { ClientInfo } from "../../api/schemas";
import type { NodeBackend, SessionView } from "../types";

/** The name of the emulator's own connection, so that an operator who looks at `CLIENT LIST` knows it. */
export const ADMIN_CONNECTION_NAME = "dcs-sessions-emulator";

/** What the service reports as `network` for a client: the example of the DCS API shows "vpc". */
const NETWORK = "vpc";

/** The fields of one `CLIENT LIST` line, as Redis names them (`qbuf-free`, `argv-mem`, …). */
export type ClientListFields = Record<string, string>;

/** Splits `CLIENT LIST` output into one record per client line. Values never contain spaces. */
export function parseClientList(text: string): ClientListFields[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .map(parseClientLine);
}

function parseClientLine(line: string): ClientListFields {
  const fields: ClientListFields = {};
  for (const token of line.trim().split(" ")) {
    const eq = token.indexOf("=");
    if (eq > 0) fields[token.slice(0, eq)] = token.slice(eq + 1);
  }
  return fields;
}

/** Redis field name → ClientInfo field, for the fields that are numbers on the wire. */
const NUMERIC_FIELDS: ReadonlyArray<readonly [string, keyof ClientInfo]> = [
  ["age", "age"],
  ["idle", "idle"],
  ["sub", "sub"],
  ["psub", "psub"],
  ["multi", "multi"],
  ["qbuf", "qbuf"],
  ["qbuf-free", "qbuf_free"],
  ["obl", "obl"],
  ["oll", "oll"],
  ["omem", "omem"],
];

const STRING_FIELDS = ["id", "addr", "fd", "name", "cmd", "db", "flags", "events", "user"] as const;

/**
 * One client as the DCS API reports it: the documented ClientInfo fields only (Redis' own extras such as
 * `laddr` or `tot-mem` are not part of the service's answer), `peer` = `addr` since no proxy sits between.
 */
export function toClientInfo(fields: ClientListFields): ClientInfo {
  const info: ClientInfo = {};
  for (const key of STRING_FIELDS) {
    if (fields[key] !== undefined) info[key] = fields[key];
  }
  for (const [redisKey, key] of NUMERIC_FIELDS) {
    const raw = fields[redisKey];
    const n = raw === undefined || raw === "" ? NaN : Number(raw);
    if (Number.isFinite(n)) (info as Record<string, unknown>)[key] = n;
  }
  info.network = NETWORK;
  if (fields.addr !== undefined) info.peer = fields.addr;
  return info;
}

/** An in-memory list seen through the backend contract. */
export function arrayView(sessions: readonly ClientInfo[]): SessionView {
  return {
    count: sessions.length,
    at(index: number): ClientInfo {
      const session = sessions[index];
      if (session === undefined) throw new RangeError(`no session at ${index} (count ${sessions.length})`);
      return session;
    },
  };
}

/** Waits until the connection has ended, or at most `ms`. */
function endOf(redis: Redis, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (redis.status === "end") return resolve();
    const timer = setTimeout(done, ms).unref();
    redis.once("end", done);
    function done(): void {
      clearTimeout(timer);
      redis.off("end", done);
      resolve();
    }
  });
}

/** Where a URL points, without its password, for error messages. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "the configured redis URL";
  }
}

/**
 * Connects to the `redis-server` at `url` with one admin connection of its own, named
 * `dcs-sessions-emulator`. Rejects when the server cannot be reached. The connection reconnects if the server
 * restarts; a command fails (rather than waits) while the server is away, so a scan job fails as it should.
 */
export async function createRedisBackend(url: string): Promise<NodeBackend> {
  const where = describeUrl(url);
  // No retry until the first connection is made, so that a wrong URL fails here at once; after that the
  // connection comes back by itself if the server restarts.
  let connectedOnce = false;
  const admin = new Redis(url, {
    lazyConnect: true,
    connectionName: ADMIN_CONNECTION_NAME,
    retryStrategy: (times) => (connectedOnce ? Math.min(times * 200, 2000) : null),
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 5000,
    commandTimeout: 10_000,
  });
  // Errors surface through the commands that fail; an unhandled 'error' event would only print noise.
  admin.on("error", () => undefined);
  try {
    await admin.connect();
    connectedOnce = true;
  } catch (err) {
    if (admin.status !== "end") admin.disconnect();
    throw new Error(`cannot connect to redis-server at ${where}: ${(err as Error).message}`);
  }

  const run = async <T>(what: string, command: Promise<T>): Promise<T> => {
    try {
      return await command;
    } catch (err) {
      throw new Error(`${what} on redis-server at ${where} failed: ${(err as Error).message}`);
    }
  };

  let closing: Promise<void> | undefined;
  return {
    async snapshot(): Promise<SessionView> {
      // Both on the admin connection, in order: the id is ours even if the connection was re-established.
      const ownId = String(await run("CLIENT ID", admin.call("CLIENT", "ID")));
      const list = String(await run("CLIENT LIST", admin.call("CLIENT", "LIST")));
      const sessions = parseClientList(list)
        .filter((fields) => fields.id !== ownId)
        .map(toClientInfo);
      return arrayView(sessions);
    },

    async killAll(): Promise<number> {
      // Every client session: normal and pub/sub clients alike; never replication links (master/replica).
      let killed = 0;
      for (const type of ["normal", "pubsub"]) {
        const n = await run(
          `CLIENT KILL TYPE ${type}`,
          admin.call("CLIENT", "KILL", "TYPE", type, "SKIPME", "yes"),
        );
        killed += Number(n);
      }
      return killed;
    },

    async killByAddrs(addrs: string[]): Promise<number> {
      // The filter form answers how many it killed (0 for an unknown address) instead of an error; the
      // commands are sent together, as one pipeline on the admin connection.
      const counts = await Promise.all(
        [...new Set(addrs)].map((addr) =>
          run(`CLIENT KILL ADDR ${addr}`, admin.call("CLIENT", "KILL", "ADDR", addr, "SKIPME", "yes")),
        ),
      );
      return counts.reduce<number>((sum, n) => sum + Number(n), 0);
    },

    async killByIds(ids: string[]): Promise<number> {
      // Redis refuses an id that is not a positive integer; such an id names no session, so it counts 0.
      const valid = [...new Set(ids)].filter((id) => /^[1-9]\d*$/.test(id));
      const counts = await Promise.all(
        valid.map((id) =>
          run(`CLIENT KILL ID ${id}`, admin.call("CLIENT", "KILL", "ID", id, "SKIPME", "yes")),
        ),
      );
      return counts.reduce<number>((sum, n) => sum + Number(n), 0);
    },

    close(): Promise<void> {
      closing ??= (async () => {
        if (admin.status === "ready") {
          await admin.quit().catch(() => undefined);
          await endOf(admin, 1000);
        }
        // ioredis' disconnect arms a timer on a stream that is already closed; only call it when needed.
        if (admin.status !== "end") {
          admin.disconnect();
          await endOf(admin, 2000);
        }
      })();
      return closing;
    },
  };
}
