/**
 * The `dcssessions_scan` data source above the protocol layer (no terraform binary needed): a scan that had
 * to skip nodes listed without a `node_id` reads fine and says so in a warning diagnostic.
 */
import type { PurgeReport, SessionSnapshot } from "../../src/core/types";
import { createProvider } from "../../src/terraform/provider";
import type { ObjectValue } from "../../src/terraform/protocol/values";
import { snapshot } from "../support/snapshot";

/** A config with every attribute of the schema, null unless given (as Terraform sends it). */
function configOf(attributes: Record<string, unknown>, given: Record<string, unknown>): ObjectValue {
  return Object.fromEntries(
    Object.keys(attributes).map((name) => [name, given[name] ?? null]),
  ) as ObjectValue;
}

async function readWith(result: SessionSnapshot) {
  const provider = createProvider({
    env: {},
    operations: {
      scanSessions: async () => result,
      purgeSessions: async () => ({}) as PurgeReport,
    },
  });
  const scan = provider.dataSources["dcssessions_scan"]!;
  return scan.read(configOf(scan.schema.attributes, { instance_id: "inst-1" }), new AbortController().signal);
}

test("a scan that skipped nodes without a node_id reads, with a warning naming them", async () => {
  const skippedNodes = [{ name: "proxy-9", role: "redis-proxy", reason: "listed without a node_id" }];
  const result = await readWith(snapshot({ skippedNodes }));
  expect(result.state).toMatchObject({ id: "inst-1", total_sessions: 3 });
  expect(result.diagnostics).toEqual([
    {
      severity: "warning",
      summary: "1 node(s) of inst-1 were not scanned",
      detail: expect.stringMatching(/without a node_id \(proxy-9\).*not in total_sessions/),
    },
  ]);
});

test("a scan that skipped nothing has no diagnostics", async () => {
  const result = await readWith(snapshot());
  expect(result.state).toMatchObject({ id: "inst-1", total_sessions: 3 });
  expect(result.diagnostics).toBeUndefined();
});
