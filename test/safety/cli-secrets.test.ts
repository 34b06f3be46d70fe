/**
 * Secrets through the built CLI end to end (issue 11): successes and failures, with `DEBUG=*` and
 * `NODE_DEBUG=http,undici,net` on, searched byte for byte for the secret key, the security token, the IAM
 * token and every request signature the emulator received. (The programmatic API:
 * test/safety/api-secrets.test.ts; the client's errors and logs: test/api/secrets.test.ts; the provider
 * host: test/pulumi/secrets.test.ts; Terraform: test/terraform/secrets.test.ts.)
 */
import type { EmulatorHandle, FaultRule } from "../../src/emulator";
import { assertBuilt, runCliProcess } from "../cli/support";
import { SecretWitness, startWitnessedEmulator } from "./secret-witness";

const AUTH_TOKEN = "iam-Token-Safety-MIIZ-77aa88bb99cc";
const SECURITY_TOKEN = "STS-Security-Token-CliSafety-3344556677";
const WRONG_SECRET = "wrong-Secret-Key-0123456789";
const DEBUG_ENV = { DEBUG: "*", NODE_DEBUG: "http,undici,net" };

let emulator: EmulatorHandle;
const witness = new SecretWitness();

beforeAll(async () => {
  assertBuilt();
  emulator = await startWitnessedEmulator(witness, {
    synthetic: { nodes: 2, sessionsPerNode: 5 },
    authToken: AUTH_TOKEN,
    securityToken: SECURITY_TOKEN,
    wrongSecret: WRONG_SECRET,
  });
});
afterAll(() => emulator?.close());

const FAULTS: Array<[string, FaultRule[]]> = [
  ["no fault", []],
  ["500 on the node list", [{ route: "listNodes", fault: { kind: "status", status: 500 } }]],
  ["a reset on the kill", [{ route: "killAllClients", fault: { kind: "reset", when: "after-body" } }]],
  ["a failed kill job", [{ route: "killAllClients", fault: { kind: "job-fails" } }]],
  ["503 after the kill", [{ route: "killAllClients", fault: { kind: "status", status: 503, after: true } }]],
];

const COMMANDS = (instance: string): string[][] => [
  ["nodes", instance],
  ["scan", instance, "--wait-timeout", "2"],
  ["purge", instance, "--all-nodes", "--yes", "--wait-timeout", "2"],
];

describe("no secret in the CLI's output, even with DEBUG and NODE_DEBUG", () => {
  test.each(FAULTS)(
    "%s",
    async (_name, faults) => {
      const variants: Array<Record<string, string>> = [
        { ...emulator.env },
        { ...emulator.env, HW_SECURITY_TOKEN: SECURITY_TOKEN },
        { ...emulator.env, HW_SECRET_KEY: "", HW_ACCESS_KEY: "", HW_AUTH_TOKEN: AUTH_TOKEN },
        { ...emulator.env, HW_SECRET_KEY: WRONG_SECRET },
      ];
      for (const env of variants) {
        for (const args of COMMANDS(emulator.instanceId)) {
          await emulator.control.setFaults(faults);
          const before = witness.requests;
          const run = await runCliProcess(args, { env: { ...env, ...DEBUG_ENV } });
          const text = run.stdout + run.stderr;
          expect(text.length).toBeGreaterThan(0);
          expect(witness.requests).toBeGreaterThan(before);
          witness.expectNoneIn(`dcs-sessions ${args[0]} (${_name}) output`, text);
          expect(text).not.toMatch(/Signature=[0-9a-f]{16,}/i);
          expect(text).not.toMatch(/SDK-HMAC-SHA256 Access=/);
          expect(text).not.toMatch(/x-auth-token:\s*\S/i);
        }
      }
    },
    120_000,
  );

  test("the CLI runs were signed, and the search would find a signature the emulator saw", () => {
    expect(witness.signatures.size).toBeGreaterThan(50);
    expect(witness.securityTokens.has(SECURITY_TOKEN)).toBe(true);
    const signature = [...witness.signatures][0]!;
    expect(witness.leaksIn(`Signature=${signature}`)).toEqual(["1 request signature(s)"]);
  });
});
