/**
 * Secrets through the programmatic API end to end (issue 11): the built package in a child process with
 * `NODE_DEBUG=http,undici,net` and `DEBUG=*`, credentials from the environment and as options (a security
 * token included, and an IAM token), successes and failures. Everything the process printed — results,
 * errors' messages, stacks, `JSON.stringify` and `util.inspect` of them, the client's log lines and Node's
 * debug output — is searched byte for byte for the secret key, the tokens and every request signature the
 * emulator received.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { EmulatorHandle, FaultRule } from "../../src/emulator";
import { assertBuilt, runProcess } from "../cli/support";
import { SecretWitness, startWitnessedEmulator } from "./secret-witness";

jest.setTimeout(300_000);

const DIST = resolve(__dirname, "../../dist/index.js");
const AUTH_TOKEN = "MIIZ-iam-Token-ApiSafety-5f6e7d8c9b0a";
const SECURITY_TOKEN = "STS-Security-Token-ApiSafety-0a9b8c7d6e5f";
const WRONG_SECRET = "Wrong-Secret-Key-ApiSafety-1122334455";
const DEBUG_ENV = { DEBUG: "*", NODE_DEBUG: "http,undici,net" };

/** Runs nodes, scan and a real purge, printing every result and every error in every form a user might. */
const SCRIPT = `
const util = require("node:util");
const api = require(${JSON.stringify(DIST)});
const scenario = JSON.parse(process.env.SCENARIO);
const logger = (level, message, fields) =>
  console.error("[" + level + "] " + message + " " + util.inspect(fields, { depth: 8 }) + " " + JSON.stringify(fields));
const clientOptions = { logger, retry: { baseDelayMs: 5, maxAttempts: 2 } };
if (scenario.credentials) clientOptions.credentials = scenario.credentials;
function show(label, value) {
  if (value instanceof Error) {
    console.log(label, "error:", value.message);
    console.log(value.stack);
    console.log(JSON.stringify(value));
    console.log(util.inspect(value, { depth: 8, showHidden: true }));
    if (value.cause) console.log(util.inspect(value.cause, { depth: 8, showHidden: true }));
  } else {
    console.log(label, JSON.stringify(value), util.inspect(value, { depth: 8 }));
  }
}
async function step(label, run) {
  try { show(label, await run()); } catch (error) { show(label, error); }
}
(async () => {
  const client = api.createClient(clientOptions);
  show("client", client);
  await step("nodes", () => client.dcs.listNodes(scenario.instanceId));
  await step("scan", () => api.scanSessions({ instanceId: scenario.instanceId, clientOptions, waitTimeoutSeconds: 2 }));
  await step("purge", () =>
    api.purgeSessions({ instanceId: scenario.instanceId, allNodes: true, clientOptions, waitTimeoutSeconds: 2 }),
  );
  await client.close();
})();
`;

const FAULTS: Array<[string, FaultRule[]]> = [
  ["no fault", []],
  [
    "a 500 whose message echoes the secret key",
    [{ route: "listNodes", fault: { kind: "status", status: 500, errorMsg: "__ECHO__" } }],
  ],
  ["a reset on the kill", [{ route: "killAllClients", fault: { kind: "reset", when: "after-body" } }]],
  ["a failed kill job", [{ route: "killAllClients", fault: { kind: "job-fails" } }]],
  [
    "a 503 after the kill",
    [{ route: "killAllClients", fault: { kind: "status", status: 503, after: true } }],
  ],
];

describe("no secret in what the programmatic API prints, throws or logs, with NODE_DEBUG and DEBUG", () => {
  const witness = new SecretWitness();
  let emulator: EmulatorHandle;
  let dir: string;
  let script: string;

  beforeAll(async () => {
    assertBuilt();
    emulator = await startWitnessedEmulator(witness, {
      synthetic: { nodes: 2, sessionsPerNode: 5, reconnectFraction: 1 },
      authToken: AUTH_TOKEN,
      securityToken: SECURITY_TOKEN,
      wrongSecret: WRONG_SECRET,
    });
    dir = mkdtempSync(join(tmpdir(), "dcs-sessions-api-secrets-"));
    script = join(dir, "run.js");
    writeFileSync(script, SCRIPT);
  });
  afterAll(async () => {
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const location = (): Record<string, string> => {
    const { HW_ACCESS_KEY: _ak, HW_SECRET_KEY: _sk, ...rest } = emulator.env;
    return { PATH: process.env.PATH ?? "", ...rest };
  };

  const variants = (): Array<[string, Record<string, string>, unknown]> => [
    [
      "AK/SK from the environment",
      { ...location(), HW_ACCESS_KEY: emulator.accessKey, HW_SECRET_KEY: emulator.secretKey },
      undefined,
    ],
    [
      "AK/SK and a security token as options",
      location(),
      {
        kind: "aksk",
        accessKey: emulator.accessKey,
        secretKey: emulator.secretKey,
        securityToken: SECURITY_TOKEN,
      },
    ],
    [
      "a security token from the environment",
      {
        ...location(),
        HW_ACCESS_KEY: emulator.accessKey,
        HW_SECRET_KEY: emulator.secretKey,
        HW_SECURITY_TOKEN: SECURITY_TOKEN,
      },
      undefined,
    ],
    ["an IAM token as an option", location(), { kind: "token", authToken: AUTH_TOKEN }],
    [
      "a wrong secret key",
      { ...location(), HW_ACCESS_KEY: emulator.accessKey, HW_SECRET_KEY: WRONG_SECRET },
      undefined,
    ],
  ];

  /** The secret a variant's process holds: what a server that echoes it back would send. */
  const heldBy = (env: Record<string, string>, credentials: unknown): string =>
    credentials && (credentials as { kind: string }).kind === "token"
      ? AUTH_TOKEN
      : (env.HW_SECURITY_TOKEN ?? env.HW_SECRET_KEY ?? emulator.secretKey);

  test.each(FAULTS)("%s", async (_name, faults) => {
    for (const [label, env, credentials] of variants()) {
      await emulator.control.setFaults(
        faults.map((rule) =>
          rule.fault.kind === "status" && rule.fault.errorMsg === "__ECHO__"
            ? {
                ...rule,
                fault: { ...rule.fault, errorMsg: `failed near ${heldBy(env, credentials)}` },
              }
            : rule,
        ),
      );
      const before = witness.requests;
      const run = await runProcess(process.execPath, [script], {
        env: {
          ...env,
          ...DEBUG_ENV,
          SCENARIO: JSON.stringify({ instanceId: emulator.instanceId, credentials }),
        },
        timeoutMs: 120_000,
      });
      const text = run.stdout + run.stderr;
      // The run did reach the emulator, and said something about each step.
      expect(witness.requests).toBeGreaterThan(before);
      for (const step of ["nodes", "scan", "purge"]) expect(run.stdout).toContain(`${step} `);
      // NODE_DEBUG was on: Node's own HTTP debug lines are in the output too.
      expect(run.stderr).toMatch(/^(NET|HTTP|UNDICI) \d+:/m);
      witness.expectNoneIn(`${label}, ${_name}: the process output`, text);
    }
  });

  test("the search would find a leak: a signature the emulator saw, and each secret", () => {
    expect(witness.signatures.size).toBeGreaterThan(20);
    expect(witness.securityTokens.has(SECURITY_TOKEN)).toBe(true);
    const signature = [...witness.signatures][0]!;
    expect(witness.leaksIn(`Authorization: ...Signature=${signature.toUpperCase()}`)).toEqual([
      "1 request signature(s)",
    ]);
    expect(witness.leaksIn(`x${SECURITY_TOKEN}y`)).toContain("the security token");
    expect(witness.leaksIn(Buffer.from(`${emulator.secretKey}`))).toContain("the secret key");
  });
});
