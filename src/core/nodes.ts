/**
 * Which nodes a scan or purge acts on (DESIGN §1 "Which nodes").
 *
 * - Given ids: each must be a node of `logical-nodes`, else a ValidationError naming `nodeIds[i]` and listing
 *   the known ids. If listing nodes is refused (HTTP 403: a policy that allows the clients APIs but not
 *   this one), the ids are used unchecked and a progress message says so.
 * - No ids: every proxy when the instance has proxies, else every data node (`redis-server`), masters and
 *   replicas alike: clients can connect to a replica (read-only address), so its sessions count too.
 *   A listing without roles at all falls back to every listed node.
 */
import { ApiError, ValidationError } from "../api/errors";
import type { CallOptions, SessionNode, SessionsClient } from "../api/types";
import type { Engine, ProgressEvent } from "./types";

export interface TargetNode {
  nodeId: string;
  /** `redis-proxy` / `redis-server`, when the listing said. */
  role?: string;
}

/** At most this many known ids are listed in an error message. */
const KNOWN_IDS_SHOWN = 20;

export function isProxy(node: SessionNode): boolean {
  return node.nodeRole === "redis-proxy" || node.nodeType === "proxy";
}

export function isDataNode(node: SessionNode): boolean {
  return node.nodeRole === "redis-server" || node.nodeType === "master" || node.nodeType === "slave";
}

/** The nodes that hold sessions, by the rule of DESIGN §1. Pure. */
export function sessionNodesOf(nodes: ReadonlyArray<SessionNode>): SessionNode[] {
  const proxies = nodes.filter(isProxy);
  if (proxies.length > 0) return proxies;
  const data = nodes.filter(isDataNode);
  return data.length > 0 ? data : [...nodes];
}

/** Checks given ids against a listing (pure): throws a ValidationError naming the first unknown one. */
export function checkKnownIds(
  nodeIds: ReadonlyArray<string>,
  nodes: ReadonlyArray<SessionNode>,
  field = "nodeIds",
): TargetNode[] {
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  return nodeIds.map((nodeId, i) => {
    const node = byId.get(nodeId);
    if (!node) {
      const known = nodes.map((n) => n.nodeId);
      const shown = known.slice(0, KNOWN_IDS_SHOWN).join(", ");
      const more = known.length > KNOWN_IDS_SHOWN ? `, … (${known.length} in all)` : "";
      throw new ValidationError(
        `${field}[${i}]`,
        `"${nodeId}" is not a node of this instance`,
        known.length ? `one of: ${shown}${more}` : "none: the instance lists no nodes",
      );
    }
    return target(node);
  });
}

function target(node: SessionNode): TargetNode {
  return node.nodeRole ? { nodeId: node.nodeId, role: node.nodeRole } : { nodeId: node.nodeId };
}

/** Resolves the DCS nodes to act on: the given ids (checked) or every session node. */
export async function resolveDcsNodes(
  client: SessionsClient,
  instanceId: string,
  nodeIds: ReadonlyArray<string> | undefined,
  call: CallOptions,
  onProgress?: (event: ProgressEvent) => void,
): Promise<TargetNode[]> {
  let listed: SessionNode[];
  try {
    listed = (await client.dcs.listNodes(instanceId, call)).nodes;
  } catch (error) {
    if (nodeIds && error instanceof ApiError && error.status === 403) {
      onProgress?.({
        kind: "message",
        message: `listing the nodes was refused (HTTP 403); using the given node ids unchecked`,
      });
      return nodeIds.map((nodeId) => ({ nodeId }));
    }
    throw error;
  }
  return nodeIds ? checkKnownIds(nodeIds, listed) : sessionNodesOf(listed).map(target);
}

/** The nodes an operation acts on: DCS resolves them; GeminiDB takes the given ids or the whole instance. */
export async function resolveTargets(
  client: SessionsClient,
  input: { instanceId: string; engine?: Engine; nodeIds?: string[] },
  call: CallOptions,
  onProgress?: (event: ProgressEvent) => void,
): Promise<TargetNode[] | undefined> {
  if ((input.engine ?? "dcs") === "dcs") {
    return resolveDcsNodes(client, input.instanceId, input.nodeIds, call, onProgress);
  }
  return input.nodeIds?.map((nodeId) => ({ nodeId }));
}
