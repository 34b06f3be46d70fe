/**
 * The selection of a selective purge (DESIGN §4 "Selective purge"): the `match` schema that every front end
 * validates with, and the compiled predicate the purge runs on each listed session. Values within one field
 * are OR, fields are AND; a client matches by its `peer` IP, falling back to `addr`.
 */
import { BlockList, isIP } from "node:net";
import { z } from "zod";
import type { SessionMatch } from "./types";

/** What `match.clients` accepts, for error messages. */
export const CLIENT_RANGE_ALLOWED = "IPv4 a.b.c.d[/0-32], IPv6 [/0-128]";

/** The most entries one field of `match` takes: a selection is a filter, not a list of every client. */
export const MAX_MATCH_VALUES = 1000;

/** An IP or CIDR range, as the user wrote it, parsed. Undefined when it is neither. */
export interface ClientRange {
  address: string;
  family: "ipv4" | "ipv6";
  prefix: number;
}

/** The address part without an IPv6 zone (`fe80::1%eth0` → `fe80::1`): a zone names a local interface only. */
function withoutZone(ip: string): string {
  const percent = ip.indexOf("%");
  return percent < 0 ? ip : ip.slice(0, percent);
}

/** Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `v6/n` (brackets allowed around the IPv6 address). */
export function parseClientRange(text: string): ClientRange | undefined {
  const slash = text.indexOf("/");
  let address = slash < 0 ? text : text.slice(0, slash);
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  address = withoutZone(address);
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? "ipv4" : "ipv6";
  const max = version === 4 ? 32 : 128;
  if (slash < 0) return { address, family, prefix: max };
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return { address, family, prefix: Number(bits) };
}

/**
 * The IP of a session address as the service prints it: `10.0.0.1:5000` → `10.0.0.1`, `[::1]:5000` → `::1`,
 * and the unbracketed IPv6 forms `::1:6379` → `::1`, `2001:db8::5:52100` → `2001:db8::5`. A session address
 * always carries its port (Redis appends it), so the last `:digits` group is the port whenever what precedes
 * it is an IP; an address that is an IP without a port is taken whole. Undefined when there is no IP.
 */
export function ipOfSessionAddress(addr: string | undefined): string | undefined {
  if (!addr) return undefined;
  if (addr.startsWith("[")) {
    const close = addr.indexOf("]");
    const ip = close > 1 ? withoutZone(addr.slice(1, close)) : "";
    return isIP(ip) === 6 ? ip : undefined;
  }
  const colon = addr.lastIndexOf(":");
  if (colon > 0 && /^\d{1,5}$/.test(addr.slice(colon + 1))) {
    const ip = withoutZone(addr.slice(0, colon));
    if (isIP(ip) !== 0) return ip;
  }
  const whole = withoutZone(addr);
  return isIP(whole) !== 0 ? whole : undefined;
}

/** The address that names a session's client: `peer` (the real client) when present, else `addr`. */
export function clientAddressOf(session: { peer?: string; addr?: string }): string {
  return session.peer || session.addr || "";
}

const nonEmptyText = z
  .string({ message: "must be a non-empty string" })
  .min(1, { message: "must be a non-empty string" })
  .max(256, { message: "must be at most 256 characters" });

function textList(what: string) {
  return z
    .array(nonEmptyText, { message: `must be an array of ${what}` })
    .min(1, {
      message: `must list at least one ${what.replace(/s$/, "")} (leave the field out to match any)`,
    })
    .max(MAX_MATCH_VALUES);
}

const clientEntry = z.string({ message: "must be a string" });

/** `match`, strictly: every field optional, at least one given; the messages name the entry at fault. */
export const SessionMatchSchema = z
  .strictObject({
    idleOverSeconds: z
      .number({ message: "must be a non-negative integer (seconds)" })
      .int({ message: "must be a non-negative integer (seconds)" })
      .min(0, { message: "must be a non-negative integer (seconds)" })
      .optional(),
    clients: z
      .array(clientEntry, { message: "must be an array of IP addresses or CIDR ranges" })
      .min(1, {
        message: "must list at least one IP address or CIDR range (leave the field out to match any)",
      })
      .max(MAX_MATCH_VALUES)
      .superRefine((entries, ctx) => {
        entries.forEach((entry, i) => {
          if (parseClientRange(entry) === undefined) {
            ctx.addIssue({
              code: "custom",
              path: [i],
              message: `${JSON.stringify(entry)} is not an IP address or CIDR range (${CLIENT_RANGE_ALLOWED})`,
            });
          }
        });
      })
      .optional(),
    users: textList("user names").optional(),
    names: textList("client names").optional(),
    dbs: z
      .array(
        z
          .number({ message: "must be a non-negative integer (a database number)" })
          .int({ message: "must be a non-negative integer (a database number)" })
          .min(0, { message: "must be a non-negative integer (a database number)" }),
        { message: "must be an array of database numbers" },
      )
      .min(1, { message: "must list at least one database number (leave the field out to match any)" })
      .max(MAX_MATCH_VALUES)
      .optional(),
    cmds: textList("command names").optional(),
  })
  .refine((m) => Object.values(m).some((v) => v !== undefined), {
    message:
      "must give at least one of idleOverSeconds, clients, users, names, dbs, cmds " +
      "(leave match out to purge every session)",
  });

/** The fields of a session the selection reads, whichever API listed it (GeminiDB has no `user`/`peer`). */
export interface MatchableSession {
  peer?: string;
  addr?: string;
  user?: string;
  name?: string;
  db?: string | number;
  cmd?: string;
  idle?: number;
}

/** A test of one field; a session matches when every test of the selection passes. */
type FieldTest = (session: MatchableSession) => boolean;

/**
 * The IPv4 address at the start of `addr` (`a.b.c.d`, then the end or `:port`) as an unsigned 32-bit number;
 * undefined for anything else. The common case, read without allocating: most peers are IPv4.
 */
export function ipv4Prefix(addr: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < addr.length; i++) {
    const c = addr.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c === 58 && digits > 0 && dots === 3) {
      break;
    } else {
      return undefined;
    }
  }
  return digits > 0 && dots === 3 ? value * 256 + part : undefined;
}

/** An IPv4 range as a network number and a mask, both unsigned 32-bit. */
interface Ipv4Range {
  network: number;
  mask: number;
}

function ipv4Range(range: ClientRange): Ipv4Range {
  const mask = range.prefix === 0 ? 0 : (0xffffffff << (32 - range.prefix)) >>> 0;
  return { network: (ipv4Prefix(range.address)! & mask) >>> 0, mask };
}

/** Whether an IPv6 range shares addresses with the IPv4-mapped block `::ffff:0:0/96`. */
function overlapsMappedIpv4(range: ClientRange): boolean {
  const mapped = new BlockList();
  mapped.addSubnet("::ffff:0:0", 96, "ipv6");
  if (range.prefix >= 96) return mapped.check(range.address, "ipv6");
  const wide = new BlockList();
  wide.addSubnet(range.address, range.prefix, "ipv6");
  return wide.check("::ffff:0:0", "ipv6");
}

function clientTest(entries: string[]): FieldTest {
  const list = new BlockList();
  const v4: Ipv4Range[] = [];
  // An IPv4 peer can match an IPv6 range only through the IPv4-mapped block.
  let mappedRanges = false;
  for (const entry of entries) {
    const range = parseClientRange(entry);
    // The schema checked every entry; an entry that slips through unparsed must not widen the selection.
    if (!range) continue;
    list.addSubnet(range.address, range.prefix, range.family);
    if (range.family === "ipv4") v4.push(ipv4Range(range));
    else if (overlapsMappedIpv4(range)) mappedRanges = true;
  }
  return (session) => {
    const address = clientAddressOf(session);
    const v4ip = ipv4Prefix(address);
    if (v4ip !== undefined) {
      for (const r of v4) if ((v4ip & r.mask) >>> 0 === r.network) return true;
      if (!mappedRanges) return false;
    }
    const ip = ipOfSessionAddress(address);
    if (ip === undefined) return false;
    // BlockList matches IPv4-mapped IPv6 (`::ffff:10.0.0.1`) against IPv4 ranges and the reverse.
    return list.check(ip, isIP(ip) === 4 ? "ipv4" : "ipv6");
  };
}

function dbNumberOf(db: string | number | undefined): number | undefined {
  if (typeof db === "number") return Number.isInteger(db) ? db : undefined;
  if (db === undefined) return undefined;
  const digits = db.trim();
  return /^\d+$/.test(digits) ? Number(digits) : undefined;
}

/**
 * Compiles a selection (as validated by `SessionMatchSchema`) into a predicate. OR within a field, AND
 * across fields; idle means `idle > idleOverSeconds`; commands compare case-insensitively; a session that
 * lacks a field a test reads (no `user` on GeminiDB, no address) does not match that test.
 */
export function compileMatch(match: SessionMatch): (session: MatchableSession) => boolean {
  const tests: FieldTest[] = [];
  if (match.idleOverSeconds !== undefined) {
    const over = match.idleOverSeconds;
    tests.push((s) => typeof s.idle === "number" && s.idle > over);
  }
  if (match.users !== undefined) {
    const users = new Set(match.users);
    tests.push((s) => s.user !== undefined && users.has(s.user));
  }
  if (match.names !== undefined) {
    const names = new Set(match.names);
    tests.push((s) => s.name !== undefined && names.has(s.name));
  }
  if (match.dbs !== undefined) {
    const dbs = new Set(match.dbs);
    tests.push((s) => {
      const db = dbNumberOf(s.db);
      return db !== undefined && dbs.has(db);
    });
  }
  if (match.cmds !== undefined) {
    const cmds = new Set(match.cmds.map((c) => c.toLowerCase()));
    tests.push((s) => s.cmd !== undefined && cmds.has(s.cmd.toLowerCase()));
  }
  // Last: parsing an address costs more than the other tests, which often decide first.
  if (match.clients !== undefined) tests.push(clientTest(match.clients));
  return (session) => tests.every((test) => test(session));
}
