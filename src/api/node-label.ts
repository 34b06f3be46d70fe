/** How a message names a node listed without a node_id: its name, else its logical node id. */
export function nodeWithoutIdLabel(node: {
  name?: string | undefined;
  logicalNodeId?: string | undefined;
}): string {
  return node.name ?? node.logicalNodeId ?? "(unnamed)";
}
