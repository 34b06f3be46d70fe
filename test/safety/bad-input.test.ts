/**
 * Bad input (issue 11): a table of bad inputs through every front end — the Pulumi provider's `check` (and the
 * real provider host for a few), the CLI (in process, its exit code), the CDKTF constructs, the Terraform
 * provider's validation (for `match`) and the programmatic API (`createClient` and each operation,
 * `scanSessions`, `purgeSessions`). Each is refused before any remote call — the emulator every input points
 * at counts no request at all — with a message that names the field and says what is allowed.
 */
import { PassThrough } from "node:stream";
import { App, TerraformStack } from "cdktf";
import { createClient } from "../../src/api/client";
import { CredentialsError, ValidationError } from "../../src/api/errors";
import type { SessionsClient } from "../../src/api/types";
import { SessionPurge as PurgeConstruct, SessionScan as ScanConstruct } from "../../src/cdktf";
import { runCli } from "../../src/cli/program";
import { purgeSessions } from "../../src/core/purge";
import { scanSessions } from "../../src/core/scan";
import { startEmulator } from "../../src/emulator";
import type { EmulatorHandle } from "../../src/emulator";
import { SessionProvider } from "../../src/pulumi/provider";
import { createProvider } from "../../src/terraform/provider";
import type { ObjectValue } from "../../src/terraform/protocol/values";

let emulator: EmulatorHandle;
let client: SessionsClient;
let instance: string;
let node: string;

beforeAll(async () => {
  emulator = await startEmulator({ synthetic: { nodes: 2, sessionsPerNode: 5 }, jobMs: 10 });
  instance = emulator.instanceId;
  node = emulator.nodeIds[0]!;
  client = clientWith();
});

afterAll(async () => {
  await client?.close();
  await emulator?.close();
});

beforeEach(() => emulator.control.resetCounters());

function clientWith(extra: Record<string, unknown> = {}): SessionsClient {
  return createClient({
    endpoint: emulator.endpoint,
    geminidbEndpoint: emulator.geminidbEndpoint,
    projectId: emulator.projectId,
    credentials: { kind: "aksk", accessKey: emulator.accessKey, secretKey: emulator.secretKey },
    env: {},
    ...extra,
  });
}

/** What a refusal said, whatever the front end: the text to search, and the field it names when typed. */
interface Refusal {
  text: string;
  field?: string;
}

async function refusalOf(run: () => unknown): Promise<Refusal> {
  let result: unknown;
  try {
    result = await run();
  } catch (error) {
    if (error instanceof ValidationError) return { text: error.message, field: error.field };
    if (error instanceof CredentialsError) return { text: error.message };
    throw new Error(`refused with an untyped error: ${String(error)}`, { cause: error });
  }
  if (result && typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") {
    return refusalOf(async () => {
      for await (const _ of result as AsyncIterable<unknown>) void _;
    });
  }
  throw new Error(`not refused: ${JSON.stringify(result)}`);
}

/** The Pulumi provider's `check`: the failures a preview shows. */
async function pulumiCheck(
  kind: "SessionScan" | "SessionPurge",
  news: Record<string, unknown>,
): Promise<Refusal> {
  const provider = new SessionProvider(kind, undefined, () => emulator.env);
  const { failures } = await provider.check({}, { endpoint: emulator.endpoint, ...news });
  if (!failures || failures.length === 0) throw new Error("check returned no failure");
  // A failure's property is the top-level input (what a preview points at); its reason names the full path.
  for (const f of failures) expect(f.reason.startsWith(f.property)).toBe(true);
  return { text: failures.map((f) => f.reason).join("\n") };
}

/** The CLI in process: exit 2 and one line on stderr, nothing on stdout. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<Refusal> {
  let stdout = "";
  let stderr = "";
  const stdin = new PassThrough();
  stdin.end();
  const code = await runCli(["node", "dcs-sessions", ...args], {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    stdin,
    env: { ...emulator.env, ...env },
    now: () => new Date(),
  });
  if (code !== 2) throw new Error(`exit ${code}, not 2: ${stderr}`);
  expect(stdout).toBe("");
  expect(stderr.trim().split("\n")).toHaveLength(1);
  return { text: stderr };
}

/**
 * The Terraform provider's ValidateResourceConfig for `dcssessions_purge` (what `terraform validate` shows):
 * every attribute present, null when not set, as Terraform sends a configuration.
 */
async function terraformValidate(config: Record<string, unknown>): Promise<Refusal> {
  const purge = createProvider({ env: emulator.env }).resources.dcssessions_purge!;
  const attributes = Object.fromEntries(Object.keys(purge.schema.attributes).map((name) => [name, null]));
  const diagnostics = await purge.validate({
    ...attributes,
    match: null,
    maintenance_window: null,
    ...config,
  } as ObjectValue);
  if (diagnostics.length === 0) throw new Error("validate returned no diagnostic");
  for (const d of diagnostics) expect(d.path?.length).toBeGreaterThan(0);
  return { text: diagnostics.map((d) => `${d.summary}: ${d.detail ?? ""}`).join("\n") };
}

/** A refusal of a credential that must not repeat any part of the value it refused. */
async function unechoed(refusal: Promise<Refusal>, part: string): Promise<Refusal> {
  const refused = await refusal;
  expect(refused.text).not.toContain(part);
  return refused;
}

/** A construct's constructor. */
async function construct(build: (stack: TerraformStack) => void): Promise<Refusal> {
  const app = new App({ outdir: "/nonexistent-never-written", skipValidation: true });
  return refusalOf(() => build(new TerraformStack(app, "stack")));
}

type Row = [
  /** Front end and what is wrong. */
  string,
  () => Promise<Refusal>,
  /** The field, as the user wrote it. */
  RegExp,
  /** What is allowed, as the message says it. */
  RegExp,
];

const LONE_SURROGATE = "10.0.\ud800";
const ids = (n: number) => Array.from({ length: n }, (_, i) => `n${i}`);

/** The programmatic API: createClient, each operation, scanSessions and purgeSessions. */
const API: Row[] = [
  [
    "createClient retry.maxAttempts 0",
    () => refusalOf(() => clientWith({ retry: { maxAttempts: 0 } })),
    /retry\.maxAttempts/,
    /allowed: a value >= 1/,
  ],
  [
    "createClient retry.baseDelayMs -5",
    () => refusalOf(() => clientWith({ retry: { baseDelayMs: -5 } })),
    /retry\.baseDelayMs/,
    /allowed: a value >= 0/,
  ],
  [
    "createClient timeouts.callMs 0",
    () => refusalOf(() => clientWith({ timeouts: { callMs: 0 } })),
    /timeouts\.callMs/,
    /allowed: a value >= 1/,
  ],
  [
    "createClient timeouts with an unknown key",
    () => refusalOf(() => clientWith({ timeouts: { totalMs: 5 } })),
    /timeouts/,
    /allowed: connectMs, headersMs, bodyMs, callMs/,
  ],
  [
    "createClient endpoint not a URL",
    () => refusalOf(() => clientWith({ endpoint: "dcs example" })),
    /endpoint/,
    /allowed: an https:\/\/ URL, or http:\/\/ on a loopback address/,
  ],
  [
    "createClient endpoint plain http off loopback",
    () => refusalOf(() => clientWith({ endpoint: "http://dcs.example.com" })),
    /endpoint/,
    /allowed: an https:\/\/ URL, or http:\/\/ on a loopback address/,
  ],
  [
    "createClient region with a slash",
    () =>
      refusalOf(() => clientWith({ endpoint: undefined, geminidbEndpoint: undefined, region: "cn/north" })),
    /region/,
    /allowed: a Huawei Cloud region id such as cn-north-4/,
  ],
  [
    "createClient access key with CR/LF",
    () =>
      unechoed(
        refusalOf(() =>
          clientWith({
            credentials: { kind: "aksk", accessKey: "AK\r\nX-Injected: 1", secretKey: emulator.secretKey },
          }),
        ),
        "X-Injected",
      ),
    /access key|accessKey/i,
    /printable|allowed|control/i,
  ],
  [
    "createClient IAM token with a newline",
    () =>
      unechoed(
        refusalOf(() => clientWith({ credentials: { kind: "token", authToken: "tok\nen-Zq9" } })),
        "Zq9",
      ),
    /token/i,
    /printable|allowed|control/i,
  ],
  [
    "listNodes instance id with a slash",
    () => refusalOf(() => client.dcs.listNodes("../etc")),
    /instanceId/,
    /1-128 characters of A-Z a-z 0-9 \. _ -/,
  ],
  [
    "listNodes empty instance id",
    () => refusalOf(() => client.dcs.listNodes("")),
    /instanceId/,
    /1-128 characters of A-Z a-z 0-9 \. _ -/,
  ],
  [
    "scanClients node id with a space",
    () => refusalOf(() => client.dcs.scanClients(instance, { nodeId: "a b" })),
    /nodeId/,
    /1-128 characters of A-Z a-z 0-9 \. _ -/,
  ],
  [
    "scanClients cleanCache a string",
    () => refusalOf(() => client.dcs.scanClients(instance, { nodeId: node, cleanCache: "yes" as never })),
    /cleanCache/,
    /allowed: a value of type boolean/,
  ],
  [
    "listClients limit 0",
    () => refusalOf(() => client.dcs.listClients(instance, { nodeId: node, limit: 0 })),
    /limit/,
    /allowed: a value >= 1/,
  ],
  [
    "listClients limit 1001",
    () => refusalOf(() => client.dcs.listClients(instance, { nodeId: node, limit: 1001 })),
    /limit/,
    /allowed: a value <= 1000/,
  ],
  [
    "listClients offset -1",
    () => refusalOf(() => client.dcs.listClients(instance, { nodeId: node, offset: -1 })),
    /offset/,
    /allowed: a value >= 0/,
  ],
  [
    "listClients order up",
    () => refusalOf(() => client.dcs.listClients(instance, { nodeId: node, order: "up" as never })),
    /order/,
    /allowed: one of: asc, desc/,
  ],
  [
    "listClients sort by an unknown field",
    () => refusalOf(() => client.dcs.listClients(instance, { nodeId: node, sort: "password" as never })),
    /sort/,
    /allowed: one of: id, addr, fd, name/,
  ],
  [
    "listClients an unknown option",
    () => refusalOf(() => client.dcs.listClients(instance, { nodeId: node, limt: 5 } as never)),
    /limt/,
    /allowed: nodeId, offset, limit, addr, sort, order/,
  ],
  [
    "listAllClients pageSize 0",
    () => refusalOf(() => client.dcs.listAllClients(instance, { nodeId: node, pageSize: 0 })),
    /pageSize/,
    /allowed: a value >= 1/,
  ],
  [
    "listAllClients concurrency 100",
    () => refusalOf(() => client.dcs.listAllClients(instance, { nodeId: node, concurrency: 100 })),
    /concurrency/,
    /allowed: a value <= 16/,
  ],
  [
    "killAllClients nodeId with allNodes",
    () => refusalOf(() => client.dcs.killAllClients(instance, { nodeId: node, allNodes: true } as never)),
    /nodeId|allNodes/,
    /allowed|not both|either/i,
  ],
  [
    "killAllClients allNodes false",
    () => refusalOf(() => client.dcs.killAllClients(instance, { allNodes: false } as never)),
    /allNodes/,
    /allowed: true, or leave it out and give nodeId/,
  ],
  [
    "killAllClients no target",
    () => refusalOf(() => client.dcs.killAllClients(instance, {} as never)),
    /nodeId/,
    /required when kill_all_nodes is not true/,
  ],
  [
    "killClients no address",
    () => refusalOf(() => client.dcs.killClients(instance, { nodeId: node, clientAddrs: [] })),
    /clientAddrs/,
    /allowed: at least 1 item/,
  ],
  [
    "killClients port 99999",
    () =>
      refusalOf(() => client.dcs.killClients(instance, { nodeId: node, clientAddrs: ["10.0.0.1:99999"] })),
    /clientAddrs/,
    /ip:port|1-65535/,
  ],
  [
    "killClients an address without a port",
    () => refusalOf(() => client.dcs.killClients(instance, { nodeId: node, clientAddrs: ["10.0.0.1"] })),
    /clientAddrs/,
    /must be ip:port/,
  ],
  [
    "showJob empty job id",
    () => refusalOf(() => client.dcs.showJob("")),
    /jobId/,
    /1-128 characters of A-Z a-z 0-9 \. _ -/,
  ],
  [
    "waitForJob timeoutMs 0",
    () => refusalOf(() => client.dcs.waitForJob("job1", { timeoutMs: 0 })),
    /timeoutMs/,
    /allowed: a value >= 1/,
  ],
  [
    "geminidb.listSessions node id with a space",
    () => refusalOf(() => client.geminidb.listSessions(instance, { nodeId: "x y" })),
    /nodeId/,
    /1-128 characters of A-Z a-z 0-9 \. _ -/,
  ],
  [
    "geminidb.closeSessions instance id with a !",
    () => refusalOf(() => client.geminidb.closeSessions("bad!")),
    /instanceId/,
    /1-128 characters of A-Z a-z 0-9 \. _ -/,
  ],
  [
    "scanSessions topN 101",
    () => refusalOf(() => scanSessions({ client, instanceId: instance, topN: 101 })),
    /topN/,
    /allowed: a value <= 100/,
  ],
  [
    "scanSessions nodeIds empty",
    () => refusalOf(() => scanSessions({ client, instanceId: instance, nodeIds: [] })),
    /nodeIds/,
    /allowed: at least 1 item/,
  ],
  [
    "scanSessions addr with a lone surrogate",
    () => refusalOf(() => scanSessions({ client, instanceId: instance, addr: LONE_SURROGATE })),
    /addr/,
    /surrogate|allowed|text/i,
  ],
  [
    "scanSessions concurrency 0",
    () => refusalOf(() => scanSessions({ client, instanceId: instance, concurrency: 0 })),
    /concurrency/,
    /allowed: a value >= 1/,
  ],
  [
    "scanSessions waitTimeoutSeconds 0",
    () => refusalOf(() => scanSessions({ client, instanceId: instance, waitTimeoutSeconds: 0 })),
    /waitTimeoutSeconds/,
    /allowed: a value > 0/,
  ],
  [
    "scanSessions engine mysql",
    () => refusalOf(() => scanSessions({ client, instanceId: instance, engine: "mysql" as never })),
    /engine/,
    /allowed: one of: dcs, geminidb/,
  ],
  [
    "scanSessions an unknown option",
    () => refusalOf(() => scanSessions({ client, instanceId: instance, topn: 5 } as never)),
    /topn/,
    /allowed: instanceId, engine, nodeIds, .*topN/,
  ],
  [
    "scanSessions 1001 node ids",
    () => refusalOf(() => scanSessions({ client, instanceId: instance, nodeIds: ids(1001) })),
    /nodeIds/,
    /allowed: at most 1000 item/,
  ],
  [
    "purgeSessions neither nodeIds nor allNodes",
    () => refusalOf(() => purgeSessions({ client, instanceId: instance })),
    /nodeIds/,
    /required unless allNodes is true/,
  ],
  [
    "purgeSessions nodeIds and allNodes",
    () => refusalOf(() => purgeSessions({ client, instanceId: instance, allNodes: true, nodeIds: [node] })),
    /nodeIds/,
    /choose the nodes or every node, not both/,
  ],
  [
    "purgeSessions maxSessions -1",
    () => refusalOf(() => purgeSessions({ client, instanceId: instance, allNodes: true, maxSessions: -1 })),
    /maxSessions/,
    /allowed: a value >= 0/,
  ],
  [
    "purgeSessions minSessions above maxSessions",
    () =>
      refusalOf(() =>
        purgeSessions({ client, instanceId: instance, allNodes: true, minSessions: 5, maxSessions: 2 }),
      ),
    /minSessions/,
    /must not exceed maxSessions \(2\)/,
  ],
  [
    "purgeSessions window start 25:00",
    () =>
      refusalOf(() =>
        purgeSessions({
          client,
          instanceId: instance,
          allNodes: true,
          maintenanceWindow: { start: "25:00", end: "02:00" },
        }),
      ),
    /maintenanceWindow\.start/,
    /HH:MM, 24-hour, from 00:00 to 23:59/,
  ],
  [
    "purgeSessions window in an unknown time zone",
    () =>
      refusalOf(() =>
        purgeSessions({
          client,
          instanceId: instance,
          allNodes: true,
          maintenanceWindow: { start: "01:00", end: "02:00", timeZone: "Mars/Olympus" },
        }),
      ),
    /maintenanceWindow\.timeZone/,
    /allowed: an IANA time zone name/,
  ],
  [
    "purgeSessions window on a day that is not one",
    () =>
      refusalOf(() =>
        purgeSessions({
          client,
          instanceId: instance,
          allNodes: true,
          maintenanceWindow: { days: ["mon", "funday" as never], start: "01:00", end: "02:00" },
        }),
      ),
    /maintenanceWindow\.days/,
    /allowed: one of: mon, tue, wed, thu, fri, sat, sun/,
  ],
  [
    "purgeSessions outsideWindow later",
    () =>
      refusalOf(() =>
        purgeSessions({ client, instanceId: instance, allNodes: true, outsideWindow: "later" as never }),
      ),
    /outsideWindow/,
    /allowed: one of: fail, skip/,
  ],
  [
    "purgeSessions dryRun a string",
    () =>
      refusalOf(() =>
        purgeSessions({ client, instanceId: instance, allNodes: true, dryRun: "yes" as never }),
      ),
    /dryRun/,
    /allowed: a value of type boolean/,
  ],
  [
    "purgeSessions confirm not a function",
    () =>
      refusalOf(() => purgeSessions({ client, instanceId: instance, allNodes: true, confirm: 1 as never })),
    /confirm/,
    /function/,
  ],
  [
    "purgeSessions onProgress not a function",
    () =>
      refusalOf(() =>
        purgeSessions({ client, instanceId: instance, allNodes: true, onProgress: "log" as never }),
      ),
    /onProgress/,
    /function/,
  ],
];

/** The Pulumi provider's check, as a preview runs it. */
const PULUMI: Row[] = [
  [
    "Pulumi SessionScan without instanceId",
    () => pulumiCheck("SessionScan", {}),
    /instanceId/,
    /allowed: a value of type string/,
  ],
  [
    "Pulumi SessionScan topN 500",
    () => pulumiCheck("SessionScan", { instanceId: "i1", topN: 500 }),
    /topN/,
    /allowed: a value <= 100/,
  ],
  [
    "Pulumi SessionScan engine mysql",
    () => pulumiCheck("SessionScan", { instanceId: "i1", engine: "mysql" }),
    /engine/,
    /allowed: one of: dcs, geminidb/,
  ],
  [
    "Pulumi SessionScan nodeIds empty",
    () => pulumiCheck("SessionScan", { instanceId: "i1", nodeIds: [] }),
    /nodeIds/,
    /allowed: at least 1 item/,
  ],
  [
    "Pulumi SessionScan an unknown property",
    () => pulumiCheck("SessionScan", { instanceId: "i1", topn: 3 }),
    /topn/,
    /allowed: instanceId, engine, nodeIds/,
  ],
  [
    "Pulumi SessionScan addr with a lone surrogate",
    () => pulumiCheck("SessionScan", { instanceId: "i1", addr: LONE_SURROGATE }),
    /addr/,
    /surrogate|allowed|text/i,
  ],
  [
    "Pulumi SessionScan a secret key as an input",
    () => pulumiCheck("SessionScan", { instanceId: "i1", secretKey: "sk-in-an-input" }),
    /secretKey/,
    /set huaweicloud:secretKey \(pulumi config set --secret\) or HW_SECRET_KEY/,
  ],
  [
    "Pulumi SessionPurge neither nodeIds nor allNodes",
    () => pulumiCheck("SessionPurge", { instanceId: "i1" }),
    /nodeIds/,
    /required unless allNodes is true/,
  ],
  [
    "Pulumi SessionPurge maxSessions -1",
    () => pulumiCheck("SessionPurge", { instanceId: "i1", allNodes: true, maxSessions: -1 }),
    /maxSessions/,
    /allowed: a value >= 0/,
  ],
  [
    "Pulumi SessionPurge window end 24:61",
    () =>
      pulumiCheck("SessionPurge", {
        instanceId: "i1",
        allNodes: true,
        maintenanceWindow: { start: "01:00", end: "24:61" },
      }),
    /maintenanceWindow\.end/,
    /HH:MM, 24-hour, from 00:00 to 24:00/,
  ],
  [
    "Pulumi SessionPurge outsideWindow later",
    () => pulumiCheck("SessionPurge", { instanceId: "i1", allNodes: true, outsideWindow: "later" }),
    /outsideWindow/,
    /allowed: one of: fail, skip/,
  ],
  [
    "Pulumi SessionPurge alwaysRun a string",
    () => pulumiCheck("SessionPurge", { instanceId: "i1", allNodes: true, alwaysRun: "yes" }),
    /alwaysRun/,
    /allowed: a value of type boolean/,
  ],
  [
    "Pulumi SessionPurge triggers not a list",
    () => pulumiCheck("SessionPurge", { instanceId: "i1", allNodes: true, triggers: "v2" }),
    /triggers/,
    /allowed: a value of type array/,
  ],
  [
    "Pulumi SessionPurge waitTimeoutSeconds 0",
    () => pulumiCheck("SessionPurge", { instanceId: "i1", allNodes: true, waitTimeoutSeconds: 0 }),
    /waitTimeoutSeconds/,
    /allowed: a value > 0/,
  ],
  [
    "Pulumi SessionPurge endpoint not a URL",
    () => pulumiCheck("SessionPurge", { instanceId: "i1", allNodes: true, endpoint: "not a url" }),
    /endpoint/,
    /allowed: an https:\/\/ URL, or http:\/\/ on a loopback address/,
  ],
  [
    "Pulumi SessionPurge match.clients with a bad CIDR",
    () =>
      pulumiCheck("SessionPurge", {
        instanceId: "i1",
        allNodes: true,
        match: { clients: ["10.0.0.0/33"] },
      }),
    /match\.clients\[0\]/,
    /not an IP address or CIDR range \(IPv4 a\.b\.c\.d\[\/0-32\], IPv6/,
  ],
  [
    "Pulumi SessionPurge match.idleOverSeconds -1",
    () => pulumiCheck("SessionPurge", { instanceId: "i1", allNodes: true, match: { idleOverSeconds: -1 } }),
    /match\.idleOverSeconds/,
    /non-negative integer \(seconds\)/,
  ],
  [
    "Pulumi SessionPurge match empty",
    () => pulumiCheck("SessionPurge", { instanceId: "i1", allNodes: true, match: {} }),
    /match/,
    /at least one of idleOverSeconds, clients, users, names, dbs, cmds/,
  ],
  [
    "Pulumi SessionPurge match with an unknown field",
    () => pulumiCheck("SessionPurge", { instanceId: "i1", allNodes: true, match: { ips: ["10.0.0.1"] } }),
    /match\.ips/,
    /is not a known field/,
  ],
];

/** The CLI, in process: exit 2. */
const CLI: Row[] = [
  ["CLI scan --top 500", () => cli(["scan", "i1", "--top", "500"]), /--top/, /whole number from 0 to 100/],
  [
    "CLI scan --engine mysql",
    () => cli(["scan", "i1", "--engine", "mysql"]),
    /--engine/,
    /Allowed choices are dcs, geminidb/,
  ],
  [
    "CLI scan an instance id with a !",
    () => cli(["scan", "bad!"]),
    /instance/,
    /1-128 characters of A-Z a-z 0-9 \. _ -/,
  ],
  [
    "CLI scan --node with a space",
    () => cli(["scan", "i1", "--node", "a b"]),
    /--node/,
    /1-128 characters of A-Z a-z 0-9 \. _ -/,
  ],
  [
    "CLI scan --wait-timeout 0",
    () => cli(["scan", "i1", "--wait-timeout", "0"]),
    /--wait-timeout/,
    /whole number from 1 to 86400/,
  ],
  [
    "CLI scan --output xml",
    () => cli(["scan", "i1", "--output", "xml"]),
    /--output/,
    /Allowed choices are json, table/,
  ],
  [
    "CLI scan --endpoint not a URL",
    () => cli(["scan", "i1", "--endpoint", "not a url"]),
    /endpoint/,
    /allowed: an https:\/\/ URL, or http:\/\/ on a loopback address/,
  ],
  ["CLI list without --node", () => cli(["list", "i1"]), /--node/, /required option '--node <id>'/],
  [
    "CLI list --addr with a lone surrogate",
    () => cli(["list", "i1", "--node", "n1", "--addr", LONE_SURROGATE]),
    /addr/,
    /surrogate|allowed|text/i,
  ],
  [
    "CLI list --limit 0",
    () => cli(["list", "i1", "--node", "n1", "--limit", "0"]),
    /--limit/,
    /whole number from 1 to 1000/,
  ],
  [
    "CLI purge neither --node nor --all-nodes",
    () => cli(["purge", "i1", "--yes"]),
    /--node|--all-nodes/,
    /required unless allNodes is true/,
  ],
  [
    "CLI purge --node with --all-nodes",
    () => cli(["purge", "i1", "--node", "n1", "--all-nodes", "--yes"]),
    /--node|--all-nodes/,
    /choose the nodes or every node, not both/,
  ],
  [
    "CLI purge --max-sessions -1",
    () => cli(["purge", "i1", "--all-nodes", "--max-sessions", "-1"]),
    /--max-sessions/,
    /whole number >= 0/,
  ],
  [
    "CLI purge --min-sessions above --max-sessions",
    () => cli(["purge", "i1", "--all-nodes", "--min-sessions", "9", "--max-sessions", "2"]),
    /--min-sessions|minSessions/,
    /must not exceed maxSessions \(2\)/,
  ],
  [
    "CLI purge --window on a day that is not one",
    () => cli(["purge", "i1", "--all-nodes", "--window", "funday 02:00-04:00"]),
    /--window/,
    /allowed: \[days\] HH:MM-HH:MM \[time zone\]/,
  ],
  [
    "CLI purge --window in an unknown time zone",
    () => cli(["purge", "i1", "--all-nodes", "--window", "02:00-04:00 Mars/Olympus"]),
    /--window|timeZone/,
    /allowed: an IANA time zone name/,
  ],
  [
    "CLI purge --outside-window later",
    () => cli(["purge", "i1", "--all-nodes", "--outside-window", "later"]),
    /--outside-window/,
    /Allowed choices are fail, skip/,
  ],
  [
    "CLI purge DCS_SESSIONS_MAX_SESSIONS not a number",
    () =>
      cli(["purge"], {
        DCS_SESSIONS_INSTANCE_ID: "i1",
        DCS_SESSIONS_ALL_NODES: "true",
        DCS_SESSIONS_MAX_SESSIONS: "lots",
      }),
    /DCS_SESSIONS_MAX_SESSIONS/,
    /allowed: a whole number >= 0/,
  ],
  [
    "CLI purge DCS_SESSIONS_ENGINE mysql",
    () =>
      cli(["purge"], {
        DCS_SESSIONS_INSTANCE_ID: "i1",
        DCS_SESSIONS_ALL_NODES: "true",
        DCS_SESSIONS_ENGINE: "mysql",
      }),
    /DCS_SESSIONS_ENGINE/,
    /allowed: one of: dcs, geminidb/,
  ],
  [
    "CLI an access key with CR/LF",
    () => unechoed(cli(["nodes", "i1"], { HW_ACCESS_KEY: "AK\r\nX-Injected: 1" }), "X-Injected"),
    /HW_ACCESS_KEY|access key/i,
    /printable|allowed|control/i,
  ],
  [
    "CLI a secret key with a newline",
    () => unechoed(cli(["nodes", "i1"], { HW_SECRET_KEY: "sk\nnext-Zq9" }), "Zq9"),
    /HW_SECRET_KEY|secret key/i,
    /printable|allowed|control/i,
  ],
  [
    "CLI purge --client not an IP",
    () => cli(["purge", "i1", "--all-nodes", "--client", "10.0.0.1", "--client", "10.0.0.300"]),
    /--client: "10\.0\.0\.300"/,
    /not an IP address or CIDR range \(IPv4 a\.b\.c\.d\[\/0-32\], IPv6 \[\/0-128\]\)/,
  ],
  [
    "CLI purge --client a CIDR prefix too long for IPv6",
    () => cli(["purge", "i1", "--node", "n1", "--client", "fd00::/129"]),
    /--client: "fd00::\/129"/,
    /not an IP address or CIDR range/,
  ],
  [
    "CLI purge --idle-over -5",
    () => cli(["purge", "i1", "--all-nodes", "--idle-over", "-5"]),
    /--idle-over/,
    /whole number >= 0/,
  ],
  [
    "CLI purge --db x",
    () => cli(["purge", "i1", "--all-nodes", "--db", "1,x"]),
    /--db/,
    /"x" is not a whole number >= 0/,
  ],
  [
    "CLI purge --user empty",
    () => cli(["purge", "i1", "--all-nodes", "--user", ""]),
    /--user/,
    /non-empty string/,
  ],
  [
    "CLI purge --user on GeminiDB",
    () => cli(["purge", "i1", "--all-nodes", "--engine", "geminidb", "--user", "app"]),
    /--user/,
    /GeminiDB API lists no user/,
  ],
];

/** The CDKTF constructs, at construction. */
const CDKTF: Row[] = [
  [
    "CDKTF SessionScan instance id with a !",
    () => construct((s) => new ScanConstruct(s, "scan", { instanceId: "bad!" })),
    /instanceId/,
    /1-128 characters of A-Z a-z 0-9 \. _ -/,
  ],
  [
    "CDKTF SessionScan topN 500",
    () => construct((s) => new ScanConstruct(s, "scan", { instanceId: "i1", topN: 500 })),
    /topN/,
    /allowed: a value <= 100/,
  ],
  [
    "CDKTF SessionScan engine mysql",
    () => construct((s) => new ScanConstruct(s, "scan", { instanceId: "i1", engine: "mysql" as never })),
    /engine/,
    /allowed: one of: dcs, geminidb/,
  ],
  [
    "CDKTF SessionScan addr with a template",
    () => construct((s) => new ScanConstruct(s, "scan", { instanceId: "i1", addr: "${var.x}" })),
    /addr/,
    /allowed: plain text/,
  ],
  [
    "CDKTF SessionScan nodeIds empty",
    () => construct((s) => new ScanConstruct(s, "scan", { instanceId: "i1", nodeIds: [] })),
    /nodeIds/,
    /allowed: at least 1 item/,
  ],
  [
    "CDKTF SessionPurge neither nodeIds nor allNodes",
    () => construct((s) => new PurgeConstruct(s, "purge", { instanceId: "i1" })),
    /nodeIds/,
    /required unless allNodes is true/,
  ],
  [
    "CDKTF SessionPurge maxSessions -1",
    () =>
      construct((s) => new PurgeConstruct(s, "purge", { instanceId: "i1", allNodes: true, maxSessions: -1 })),
    /maxSessions/,
    /allowed: a value >= 0/,
  ],
  [
    "CDKTF SessionPurge window start 9am",
    () =>
      construct(
        (s) =>
          new PurgeConstruct(s, "purge", {
            instanceId: "i1",
            allNodes: true,
            maintenanceWindow: { start: "9am", end: "10:00" },
          }),
      ),
    /maintenanceWindow\.start/,
    /HH:MM, 24-hour, from 00:00 to 23:59/,
  ],
  [
    "CDKTF SessionPurge outsideWindow later",
    () =>
      construct(
        (s) =>
          new PurgeConstruct(s, "purge", {
            instanceId: "i1",
            allNodes: true,
            outsideWindow: "later" as never,
          }),
      ),
    /outsideWindow/,
    /allowed: one of: fail, skip/,
  ],
  [
    "CDKTF SessionPurge waitTimeoutSeconds 0",
    () =>
      construct(
        (s) => new PurgeConstruct(s, "purge", { instanceId: "i1", allNodes: true, waitTimeoutSeconds: 0 }),
      ),
    /waitTimeoutSeconds/,
    /allowed: a value > 0/,
  ],
  [
    "CDKTF SessionPurge match.clients with a bad CIDR",
    () =>
      construct(
        (s) =>
          new PurgeConstruct(s, "purge", {
            instanceId: "i1",
            allNodes: true,
            match: { clients: ["10.0.0.0/8", "10.1.0.0/40"] },
          }),
      ),
    /match\.clients\[1\]/,
    /not an IP address or CIDR range \(IPv4 a\.b\.c\.d\[\/0-32\]/,
  ],
  [
    "CDKTF SessionPurge match.dbs -1",
    () =>
      construct(
        (s) => new PurgeConstruct(s, "purge", { instanceId: "i1", allNodes: true, match: { dbs: [0, -1] } }),
      ),
    /match\.dbs\[1\]/,
    /non-negative integer \(a database number\)/,
  ],
  [
    "CDKTF SessionPurge match.names with a template",
    () =>
      construct(
        (s) =>
          new PurgeConstruct(s, "purge", {
            instanceId: "i1",
            allNodes: true,
            match: { names: ["${var.x}"] },
          }),
      ),
    /match\.names\[0\]/,
    /allowed: plain text/,
  ],
];

/** The Terraform provider: a `match` block's bad values, on their attribute paths. */
const MATCH_ATTRIBUTES = {
  idle_over_seconds: null,
  clients: null,
  users: null,
  names: null,
  dbs: null,
  cmds: null,
};
const TERRAFORM: Row[] = [
  [
    "Terraform dcssessions_purge match.clients with a bad CIDR",
    () =>
      terraformValidate({
        instance_id: "i1",
        all_nodes: true,
        match: { ...MATCH_ATTRIBUTES, clients: ["10.0.0.0/8", "fe80::/200"] },
      }),
    /Invalid match\.clients\[1\]/,
    /"fe80::\/200" is not an IP address or CIDR range \(IPv4 a\.b\.c\.d\[\/0-32\], IPv6 \[\/0-128\]\)/,
  ],
  [
    "Terraform dcssessions_purge match.dbs with a fraction",
    () =>
      terraformValidate({ instance_id: "i1", all_nodes: true, match: { ...MATCH_ATTRIBUTES, dbs: [1.5] } }),
    /Invalid match\.dbs\[0\]/,
    /non-negative integer \(a database number\)/,
  ],
  [
    "Terraform dcssessions_purge an empty match block",
    () => terraformValidate({ instance_id: "i1", all_nodes: true, match: MATCH_ATTRIBUTES }),
    /Invalid match/,
    /at least one of idle_over_seconds, clients, users, names, dbs, cmds/,
  ],
];

const ROWS: Row[] = [...API, ...PULUMI, ...CLI, ...CDKTF, ...TERRAFORM];

describe("bad input is refused before any remote call, naming the field and what is allowed", () => {
  test("the table holds at least 60 inputs over the four front ends", () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(60);
  });

  test.each(ROWS)("%s", async (_name, run, field, allowed) => {
    const refusal = await run();
    expect(refusal.text).toMatch(field);
    expect(refusal.text).toMatch(allowed);
    if (refusal.field !== undefined) expect(refusal.field).toMatch(field);
    expect(await emulator.control.counters()).toEqual({});
  });
});
