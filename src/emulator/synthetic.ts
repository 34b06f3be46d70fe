/**
 * The synthetic backend: sessions computed on demand from (seed, node, session number), so a million of them
 * cost a few numbers per node. A node keeps cohorts of session numbers (the initial ones, then each batch of
 * reconnections) and the numbers killed one by one; a kill-all drops every cohort.
 */
import type { ClientInfo } from "../api/schemas";
import type { NodeBackend, SessionView } from "./types";

// Local names for the builtins used per session: under Jest's vm context a global lookup costs ~20x more.
const { imul, floor, exp, log, min, max } = Math;

const CLIENT_IPS = 300;
const PORTS = 64000;
const FIRST_PORT = 1024;
const DAY = 86400;

const NAMES = [
  "",
  "",
  "",
  "app-api",
  "app-worker",
  "celery",
  "sidekiq",
  "session-store",
  "cache-warmer",
  "redis-cli",
];
const USERS = ["default", "default", "default", "default", "app", "app", "readonly", "admin"];
const COMMANDS = [
  "get", "get", "get", "set", "set", "ping", "ping", "hget", "hgetall", "mget", "setex", "expire", "del",
  "incr", "lpush", "brpop", "zadd", "zrange", "exists", "eval", "info", "subscribe", "psubscribe",
]; // prettier-ignore

/** A 32-bit mix of its inputs (murmur3's finaliser over a running hash): stable across runs and platforms. */
export function hash32(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    h = imul(h ^ (v >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A uniform number in [0, 1) from a hash. */
function unit(h: number): number {
  return h / 4294967296;
}

/** Log-uniform in [1, max] seconds, minus one so that 0 is possible: many short values, a long tail. */
function logUniform(h: number, max: number): number {
  return floor(exp(unit(h) * log(max + 1))) - 1;
}

function pick<T>(list: readonly T[], h: number): T {
  return list[h % list.length] as T;
}

export function clientIp(index: number): string {
  return `10.${20 + floor(index / 250)}.${floor(index / 50) % 5}.${(index % 250) + 2}`;
}

function ipIndexOf(ip: string): number | undefined {
  const m = /^10\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return undefined;
  const index = (Number(m[1]) - 20) * 250 + Number(m[3]) - 2;
  return index >= 0 && index < CLIENT_IPS && clientIp(index) === ip ? index : undefined;
}

interface Cohort {
  /** Session numbers `first … first + size - 1`. */
  first: number;
  size: number;
  /** Epoch ms when these sessions connected (the start for the initial cohort, minus their base age). */
  bornAt: number;
  /** Initial sessions have been connected for a while already; reconnections start at age 0. */
  initial: boolean;
  killed: Set<number>;
}

/** A frozen copy of the cohorts with their killed numbers sorted, for random access by position. */
interface FrozenCohort {
  first: number;
  bornAt: number;
  initial: boolean;
  killed: Uint32Array;
  /** Live sessions in the cohorts before this one. */
  before: number;
  alive: number;
}

export class SyntheticNode implements NodeBackend {
  private cohorts: Cohort[];
  private nextNumber: number;

  constructor(
    private readonly seed: number,
    private readonly nodeIndex: number,
    sessions: number,
    private readonly reconnectFraction: number,
    private readonly now: () => number,
  ) {
    this.cohorts =
      sessions > 0 ? [{ first: 0, size: sessions, bornAt: now(), initial: true, killed: new Set() }] : [];
    this.nextNumber = sessions;
  }

  /** Live sessions now. */
  get liveCount(): number {
    return this.cohorts.reduce((sum, c) => sum + c.size - c.killed.size, 0);
  }

  /** What the node holds, to show that it stays small: cohorts and individually killed numbers. */
  footprint(): { cohorts: number; killed: number } {
    return { cohorts: this.cohorts.length, killed: this.cohorts.reduce((sum, c) => sum + c.killed.size, 0) };
  }

  async snapshot(): Promise<SessionView> {
    const takenAt = this.now();
    let before = 0;
    const frozen: FrozenCohort[] = this.cohorts.map((c) => {
      const killed = Uint32Array.from([...c.killed].map((n) => n - c.first)).sort();
      const entry = {
        first: c.first,
        bornAt: c.bornAt,
        initial: c.initial,
        killed,
        before,
        alive: c.size - killed.length,
      };
      before += entry.alive;
      return entry;
    });
    return {
      count: before,
      at: (index: number) => {
        const cohort = findCohort(frozen, index);
        const n = cohort.first + nthAlive(cohort.killed, index - cohort.before);
        return this.session(n, cohort, takenAt);
      },
    };
  }

  async killAll(): Promise<number> {
    const killed = this.liveCount;
    this.cohorts = [];
    this.reconnect(killed);
    return killed;
  }

  async killByAddrs(addrs: string[]): Promise<number> {
    return this.killNumbers(addrs.map((addr) => this.numberOfAddr(addr)));
  }

  async killByIds(ids: string[]): Promise<number> {
    return this.killNumbers(ids.map((id) => (/^\d+$/.test(id) ? Number(id) - 1 : undefined)));
  }

  async close(): Promise<void> {
    this.cohorts = [];
  }

  private killNumbers(numbers: Array<number | undefined>): number {
    let killed = 0;
    for (const n of new Set(numbers)) {
      if (n === undefined) continue;
      const cohort = this.cohorts.find((c) => n >= c.first && n < c.first + c.size);
      if (!cohort || cohort.killed.has(n)) continue;
      cohort.killed.add(n);
      killed++;
    }
    this.cohorts = this.cohorts.filter((c) => c.killed.size < c.size);
    this.reconnect(killed);
    return killed;
  }

  /** Applications reconnect a share of what was killed, on new ports (new session numbers). */
  private reconnect(killed: number): void {
    const back = floor(killed * this.reconnectFraction);
    if (back <= 0) return;
    this.cohorts.push({
      first: this.nextNumber,
      size: back,
      bornAt: this.now(),
      initial: false,
      killed: new Set(),
    });
    this.nextNumber += back;
  }

  /** `ip:port` of session n: the port is n mod 64000, the IP's shift is n / 64000, so the address is unique. */
  addrOf(n: number): string {
    const port = n % PORTS;
    const shift = floor(n / PORTS);
    return `${clientIp((this.hotIp(port) + shift) % CLIENT_IPS)}:${FIRST_PORT + port}`;
  }

  private numberOfAddr(addr: string): number | undefined {
    const colon = addr.lastIndexOf(":");
    const ipIndex = ipIndexOf(addr.slice(0, colon));
    const port = Number(addr.slice(colon + 1)) - FIRST_PORT;
    if (ipIndex === undefined || !Number.isInteger(port) || port < 0 || port >= PORTS) return undefined;
    const shift = (((ipIndex - this.hotIp(port)) % CLIENT_IPS) + CLIENT_IPS) % CLIENT_IPS;
    return shift * PORTS + port;
  }

  /** Skewed towards low indexes: a few client hosts hold many sessions, as app servers do. */
  private hotIp(port: number): number {
    const u = unit(hash32(this.seed, this.nodeIndex, port, 1));
    return floor(CLIENT_IPS * u * u);
  }

  private session(n: number, cohort: FrozenCohort, takenAt: number): ClientInfo {
    const h = (salt: number) => hash32(this.seed, this.nodeIndex, n, salt);
    const elapsed = max(0, floor((takenAt - cohort.bornAt) / 1000));
    const baseAge = cohort.initial ? logUniform(h(2), 30 * DAY) : 0;
    const age = baseAge + elapsed;
    const idle = min(age, (cohort.initial ? logUniform(h(3), max(baseAge, 1)) : 0) + elapsed);
    const cmd = pick(COMMANDS, h(4));
    const name = pick(NAMES, h(5));
    const addr = this.addrOf(n);
    const dbRoll = h(6) % 10;
    return {
      id: `${n + 1}`,
      addr,
      fd: `${20 + (n % 100000)}`,
      name: name === "" ? "" : `${name}-${h(7) % 40}`,
      cmd,
      age,
      idle,
      db: `${dbRoll < 7 ? 0 : h(8) % 16}`,
      flags: cmd === "subscribe" || cmd === "psubscribe" ? "P" : "N",
      sub: cmd === "subscribe" ? 1 + (h(9) % 4) : 0,
      psub: cmd === "psubscribe" ? 1 + (h(9) % 3) : 0,
      multi: -1,
      qbuf: 0,
      qbuf_free: 0,
      obl: 0,
      oll: 0,
      omem: 0,
      events: "r",
      network: "vpc",
      peer: addr,
      user: pick(USERS, h(10)),
    };
  }
}

function findCohort(cohorts: FrozenCohort[], index: number): FrozenCohort {
  let lo = 0;
  let hi = cohorts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((cohorts[mid] as FrozenCohort).before <= index) lo = mid;
    else hi = mid - 1;
  }
  return cohorts[lo] as FrozenCohort;
}

/** The k-th offset (0-based) not in the sorted `killed` offsets. */
export function nthAlive(killed: Uint32Array, k: number): number {
  // The answer is k plus the killed offsets below it: the last j with killed[j] - j <= k counts them.
  let lo = 0;
  let hi = killed.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((killed[mid] as number) - mid <= k) lo = mid + 1;
    else hi = mid;
  }
  return k + lo;
}

/** The nodes of a synthetic instance. */
export function createSyntheticNodes(
  options: { nodes: number; sessionsPerNode: number; seed?: number; reconnectFraction?: number },
  now: () => number,
): SyntheticNode[] {
  return Array.from(
    { length: options.nodes },
    (_, i) =>
      new SyntheticNode(options.seed ?? 1, i, options.sessionsPerNode, options.reconnectFraction ?? 0, now),
  );
}
