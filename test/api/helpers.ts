/** A loopback HTTP server for the client's tests: records every request and answers with a handler. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "../../src/api/client";
import type { ClientOptions, SessionsClient } from "../../src/api/types";

export interface Recorded {
  method: string;
  /** Path without the query. */
  path: string;
  /** The raw query string, without `?`. */
  rawQuery: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: string;
  /** The client's port: the same port for two requests means one kept-alive connection. */
  remotePort?: number;
}

export type Handler = (req: Recorded, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>;

export interface TestServer {
  url: string;
  port: number;
  requests: Recorded[];
  /** Requests being answered right now. */
  inFlight: () => number;
  maxInFlight: () => number;
  setHandler(handler: Handler): void;
  /** Forgets recorded requests and the in-flight maximum. */
  reset(): void;
  close(): Promise<void>;
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(text);
}

/** Starts a server on 127.0.0.1, on `port` when given (else any free port). */
export async function startServer(handler: Handler, port = 0): Promise<TestServer> {
  const requests: Recorded[] = [];
  let current = handler;
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on("data", (c: Buffer) => chunks.push(c));
    raw.on("end", () => {
      const url = new URL(raw.url ?? "/", "http://127.0.0.1");
      const rec: Recorded = {
        method: raw.method ?? "",
        path: url.pathname,
        rawQuery: url.search.replace(/^\?/, ""),
        query: url.searchParams,
        headers: raw.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        remotePort: raw.socket.remotePort,
      };
      requests.push(rec);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on("close", () => inFlight--);
      Promise.resolve(current(rec, res, raw)).catch((error: unknown) => {
        if (!res.headersSent) json(res, 599, { error_msg: String(error) });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    requests,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    setHandler: (h) => {
      current = h;
    },
    reset: () => {
      requests.length = 0;
      maxInFlight = inFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const PROJECT_ID = "proj-0123456789";
export const ACCESS_KEY = "AKTESTACCESSKEY0001";
export const SECRET_KEY = "sk-Very-Secret-Key-7f3a9c1e5b";
export const SECURITY_TOKEN = "sts-Temporary-Token-91b2c3d4e5f6";
export const AUTH_TOKEN = "iam-Token-MIIZ-aa11bb22cc33dd44";

/** A client for a loopback endpoint, AK/SK by default, hermetic (no process environment), quick retries. */
export function clientFor(url: string, options: Partial<ClientOptions> = {}): SessionsClient {
  return createClient({
    endpoint: url,
    projectId: PROJECT_ID,
    credentials: { kind: "aksk", accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
    env: {},
    ...options,
    retry: { baseDelayMs: 5, maxDelayMs: 20, ...options.retry },
  });
}

/** `YYYYMMDDTHHMMSSZ` back to a Date. */
export function parseSdkDate(text: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) throw new Error(`not an X-Sdk-Date: ${text}`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/** The emulator's seeded generator (mulberry32), so that a generated test repeats exactly. */
export { seededRandom } from "../../src/emulator/faults";
