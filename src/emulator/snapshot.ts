/**
 * The cached session list of a node, as the list API serves it: filtered by `addr`, sorted, paged. Works on
 * index arrays over a SessionView so that a million synthetic sessions are never copied as objects.
 */
import { NUMERIC_CLIENT_INFO_FIELDS, type ClientInfo, type ClientInfoField } from "../api/schemas";
import type { SessionView } from "./types";

/** Fields that hold integers on the wire even where DCS types them as strings: sorted as numbers. */
const INTEGER_STRING_FIELDS: ReadonlySet<ClientInfoField> = new Set(["id", "fd", "db"]);

export function sortsAsNumber(field: ClientInfoField): boolean {
  return NUMERIC_CLIENT_INFO_FIELDS.has(field) || INTEGER_STRING_FIELDS.has(field);
}

export interface PageQuery {
  offset?: number;
  limit?: number;
  /** Keeps the sessions whose `addr` contains this text (`10.0.0.7:` for one client IP, `10.0.` for a range). */
  addr?: string;
  /** Keeps the sessions whose `addr` starts with this text (GeminiDB's `addr_prefix`). */
  addrPrefix?: string;
  sort?: ClientInfoField;
  order?: "asc" | "desc";
}

export interface Page {
  clients: ClientInfo[];
  /** How many sessions match the filter (not the page size). */
  count: number;
}

/** Orders computed for one snapshot, kept so that paging a sorted million does not sort it per page. */
const MAX_CACHED_ORDERS = 4;

export class Snapshot {
  private readonly orders = new Map<string, Uint32Array>();
  /** Rendered pages by query, when the emulator keeps them (a benchmark's cheap server). */
  private readonly rendered = new Map<string, string>();

  constructor(
    readonly view: SessionView,
    /** When the snapshot was taken (ISO 8601): the list's `time`. */
    readonly time: string,
  ) {}

  page(query: PageQuery): Page {
    const offset = query.offset ?? 0;
    const limit = query.limit ?? 10;
    const plain = query.addr === undefined && query.addrPrefix === undefined && query.sort === undefined;
    const order = plain ? undefined : this.orderFor(query);
    const count = order ? order.length : this.view.count;
    const clients: ClientInfo[] = [];
    for (let i = offset; i < Math.min(count, offset + limit); i++) {
      clients.push(this.view.at(order ? (order[i] as number) : i));
    }
    return { clients, count };
  }

  /** The page's body rendered once per snapshot and query, then served from memory. */
  renderedPage(query: PageQuery, render: () => string): string {
    const key = JSON.stringify([
      query.offset ?? 0,
      query.limit ?? 10,
      query.addr,
      query.addrPrefix,
      query.sort,
      query.order,
    ]);
    let text = this.rendered.get(key);
    if (text === undefined) {
      text = render();
      this.rendered.set(key, text);
    }
    return text;
  }

  private orderFor(query: PageQuery): Uint32Array {
    const key = JSON.stringify([query.addr, query.addrPrefix, query.sort, query.order ?? "asc"]);
    const cached = this.orders.get(key);
    if (cached) return cached;
    let indexes = allIndexes(this.view.count);
    const { addr, addrPrefix } = query;
    if (addr !== undefined) indexes = filterByAddr(this.view, indexes, (a) => a.includes(addr));
    if (addrPrefix !== undefined) indexes = filterByAddr(this.view, indexes, (a) => a.startsWith(addrPrefix));
    if (query.sort !== undefined) indexes = sortIndexes(this.view, indexes, query.sort, query.order ?? "asc");
    if (this.orders.size >= MAX_CACHED_ORDERS) {
      const oldest = this.orders.keys().next().value;
      if (oldest !== undefined) this.orders.delete(oldest);
    }
    this.orders.set(key, indexes);
    return indexes;
  }
}

function allIndexes(count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = i;
  return out;
}

/**
 * Keeps the indexes whose `addr` passes the test. DCS `addr` is a substring match (the API page only says
 * "filter by client connection addresses"; a substring serves both one IP and a whole range).
 */
export function filterByAddr(
  view: SessionView,
  indexes: Uint32Array,
  test: (addr: string) => boolean,
): Uint32Array {
  const hits: number[] = [];
  for (const i of indexes) {
    if (test(view.at(i).addr ?? "")) hits.push(i);
  }
  return Uint32Array.from(hits);
}

/** Sorts indexes by one field, numbers as numbers, ties in snapshot order (a stable sort). */
export function sortIndexes(
  view: SessionView,
  indexes: Uint32Array,
  field: ClientInfoField,
  order: "asc" | "desc",
): Uint32Array {
  const sign = order === "desc" ? -1 : 1;
  const position = new Uint32Array(view.count);
  indexes.forEach((index, i) => (position[index] = i));
  const sorted = Uint32Array.from(indexes);
  if (sortsAsNumber(field)) {
    const keys = new Float64Array(view.count);
    for (const index of indexes) keys[index] = numericKey(view.at(index)[field]);
    sorted.sort(
      (a, b) =>
        sign * ((keys[a] as number) - (keys[b] as number)) ||
        (position[a] as number) - (position[b] as number),
    );
  } else {
    const keys = new Array<string>(view.count);
    for (const index of indexes) keys[index] = String(view.at(index)[field] ?? "");
    sorted.sort((a, b) => {
      const x = keys[a] as string;
      const y = keys[b] as string;
      return sign * (x < y ? -1 : x > y ? 1 : 0) || (position[a] as number) - (position[b] as number);
    });
  }
  return sorted;
}

/** Missing or non-numeric values sort before every number. */
function numericKey(value: unknown): number {
  const n = typeof value === "number" ? value : Number(value);
  return value === undefined || value === "" || !Number.isFinite(n) ? -Infinity : n;
}

/**
 * The same sessions, newest connection first (as GeminiDB lists a node's sessions): the smallest `age` first,
 * and among equal ages the later one in the backend's order (`CLIENT LIST` lists the oldest first).
 */
export function newestFirst(view: SessionView): SessionView {
  const reversed = new Uint32Array(view.count);
  for (let i = 0; i < view.count; i++) reversed[i] = view.count - 1 - i;
  const order = sortIndexes(view, reversed, "age", "asc");
  return { count: order.length, at: (index: number) => view.at(order[index] as number) };
}
