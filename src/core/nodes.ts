/**
 * Which nodes a scan or purge acts on (DESIGN §1 "Which nodes").
 *
 * - Given ids: each must be a node of `logical-nodes`, else a ValidationError naming `nodeIds[i]` and listing
 *   the known ids. If listing nodes is refused (HTTP 403: a policy that allows the clients APIs but not
 *   this one), the ids are used unchecked and a progress message says so.
 * - No ids: every proxy when the instance has proxies, else every data node (`redis-server`), masters and
 *   replicas alike: clients can connect to a replica (read-only address), so its sessions count too.
 *   A listing without roles at all falls back to every listed node.
 * - A node listed without a `node_id` cannot be named to the clients APIs: it is skipped, and a progress
 *   message says so (a scan also reports it in `skippedNodes`), so that its sessions are not silently missing.
 */
import { ApiError, ValidationError } from "../api/errors";
import { nodeWithoutIdLabel } from "../api/node-label";
import type { CallOptions, NodeWithoutId, SessionNode, SessionsClient } from "../api/types";
import type { Engine, ProgressEvent, SkippedNode } from "./types";

export interface TargetNode {
  nodeId: string;
  /** `redis-proxy` / `redis-server`, when the listing said. */
  role?: string;
}

/** At most this many known ids are listed in an error message. */
const KNOWN_IDS_SHOWN = 20;

type NodeKind = Pick<SessionNode, "nodeRole" | "nodeType">;

export function isProxy(node: NodeKind): boolean {
  return node.nodeRole === "redis-proxy" || node.nodeType === "proxy";
}

export function isDataNode(node: NodeKind): boolean {
  return node.nodeRole === "redis-server" || node.nodeType === "master" || node.nodeType === "slave";
}

/** The nodes that hold sessions, by the rule of DESIGN §1. Pure. */
export function sessionNodesOf(nodes: ReadonlyArray<SessionNode>): SessionNode[] {
  return holdingSessions(nodes);
}

/** The rule of `sessionNodesOf`, for nodes with or without an id. */
function holdingSessions<N extends NodeKind>(nodes: ReadonlyArray<N>): N[] {
  const proxies = nodes.filter(isProxy);
  if (proxies.length > 0) return proxies;
  const data = nodes.filter(isDataNode);
  return data.length > 0 ? data : [...nodes];
}

/**
 * The session nodes that can be named, by the rule applied to every listed node: proxies listed without an
 * id still make the instance a proxy instance, so its data nodes (whose sessions are the proxies' own) are
 * never taken in their place. Pure.
 */
export function sessionNodesWithIds(
  nodes: ReadonlyArray<SessionNode>,
  withoutId: ReadonlyArray<NodeWithoutId>,
): SessionNode[] {
  const named = new Set<NodeKind>(nodes);
  return holdingSessions<NodeKind>([...nodes, ...withoutId]).filter((n): n is SessionNode => named.has(n));
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

/**
 * The nodes without a `node_id` that would hold sessions by the rule of `sessionNodesOf` (applied to every
 * listed node, with or without an id). Pure.
 */
export function skippedSessionNodesOf(
  nodes: ReadonlyArray<SessionNode>,
  withoutId: ReadonlyArray<NodeWithoutId>,
): SkippedNode[] {
  const unnamed = new Set<NodeKind>(withoutId);
  const skipped = holdingSessions<NodeKind>([...nodes, ...withoutId]).filter((n): n is NodeWithoutId =>
    unnamed.has(n),
  );
  return skipped.map((n) => ({
    ...(n.name === undefined ? {} : { name: n.name }),
    ...(n.logicalNodeId === undefined ? {} : { logicalNodeId: n.logicalNodeId }),
    ...(n.nodeRole === undefined ? {} : { role: n.nodeRole }),
    reason: "listed by logical-nodes without a node_id, which the clients APIs need",
  }));
}

/** The one line a user reads about skipped nodes. */
function skippedMessage(skipped: ReadonlyArray<SkippedNode>): string {
  const names = skipped.map(nodeWithoutIdLabel).join(", ");
  return (
    `${skipped.length} node(s) that hold sessions were listed without a node_id (${names}): ` +
    `they are skipped, and their sessions are not counted`
  );
}

/** The DCS nodes to act on, and the session nodes that had to be skipped. */
export interface ResolvedNodes {
  targets: TargetNode[];
  skipped: SkippedNode[];
}

/** Resolves the DCS nodes to act on: the given ids (checked) or every session node. */
export async function resolveDcsTargets(
  client: SessionsClient,
  instanceId: string,
  nodeIds: ReadonlyArray<string> | undefined,
  call: CallOptions,
  onProgress?: (event: ProgressEvent) => void,
): Promise<ResolvedNodes> {
  let listed: SessionNode[];
  let withoutId: NodeWithoutId[];
  try {
    const list = await client.dcs.listNodes(instanceId, call);
    listed = list.nodes;
    withoutId = list.withoutNodeId ?? [];
  } catch (error) {
    if (nodeIds && error instanceof ApiError && error.status === 403) {
      onProgress?.({
        kind: "message",
        message: `listing the nodes was refused (HTTP 403); using the given node ids unchecked`,
      });
      return { targets: nodeIds.map((nodeId) => ({ nodeId })), skipped: [] };
    }
    throw error;
  }
  if (nodeIds) return { targets: checkKnownIds(nodeIds, listed), skipped: [] };
  const skipped = skippedSessionNodesOf(listed, withoutId);
  if (skipped.length > 0) onProgress?.({ kind: "message", message: skippedMessage(skipped) });
  return { targets: sessionNodesWithIds(listed, withoutId).map(target), skipped };
}

/** Resolves the DCS nodes to act on (see `resolveDcsTargets`), without the skipped ones. */
export async function resolveDcsNodes(
  client: SessionsClient,
  instanceId: string,
  nodeIds: ReadonlyArray<string> | undefined,
  call: CallOptions,
  onProgress?: (event: ProgressEvent) => void,
): Promise<TargetNode[]> {
  return (await resolveDcsTargets(client, instanceId, nodeIds, call, onProgress)).targets;
}

/**
 * The nodes an operation acts on: DCS resolves them; GeminiDB takes the given ids or the whole instance
 * (`targets` undefined).
 */
export async function resolveTargetNodes(
  client: SessionsClient,
  input: { instanceId: string; engine?: Engine; nodeIds?: string[] },
  call: CallOptions,
  onProgress?: (event: ProgressEvent) => void,
): Promise<{ targets: TargetNode[] | undefined; skipped: SkippedNode[] }> {
  if ((input.engine ?? "dcs") === "dcs") {
    return resolveDcsTargets(client, input.instanceId, input.nodeIds, call, onProgress);
  }
  return { targets: input.nodeIds?.map((nodeId) => ({ nodeId })), skipped: [] };
}
