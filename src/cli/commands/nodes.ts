/** `dcs-sessions nodes <instance>`: the nodes of an instance, and which of them hold the sessions. */
import type { Command } from "commander";
import type { NodeList } from "../../api/types";
import type { CliContext } from "../context";
import { renderNodes } from "../output/human";
import type { CommonFlags } from "../options";
import { addCommonOptions, idArgument } from "../options";
import { printerFor, withClient } from "./shared";

/** GeminiDB has no logical-nodes API: its nodes are those its session list reports. */
async function geminiNodes(ctx: CliContext, flags: CommonFlags, instanceId: string): Promise<NodeList> {
  return withClient(ctx, flags, async (client) => {
    const { nodeSessions } = await client.geminidb.listSessions(instanceId);
    return { instanceId, total: nodeSessions.length, nodes: nodeSessions.map((n) => ({ nodeId: n.nodeId })) };
  });
}

export function registerNodes(program: Command, ctx: CliContext): void {
  const command = program
    .command("nodes")
    .description("list the nodes of an instance (the ids that --node takes)")
    .argument("<instance>", "instance id", idArgument);
  addCommonOptions(command)
    .addHelpText(
      "after",
      "\nExample:\n  $ dcs-sessions nodes 2f9c1e4a-instance --region eu-west-101 --output table",
    )
    .action(async (instanceId: string, flags: CommonFlags) => {
      const printer = printerFor(ctx, flags);
      const list =
        flags.engine === "geminidb"
          ? await geminiNodes(ctx, flags, instanceId)
          : await withClient(ctx, flags, (client) => client.dcs.listNodes(instanceId));
      printer.result(list, (style) => renderNodes(list, style));
    });
}
