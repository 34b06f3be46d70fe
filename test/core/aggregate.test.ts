import {
  TALLY_AGE,
  TALLY_CMD,
  TALLY_DB,
  TALLY_IDLE,
  TALLY_IP,
  TALLY_NAME,
  TALLY_SUBSCRIPTIONS,
  TALLY_USER,
  type TalliedPage,
  type WireClientPage,
} from "../../src/api/wire-page";
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
import { KnownKeys, StringTable, scanClientList } from "../../src/api/page-scan";
import { TalliedSessions, loadWasmClientsReader } from "../../src/api/wasm-clients";
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

  it("counts by id as by text: through folds, beside keys added by text, and when the table is another array", () => {
    const strings = ["(none)", "a", "b", "c", "d", "e", "f", "g"];
    const byText = new BoundedCounter(4);
    const byId = new BoundedCounter(4);
    let seed = 7;
    for (let i = 0; i < 2_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const high = Math.floor(seed / 65_536);
      const id = high % strings.length;
      const n = 1 + (high % 3);
      byText.add(strings[id]!, n);
      if (i % 5 === 0) byId.add(strings[id]!, n);
      else byId.addId(strings, id, n);
    }
    expect(byId.approximate).toBe(byText.approximate);
    expect(byId.approximate).toBe(true);
    expect(byId.top(8)).toEqual(byText.top(8));
    // Ids of a table that started again name other strings: never the tallies found under the old ones.
    const c = new BoundedCounter(10);
    c.addId(["(none)", "x", "y"], 1, 5);
    c.addId(["(none)", "y", "x"], 1, 2);
    c.addId(["(none)", "y", "x"], 2, 1);
    expect(c.top(5)).toEqual({ x: 6, y: 2 });
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

describe("addTallied: a page of ids counted a distinct value at a time", () => {
  /** A page of records as the WebAssembly reader makes them, from plain sessions (its ids in order of appearance). */
  function talliedPageOf(sessions: (SessionFacts & { ip: string })[]): {
    tallied: TalliedPage;
    page: WireClientPage;
  } {
    const strings = [NONE_KEY];
    const idOf = (text: string): number => {
      if (text === NONE_KEY) return 0;
      const known = strings.indexOf(text);
      return known >= 0 ? known : strings.push(text) - 1;
    };
    // Strides other than the reader's, the rest of each record left at -1: only the named places are read.
    const ids = new Array<number>(sessions.length * 8).fill(-1);
    const counts = new Array<number>(sessions.length * 9).fill(-1);
    sessions.forEach((s, i) => {
      ids[i * 8 + TALLY_IP] = idOf(s.ip);
      ids[i * 8 + TALLY_NAME] = idOf(s.name);
      ids[i * 8 + TALLY_USER] = idOf(s.user);
      ids[i * 8 + TALLY_DB] = idOf(s.db);
      ids[i * 8 + TALLY_CMD] = idOf(s.cmd);
      counts[i * 9 + TALLY_IDLE] = s.idleSeconds;
      counts[i * 9 + TALLY_AGE] = s.ageSeconds;
      counts[i * 9 + TALLY_SUBSCRIPTIONS] = s.subscriptions;
    });
    const tallied: TalliedPage = { strings, ids, idStride: 8, counts, countStride: 9 };
    const page = { addrAt: (i: number) => sessions[i]!.addr } as unknown as WireClientPage;
    return { tallied, page };
  }

  /** Sessions with few values and many idle times alike (ties that the top idle list breaks by address). */
  function sessionsOf(seed: number, n: number): (SessionFacts & { ip: string })[] {
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

  const cases: [string, { topN: number; trackedKeys?: number; mapCap?: number }][] = [
    ["maps that never fold", { topN: 10 }],
    ["maps that fold during the pages (a small bound)", { topN: 25, trackedKeys: 40, mapCap: 10 }],
    ["no top idle list", { topN: 0 }],
  ];

  test.each(cases)("gives the figures `add` gives session by session: %s", (_what, options) => {
    const byPage = new SessionAccumulator(options);
    const bySession = new SessionAccumulator(options);
    const facts = new PageFacts();
    for (let p = 0; p < 30; p++) {
      const nodeId = `node-${p % 3}`;
      const sessions = sessionsOf(p, 1 + ((p * 37) % 200));
      const { tallied, page } = talliedPageOf(sessions);
      // A page cut short: only its first sessions count.
      const size = p % 5 === 0 ? Math.floor(sessions.length / 2) : sessions.length;
      facts.page = page;
      byPage.addTallied(nodeId, tallied, size, facts);
      for (const s of sessions.slice(0, size)) bySession.add(nodeId, s, s.ip);
    }
    expect(byPage.result()).toEqual(bySession.result());
    expect(byPage.totalSessions).toBe(bySession.totalSessions);
    if ("trackedKeys" in options) expect(byPage.result().approximateMaps.length).toBeGreaterThan(0);
  });
  test.each(cases)(
    "gives the same figures on pages the WebAssembly module read and counted itself: %s",
    (_what, options) => {
      const reader = loadWasmClientsReader();
      expect(reader).not.toBeNull();
      const strings = new StringTable();
      const keys = new KnownKeys();
      const byPage = new SessionAccumulator(options);
      const bySession = new SessionAccumulator(options);
      const facts = new PageFacts();
      const text = (value: string) => (value === NONE_KEY ? "" : value);
      let counted = 0;
      for (let p = 0; p < 30; p++) {
        const nodeId = `node-${p % 3}`;
        const sessions = sessionsOf(p, 1 + ((p * 37) % 200));
        const body = JSON.stringify({
          clients: sessions.map((s) => ({
            addr: s.addr,
            name: text(s.name),
            user: text(s.user),
            db: text(s.db),
            cmd: text(s.cmd),
            idle: s.idleSeconds,
            age: s.ageSeconds,
            sub: s.subscriptions,
          })),
        });
        const scanned = scanClientList(new TextEncoder().encode(body), strings, keys, reader)!;
        const tallied = scanned.sessions as TalliedSessions;
        expect(tallied).toBeInstanceOf(TalliedSessions);
        const page = scanned.page("", 0, () => {
          throw new Error("not reached");
        });
        const size = p % 5 === 0 ? Math.floor(sessions.length / 2) : sessions.length;
        if (tallied.tally(size, -1) !== undefined) counted++;
        facts.page = page;
        byPage.addTallied(nodeId, tallied, size, facts);
        tallied.release();
        for (const s of sessions.slice(0, size)) bySession.add(nodeId, s, s.ip);
      }
      // Every page was counted by the module (none left to the JavaScript counting above).
      expect(counted).toBe(30);
      expect(byPage.result()).toEqual(bySession.result());
      if (options.trackedKeys !== undefined)
        expect(byPage.result().approximateMaps.length).toBeGreaterThan(0);
    },
  );
});
