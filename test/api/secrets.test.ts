/**
 * No secret ever leaves through an error or a log line: the secret key, the security token, the IAM token and
 * every signature computed, across a battery of failing and succeeding calls, including a server that echoes
 * the credential headers back in its error bodies and headers.
 */
import { inspect } from "node:util";
import type { ServerResponse } from "node:http";
import { MockAgent } from "undici";
import type { Logger, SessionsClient } from "../../src/api/types";
import {
  ACCESS_KEY,
  AUTH_TOKEN,
  SECRET_KEY,
  SECURITY_TOKEN,
  clientFor,
  freePort,
  json,
  startServer,
  type Recorded,
  type TestServer,
} from "./helpers";

const INSTANCE = "inst-1";
const MOCK_ORIGIN = "https://dcs.mock.example";
const NODE = "node-1";

/** Repeats every credential header it received, in the body and in the request id header. */
function echo(status: number) {
  return (rec: Recorded, res: ServerResponse) => {
    const seen = [rec.headers.authorization, rec.headers["x-security-token"], rec.headers["x-auth-token"]]
      .filter(Boolean)
      .join(" | ");
    json(
      res,
      status,
      {
        error_code: `ECHO.${status}`,
        error_msg: `rejected headers: ${seen}`,
        error_ext_msg: `Authorization: ${rec.headers.authorization}`,
      },
      { "x-request-id": `req ${seen}`.slice(0, 200) },
    );
  };
}

describe("secrets never appear in errors or log lines", () => {
  const texts: string[] = [];
  const logger: Logger = (level, message, fields) =>
    texts.push(`${level} ${message} ${JSON.stringify(fields)}`, inspect(fields));
  let server: TestServer;
  const clients: SessionsClient[] = [];

  function collect(error: unknown): void {
    texts.push(String(error), inspect(error, { depth: 5 }), JSON.stringify(error));
    if (error instanceof Error) texts.push(error.message, error.stack ?? "");
  }
  async function attempt(call: () => Promise<unknown> | unknown): Promise<void> {
    try {
      const result = call();
      if (result && typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") {
        for await (const _ of result as AsyncIterable<unknown>) void _;
      } else {
        await result;
      }
    } catch (error) {
      collect(error);
    }
  }

  beforeAll(async () => {
    server = await startServer(echo(500));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  });

  test("a battery of calls with AK/SK, temporary AK/SK and an IAM token", async () => {
    const refused = `http://127.0.0.1:${await freePort()}`;
    const variants = [
      { credentials: { kind: "aksk" as const, accessKey: ACCESS_KEY, secretKey: SECRET_KEY } },
      {
        credentials: {
          kind: "aksk" as const,
          accessKey: ACCESS_KEY,
          secretKey: SECRET_KEY,
          securityToken: SECURITY_TOKEN,
        },
      },
      { credentials: { kind: "token" as const, authToken: AUTH_TOKEN } },
    ];
    for (const variant of variants) {
      const client = clientFor(server.url, {
        ...variant,
        logger,
        retry: { maxAttempts: 2 },
        timeouts: { headersMs: 60 },
      });
      const down = clientFor(refused, { ...variant, logger, retry: { maxAttempts: 2 } });
      clients.push(client, down);
      texts.push(inspect(client, { depth: 10 }), JSON.stringify(client.config), inspect(client.config));
      for (const status of [401, 403, 404, 429, 500, 503]) {
        server.setHandler(echo(status));
        await attempt(() => client.dcs.listNodes(INSTANCE));
        await attempt(() => client.dcs.killAllClients(INSTANCE, { allNodes: true }));
        await attempt(() => client.geminidb.closeSessions(INSTANCE));
        await attempt(() => client.dcs.listAllClients(INSTANCE, { nodeId: NODE }));
      }
      // A reset after the request was sent, and a hang past the call deadline (the headers timeout has its
      // own test in retry.test.ts: undici checks it only about once a second).
      server.setHandler((_rec, _res, raw) => void raw.socket.destroy());
      await attempt(() => client.dcs.killAllClients(INSTANCE, { nodeId: NODE }));
      server.setHandler(() => undefined);
      await attempt(() => client.dcs.showJob("j1", { deadlineMs: 30 }));
      // A body that is not JSON and contains the Authorization header.
      server.setHandler((rec, res) =>
        json(res, 200, `oops ${rec.headers.authorization} ${rec.headers["x-auth-token"]}`),
      );
      await attempt(() => client.dcs.showJob("j1"));
      // Successes.
      server.setHandler((_rec, res) =>
        json(res, 200, { job_id: "j1", status: "SUCCESS" }, { "x-request-id": "ok-1" }),
      );
      await attempt(() => client.dcs.waitForJob("j1"));
      // Validation errors and a refused connection.
      await attempt(() => client.dcs.listClients(INSTANCE, { nodeId: NODE, limit: 5000 }));
      await attempt(() => client.dcs.killClients(INSTANCE, { nodeId: NODE, clientAddrs: [SECRET_KEY] }));
      await attempt(() => down.dcs.killAllClients(INSTANCE, { allNodes: true }));
      await attempt(() => down.dcs.listNodes(INSTANCE));
      // A dispatcher whose own error quotes the request's headers (MockAgent does when no interceptor
      // matches them): the error's `cause` must not carry them either.
      const agent = new MockAgent();
      agent.disableNetConnect();
      agent
        .get(MOCK_ORIGIN)
        .intercept({ path: /./, method: "GET", headers: { "x-never-sent": "1" } })
        .reply(200, {})
        .persist();
      const mocked = clientFor(MOCK_ORIGIN, {
        ...variant,
        logger,
        dispatcher: agent,
        retry: { maxAttempts: 1 },
      });
      await attempt(() => mocked.dcs.listNodes(INSTANCE));
      await mocked.close();
      await agent.close();
    }

    // Every signature the server received, plus the full Authorization values.
    const signatures = server.requests
      .map((r) => String(r.headers.authorization ?? ""))
      .filter(Boolean)
      .flatMap((a) => [a, /Signature=([0-9a-f]+)/.exec(a)![1]!]);
    expect(signatures.length).toBeGreaterThan(20);
    // The echo really reached the client: otherwise this test would prove nothing.
    expect(server.requests.some((r) => r.headers["x-auth-token"] === AUTH_TOKEN)).toBe(true);
    expect(texts.some((t) => t.includes("rejected headers"))).toBe(true);
    expect(texts.some((t) => t.includes("ECONNREFUSED"))).toBe(true);
    expect(texts.some((t) => t.includes("TimeoutError"))).toBe(true);
    expect(texts.some((t) => t.includes("limit"))).toBe(true);
    expect(texts.some((t) => t.includes("Mock dispatch not matched for headers"))).toBe(true);

    const all = texts.join("\n");
    for (const secret of [SECRET_KEY, SECURITY_TOKEN, AUTH_TOKEN, ...signatures]) {
      expect(all.includes(secret)).toBe(false);
    }
  });
});
