import { KnownKeys, StringTable, scanClientList } from "../../src/api/page-scan";
import { wasmClientsReader } from "../../src/api/wasm-clients";
import type { WireClientPage } from "../../src/api/wire-page";
import {
  BoundedCounter,
  NONE_KEY,
  PageFacts,
  SessionAccumulator,
  clientIpOf,
  factsOfClientInfo,
  factsOfGeminiSession,
  idleBucketOf,
  type SessionFacts,
} from "../../src/core/aggregate";
import { seededRandom } from "../api/helpers";

function facts(over: Partial<SessionFacts> = {}): SessionFacts {
  return {
    addr: "10.0.0.1:5000",
    name: NONE_KEY,
    user: "default",
    db: "0",
    cmd: "get",
    idleSeconds: 0,
    ageSeconds: 0,
    subscriptions: 0,
    ...over,
  };
}

describe("clientIpOf", () => {
  it.each([
    ["10.1.2.3:51234", "10.1.2.3"],
    ["[::1]:6379", "::1"],
    ["[2001:db8::5]:40000", "2001:db8::5"],
    ["2001:db8::5:40000", "2001:db8::5"], // old unbracketed Redis form: the last segment is the port
    ["/tmp/redis.sock:0", "/tmp/redis.sock"],
    ["10.1.2.3", "10.1.2.3"],
    ["", NONE_KEY],
  ])("%j → %j", (addr, ip) => {
    expect(clientIpOf(addr)).toBe(ip);
  });
});

describe("idleBucketOf: lower bounds are inclusive", () => {
  it.each([
    [0, "<1m"],
    [59, "<1m"],
    [60, "1m-10m"],
    [599, "1m-10m"],
    [600, "10m-1h"],
    [3599, "10m-1h"],
    [3600, "1h-24h"],
    [86_399, "1h-24h"],
    [86_400, ">=24h"],
    [10_000_000, ">=24h"],
  ])("%d s → %s", (idle, bucket) => {
    expect(idleBucketOf(idle)).toBe(bucket);
  });
});

describe("mapping the two APIs", () => {
  it("reads a DCS ClientInfo, with empty fields as (none) and peer when addr is empty", () => {
    const f = factsOfClientInfo({
      addr: "",
      peer: "[::1]:7000",
      name: "",
      user: "app",
      db: "3",
      cmd: "blpop",
      idle: 70,
      age: 900,
      sub: 1,
      psub: 0,
    });
    expect(f).toEqual({
      addr: "[::1]:7000",
      name: NONE_KEY,
      user: "app",
      db: "3",
      cmd: "blpop",
      idleSeconds: 70,
      ageSeconds: 900,
      subscriptions: 1,
    });
  });

  it("reads a GeminiDB session, which has no user", () => {
    const f = factsOfGeminiSession({
      id: "1",
      addr: "10.0.0.9:1",
      name: "w",
      cmd: "ping",
      db: "0",
      idle: 5,
      age: 6,
      psub: 2,
    });
    expect(f.user).toBe(NONE_KEY);
    expect(f.subscriptions).toBe(2);
    expect(f.idleSeconds).toBe(5);
  });

  it("treats absent or negative numbers as 0", () => {
    const f = factsOfClientInfo({ addr: "1.1.1.1:1", idle: undefined, age: -5 });
    expect(f.idleSeconds).toBe(0);
    expect(f.ageSeconds).toBe(0);
  });
});

describe("SessionAccumulator", () => {
  it("counts totals, nodes, idle buckets at their boundaries, maxima and subscribers", () => {
    const acc = new SessionAccumulator();
    acc.addNode("empty-node");
    const idles = [0, 59, 60, 599, 600, 3599, 3600, 86_399, 86_400];
    idles.forEach((idle, i) =>
      acc.add(
        i % 2 ? "n1" : "n2",
        facts({ idleSeconds: idle, ageSeconds: idle + 10, subscriptions: i % 3 === 0 ? 1 : 0 }),
      ),
    );
    const r = acc.result();
    expect(r.totalSessions).toBe(9);
    expect(r.perNode).toEqual({ "empty-node": 0, n2: 5, n1: 4 });
    expect(r.idleBuckets).toEqual({ "<1m": 2, "1m-10m": 2, "10m-1h": 2, "1h-24h": 2, ">=24h": 1 });
    expect(r.maxIdleSeconds).toBe(86_400);
    expect(r.maxAgeSeconds).toBe(86_410);
    expect(r.subscribers).toBe(3);
    expect(r.approximateMaps).toEqual([]);
  });

  it("keeps the 20 largest keys of each map plus other, largest first, ties by key", () => {
    const acc = new SessionAccumulator();
    // 30 users: user-00 has 30 sessions, user-01 29, … user-29 1.
    for (let u = 0; u < 30; u++) {
      for (let k = 0; k < 30 - u; k++) acc.add("n1", facts({ user: `user-${String(u).padStart(2, "0")}` }));
    }
    // Two tied names.
    acc.add("n1", facts({ name: "b" }));
    acc.add("n1", facts({ name: "a" }));
    const r = acc.result();
    const keys = Object.keys(r.byUser);
    expect(keys).toHaveLength(21);
    expect(keys[0]).toBe("user-00");
    expect(keys[19]).toBe("user-19");
    expect(keys[20]).toBe("other");
    expect(r.byUser["user-00"]).toBe(30);
    expect(r.byUser["user-19"]).toBe(11);
    // other = 10+9+…+1 of the users past the 20th, +2 sessions of "default".
    expect(r.byUser.other).toBe(55 + 2);
    expect(Object.values(r.byUser).reduce((a, b) => a + b, 0)).toBe(r.totalSessions);
    expect(Object.keys(r.byName)).toEqual([NONE_KEY, "a", "b"]);
  });

  it("has no other key when everything is listed", () => {
    const acc = new SessionAccumulator();
    acc.add("n1", facts({ db: "0" }));
    acc.add("n1", facts({ db: "1" }));
    expect(acc.result().byDb).toEqual({ "0": 1, "1": 1 });
  });

  it("folds a real key named other into other rather than listing it twice", () => {
    const acc = new SessionAccumulator({ mapCap: 1 });
    acc.add("n1", facts({ name: "other" }));
    acc.add("n1", facts({ name: "web" }));
    acc.add("n1", facts({ name: "web" }));
    acc.add("n1", facts({ name: "cron" }));
    expect(acc.result().byName).toEqual({ web: 2, other: 2 });
  });

  it("groups by client IP, IPv6 included", () => {
    const acc = new SessionAccumulator();
    for (const addr of ["[::1]:1", "[::1]:2", "10.0.0.1:1", "10.0.0.1:2", "10.0.0.1:3", ""])
      acc.add("n1", facts({ addr }));
    expect(acc.result().byClientIp).toEqual({ "10.0.0.1": 3, "::1": 2, [NONE_KEY]: 1 });
  });

  it("keeps the N most idle, most idle first, with a stable tie-break (node, address)", () => {
    const acc = new SessionAccumulator({ topN: 3 });
    acc.add("n2", facts({ addr: "10.0.0.2:1", idleSeconds: 500 }));
    acc.add("n1", facts({ addr: "10.0.0.9:1", idleSeconds: 500 }));
    acc.add("n1", facts({ addr: "10.0.0.1:1", idleSeconds: 500 }));
    acc.add("n1", facts({ addr: "10.0.0.3:1", idleSeconds: 10 }));
    acc.add("n3", facts({ addr: "10.0.0.4:1", idleSeconds: 9000 }));
    const top = acc.result().topIdle;
    expect(top.map((s) => [s.nodeId, s.addr, s.idleSeconds])).toEqual([
      ["n3", "10.0.0.4:1", 9000],
      ["n1", "10.0.0.1:1", 500],
      ["n1", "10.0.0.9:1", 500],
    ]);
  });

  it("gives the same top list whatever the arrival order", () => {
    const items = Array.from({ length: 200 }, (_, i) => ({
      node: `n${i % 3}`,
      f: facts({ addr: `10.0.${i % 7}.${i}:1`, idleSeconds: i % 13 }),
    }));
    const a = new SessionAccumulator({ topN: 10 });
    const b = new SessionAccumulator({ topN: 10 });
    items.forEach((x) => a.add(x.node, x.f));
    [...items].reverse().forEach((x) => b.add(x.node, x.f));
    expect(a.result().topIdle).toEqual(b.result().topIdle);
    expect(a.result().topIdle.every((s) => s.idleSeconds === 12)).toBe(true);
  });

  it("bounds top N: at most 100, default 10, 0 keeps none", () => {
    const feed = (acc: SessionAccumulator): SessionAccumulator => {
      for (let i = 0; i < 500; i++) acc.add("n1", facts({ addr: `10.0.0.1:${i}`, idleSeconds: i }));
      return acc;
    };
    expect(feed(new SessionAccumulator()).result().topIdle).toHaveLength(10);
    const hundred = feed(new SessionAccumulator({ topN: 100 })).result().topIdle;
    expect(hundred).toHaveLength(100);
    expect(hundred[0]!.idleSeconds).toBe(499);
    expect(hundred[99]!.idleSeconds).toBe(400);
    expect(feed(new SessionAccumulator({ topN: 0 })).result().topIdle).toEqual([]);
    expect(() => new SessionAccumulator({ topN: 101 })).toThrow(RangeError);
  });
});

describe("BoundedCounter", () => {
  it("is exact under its bound", () => {
    const c = new BoundedCounter(10);
    for (let i = 0; i < 10; i++) for (let k = 0; k <= i; k++) c.add(`k${i}`);
    expect(c.approximate).toBe(false);
    expect(c.top(3)).toEqual({ k9: 10, k8: 9, k7: 8, other: 28 });
  });

  it("folds the smaller half past its bound and keeps the total exact", () => {
    const c = new BoundedCounter(4);
    c.add("big", 100);
    c.add("mid", 50);
    c.add("a");
    c.add("b");
    c.add("c"); // fifth key: folds a and b (at or below the median)
    expect(c.trackedKeys).toBeLessThanOrEqual(4);
    expect(c.approximate).toBe(true);
    expect(c.top(2)).toEqual({ big: 100, mid: 50, other: 3 });
  });
});

describe("memory bound", () => {
  it("1,000,000 sessions with 200,000 distinct IPs: maps stay capped, totals and heavy hitters exact", () => {
    const trackedKeys = 100_000;
    const acc = new SessionAccumulator({ trackedKeys, topN: 100 });
    let maxTracked = 0;
    const heavy = ["192.168.0.1", "192.168.0.2", "192.168.0.3"];
    let heavyCount = 0;
    let spread = 0;
    const distinct = new Set<string>(); // the test's own check of the key space, not the code's
    for (let i = 0; i < 1_000_000; i++) {
      // Every 10th session comes from one of three heavy clients; the rest spread over 200k addresses.
      let ip: string;
      if (i % 10 === 0) ip = heavy[heavyCount++ % 3]!;
      else {
        const k = spread++ % 200_000;
        ip = `10.${k >> 16}.${(k >> 8) & 255}.${k & 255}`;
        distinct.add(ip);
      }
      acc.add(
        `node-${i % 4}`,
        facts({ addr: `${ip}:${i % 60_000}`, idleSeconds: i % 90_000, user: `u${i % 50}` }),
      );
      if (i % 50_000 === 0) maxTracked = Math.max(maxTracked, acc.trackedKeys);
    }
    maxTracked = Math.max(maxTracked, acc.trackedKeys);
    const r = acc.result();
    expect(distinct.size).toBe(200_000);
    expect(maxTracked).toBeLessThanOrEqual(trackedKeys);
    expect(r.totalSessions).toBe(1_000_000);
    expect(Object.values(r.perNode).reduce((a, b) => a + b, 0)).toBe(1_000_000);
    expect(Object.keys(r.byClientIp)).toHaveLength(21);
    expect(Object.values(r.byClientIp).reduce((a, b) => a + b, 0)).toBe(1_000_000);
    // The heavy clients were never folded away: their counts are exact.
    expect(r.byClientIp["192.168.0.1"]).toBe(33_334);
    expect(r.byClientIp["192.168.0.2"]).toBe(33_333);
    expect(r.byClientIp["192.168.0.3"]).toBe(33_333);
    expect(r.approximateMaps).toEqual(["byClientIp"]);
    // 50 users is far under the bound: exact.
    expect(r.byUser.u0).toBe(20_000);
    expect(r.topIdle).toHaveLength(100);
    expect(r.topIdle[0]!.idleSeconds).toBe(89_999);
    expect(JSON.stringify(r).length).toBeLessThan(40_000);
  });
});

describe("addPage: a page the WebAssembly reader counted, added a distinct value at a time", () => {
  type Session = SessionFacts & { ip: string };

  /** The body of a list page of `sessions`, as the wire sends it (an empty value for `(none)`). */
  function bodyOf(sessions: readonly Session[]): Uint8Array {
    const text = (v: string) => (v === NONE_KEY ? "" : v);
    const clients = sessions.map((s) => ({
      id: "1",
      addr: s.addr,
      name: text(s.name),
      user: text(s.user),
      db: text(s.db),
      cmd: text(s.cmd),
      idle: s.idleSeconds,
      age: s.ageSeconds,
      sub: s.subscriptions,
      psub: 0,
      flags: "N",
    }));
    return new TextEncoder().encode(JSON.stringify({ time: "t", clients, count: sessions.length }));
  }

  /** A page of `sessions` read as the scan reads it, keeping whole the sessions idle `keepFrom` or more. */
  function pageOf(sessions: readonly Session[], keepFrom: number, reading: Reading): WireClientPage {
    const scanned = scanClientList(bodyOf(sessions), reading.strings, reading.keys, reading.wasm, keepFrom);
    const page = scanned!.page("t", sessions.length, () => {
      throw new Error("not reached");
    });
    expect(page.tallied).toBeDefined(); // the module read it
    return page;
  }

  interface Reading {
    strings: StringTable;
    keys: KnownKeys;
    wasm: NonNullable<ReturnType<typeof wasmClientsReader>>;
  }

  function reading(): Reading {
    const wasm = wasmClientsReader();
    expect(wasm).not.toBeNull(); // `npm test` builds it first
    return { strings: new StringTable(), keys: new KnownKeys(), wasm: wasm! };
  }

  /** Sessions with few values and many idle times alike (ties that the top idle list breaks by address). */
  function sessionsOf(seed: number, n: number): Session[] {
    const next = seededRandom(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
    return Array.from({ length: n }, () => {
      const ip = `10.0.${Math.floor(next() * 4)}.${Math.floor(next() * 60)}`;
      return {
        ip,
        addr: `${ip}:${1024 + Math.floor(next() * 9)}`,
        name: pick([NONE_KEY, "web", "worker", "cron", `job-${Math.floor(next() * 500)}`]),
        user: pick(["default", "app", NONE_KEY]),
        db: pick(["0", "1", "15"]),
        cmd: pick(["get", "set", "eval", NONE_KEY]),
        // A third of the sessions at the longest idle time: the top list is all ties, broken by node and address.
        idleSeconds: pick([0, 5, 60, 3600, 86_400, 86_400, 86_400, Math.floor(next() * 86_400)]),
        ageSeconds: Math.floor(next() * 1_000_000),
        subscriptions: pick([0, 0, 0, 1, 3]),
      };
    });
  }

  test.each([
    ["maps that never fold", { topN: 10 }, "all"],
    ["maps that fold during the pages (a small bound)", { topN: 25, trackedKeys: 40, mapCap: 10 }, "some"],
    ["no top idle list", { topN: 0 }, "all"],
  ])("gives the figures `add` gives session by session: %s", (_what, options, counted) => {
    const byPage = new SessionAccumulator(options);
    const bySession = new SessionAccumulator(options);
    const tallied = jest.spyOn(byPage, "addTallied");
    const facts = new PageFacts();
    const read = reading();
    // Pages are read ahead of their counting, as the listing fetches them: each keeps whole the sessions
    // idle for the list's floor when it was read, which may have risen since.
    const ahead: [string, WireClientPage, Session[]][] = [];
    const countOne = () => {
      const [nodeId, page, sessions] = ahead.shift()!;
      byPage.addPage(nodeId, page, facts);
      for (const s of sessions) bySession.add(nodeId, s, s.ip);
    };
    for (let p = 0; p < 30; p++) {
      const sessions = sessionsOf(p, 1 + ((p * 37) % 200));
      const page = pageOf(sessions, byPage.keepIdleFrom, read);
      // A page cut short: only its first sessions count (it is then counted session by session).
      const size = p % 5 === 0 ? Math.floor(sessions.length / 2) : sessions.length;
      ahead.push([`node-${p % 3}`, size < sessions.length ? page.cut(size) : page, sessions.slice(0, size)]);
      if (ahead.length > 3) countOne();
    }
    while (ahead.length > 0) countOne();
    expect(ahead).toEqual([]);
    expect(byPage.result()).toEqual(bySession.result());
    expect(byPage.totalSessions).toBe(bySession.totalSessions);
    const answers = tallied.mock.results.map((r) => r.value as boolean);
    // Cut pages never reach it; whole pages are counted by it, but for a map that could fold.
    expect(answers).toHaveLength(24);
    if (counted === "all") expect(answers.every(Boolean)).toBe(true);
    else {
      expect(answers.filter(Boolean).length).toBeGreaterThan(0);
      expect(answers.filter((a) => !a).length).toBeGreaterThan(0);
      expect(byPage.result().approximateMaps.length).toBeGreaterThan(0);
    }
  });

  test("a page that kept fewer sessions than the list could still take is counted session by session", () => {
    const byPage = new SessionAccumulator({ topN: 5 });
    const bySession = new SessionAccumulator({ topN: 5 });
    const sessions = sessionsOf(3, 150);
    // Read for a list whose floor was higher than this one's (none yet): too few sessions kept.
    const page = pageOf(sessions, 86_400, reading());
    const tallied = jest.spyOn(byPage, "addTallied");
    byPage.addPage("node-a", page, new PageFacts());
    for (const s of sessions) bySession.add("node-a", s, s.ip);
    expect(tallied.mock.results.map((r) => r.value as boolean)).toEqual([false]);
    expect(byPage.result()).toEqual(bySession.result());
  });

  test("the floor it tells the reader only rises, from -1 while the list has room (Infinity with no list)", () => {
    expect(new SessionAccumulator({ topN: 0 }).keepIdleFrom).toBe(Infinity);
    const acc = new SessionAccumulator({ topN: 2 });
    const seen = [acc.keepIdleFrom];
    for (const idle of [5, 1, 9, 3, 12, 12, 0]) {
      acc.add("n", facts({ idleSeconds: idle }));
      seen.push(acc.keepIdleFrom);
    }
    expect(seen).toEqual([-1, -1, 1, 5, 5, 9, 12, 12]);
  });
});
