/**
 * The selection of a selective purge: the schema's messages, the address parser (bracketed, unbracketed and
 * mapped IPv6) and the compiled predicate (OR within a field, AND across fields, the idle boundary).
 */
import { ValidationError } from "../../src/api/errors";
import { KillClientsBodySchema } from "../../src/api/schemas";
import {
  SessionMatchSchema,
  compileMatch,
  ipOfSessionAddress,
  ipv4Prefix,
  parseClientRange,
  type MatchableSession,
} from "../../src/core/match";
import { validatePurgeOptions } from "../../src/core/purge";
import type { SessionMatch } from "../../src/core/types";

/** The ValidationError a purge with this `match` throws (it must throw before any remote call). */
function matchError(match: unknown, engine: "dcs" | "geminidb" = "dcs"): ValidationError {
  try {
    validatePurgeOptions({ instanceId: "inst-1", allNodes: true, engine, match } as never);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error(`match ${JSON.stringify(match)} was accepted`);
}

describe("SessionMatchSchema", () => {
  it("names the client entry that is not an IP or CIDR range", () => {
    const error = matchError({ clients: ["10.0.0.1", "::1", "10.0.0.0/33"] });
    expect(error.field).toBe("match.clients[2]");
    expect(error.message).toBe(
      'match.clients[2]: "10.0.0.0/33" is not an IP address or CIDR range ' +
        "(IPv4 a.b.c.d[/0-32], IPv6 [/0-128])",
    );
  });

  it.each([
    ["256.0.0.1"],
    ["10.0.0"],
    ["2001:db8::/129"],
    ["10.0.0.0/"],
    ["10.0.0.0/-1"],
    ["host.example"],
    ["10.0.0.1:6379"],
    [""],
  ])("refuses the client entry %j", (entry) => {
    expect(matchError({ clients: [entry] }).field).toBe("match.clients[0]");
  });

  it.each([
    [{}, "match", "at least one of idleOverSeconds, clients, users, names, dbs, cmds"],
    [{ users: [] }, "match.users", "at least one user name"],
    [{ names: [""] }, "match.names[0]", "non-empty string"],
    [{ cmds: [3] }, "match.cmds[0]", "non-empty string"],
    [{ dbs: [-1] }, "match.dbs[0]", "non-negative integer"],
    [{ dbs: [1.5] }, "match.dbs[0]", "non-negative integer"],
    [{ idleOverSeconds: -1 }, "match.idleOverSeconds", "non-negative integer"],
    [{ idleOverSeconds: 1.5 }, "match.idleOverSeconds", "non-negative integer"],
    [{ clients: "10.0.0.1" }, "match.clients", "array of IP addresses"],
    [{ idle: 5 }, "match.idle", "is not a known field"],
  ])("refuses %j at %s", (match, field, words) => {
    const error = matchError(match);
    expect(error.field).toBe(field);
    expect(error.message).toContain(words);
  });

  it("refuses users on GeminiDB, whose sessions carry no user", () => {
    const error = matchError({ users: ["app"] }, "geminidb");
    expect(error.field).toBe("match.users");
    expect(error.message).toContain("GeminiDB");
  });

  it("accepts every field together", () => {
    const match = {
      idleOverSeconds: 0,
      clients: ["10.0.0.0/8", "2001:db8::/32", "::1", "[fe80::1]/64", "192.168.1.7"],
      users: ["app"],
      names: ["web"],
      dbs: [0, 15],
      cmds: ["GET"],
    };
    expect(SessionMatchSchema.parse(match)).toEqual(match);
  });
});

describe("parseClientRange", () => {
  it("reads addresses and ranges of both families", () => {
    expect(parseClientRange("10.1.2.3")).toEqual({ address: "10.1.2.3", family: "ipv4", prefix: 32 });
    expect(parseClientRange("10.0.0.0/8")).toEqual({ address: "10.0.0.0", family: "ipv4", prefix: 8 });
    expect(parseClientRange("2001:db8::/32")).toEqual({ address: "2001:db8::", family: "ipv6", prefix: 32 });
    expect(parseClientRange("[::1]")).toEqual({ address: "::1", family: "ipv6", prefix: 128 });
    expect(parseClientRange("0.0.0.0/0")).toEqual({ address: "0.0.0.0", family: "ipv4", prefix: 0 });
    expect(parseClientRange("10.0.0.0/33")).toBeUndefined();
    expect(parseClientRange("::/129")).toBeUndefined();
  });
});

describe("ipOfSessionAddress", () => {
  it.each([
    ["10.0.0.1:5000", "10.0.0.1"],
    ["[::1]:6379", "::1"],
    ["[2001:db8::5]:52100", "2001:db8::5"],
    // The unbracketed forms: the last group is the port, even when it could be read as a hex group.
    ["::1:6379", "::1"],
    ["2001:db8::5:52100", "2001:db8::5"],
    ["::ffff:10.0.0.1:40000", "::ffff:10.0.0.1"],
    ["fe80::1%eth0:6379", "fe80::1"],
    // An IP without a port is taken whole.
    ["10.0.0.1", "10.0.0.1"],
    ["2001:db8::5", "2001:db8::5"],
  ])("%s → %s", (addr, ip) => {
    expect(ipOfSessionAddress(addr)).toBe(ip);
  });

  it.each([[""], [undefined], ["proxy-7"], ["[::1:6379"], ["10.0.0.1:port"]])("%j has no IP", (addr) => {
    expect(ipOfSessionAddress(addr)).toBeUndefined();
  });
});

describe("a kill names a peer as the service listed it", () => {
  it.each([
    ["10.0.0.1:5000"],
    ["[::1]:6379"],
    ["::1:6379"],
    ["2001:db8::5:52100"],
    ["::ffff:10.0.0.1:40000"],
  ])("%s is a valid client_addrs entry", (peer) => {
    expect(KillClientsBodySchema.safeParse({ node_id: "n-1", client_addrs: [peer] }).success).toBe(true);
  });

  it.each([["10.0.0.1"], ["::1"], ["10.0.0.1:0"], ["10.0.0.1:70000"], ["256.0.0.1:5000"], ["host:5000"]])(
    "%s is not",
    (addr) => {
      expect(KillClientsBodySchema.safeParse({ node_id: "n-1", client_addrs: [addr] }).success).toBe(false);
    },
  );
});

describe("ipv4Prefix", () => {
  it.each([
    ["10.0.0.1:5000", 0x0a000001],
    ["255.255.255.255", 0xffffffff],
    ["0.0.0.0:1", 0],
  ])("%s → %d", (addr, value) => {
    expect(ipv4Prefix(addr)).toBe(value);
  });

  it.each([
    ["256.0.0.1:1"],
    ["10.0.0:1"],
    ["10.0.0.1.2:1"],
    ["1000.0.0.1"],
    ["[::1]:1"],
    ["::1:6379"],
    [""],
    ["10..0.1"],
  ])("%s is not an IPv4 address", (addr) => {
    expect(ipv4Prefix(addr)).toBeUndefined();
  });
});

describe("compileMatch", () => {
  const session = (fields: MatchableSession): MatchableSession => ({
    peer: "10.0.0.1:5000",
    addr: "10.0.0.1:5000",
    user: "default",
    name: "web",
    db: "0",
    cmd: "get",
    idle: 10,
    ...fields,
  });
  const matches = (match: SessionMatch, fields: MatchableSession = {}): boolean =>
    compileMatch(SessionMatchSchema.parse(match))(session(fields));

  it("selects idle sessions strictly over the bound", () => {
    expect(matches({ idleOverSeconds: 9 })).toBe(true);
    expect(matches({ idleOverSeconds: 10 })).toBe(false);
    expect(matches({ idleOverSeconds: 0 }, { idle: 0 })).toBe(false);
    expect(matches({ idleOverSeconds: 0 }, { idle: 1 })).toBe(true);
    expect(matches({ idleOverSeconds: 0 }, { idle: undefined })).toBe(false);
  });

  it("matches IPv4 addresses and ranges by the peer", () => {
    expect(matches({ clients: ["10.0.0.0/24"] })).toBe(true);
    expect(matches({ clients: ["10.0.1.0/24"] })).toBe(false);
    expect(matches({ clients: ["10.0.0.1"] })).toBe(true);
    expect(matches({ clients: ["10.0.0.2"] })).toBe(false);
    expect(matches({ clients: ["0.0.0.0/0"] })).toBe(true);
  });

  it("prefers the peer to the addr, and falls back to the addr when the peer is empty", () => {
    // Behind a proxy without client-IP pass-through, addr is the proxy side and peer the real client.
    const proxied = { peer: "10.9.0.5:40001", addr: "192.168.0.10:7000" };
    expect(matches({ clients: ["10.9.0.0/16"] }, proxied)).toBe(true);
    expect(matches({ clients: ["192.168.0.10"] }, proxied)).toBe(false);
    expect(matches({ clients: ["192.168.0.10"] }, { peer: "", addr: "192.168.0.10:7000" })).toBe(true);
    expect(matches({ clients: ["192.168.0.10"] }, { peer: undefined, addr: "192.168.0.10:7000" })).toBe(true);
    expect(matches({ clients: ["0.0.0.0/0"] }, { peer: "", addr: "" })).toBe(false);
  });

  it("matches IPv6 peers, bracketed or not, against IPv6 ranges", () => {
    expect(matches({ clients: ["::1"] }, { peer: "[::1]:6379" })).toBe(true);
    expect(matches({ clients: ["::1"] }, { peer: "::1:6379" })).toBe(true);
    expect(matches({ clients: ["::1:6379"] }, { peer: "::1:6379" })).toBe(false);
    expect(matches({ clients: ["2001:db8::/32"] }, { peer: "2001:db8::5:52100" })).toBe(true);
    expect(matches({ clients: ["2001:db8::5/128"] }, { peer: "2001:db8::5:52100" })).toBe(true);
    expect(matches({ clients: ["2001:db9::/32"] }, { peer: "2001:db8::5:52100" })).toBe(false);
    expect(matches({ clients: ["10.0.0.0/8"] }, { peer: "[::1]:6379" })).toBe(false);
  });

  it("matches an IPv4-mapped IPv6 peer against an IPv4 range", () => {
    expect(matches({ clients: ["10.0.0.0/8"] }, { peer: "[::ffff:10.0.0.1]:40000" })).toBe(true);
    expect(matches({ clients: ["10.0.0.0/8"] }, { peer: "::ffff:10.0.0.1:40000" })).toBe(true);
    expect(matches({ clients: ["11.0.0.0/8"] }, { peer: "::ffff:10.0.0.1:40000" })).toBe(false);
  });

  it("matches IPv4 peers against IPv6 ranges only through the IPv4-mapped block", () => {
    expect(matches({ clients: ["::ffff:10.0.0.0/104"] }, { peer: "10.0.0.5:1" })).toBe(true);
    expect(matches({ clients: ["::ffff:10.0.0.0/104"] }, { peer: "11.0.0.5:1" })).toBe(false);
    expect(matches({ clients: ["::/0"] }, { peer: "10.0.0.5:1" })).toBe(true);
    expect(matches({ clients: ["2001:db8::/32"] }, { peer: "10.0.0.5:1" })).toBe(false);
  });

  it("reads IPv4 ranges at their bounds", () => {
    expect(matches({ clients: ["128.0.0.0/1"] }, { peer: "200.1.1.1:5" })).toBe(true);
    expect(matches({ clients: ["128.0.0.0/1"] }, { peer: "100.1.1.1:5" })).toBe(false);
    expect(matches({ clients: ["255.255.255.255"] }, { peer: "255.255.255.255:5" })).toBe(true);
    expect(matches({ clients: ["10.0.0.1/8"] }, { peer: "10.200.0.1:5" })).toBe(true);
    expect(matches({ clients: ["10.0.0.0/31"] }, { peer: "10.0.0.1:5" })).toBe(true);
    expect(matches({ clients: ["10.0.0.0/31"] }, { peer: "10.0.0.2:5" })).toBe(false);
  });

  it("ORs the values of one field", () => {
    expect(matches({ users: ["app", "default"] })).toBe(true);
    expect(matches({ users: ["app", "admin"] })).toBe(false);
    expect(matches({ names: ["cron", "web"] })).toBe(true);
    expect(matches({ dbs: [3, 0] })).toBe(true);
    expect(matches({ dbs: [3, 4] })).toBe(false);
    expect(matches({ clients: ["10.1.0.0/16", "10.0.0.1"] })).toBe(true);
  });

  it("ANDs the fields", () => {
    expect(matches({ users: ["default"], names: ["web"], dbs: [0], idleOverSeconds: 5 })).toBe(true);
    expect(matches({ users: ["default"], names: ["web"], dbs: [0], idleOverSeconds: 10 })).toBe(false);
    expect(matches({ users: ["default"], names: ["cron"] })).toBe(false);
    expect(matches({ clients: ["10.0.0.0/8"], cmds: ["set"] })).toBe(false);
  });

  it("compares commands case-insensitively and names and users exactly", () => {
    expect(matches({ cmds: ["GET"] })).toBe(true);
    expect(matches({ cmds: ["get"] }, { cmd: "GET" })).toBe(true);
    expect(matches({ names: ["WEB"] })).toBe(false);
    expect(matches({ users: ["Default"] })).toBe(false);
  });

  it("reads dbs sent as strings or numbers, and never matches a session without the field", () => {
    expect(matches({ dbs: [5] }, { db: 5 })).toBe(true);
    expect(matches({ dbs: [5] }, { db: " 5" })).toBe(true);
    expect(matches({ dbs: [5] }, { db: undefined })).toBe(false);
    expect(matches({ users: ["default"] }, { user: undefined })).toBe(false);
    expect(matches({ names: ["web"] }, { name: undefined })).toBe(false);
  });
});
