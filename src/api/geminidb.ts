/** The GeminiDB v3 session operations (DESIGN §1), one function each, inputs checked before any request. */
import { decodeResponse, type Transport } from "./http";
import {
  GeminiCloseNodeSessionsBodySchema,
  GeminiListSessionsResponseSchema,
  GeminiNodeSessionPageSchema,
  GeminiNodeSessionsQuerySchema,
  GeminiSessionStatisticsSchema,
} from "./schemas";
import type { CallOptions, GeminiDbApi } from "./types";
import { checkFields, checkId, checkWire } from "./validate";

const FIELD_NAMES = {
  offset: "offset",
  limit: "limit",
  addr_prefix: "addrPrefix",
  is_all: "isAll",
  session_ids: "sessionIds",
};

/** The optional `{nodeId}` of the instance-wide operations. */
function nodeFilter(request: { nodeId?: string } | undefined): { node_id?: string } {
  if (request === undefined) return {};
  const r = checkFields(request, "request", ["nodeId"]);
  return r.nodeId === undefined ? {} : { node_id: checkId(r.nodeId, "nodeId") };
}

export function createGeminiDbApi(transport: Transport): GeminiDbApi {
  async function listSessions(instanceId: string, request?: { nodeId?: string }, options?: CallOptions) {
    const id = checkId(instanceId, "instanceId");
    const res = await transport.send({
      operation: "geminidbListSessions",
      params: { instance_id: id },
      query: nodeFilter(request),
      options,
    });
    const body = decodeResponse(GeminiListSessionsResponseSchema, res);
    return {
      nodeSessions: body.node_sessions.map((node) => ({
        nodeId: node.node_id,
        totalCount: node.total_count ?? node.sessions.length,
        sessions: node.sessions,
      })),
    };
  }

  async function closeSessions(instanceId: string, request?: { nodeId?: string }, options?: CallOptions) {
    const id = checkId(instanceId, "instanceId");
    await transport.send({
      operation: "geminidbCloseSessions",
      params: { instance_id: id },
      query: nodeFilter(request),
      options,
    });
  }

  async function listNodeSessions(
    nodeId: string,
    request: { offset?: number; limit?: number; addrPrefix?: string } = {},
    options?: CallOptions,
  ) {
    const id = checkId(nodeId, "nodeId");
    const r = checkFields(request, "request", ["offset", "limit", "addrPrefix"]);
    const query = checkWire(
      GeminiNodeSessionsQuerySchema,
      { offset: r.offset, limit: r.limit, addr_prefix: r.addrPrefix },
      FIELD_NAMES,
    );
    const res = await transport.send({
      operation: "geminidbListNodeSessions",
      params: { node_id: id },
      query,
      options,
    });
    const body = decodeResponse(GeminiNodeSessionPageSchema, res);
    return { totalCount: body.total_count ?? body.sessions.length, sessions: body.sessions };
  }

  async function closeNodeSessions(
    nodeId: string,
    request: { isAll: true } | { isAll: false; sessionIds: string[] },
    options?: CallOptions,
  ) {
    const id = checkId(nodeId, "nodeId");
    const r = checkFields(request, "request", ["isAll", "sessionIds"]);
    const body = checkWire(
      GeminiCloseNodeSessionsBodySchema,
      { is_all: r.isAll, session_ids: r.sessionIds },
      FIELD_NAMES,
    );
    await transport.send({ operation: "geminidbCloseNodeSessions", params: { node_id: id }, body, options });
  }

  async function nodeSessionStatistics(nodeId: string, options?: CallOptions) {
    const id = checkId(nodeId, "nodeId");
    const res = await transport.send({
      operation: "geminidbNodeSessionStatistics",
      params: { node_id: id },
      options,
    });
    const body = decodeResponse(GeminiSessionStatisticsSchema, res);
    return {
      totalConnections: body.total_connection_count ?? 0,
      ...(body.active_connection_count === undefined
        ? {}
        : { activeConnections: body.active_connection_count }),
      topSourceIps: body.top_source_ips.map((entry) => ({
        clientIp: entry.client_ip ?? "",
        connections: entry.connection_count ?? 0,
      })),
      topDbs: body.top_dbs,
    };
  }

  return { listSessions, closeSessions, listNodeSessions, closeNodeSessions, nodeSessionStatistics };
}
