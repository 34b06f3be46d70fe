/**
 * The emulator's HTTP server: one node:http server on loopback that serves DCS v2, GeminiDB v3 and the
 * control API. Per request: route, count, fault, signature, then the operation (routes.ts).
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import {
  DEFAULT_MAX_CLOCK_SKEW_MS,
  generateKeys,
  parseAuthorization,
  verifyRequest,
  type AuthConfig,
} from "./auth";
import { createRedisBackend } from "./backends/redis";
import { CONTROL_PREFIX, controlOf, handleControl } from "./control";
import { FaultBook, JOB_ROUTES, isJobFault } from "./faults";
import { JobBook, type JobFault } from "./jobs";
import {
  ERROR_CODES,
  HttpError,
  engineOf,
  errorBodyOf,
  handleRoute,
  matchRoute,
  type EmulatorState,
  type Engine,
  type InstanceState,
} from "./routes";
import { createSyntheticNodes, hash32 } from "./synthetic";
import type {
  EmulatorHandle,
  EmulatorOptions,
  FaultRule,
  InstanceSpec,
  NodeSpec,
  SeenCredentials,
  SyntheticOptions,
} from "./types";

export const DEFAULT_JOB_MS = 200;
export const DEFAULT_SYNTHETIC = { nodes: 3, sessionsPerNode: 50 } as const;
const MAX_BODY_BYTES = 1024 * 1024;

type FaultStatus = Extract<FaultRule["fault"], { kind: "status" }>["status"];

/**
 * What an injected status answers unless the rule sets its own code and message. 400 and 500 come from the
 * service itself, so a GeminiDB route answers its own code for them (GEMINIDB_STATUS_FAULTS).
 */
const STATUS_FAULTS: Record<FaultStatus, { code: string; msg: string }> = {
  400: { code: "DCS.4000", msg: "Invalid request (injected fault)" },
  401: { code: "APIGW.0301", msg: "Incorrect IAM authentication information (injected fault)" },
  403: { code: "APIGW.0302", msg: "The IAM user is not authorized to access this API (injected fault)" },
  429: { code: "APIGW.0308", msg: "The throttling threshold has been reached (injected fault)" },
  500: { code: "DCS.5000", msg: "Internal service error (injected fault)" },
  502: { code: "APIGW.0202", msg: "Backend unavailable (injected fault)" },
  503: { code: "APIGW.0202", msg: "Service unavailable (injected fault)" },
  504: { code: "APIGW.0203", msg: "Backend timeout (injected fault)" },
};

const GEMINIDB_STATUS_FAULTS: Partial<Record<FaultStatus, { code: string; msg: string }>> = {
  400: { code: ERROR_CODES.geminidb.invalid, msg: "Parameter error (injected fault)" },
  500: { code: ERROR_CODES.geminidb.internal, msg: "Internal service error (injected fault)" },
};

/** A stable id shaped like the service's (hex, uuid-like), from the seed and a purpose. */
function idOf(seed: number, purpose: number, index: number, uuid: boolean): string {
  const hex = [1, 2, 3, 4].map((k) => hash32(seed, purpose, index, k).toString(16).padStart(8, "0")).join("");
  return uuid
    ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    : hex;
}

const ID_INSTANCE = 1;
const ID_NODE = 2;
const ID_PROJECT = 3;

/** One instance from `redis` URLs or synthetic options, with proxies or data nodes as the topology says. */
async function buildInstance(
  options: EmulatorOptions,
  seed: number,
  now: () => number,
): Promise<InstanceSpec> {
  const engine = options.engine ?? "dcs";
  let holders: Array<Pick<NodeSpec, "backend" | "ip" | "port">>;
  let topology: "proxy" | "data";
  if (options.redis && options.redis.length > 0) {
    topology = options.redisTopology ?? "data";
    holders = [];
    try {
      for (const url of options.redis) {
        const parsed = new URL(url);
        holders.push({
          backend: await createRedisBackend(url),
          ip: parsed.hostname,
          port: Number(parsed.port || 6379),
        });
      }
    } catch (error) {
      for (const h of holders) await h.backend?.close();
      throw error;
    }
  } else {
    const synthetic: SyntheticOptions = options.synthetic ?? DEFAULT_SYNTHETIC;
    topology = options.synthetic?.topology ?? "proxy";
    holders = createSyntheticNodes({ ...synthetic, seed: synthetic.seed ?? seed }, now).map((backend) => ({
      backend,
    }));
  }
  let next = 0;
  const nodeId = () => idOf(seed, ID_NODE, next++, true);
  const nodes: NodeSpec[] = [];
  if (topology === "proxy") {
    holders.forEach((h, i) =>
      nodes.push({
        ...h,
        nodeId: nodeId(),
        role: "redis-proxy",
        type: "proxy",
        name: `proxy-${i + 1}`,
        groupName: "proxy",
      }),
    );
    for (const type of ["master", "slave"] as const) {
      nodes.push({
        nodeId: nodeId(),
        role: "redis-server",
        type,
        name: `redis-${type}`,
        groupName: "group-0",
      });
    }
  } else {
    holders.forEach((h, i) =>
      nodes.push({
        ...h,
        nodeId: nodeId(),
        role: "redis-server",
        type: "master",
        name: `redis-${i}-master`,
        groupName: `group-${i}`,
      }),
    );
  }
  return {
    instanceId: idOf(seed, ID_INSTANCE, 0, false) + (engine === "geminidb" ? "in12" : ""),
    engine,
    nodes,
    ...(options.clientIpPassThrough === false ? { clientIpPassThrough: false } : {}),
  };
}

function errorBody(code: string, msg: string, engine: Engine = "dcs"): string {
  return JSON.stringify(errorBodyOf(engine, code, msg));
}

/** An unexpected failure of the emulator itself (a backend gone, say), as its API's 500. */
function internalError(error: unknown, engine: Engine): HttpError {
  const msg = error instanceof Error ? error.message : String(error);
  return new HttpError(500, ERROR_CODES[engine].internal, `emulator failure: ${msg}`);
}

/** Applies an output fault to a JSON body: a stray token, or the first half only. */
function corrupt(body: string, kind: "malformed-json" | "truncated-json"): string {
  if (kind === "truncated-json") return body.slice(0, Math.max(1, Math.floor(body.length / 2)));
  return `{~${body.slice(1)}`;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, "APIGW.0201", "Request entity too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function credentialsOf(req: IncomingMessage): SeenCredentials {
  const one = (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const seen: SeenCredentials = {};
  const signature = parseAuthorization(one("authorization") ?? "")?.signature;
  if (signature) seen.signature = signature;
  const securityToken = one("x-security-token");
  if (securityToken) seen.securityToken = securityToken;
  const authToken = one("x-auth-token");
  if (authToken) seen.authToken = authToken;
  return seen;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const generated = generateKeys();
  const accessKey = options.accessKey ?? generated.accessKey;
  const secretKey = options.secretKey ?? generated.secretKey;
  const auth: AuthConfig = {
    accessKey,
    secretKey,
    authToken: options.authToken,
    maxClockSkewMs: options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS,
    now,
  };
  const specs = options.instances ?? [await buildInstance(options, seed, now)];
  if (specs.length === 0) throw new Error("startEmulator: instances must hold at least one instance");
  const instances = new Map<string, InstanceState>();
  for (const spec of specs) {
    const instance: InstanceState = { spec, nodes: [] };
    instance.nodes = spec.nodes.map((node) => ({ spec: node, instance }));
    instances.set(spec.instanceId, instance);
  }
  const jobs = new JobBook(options.jobMs ?? DEFAULT_JOB_MS, now);
  const state: EmulatorState = {
    projectId: options.projectId ?? idOf(seed, ID_PROJECT, 0, false),
    instances,
    jobs,
    now,
    pageCache: options.pageCache === true,
  };
  const faults = new FaultBook(options.faults ?? [], seed);
  const timers = new Set<NodeJS.Timeout>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const send = (res: ServerResponse, status: number, body?: string, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    // The Date header reads the emulator's clock, as a client that compares with the server's time expects.
    const common = {
      "x-request-id": randomBytes(16).toString("hex"),
      date: new Date(now()).toUTCString(),
      ...headers,
    };
    if (body === undefined) {
      res.writeHead(status, common).end();
    } else {
      res
        .writeHead(status, {
          ...common,
          "content-type": "application/json;charset=UTF-8",
          "content-length": String(Buffer.byteLength(body)),
        })
        .end(body);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const method = (req.method ?? "GET").toUpperCase();
    if (pathname === CONTROL_PREFIX || pathname.startsWith(`${CONTROL_PREFIX}/`)) {
      const result = handleControl(faults, method, pathname, await readBody(req));
      return send(res, result.status, result.body === undefined ? undefined : JSON.stringify(result.body));
    }
    const match = matchRoute(method, pathname);
    if (!match) {
      req.resume();
      const msg = `The API does not exist or has not been published: ${method} ${pathname}`;
      return send(res, 404, errorBody(ERROR_CODES.noSuchApi, msg));
    }
    const engine = engineOf(match.operation);
    try {
      await serveOperation(req, res, match, rawUrl, q, method, engine);
    } catch (error) {
      // Answered in the shape of the operation's API (GeminiDB `{errCode, externalMessage}`).
      const failure = error instanceof HttpError ? error : internalError(error, engine);
      send(res, failure.status, errorBody(failure.errorCode, failure.errorMsg, engine));
    }
  };

  /** One API operation, after routing: faults, signature, the operation, its answer. */
  const serveOperation = async (
    req: IncomingMessage,
    res: ServerResponse,
    match: NonNullable<ReturnType<typeof matchRoute>>,
    rawUrl: string,
    q: number,
    method: string,
    engine: Engine,
  ): Promise<void> => {
    const fault = faults.callOf(match.operation);
    if (fault?.kind === "reset" && fault.when === "before-body") {
      req.socket.destroy();
      return;
    }
    const body = await readBody(req);
    if (fault?.kind === "reset" && fault.when === "after-body") {
      req.socket.destroy();
      return;
    }
    options.onCredentials?.(credentialsOf(req));
    const refused = verifyRequest(auth, { method, url: rawUrl, headers: req.headers, body });
    if (refused !== undefined) {
      faults.count("unauthorized");
      return send(res, 401, errorBody("APIGW.0301", `Incorrect IAM authentication information: ${refused}`));
    }
    const sendStatus = (f: Extract<FaultRule["fault"], { kind: "status" }>) => {
      if (f.status === 429) faults.count("throttled");
      if (f.status === 401) faults.count("unauthorized");
      const defaults =
        (engine === "geminidb" ? GEMINIDB_STATUS_FAULTS[f.status] : undefined) ?? STATUS_FAULTS[f.status];
      const headers: Record<string, string> =
        f.status === 429 ? { "retry-after": String(f.retryAfterSeconds ?? 1) } : {};
      const body = errorBody(f.errorCode ?? defaults.code, f.errorMsg ?? defaults.msg, engine);
      send(res, f.status, body, headers);
    };
    if (fault?.kind === "latency" && !fault.after) await sleep(fault.ms);
    if (fault?.kind === "status" && !fault.after) return sendStatus(fault);
    if (fault?.kind === "dcs-4957") {
      return send(
        res,
        400,
        errorBody("DCS.4957", "This operation is not allowed when the task is in the current state."),
      );
    }
    const jobFault: JobFault | undefined =
      fault !== undefined && isJobFault(fault) && JOB_ROUTES.has(match.operation) ? fault : undefined;
    const result = await handleRoute(state, {
      match,
      query: new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1)),
      body,
      jobFault,
    });
    // Faults that hit after the operation took effect: the caller cannot tell from the answer that it did.
    if (fault?.kind === "reset" && fault.when === "after-operation") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "status" && fault.after) return sendStatus(fault);
    if (fault?.kind === "latency" && fault.after) await sleep(fault.ms);
    if (result.body === undefined && result.text === undefined) return send(res, result.status);
    const text = result.text ?? JSON.stringify(result.body);
    const corrupted =
      fault?.kind === "malformed-json" || fault?.kind === "truncated-json" ? corrupt(text, fault.kind) : text;
    return send(res, result.status, corrupted);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        send(res, error.status, errorBody(error.errorCode, error.errorMsg));
      } else {
        const msg = error instanceof Error ? error.message : String(error);
        send(res, 500, errorBody(ERROR_CODES.dcs.internal, `emulator failure: ${msg}`));
      }
    });
  });
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const host = options.host ?? "127.0.0.1";
  const closeBackends = async () => {
    for (const spec of specs) {
      for (const node of spec.nodes) await node.backend?.close();
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    jobs.close();
    await closeBackends();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const region = options.region ?? "cn-north-4";
  const first = specs[0] as InstanceSpec;
  const nodeIdsOf = (spec: InstanceSpec) => [
    ...spec.nodes.filter((n) => n.backend).map((n) => n.nodeId),
    ...spec.nodes.filter((n) => !n.backend).map((n) => n.nodeId),
  ];

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      jobs.close();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await stopped;
      await closeBackends();
    })();
    return closing;
  };

  return {
    endpoint,
    geminidbEndpoint: endpoint,
    projectId: state.projectId,
    region,
    instanceId: first.instanceId,
    nodeIds: nodeIdsOf(first),
    instances: specs.map((spec) => ({
      instanceId: spec.instanceId,
      engine: spec.engine,
      nodeIds: nodeIdsOf(spec),
    })),
    accessKey,
    secretKey,
    authToken: options.authToken,
    controlUrl: `${endpoint}${CONTROL_PREFIX}`,
    control: controlOf(faults),
    env: {
      HW_ACCESS_KEY: accessKey,
      HW_SECRET_KEY: secretKey,
      HW_REGION_NAME: region,
      HW_PROJECT_ID: state.projectId,
      HW_DCS_ENDPOINT: endpoint,
      HW_GEMINIDB_ENDPOINT: endpoint,
    },
    close,
  };
}
