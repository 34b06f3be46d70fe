/**
 * A small in-memory SessionsClient for ordering checks only (which calls happen, in which order, and which
 * never happen). The behaviour tests run against the real emulator (scan-purge.test.ts).
 */
import type { ClientInfo, GeminiSession } from "../../src/api/schemas";
import type { Job, SessionNode, SessionsClient } from "../../src/api/types";

export interface FakeState {
  nodes: SessionNode[];
  /** Sessions per node id. */
  sessions: Record<string, ClientInfo[]>;
  /** Thrown by the named operation (once, then cleared). */
  failOnce?: Partial<Record<string, Error>>;
}

export interface FakeClient extends SessionsClient {
  calls: string[];
  state: FakeState;
}

export function fakeClient(state: FakeState): FakeClient {
  const calls: string[] = [];
  let jobs = 0;
  const fail = (op: string): void => {
    const error = state.failOnce?.[op];
    if (error) {
      delete state.failOnce![op];
      throw error;
    }
  };
  const record = (entry: string, op: string): void => {
    calls.push(entry);
    fail(op);
  };
  const job = (jobId: string): Job => ({ jobId, status: "SUCCESS" });
  const gemini = (nodeId: string): { nodeId: string; totalCount: number; sessions: GeminiSession[] } => ({
    nodeId,
    totalCount: (state.sessions[nodeId] ?? []).length,
    sessions: (state.sessions[nodeId] ?? []).map((c) => ({ ...c })),
  });
  const client: FakeClient = {
    calls,
    state,
    config: {
      projectId: "p",
      endpoint: "http://127.0.0.1:1",
      geminidbEndpoint: "http://127.0.0.1:1",
      auth: "aksk",
    },
    dcs: {
      async listNodes(instanceId) {
        record("listNodes", "listNodes");
        return { instanceId, total: state.nodes.length, nodes: state.nodes };
      },
      async scanClients(_instanceId, request) {
        record(`scanClients ${request.nodeId} cleanCache=${String(request.cleanCache)}`, "scanClients");
        return { jobId: `job-${++jobs}` };
      },
      async listClients(_instanceId, request) {
        record(`listClients ${request.nodeId}`, "listClients");
        const all = state.sessions[request.nodeId] ?? [];
        return { time: "2026-11-23T00:00:00Z", clients: all, count: all.length };
      },
      async *listAllClients(_instanceId, request) {
        record(`listAllClients ${request.nodeId}`, "listAllClients");
        const all = state.sessions[request.nodeId] ?? [];
        request.onFirstPage?.({ time: "2026-11-23T00:00:00Z", count: all.length });
        for (const c of all) {
          if (request.addr === undefined || (c.addr ?? "").startsWith(request.addr)) yield c;
        }
      },
      async killAllClients(_instanceId, target) {
        record(`killAllClients ${"allNodes" in target ? "all" : target.nodeId}`, "killAllClients");
        const nodeIds = "allNodes" in target ? Object.keys(state.sessions) : [target.nodeId];
        for (const id of nodeIds) state.sessions[id] = [];
        return { jobId: `job-${++jobs}` };
      },
      async killClients(_instanceId, request) {
        record(`killClients ${request.nodeId} ${request.clientAddrs.join(",")}`, "killClients");
        const gone = new Set(request.clientAddrs);
        state.sessions[request.nodeId] = (state.sessions[request.nodeId] ?? []).filter(
          (c) => !gone.has(c.peer || c.addr || ""),
        );
      },
      async showJob(jobId) {
        record(`showJob ${jobId}`, "showJob");
        return job(jobId);
      },
      async waitForJob(jobId, options) {
        record(`waitForJob ${jobId}${options?.fallback ? " fallback" : ""}`, "waitForJob");
        return job(jobId);
      },
    },
    geminidb: {
      async listSessions(_instanceId, request) {
        record(`geminidb.listSessions ${request?.nodeId ?? "all"}`, "listSessions");
        const ids = request?.nodeId ? [request.nodeId] : Object.keys(state.sessions);
        return { nodeSessions: ids.map(gemini) };
      },
      async closeSessions(_instanceId, request) {
        record(`geminidb.closeSessions ${request?.nodeId ?? "all"}`, "closeSessions");
        for (const id of request?.nodeId ? [request.nodeId] : Object.keys(state.sessions))
          state.sessions[id] = [];
      },
      async listNodeSessions(nodeId) {
        record(`geminidb.listNodeSessions ${nodeId}`, "listNodeSessions");
        return { totalCount: 0, sessions: [] };
      },
      async closeNodeSessions(nodeId, request) {
        const what = request.isAll ? "all" : request.sessionIds.join(",");
        record(`geminidb.closeNodeSessions ${nodeId} ${what}`, "closeNodeSessions");
        const gone = new Set(request.isAll ? [] : request.sessionIds);
        state.sessions[nodeId] = request.isAll
          ? []
          : (state.sessions[nodeId] ?? []).filter((c) => !gone.has(c.id ?? ""));
      },
      async nodeSessionStatistics(nodeId) {
        record(`geminidb.nodeSessionStatistics ${nodeId}`, "nodeSessionStatistics");
        return { totalConnections: state.sessions[nodeId]?.length ?? 0, topSourceIps: [], topDbs: [] };
      },
    },
    async close() {
      calls.push("close");
    },
  };
  return client;
}

/** `n` sessions from distinct ports of one IP. */
export function sessions(n: number, over: Partial<ClientInfo> = {}): ClientInfo[] {
  return Array.from({ length: n }, (_, i) => ({
    id: String(i),
    addr: `10.0.0.1:${10_000 + i}`,
    name: "",
    cmd: "get",
    age: 100 + i,
    idle: i,
    db: "0",
    user: "default",
    sub: 0,
    psub: 0,
    ...over,
  }));
}

export const proxyNodes: SessionNode[] = [
  { nodeId: "proxy-1", nodeRole: "redis-proxy", nodeType: "proxy" },
  { nodeId: "proxy-2", nodeRole: "redis-proxy", nodeType: "proxy" },
  { nodeId: "data-1", nodeRole: "redis-server", nodeType: "master" },
  { nodeId: "data-2", nodeRole: "redis-server", nodeType: "slave" },
];
