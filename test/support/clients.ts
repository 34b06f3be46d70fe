/**
 * The one selective purge every front end runs end to end (CLI, Pulumi, Terraform): client connections from
 * their own loopback source addresses (127.0.0.x, which Linux routes to the loopback interface), logged in as
 * ACL users, named, on a db, with a chosen last command, left idle or kept busy — opened with the shared
 * `openClients` of dcs-sessions/testing.
 */
import { openClients, rawConnection, type OpenClient } from "../../src/testing/redis";

export interface ClientSetup {
  name: string;
  /** The source address to connect from, e.g. `127.0.0.2`. */
  from: string;
  /** An ACL user made by `createUsers`. */
  user: string;
  db: number;
  /** The last command after the set-up (default `PING`). */
  lastCommand?: string[];
  /** PING every 250 ms, so that the session never looks idle for a whole second. */
  busy?: boolean;
}

export interface TestClient {
  setup: ClientSetup;
  connection: OpenClient;
  /** Stops the busy PINGs. */
  quiet(): void;
}

/** The password of a test ACL user (test values only). */
export const passwordOf = (user: string): string => `${user}-pw`;

/** Creates ACL users with every right on a server (what an application's users would have). */
export async function createUsers(url: string, users: readonly string[]): Promise<void> {
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

/** Opens the clients on the server at `url`, and starts the PINGs of the busy ones. */
async function openTestClients(url: string, setups: readonly ClientSetup[]): Promise<TestClient[]> {
  const opened = await openClients(
    url,
    setups.map((s) => ({
      name: s.name,
      db: s.db,
      localAddress: s.from,
      username: s.user,
      password: passwordOf(s.user),
      ...(s.lastCommand ? { lastCommand: s.lastCommand } : {}),
    })),
  );
  return opened.clients.map((connection, i) => {
    const setup = setups[i]!;
    const ticker = setup.busy
      ? setInterval(() => void connection.ping().catch(() => undefined), 250)
      : undefined;
    return { setup, connection, quiet: () => clearInterval(ticker) };
  });
}

export /** Resolves true when the promise settles within `ms`, false otherwise (bounded wait, no hang). */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Waits until every given client was closed by the server, or fails naming those still open. */
export async function allClosedByServer(clients: TestClient[], timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const open = clients.filter((c) => !c.connection.isClosed()).map((c) => c.setup.name);
      reject(new Error(`still open after ${timeoutMs} ms: ${open.join(", ")}`));
    }, timeoutMs);
  });
  try {
    await Promise.race([Promise.all(clients.map((c) => c.connection.closedByServer)), timeout]);
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

/** A match with every field, as the scenario writes it (read-only lists). */
export interface MatchValues {
  readonly idleOverSeconds: number;
  readonly clients: readonly string[];
  readonly users: readonly string[];
  readonly names: readonly string[];
  readonly dbs: readonly number[];
  readonly cmds: readonly string[];
}

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
    sessionOf("old-7", { busy: true, lastCommand: ["PING"] }), // not idle
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
    cmds: ["GET", "ping"],
  },
  matched: ["old-1", "old-3", "old-4"],
} as const;

export interface SelectiveClients {
  all: TestClient[];
  matched: TestClient[];
  survivors: TestClient[];
  closeAll(): Promise<void>;
}

/**
 * Creates the users, opens the clients of `SELECTIVE` on the two servers, and waits until the idle ones are
 * idle for more than `match.idleOverSeconds` (Redis counts idle time in whole seconds).
 */
export async function openSelectiveClients(urls: readonly [string, string]): Promise<SelectiveClients> {
  for (const url of urls) await createUsers(url, SELECTIVE.users);
  const node0 = await openTestClients(urls[0], SELECTIVE.node0);
  const node1 = await openTestClients(urls[1], SELECTIVE.node1).catch(async (error: unknown) => {
    for (const c of node0) c.quiet();
    await Promise.all(node0.map((c) => c.connection.close()));
    throw error;
  });
  const all = [...node0, ...node1];
  await sleep((SELECTIVE.match.idleOverSeconds + 1.5) * 1000);
  const isMatched = (c: TestClient) => (SELECTIVE.matched as readonly string[]).includes(c.setup.name);
  return {
    all,
    matched: all.filter(isMatched),
    survivors: all.filter((c) => !isMatched(c)),
    closeAll: async () => {
      for (const c of all) c.quiet();
      await Promise.all(all.map((c) => c.connection.close()));
    },
  };
}

/** Every matched client closed by the server, every other one still open and answering PING. */
export async function expectExactlyMatchedClosed(clients: SelectiveClients): Promise<void> {
  await allClosedByServer(clients.matched);
  for (const c of clients.survivors) c.quiet();
  const replies = await Promise.all(
    clients.survivors.map(async (c) => [c.setup.name, await c.connection.ping()]),
  );
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
  expect(clients.all.filter((c) => c.connection.isClosed()).map((c) => c.setup.name)).toEqual([]);
  if (!ping) return;
  const replies = await Promise.all(clients.all.map((c) => c.connection.ping()));
  expect(replies.every((r) => r === "PONG")).toBe(true);
}
