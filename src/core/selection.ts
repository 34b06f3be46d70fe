/**
 * What a selective purge kills, collected while the before snapshot streams past: per node, the keys that
 * name the matched sessions in a kill (DCS: the `peer` address, else `addr`; GeminiDB: the session id), the
 * matched counts, and the first N matched sessions for the report. Nothing else of a session is kept.
 */
import { GeminiSessionIdSchema, isClientAddr, type ClientInfo, type GeminiSession } from "../api/schemas";
import { orNone } from "./aggregate";
import { clientAddressOf, compileMatch, type MatchableSession } from "./match";
import type { Engine, SelectedSession, SessionMatch } from "./types";

/** The most addresses (DCS) or session ids (GeminiDB) one kill request names. */
export const KILL_BATCH_SIZE = 100;

interface NodeSelection {
  matched: number;
  /** Kill keys, each once, in listing order (a Set keeps insertion order). */
  keys: Set<string>;
}

/** The key a kill names a session by, or undefined when the session cannot be named in a kill request. */
function killKeyOf(engine: Engine, session: ClientInfo | GeminiSession): string | undefined {
  if (engine === "geminidb") {
    const id = session.id;
    return id !== undefined && GeminiSessionIdSchema.safeParse(id).success ? id : undefined;
  }
  const address = clientAddressOf(session as ClientInfo);
  return isClientAddr(address) ? address : undefined;
}

export class SessionSelection {
  private readonly test: (session: MatchableSession) => boolean;
  private readonly nodes = new Map<string, NodeSelection>();
  private readonly firstSelected: SelectedSession[] = [];
  /** Matched sessions that no kill request could name (no address or id): reported, never killed. */
  unnamed = 0;

  constructor(
    match: SessionMatch,
    private readonly engine: Engine,
    private readonly topN: number,
  ) {
    this.test = compileMatch(match);
  }

  /** Looks at one listed session; keeps its kill key when it matches. */
  offer(nodeId: string, session: ClientInfo | GeminiSession): void {
    if (!this.test(session)) return;
    const key = killKeyOf(this.engine, session);
    if (key === undefined) {
      this.unnamed++;
      return;
    }
    const node = this.nodeOf(nodeId);
    node.matched++;
    node.keys.add(key);
    if (this.firstSelected.length < this.topN) this.firstSelected.push(this.describe(nodeId, session));
  }

  /** Sessions matched on one node (0 for a node with none). */
  matchedOn(nodeId: string): number {
    return this.nodes.get(nodeId)?.matched ?? 0;
  }

  get matched(): number {
    let sum = 0;
    for (const node of this.nodes.values()) sum += node.matched;
    return sum;
  }

  /** The first N matched sessions, in listing order. */
  get selected(): SelectedSession[] {
    return [...this.firstSelected];
  }

  /** Per node with matches, its kill keys in batches of at most `KILL_BATCH_SIZE`. */
  batches(): Array<{ nodeId: string; keys: string[] }> {
    const out: Array<{ nodeId: string; keys: string[] }> = [];
    for (const [nodeId, node] of this.nodes) {
      const keys = [...node.keys];
      for (let i = 0; i < keys.length; i += KILL_BATCH_SIZE) {
        out.push({ nodeId, keys: keys.slice(i, i + KILL_BATCH_SIZE) });
      }
    }
    return out;
  }

  private nodeOf(nodeId: string): NodeSelection {
    let node = this.nodes.get(nodeId);
    if (!node) {
      node = { matched: 0, keys: new Set() };
      this.nodes.set(nodeId, node);
    }
    return node;
  }

  private describe(nodeId: string, session: ClientInfo | GeminiSession): SelectedSession {
    const s = session as MatchableSession;
    return {
      nodeId,
      peer: clientAddressOf(s),
      user: orNone(s.user),
      name: orNone(s.name),
      idle: typeof s.idle === "number" && Number.isFinite(s.idle) ? s.idle : 0,
      db: orNone(s.db === undefined ? undefined : String(s.db)),
      cmd: orNone(s.cmd),
    };
  }
}
