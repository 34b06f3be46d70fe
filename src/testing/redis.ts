/**
 * Real `redis-server` processes and real client connections for tests (ours and users'): servers on free
 * loopback ports with no persistence, in temporary directories, always cleaned up. Stub: the emulator
 * issue implements it.
 */

export interface RedisServer {
  host: string;
  port: number;
  /** `redis://127.0.0.1:PORT`. */
  url: string;
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
}

export interface OpenClient {
  name: string;
  db: number;
  /** The client's own `ip:port`, as `CLIENT LIST` shows it in `addr`. */
  addr: string;
  /** Resolves when the server closes the connection (not when we close it). */
  closedByServer: Promise<void>;
  isClosed(): boolean;
}

export interface OpenClients {
  clients: OpenClient[];
  /** Closes every connection still open; safe to call twice. */
  closeAll(): Promise<void>;
}

/** The path of `redis-server` on PATH, or undefined. */
export function findRedisServer(): string | undefined {
  throw new Error("not implemented");
}

export async function startRedisServers(_count: number): Promise<RedisServers> {
  throw new Error("not implemented");
}

/** Opens raw client connections that keep open until closed, each named and on its db. */
export async function openClients(_url: string, _specs: ClientSpec[]): Promise<OpenClients> {
  throw new Error("not implemented");
}
