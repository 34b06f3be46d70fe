/**
 * Client connections for the selective-purge tests of the front ends: each from its own loopback source
 * address (127.0.0.x, which Linux routes to the loopback interface), logged in as an ACL user, named, on a
 * db, with a chosen last command, and either left idle or kept busy. Plain sockets speaking RESP: ioredis
 * cannot bind a source address. A connection the server closes stays closed.
 */
import { connect, type Socket } from "node:net";
import { rawConnection } from "../../src/testing/redis";

export interface ClientSetup {
  name: string;
  /** The source address to connect from, e.g. `127.0.0.2`. */
  from: string;
  /** An ACL user made by `createUsers` (default: the `default` user, no AUTH). */
  user?: string;
  db?: number;
  /** The last command after the set-up, e.g. `["GET", "k"]` (default `PING`). */
  lastCommand?: string[];
  /** Repeat the last command every 250 ms, so that the session never looks idle for a whole second. */
  busy?: boolean;
}

export interface TestClient {
  setup: ClientSetup;
  /** `ip:port` as the server sees this connection. */
  addr: string;
  /** Resolves when the server closes the connection (not when we close it). */
  closedByServer: Promise<void>;
  isClosed(): boolean;
  /** Sends PING and resolves with the reply (`PONG`); rejects when the connection is closed. */
  ping(): Promise<string>;
  /** Stops the busy PINGs (the session then goes idle). */
  quiet(): void;
  close(): void;
}

/** Every ACL user the clients log in as: their password is their name reversed (test values only). */
export const passwordOf = (user: string): string => [...user].reverse().join("") + "-pw";

/** Creates ACL users with every right on a server (what an application's users would have). */
export async function createUsers(url: string, users: string[]): Promise<void> {
  const admin = rawConnection(url);
  try {
    await admin.connect();
    for (const user of users) {
      await admin.call("ACL", "SETUSER", user, "reset", "on", `>${passwordOf(user)}`, "~*", "&*", "+@all");
    }
  } finally {
    admin.disconnect();
  }
}

/** One RESP array of bulk strings. */
function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

/** Reads simple replies (`+`, `-`, `:`, and `$` bulk strings) in order, one per command sent. */
class ReplyReader {
  private buffer = "";
  private readonly waiting: Array<{ resolve: (v: string) => void; reject: (e: Error) => void }> = [];

  next(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
    });
  }

  feed(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.indexOf("\r\n");
      if (end < 0) return;
      const line = this.buffer.slice(0, end);
      let consumed = end + 2;
      let value = line.slice(1);
      if (line.startsWith("$")) {
        const length = Number(value);
        if (length >= 0) {
          if (this.buffer.length < consumed + length + 2) return;
          value = this.buffer.slice(consumed, consumed + length);
          consumed += length + 2;
        } else value = "(nil)";
      }
      this.buffer = this.buffer.slice(consumed);
      const waiter = this.waiting.shift();
      if (line.startsWith("-")) waiter?.reject(new Error(value));
      else waiter?.resolve(value);
    }
  }

  failAll(error: Error): void {
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}

export async function openTestClient(host: string, port: number, setup: ClientSetup): Promise<TestClient> {
  const socket: Socket = connect({ host, port, localAddress: setup.from });
  socket.setEncoding("utf8");
  const replies = new ReplyReader();
  let closed = false;
  let closingByUs = false;
  let markClosedByServer: () => void = () => undefined;
  const closedByServer = new Promise<void>((resolve) => (markClosedByServer = resolve));
  socket.on("data", (chunk: string) => replies.feed(chunk));
  socket.on("error", () => undefined); // a killed connection may report ECONNRESET: expected
  socket.on("close", () => {
    closed = true;
    replies.failAll(new Error(`connection ${setup.name} is closed`));
    if (!closingByUs) markClosedByServer();
  });
  const send = (args: string[]): Promise<string> => {
    if (closed) return Promise.reject(new Error(`connection ${setup.name} is closed`));
    const reply = replies.next();
    socket.write(encode(args));
    return reply;
  };
  let ticker: NodeJS.Timeout | undefined;
  const quiet = (): void => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
  };
  const close = (): void => {
    quiet();
    if (closed) return;
    closingByUs = true;
    socket.destroy();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    if (setup.user) await send(["AUTH", setup.user, passwordOf(setup.user)]);
    await send(["CLIENT", "SETNAME", setup.name]);
    await send(["SELECT", String(setup.db ?? 0)]);
    await send(setup.lastCommand ?? ["PING"]);
  } catch (error) {
    close();
    throw error;
  }
  const repeated = setup.lastCommand ?? ["PING"];
  if (setup.busy) ticker = setInterval(() => void send(repeated).catch(() => undefined), 250);
  return {
    setup,
    addr: `${socket.localAddress}:${socket.localPort}`,
    closedByServer,
    isClosed: () => closed,
    ping: () => send(["PING"]),
    quiet,
    close,
  };
}

/** Opens every client on the server at `url`; on a failure the ones already open are closed. */
export async function openTestClients(url: string, setups: ClientSetup[]): Promise<TestClient[]> {
  const { hostname, port } = new URL(url);
  const settled = await Promise.allSettled(setups.map((s) => openTestClient(hostname, Number(port), s)));
  const clients = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failure) {
    for (const c of clients) c.close();
    throw failure.reason;
  }
  return clients;
}

/** Waits until every given client was closed by the server, or fails naming those still open. */
export async function allClosedByServer(clients: TestClient[], timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const open = clients.filter((c) => !c.isClosed()).map((c) => c.setup.name);
      reject(new Error(`still open after ${timeoutMs} ms: ${open.join(", ")}`));
    }, timeoutMs);
  });
  try {
    await Promise.race([Promise.all(clients.map((c) => c.closedByServer)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const sessionOf = (name: string, extra: Partial<ClientSetup> = {}): ClientSetup => ({
  name,
  from: "127.0.0.2",
  user: "batch",
  db: 2,
  lastCommand: ["GET", "k"],
  ...extra,
});

/**
 * One selective purge for every front end: a match with all six fields, and clients on two nodes of which
 * exactly three match. Every other client differs from a match in ONE field only, so each field is shown
 * to narrow the selection (AND), and the lists show OR within a field.
 */
export const SELECTIVE = {
  users: ["batch", "other"],
  node0: [
    sessionOf("old-1"), // matches
    sessionOf("old-3", { from: "127.0.0.3" }), // matches, through the /32 range
    sessionOf("old-2", { db: 0 }), // another db
    sessionOf("old-7", { busy: true }), // not idle
    sessionOf("keep-me"), // another name
    sessionOf("old-6", { user: "other" }), // another user
    sessionOf("old-8", { lastCommand: ["SET", "k", "v"] }), // another last command
  ],
  node1: [
    sessionOf("old-4"), // matches
    sessionOf("old-5", { from: "127.0.0.4" }), // another client address
  ],
  match: {
    idleOverSeconds: 2,
    clients: ["127.0.0.2", "127.0.0.3/32", "fd00::/8"],
    users: ["batch"],
    names: ["old-1", "old-2", "old-3", "old-4", "old-5", "old-6", "old-7", "old-8"],
    dbs: [2, 5],
    cmds: ["GET"],
  },
  matched: ["old-1", "old-3", "old-4"],
} as const;

export interface SelectiveClients {
  all: TestClient[];
  matched: TestClient[];
  survivors: TestClient[];
  closeAll(): void;
}

/**
 * Creates the users, opens the clients of `SELECTIVE` on the two servers, and waits until the idle ones are
 * idle for more than `match.idleOverSeconds` (Redis counts idle time in whole seconds).
 */
export async function openSelectiveClients(urls: readonly [string, string]): Promise<SelectiveClients> {
  for (const url of urls) await createUsers(url, [...SELECTIVE.users]);
  const node0 = await openTestClients(urls[0], [...SELECTIVE.node0]);
  const node1 = await openTestClients(urls[1], [...SELECTIVE.node1]).catch((error: unknown) => {
    for (const c of node0) c.close();
    throw error;
  });
  const all = [...node0, ...node1];
  await sleep((SELECTIVE.match.idleOverSeconds + 1.5) * 1000);
  const isMatched = (c: TestClient) => (SELECTIVE.matched as readonly string[]).includes(c.setup.name);
  return {
    all,
    matched: all.filter(isMatched),
    survivors: all.filter((c) => !isMatched(c)),
    closeAll: () => {
      for (const c of all) c.close();
    },
  };
}

/** Every matched client closed by the server, every other one still open and answering PING. */
export async function expectExactlyMatchedClosed(clients: SelectiveClients): Promise<void> {
  await allClosedByServer(clients.matched);
  for (const c of clients.survivors) c.quiet();
  const replies = await Promise.all(clients.survivors.map(async (c) => [c.setup.name, await c.ping()]));
  expect(Object.fromEntries(replies)).toEqual(
    Object.fromEntries(clients.survivors.map((c) => [c.setup.name, "PONG"])),
  );
}

/**
 * None of the clients was closed (a dry run, a refusal). With `ping`, each also answers PING, which makes it
 * busy: leave it out while the idle time of the clients still matters.
 */
export async function expectNoneClosed(clients: SelectiveClients, { ping = true } = {}): Promise<void> {
  // A kill's close reaches our sockets within milliseconds: give it a moment to show.
  await sleep(200);
  expect(clients.all.filter((c) => c.isClosed()).map((c) => c.setup.name)).toEqual([]);
  if (!ping) return;
  const replies = await Promise.all(clients.all.map((c) => c.ping()));
  expect(replies.every((r) => r === "PONG")).toBe(true);
}
