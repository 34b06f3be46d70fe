/**
 * `dcs-sessions list <instance> --node <id>`: the raw sessions of one node, one page or (`--all`) every page,
 * streamed so that a node with a million sessions never sits in memory.
 */
import type { Command } from "commander";
import { Option } from "commander";
import type { ClientInfo } from "../../api/schemas";
import type { SessionsClient } from "../../api/types";
import type { CliContext } from "../context";
import { pageTitle, renderClientRows, renderPage } from "../output/human";
import type { PageView } from "../output/human";
import type { CommonFlags } from "../options";
import { SORT_FIELDS, addCommonOptions, idArgument, integerArgument } from "../options";
import type { Printer } from "./shared";
import { printerFor, withClient } from "./shared";

interface ListFlags extends CommonFlags {
  node: string;
  offset?: number;
  limit?: number;
  addr?: string;
  sort?: (typeof SORT_FIELDS)[number];
  order?: "asc" | "desc";
  all?: boolean;
  refresh?: boolean;
}

/** Rows rendered per block in a streamed table. */
const TABLE_BLOCK = 1000;

async function refresh(client: SessionsClient, instanceId: string, nodeId: string): Promise<void> {
  const since = new Date();
  const { jobId } = await client.dcs.scanClients(instanceId, { nodeId, cleanCache: true });
  await client.dcs.waitForJob(jobId, { fallback: { instanceId, nodeId, since } });
}

async function onePage(client: SessionsClient, instanceId: string, flags: ListFlags): Promise<PageView> {
  if (flags.engine === "geminidb") {
    const { nodeSessions } = await client.geminidb.listSessions(instanceId, { nodeId: flags.node });
    const node = nodeSessions.find((n) => n.nodeId === flags.node) ?? { totalCount: 0, sessions: [] };
    const offset = flags.offset ?? 0;
    const sessions = node.sessions.slice(offset, offset + (flags.limit ?? 10));
    return { instanceId, nodeId: flags.node, count: node.totalCount, offset, clients: sessions };
  }
  const page = await client.dcs.listClients(instanceId, {
    nodeId: flags.node,
    ...(flags.offset !== undefined ? { offset: flags.offset } : {}),
    ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    ...(flags.addr !== undefined ? { addr: flags.addr } : {}),
    ...(flags.sort !== undefined ? { sort: flags.sort } : {}),
    ...(flags.order !== undefined ? { order: flags.order } : {}),
  });
  return {
    instanceId,
    nodeId: flags.node,
    time: page.time,
    count: page.count,
    offset: flags.offset ?? 0,
    limit: flags.limit,
    clients: page.clients,
  };
}

/** Every page as one JSON document (or table blocks) written as the sessions arrive. */
async function streamAll(
  ctx: CliContext,
  printer: Printer,
  client: SessionsClient,
  instanceId: string,
  flags: ListFlags,
): Promise<void> {
  let sessions: AsyncIterable<ClientInfo>;
  let header: { time?: string; count: number } = { count: 0 };
  if (flags.engine === "geminidb") {
    const { nodeSessions } = await client.geminidb.listSessions(instanceId, { nodeId: flags.node });
    const node = nodeSessions.find((n) => n.nodeId === flags.node) ?? { totalCount: 0, sessions: [] };
    header = { count: node.totalCount };
    sessions = (async function* () {
      yield* node.sessions;
    })();
  } else {
    sessions = client.dcs.listAllClients(instanceId, {
      nodeId: flags.node,
      ...(flags.addr !== undefined ? { addr: flags.addr } : {}),
      ...(flags.sort !== undefined ? { sort: flags.sort } : {}),
      ...(flags.order !== undefined ? { order: flags.order } : {}),
      onFirstPage: (info) => (header = info),
    });
  }
  let written = 0;
  let block: ClientInfo[] = [];
  // Written once the first page is in (its time and count), so an early failure leaves stdout empty.
  const opening = (): void => {
    const page = { instanceId, nodeId: flags.node, time: header.time, count: header.count, clients: [] };
    if (printer.format === "table") {
      ctx.stdout.write(`${pageTitle(page, printer.style)}\n`);
      return;
    }
    const { clients: _none, ...head } = page;
    // The document's head without its closing brace; the sessions follow one per line.
    ctx.stdout.write(`${JSON.stringify(head).slice(0, -1)},"clients":[`);
  };
  const flush = (): void => {
    if (block.length > 0)
      ctx.stdout.write(`${renderClientRows(block, printer.style, written === block.length)}\n`);
    block = [];
  };
  for await (const session of sessions) {
    if (written === 0) opening();
    written += 1;
    if (printer.format === "json") ctx.stdout.write(`${written > 1 ? "," : ""}\n${JSON.stringify(session)}`);
    else {
      block.push(session);
      if (block.length >= TABLE_BLOCK) flush();
    }
  }
  if (written === 0) opening();
  if (printer.format === "json") ctx.stdout.write(`\n]}\n`);
  else if (written === 0) ctx.stdout.write(`  ${printer.style.dim("(none)")}\n`);
  else flush();
}

export function registerList(program: Command, ctx: CliContext): void {
  const command = program
    .command("list")
    .description("list the sessions of one node as the API returns them (one page, or every page with --all)")
    .argument("<instance>", "instance id", idArgument)
    .requiredOption("--node <id>", "the node (see `dcs-sessions nodes`)", idArgument)
    .option("--offset <n>", "first session of the page (default: 0)", integerArgument(0))
    .option("--limit <n>", "page size, 1-1000 (default: 10)", integerArgument(1, 1000))
    .option("--addr <address>", "only sessions whose address matches")
    .addOption(new Option("--sort <field>", "sort by a session field").choices(SORT_FIELDS))
    .addOption(new Option("--order <order>", "sort order").choices(["asc", "desc"]))
    .addOption(new Option("--all", "every page, streamed").conflicts(["offset", "limit"]))
    .option("--refresh", "scan the node first and wait for the job, so the list is fresh");
  addCommonOptions(command)
    .addHelpText(
      "after",
      [
        "",
        "The list is served from the cache of the last scan: use --refresh (or `dcs-sessions scan`) first.",
        "",
        "Examples:",
        "  $ dcs-sessions list 2f9c1e4a-instance --node 8a1b-proxy-1 --sort idle --order desc --limit 20",
        "  $ dcs-sessions list 2f9c1e4a-instance --node 8a1b-proxy-1 --all --refresh --output json > all.json",
      ].join("\n"),
    )
    .action(async (instanceId: string, flags: ListFlags) => {
      const printer = printerFor(ctx, flags);
      await withClient(ctx, flags, async (client) => {
        if (flags.refresh && flags.engine !== "geminidb") await refresh(client, instanceId, flags.node);
        if (flags.all) return streamAll(ctx, printer, client, instanceId, flags);
        const page = await onePage(client, instanceId, flags);
        printer.result(page, (style) => renderPage(page, style));
      });
    });
}
