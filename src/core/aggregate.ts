/**
 * Streaming aggregation of sessions: feed them one at a time, read bounded figures at the end. Nothing here
 * holds a session after `add` returns, except the N most idle (N ≤ 100) as small summaries.
 */
import type { ClientInfo, GeminiSession } from "../api/schemas";
import {
  NONE_KEY,
  clientIpOf,
  orNone,
  positiveOrZero,
  readTallied,
  TALLY_AGE,
  TALLY_CMD,
  TALLY_DB,
  TALLY_IDLE,
  TALLY_IP,
  TALLY_NAME,
  TALLY_SUBSCRIPTIONS,
  TALLY_USER,
  type PageTally,
  type TalliedPage,
  type WireClientPage,
  type WireSessionFacts,
} from "../api/wire-page";
import { clientAddressOf } from "./match";
import {
  DEFAULT_TOP_N,
  IDLE_BUCKETS,
  MAP_CAP,
  MAX_TOP_N,
  OTHER_KEY,
  type IdleBucket,
  type SessionSnapshot,
  type SessionSummary,
} from "./types";

/** How many distinct keys a map counts exactly before it starts folding the smallest away. */
export const DEFAULT_TRACKED_KEYS = 100_000;

/** One session in the shape the accumulator reads, whichever API it came from. */
export interface SessionFacts extends Omit<SessionSummary, "nodeId"> {
  subscriptions: number;
}

/** Defined beside the wire readers (api/wire-page.ts), which work out the same keys. */
export { NONE_KEY, clientIpOf, orNone };

/** A DCS `ClientInfo`, named by its `peer` (the real client) when present: behind a proxy `addr` is its side. */
export function factsOfClientInfo(c: ClientInfo): SessionFacts {
  return {
    addr: clientAddressOf(c),
    name: orNone(c.name),
    user: orNone(c.user),
    db: orNone(c.db),
    cmd: orNone(c.cmd),
    idleSeconds: positiveOrZero(c.idle),
    ageSeconds: positiveOrZero(c.age),
    subscriptions: positiveOrZero(c.sub) + positiveOrZero(c.psub),
  };
}

/**
 * The facts of the session a fast-path page is at (`page`, `index`), in the shape the accumulator reads:
 * `page.read` fills the fields, and the full address is made only when asked for (by the most-idle list,
 * for the few sessions it keeps or ranks by address).
 */
export class PageFacts implements SessionFacts, WireSessionFacts {
  page: WireClientPage | undefined;
  index = 0;
  clientIp = NONE_KEY;
  name = NONE_KEY;
  user = NONE_KEY;
  db = NONE_KEY;
  cmd = NONE_KEY;
  idleSeconds = 0;
  ageSeconds = 0;
  subscriptions = 0;

  get addr(): string {
    return this.page?.addrAt(this.index) ?? "";
  }
}

/** A GeminiDB session: no `user` field on that API, so every session counts under `(none)`. */
export function factsOfGeminiSession(s: GeminiSession): SessionFacts {
  return {
    addr: s.addr ?? "",
    name: orNone(s.name),
    user: NONE_KEY,
    db: orNone(s.db),
    cmd: orNone(s.cmd),
    idleSeconds: positiveOrZero(s.idle),
    ageSeconds: positiveOrZero(s.age),
    subscriptions: positiveOrZero(s.sub) + positiveOrZero(s.psub),
  };
}

/** `<1m`, `1m-10m`, `10m-1h`, `1h-24h`, `>=24h`: lower bounds inclusive. */
export function idleBucketOf(idleSeconds: number): IdleBucket {
  return IDLE_BUCKETS[idleBucketIndex(idleSeconds)]!;
}

/** The index in `IDLE_BUCKETS` of an idle time's bucket. */
function idleBucketIndex(idleSeconds: number): number {
  if (idleSeconds < 60) return 0;
  if (idleSeconds < 600) return 1;
  if (idleSeconds < 3600) return 2;
  if (idleSeconds < 86_400) return 3;
  return 4;
}

/** A count held in a map and changed in place. */
interface Tally {
  n: number;
}

/**
 * Counts per key with a bound on the keys held. Exact while the distinct keys stay under `maxKeys`; past it,
 * the smaller half of the keys is folded into a remainder so memory stays bounded, and a folded key that
 * comes back starts again from zero (its count is then a lower bound). The grand total stays exact.
 */
export class BoundedCounter {
  /** Each count is a box changed in place: counting a key seen before is one lookup, not a get and a set. */
  private counts = new Map<string, Tally>();
  private folded = 0;
  private total = 0;
  /** True once any key was folded away: the listed counts are then lower bounds. */
  approximate = false;

  constructor(private readonly maxKeys: number = DEFAULT_TRACKED_KEYS) {}

  /** The tallies of keys by their id in `idTable`, as `addId` found them; emptied when the map folds. */
  private byId: (Tally | undefined)[] = [];
  private idTable: readonly string[] | undefined;

  add(key: string, n = 1): void {
    this.total += n;
    const tally = this.counts.get(key);
    if (tally !== undefined) {
      tally.n += n;
      return;
    }
    if (this.counts.size >= this.maxKeys) this.fold();
    this.counts.set(key, { n });
  }

  /**
   * `add(strings[id], n)` for a reader's table of strings by id, where an id always names the same string (a
   * table that starts again is a new array). A key's tally is found by its id after the first time, not by
   * hashing its text: a listing adds about 570 distinct values a page this way.
   */
  addId(strings: readonly string[], id: number, n = 1): void {
    if (strings !== this.idTable) {
      this.idTable = strings;
      this.byId = [];
    }
    const known = this.byId[id];
    if (known !== undefined) {
      this.total += n;
      known.n += n;
      return;
    }
    const key = strings[id]!;
    this.add(key, n);
    const byId = this.byId;
    while (byId.length <= id) byId.push(undefined);
    byId[id] = this.counts.get(key);
  }

  /** How many keys are held now (≤ maxKeys). */
  get trackedKeys(): number {
    return this.counts.size;
  }

  /** How many new keys can be added before the map folds: a batch of no more keys adds exactly as key by key. */
  get room(): number {
    return this.maxKeys - this.counts.size;
  }

  /** Drops the keys at or below the median count (at least half of them), keeping their sum in `folded`. */
  private fold(): void {
    const sorted = [...this.counts.values()].map((t) => t.n).sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    for (const [key, { n }] of this.counts) {
      if (n <= median) {
        this.folded += n;
        this.counts.delete(key);
      }
    }
    this.approximate = true;
    this.byId = [];
  }

  /**
   * The `limit` largest keys (ties by key, ascending), then `other` with everything else when non-zero. A real
   * key named `other` is never listed apart: it is part of `other`.
   */
  top(limit: number = MAP_CAP): Record<string, number> {
    const entries: [string, number][] = [];
    for (const [key, { n }] of this.counts) if (key !== OTHER_KEY) entries.push([key, n]);
    entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const out: Record<string, number> = {};
    let listed = 0;
    for (const [key, n] of entries.slice(0, limit)) {
      out[key] = n;
      listed += n;
    }
    if (this.total > listed) out[OTHER_KEY] = this.total - listed;
    return out;
  }
}

interface Ranked {
  summary: SessionSummary;
  seq: number;
}

/** Which of two sessions ranks higher among the most idle: more idle first, then node, address, arrival. */
function ranksAbove(a: Ranked, b: Ranked): boolean {
  return outranks(a.summary.idleSeconds, a.summary.nodeId, a.summary, a.seq, b);
}

/** `ranksAbove` for a session not yet summarised, so that one that is not kept costs no object. */
function outranks(
  idleSeconds: number,
  nodeId: string,
  /** Read only on a tie of idle time and node: a fast-path session's address is made on demand. */
  at: { readonly addr: string },
  seq: number,
  b: Ranked,
): boolean {
  const y = b.summary;
  if (idleSeconds !== y.idleSeconds) return idleSeconds > y.idleSeconds;
  if (nodeId !== y.nodeId) return nodeId < y.nodeId;
  const addr = at.addr;
  if (addr !== y.addr) return addr < y.addr;
  return seq < b.seq;
}

/** The N highest-ranked sessions seen, in a min-heap whose root is the lowest-ranked kept. */
export class TopIdle {
  private heap: Ranked[] = [];
  private seq = 0;

  constructor(private readonly size: number) {}

  offer(nodeId: string, facts: SessionFacts): void {
    if (this.size === 0) return;
    const seq = this.seq++;
    if (this.heap.length < this.size) {
      this.heap.push({ summary: summaryOf(nodeId, facts), seq });
      this.siftUp(this.heap.length - 1);
    } else if (outranks(facts.idleSeconds, nodeId, facts, seq, this.heap[0]!)) {
      this.heap[0] = { summary: summaryOf(nodeId, facts), seq };
      this.siftDown(0);
    }
  }

  /**
   * The idle time below which an offer is refused whatever its other fields (the heap is full and its least
   * session idles longer); -1 while the heap has room.
   */
  get floorIdle(): number {
    if (this.size === 0) return Infinity;
    return this.heap.length < this.size ? -1 : this.heap[0]!.summary.idleSeconds;
  }

  /** Most idle first. */
  list(): SessionSummary[] {
    return [...this.heap].sort((a, b) => (ranksAbove(a, b) ? -1 : 1)).map((r) => r.summary);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!ranksAbove(h[parent]!, h[i]!)) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let lowest = i;
      if (l < h.length && ranksAbove(h[lowest]!, h[l]!)) lowest = l;
      if (r < h.length && ranksAbove(h[lowest]!, h[r]!)) lowest = r;
      if (lowest === i) return;
      [h[lowest], h[i]] = [h[i]!, h[lowest]!];
      i = lowest;
    }
  }
}

function summaryOf(nodeId: string, f: SessionFacts): SessionSummary {
  return {
    nodeId,
    addr: f.addr,
    name: f.name,
    user: f.user,
    db: f.db,
    cmd: f.cmd,
    idleSeconds: f.idleSeconds,
    ageSeconds: f.ageSeconds,
  };
}

/** Counts of a page's ids, for one field at a time, in the order each id first appears. */
class IdTally {
  private counts = new Int32Array(1024);
  private order = new Int32Array(1024);

  /** Adds the first `size` sessions' values of field `field` of `page` to `counter`, as `add` one by one would. */
  count(counter: BoundedCounter, page: TalliedPage, field: number, size: number): void {
    const { ids, idStride, strings } = page;
    if (this.counts.length < strings.length) this.counts = new Int32Array(strings.length * 2);
    if (this.order.length < size) this.order = new Int32Array(size * 2);
    const counts = this.counts;
    const order = this.order;
    let distinct = 0;
    for (let i = 0, at = field; i < size; i++, at += idStride) {
      const id = ids[at]!;
      if (counts[id]++ === 0) order[distinct++] = id;
    }
    if (distinct <= counter.room) {
      for (let k = 0; k < distinct; k++) {
        const id = order[k]!;
        counter.addId(strings, id, counts[id]!);
        counts[id] = 0;
      }
      return;
    }
    // The map could fold during the page: key by key, in the sessions' order.
    for (let k = 0; k < distinct; k++) counts[order[k]!] = 0;
    for (let i = 0, at = field; i < size; i++, at += idStride) counter.addId(strings, ids[at]!);
  }
}

/** The aggregate part of a SessionSnapshot. */
export type SessionAggregate = Pick<
  SessionSnapshot,
  | "totalSessions"
  | "byClientIp"
  | "byUser"
  | "byDb"
  | "byCommand"
  | "byName"
  | "idleBuckets"
  | "maxIdleSeconds"
  | "maxAgeSeconds"
  | "subscribers"
  | "topIdle"
> & {
  /** Sessions per node id, in the order nodes were first seen. */
  perNode: Record<string, number>;
  /** The maps whose key space went past the tracking bound: their listed counts are lower bounds. */
  approximateMaps: string[];
};

export interface AccumulatorOptions {
  /** How many of the most idle sessions to keep, 0–100 (default 10). */
  topN?: number;
  /** Keys each `by*` map lists before `other` (default 20). */
  mapCap?: number;
  /** Distinct keys each map counts exactly before folding (default 100 000). */
  trackedKeys?: number;
}

const MAP_NAMES = ["byClientIp", "byUser", "byDb", "byCommand", "byName"] as const;
type MapName = (typeof MAP_NAMES)[number];

/** The map of each text field of a `TalliedPage`'s records, by the field's index (`TALLY_IP`…). */
const TALLIED_MAPS: readonly MapName[] = (() => {
  const maps: MapName[] = [];
  maps[TALLY_IP] = "byClientIp";
  maps[TALLY_NAME] = "byName";
  maps[TALLY_USER] = "byUser";
  maps[TALLY_DB] = "byDb";
  maps[TALLY_CMD] = "byCommand";
  return maps;
})();

/** Feed sessions with `add`; read the figures with `result`. Memory is bounded by the options, not the feed. */
export class SessionAccumulator {
  private total = 0;
  private readonly perNode = new Map<string, Tally>();
  /** The node of the last `add` and its tally: sessions come a node's page at a time, so it rarely changes. */
  private lastNode: { nodeId: string; tally: Tally } | undefined;
  private readonly maps: Record<MapName, BoundedCounter>;
  /**
   * Sessions by idle bucket, in the order of `IDLE_BUCKETS`: counted by index, since one increment site that
   * takes five property names is a slow (megamorphic) access in V8, some 15 ns a session.
   */
  private readonly idle = IDLE_BUCKETS.map(() => 0);
  private maxIdle = 0;
  private maxAge = 0;
  private subscribers = 0;
  private readonly topIdle: TopIdle;
  private readonly mapCap: number;
  /** `addTallied`'s counts by id, made at its first page. */
  private tally: IdTally | undefined;

  constructor(options: AccumulatorOptions = {}) {
    const topN = options.topN ?? DEFAULT_TOP_N;
    if (!Number.isInteger(topN) || topN < 0 || topN > MAX_TOP_N) {
      throw new RangeError(`topN must be an integer from 0 to ${MAX_TOP_N}`);
    }
    this.topIdle = new TopIdle(topN);
    this.mapCap = options.mapCap ?? MAP_CAP;
    const tracked = Math.max(options.trackedKeys ?? DEFAULT_TRACKED_KEYS, this.mapCap + 1);
    this.maps = {
      byClientIp: new BoundedCounter(tracked),
      byUser: new BoundedCounter(tracked),
      byDb: new BoundedCounter(tracked),
      byCommand: new BoundedCounter(tracked),
      byName: new BoundedCounter(tracked),
    };
  }

  /** Registers a node so that it is listed (with 0) even when it has no session. */
  addNode(nodeId: string): void {
    this.tallyOf(nodeId);
  }

  /** `clientIp`: the session's client IP when the reader already has it (else worked out of `f.addr`). */
  add(nodeId: string, f: SessionFacts, clientIp: string = clientIpOf(f.addr)): void {
    this.total++;
    const last = this.lastNode;
    if (last !== undefined && last.nodeId === nodeId) last.tally.n++;
    else this.tallyOf(nodeId).n++;
    this.maps.byClientIp.add(clientIp);
    this.maps.byUser.add(f.user);
    this.maps.byDb.add(f.db);
    this.maps.byCommand.add(f.cmd);
    this.maps.byName.add(f.name);
    this.idle[idleBucketIndex(f.idleSeconds)]!++;
    if (f.idleSeconds > this.maxIdle) this.maxIdle = f.idleSeconds;
    if (f.ageSeconds > this.maxAge) this.maxAge = f.ageSeconds;
    if (f.subscriptions > 0) this.subscribers++;
    this.topIdle.offer(nodeId, f);
  }

  /**
   * Adds the first `size` sessions of a page whose text fields are ids (`TalliedPage`), to the same figures as
   * `add` of each in turn: each map counts a distinct value at a time, unless it could fold during the page
   * (which depends on the sessions' order), when it counts them one by one as `add` does; the top idle
   * sessions are offered only those that idle long enough to enter them. `facts` is filled for those offers.
   * Where the reader counts the page itself (`tally`), its counts are taken; else they are made here.
   */
  addTallied(nodeId: string, page: TalliedPage, size: number, facts: PageFacts): void {
    this.total += size;
    const last = this.lastNode;
    if (last !== undefined && last.nodeId === nodeId) last.tally.n += size;
    else this.tallyOf(nodeId).n += size;
    const counted = page.tally?.(size, this.topIdle.floorIdle);
    if (counted === undefined) {
      this.countTallied(page, size);
      this.rankTallied(nodeId, page, size, facts);
      return;
    }
    const tally = (this.tally ??= new IdTally());
    const strings = page.strings;
    for (let field = 0; field < TALLIED_MAPS.length; field++) {
      const counter = this.maps[TALLIED_MAPS[field]!];
      const distinct = counted.distinct(field);
      if (distinct > counter.room) {
        tally.count(counter, page, field, size);
        continue;
      }
      for (let k = 0; k < distinct; k++)
        counter.addId(strings, counted.idAt(field, k), counted.sessionsAt(field, k));
    }
    for (let b = 0; b < this.idle.length; b++) this.idle[b]! += counted.inBucket(b);
    if (counted.maxIdleSeconds > this.maxIdle) this.maxIdle = counted.maxIdleSeconds;
    if (counted.maxAgeSeconds > this.maxAge) this.maxAge = counted.maxAgeSeconds;
    this.subscribers += counted.subscribers;
    this.rankTallied(nodeId, page, size, facts, counted);
  }

  /** The maps and idle figures of `addTallied`, counted here: each map a distinct id at a time. */
  private countTallied(page: TalliedPage, size: number): void {
    const tally = (this.tally ??= new IdTally());
    for (let field = 0; field < TALLIED_MAPS.length; field++) {
      tally.count(this.maps[TALLIED_MAPS[field]!], page, field, size);
    }
    const { counts, countStride } = page;
    for (let i = 0; i < size; i++) {
      const at = i * countStride;
      const idle = counts[at + TALLY_IDLE]!;
      const age = counts[at + TALLY_AGE]!;
      this.idle[idleBucketIndex(idle)]!++;
      if (idle > this.maxIdle) this.maxIdle = idle;
      if (age > this.maxAge) this.maxAge = age;
      if (counts[at + TALLY_SUBSCRIPTIONS]! > 0) this.subscribers++;
    }
  }

  /**
   * The most idle sessions of `addTallied`, offered those of the page that idle at least the floor, in page
   * order: of its first `size`, or only of the candidates the reader `counted` (those that idled at least the
   * floor the page started with; the floor rises as they enter).
   */
  private rankTallied(
    nodeId: string,
    page: TalliedPage,
    size: number,
    facts: PageFacts,
    counted?: PageTally,
  ): void {
    const n = counted === undefined ? size : counted.candidates;
    if (n === 0) return;
    const { counts, countStride } = page;
    const top = this.topIdle;
    let floor = top.floorIdle;
    for (let k = 0; k < n; k++) {
      const i = counted === undefined ? k : counted.candidateAt(k);
      // `seq` only orders the sessions offered: one never offered needs no number.
      if (counts[i * countStride + TALLY_IDLE]! < floor) continue;
      facts.index = i;
      readTallied(page, i, facts);
      top.offer(nodeId, facts);
      floor = top.floorIdle;
    }
  }

  /** A node's tally, registered (with 0) when first seen, remembered as the last node added to. */
  private tallyOf(nodeId: string): Tally {
    let tally = this.perNode.get(nodeId);
    if (tally === undefined) {
      tally = { n: 0 };
      this.perNode.set(nodeId, tally);
    }
    this.lastNode = { nodeId, tally };
    return tally;
  }

  /** The largest number of keys any map holds now (for tests of the memory bound). */
  get trackedKeys(): number {
    return Math.max(...MAP_NAMES.map((m) => this.maps[m].trackedKeys));
  }

  /** Sessions counted so far on one node. */
  sessionsOf(nodeId: string): number {
    return this.perNode.get(nodeId)?.n ?? 0;
  }

  get totalSessions(): number {
    return this.total;
  }

  result(): SessionAggregate {
    return {
      totalSessions: this.total,
      perNode: Object.fromEntries([...this.perNode].map(([nodeId, { n }]) => [nodeId, n])),
      byClientIp: this.maps.byClientIp.top(this.mapCap),
      byUser: this.maps.byUser.top(this.mapCap),
      byDb: this.maps.byDb.top(this.mapCap),
      byCommand: this.maps.byCommand.top(this.mapCap),
      byName: this.maps.byName.top(this.mapCap),
      idleBuckets: Object.fromEntries(IDLE_BUCKETS.map((b, i) => [b, this.idle[i]!])) as Record<
        IdleBucket,
        number
      >,
      maxIdleSeconds: this.maxIdle,
      maxAgeSeconds: this.maxAge,
      subscribers: this.subscribers,
      topIdle: this.topIdle.list(),
      approximateMaps: MAP_NAMES.filter((m) => this.maps[m].approximate),
    };
  }
}
