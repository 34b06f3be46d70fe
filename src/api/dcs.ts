/** The DCS v2 session operations (DESIGN §1), one function each, inputs checked before any request. */
import { z } from "zod";
import { ApiError, JobFailedError, TimeoutError, ValidationError } from "./errors";
import { decodeResponse, logTo, utf8Text, type ApiRequest, type ApiResponse, type Transport } from "./http";
import { nodeWithoutIdLabel } from "./node-label";
import { KnownKeys, ScannedList, StringTable, scanClientBody } from "./page-scan";
import { decideJobPollRetry, sleep } from "./retry";
import {
  JobIdResponseSchema,
  JobResponseSchema,
  KillAllBodySchema,
  KillClientsBodySchema,
  ListClientsQuerySchema,
  ListClientsEnvelopeSchema,
  plainEnvelope,
  ListClientsResponseSchema,
  ListNodesResponseSchema,
  ScanClientsBodySchema,
  parseInput,
  type ClientInfo,
  type JobResponse,
  type LogicalNode,
} from "./schemas";
import type {
  CallOptions,
  ClientPage,
  DcsApi,
  Job,
  KillAllTarget,
  ListAllClientsOptions,
  ListClientsOptions,
  Logger,
  NodeList,
  NodeWithoutId,
  SessionNode,
  WaitForJobOptions,
  WireClientPage,
} from "./types";
import { checkFields, checkId, checkWire } from "./validate";
import { JsonClientPage } from "./wire-page";

/** Wire names → the names callers use, so that a ValidationError names what the caller wrote. */
const FIELD_NAMES = {
  node_id: "nodeId",
  clean_cache: "cleanCache",
  kill_all_nodes: "allNodes",
  client_addrs: "clientAddrs",
};

const LIST_FIELDS = ["nodeId", "offset", "limit", "addr", "sort", "order"] as const;

const ListAllSettingsSchema = z.strictObject({
  pageSize: z.number().int().min(1).max(1000),
  concurrency: z.number().int().min(1).max(16),
});

const WaitSettingsSchema = z.strictObject({
  timeoutMs: z.number().int().min(1),
  initialIntervalMs: z.number().int().min(1),
  maxIntervalMs: z.number().int().min(1),
});

/** Polls at 0, 50, 150, 350, 750 ms…, then every 400 ms: a job's end is noticed within 400 ms. */
export const WAIT_DEFAULTS = { timeoutMs: 300_000, initialIntervalMs: 50, maxIntervalMs: 400 };
export const LIST_ALL_DEFAULTS = { pageSize: 1000, concurrency: 4 };

/** A node's fields other than its id, in camelCase. */
function toNodeWithoutId(node: LogicalNode): NodeWithoutId {
  return {
    logicalNodeId: node.logical_node_id,
    name: node.name,
    status: node.status,
    nodeRole: node.node_role,
    nodeType: node.node_type,
    nodeIp: node.node_ip,
    nodePort: node.node_port,
    groupId: node.group_id,
    groupName: node.group_name,
  };
}

export function toJob(job: JobResponse, requestedId: string): Job {
  return {
    jobId: job.job_id ?? requestedId,
    jobType: job.job_type,
    status: job.status,
    beginTime: job.begin_time,
    endTime: job.end_time,
    failReason: job.fail_reason,
  };
}

type ListQuery = z.output<typeof ListClientsQuerySchema>;
type ListAllSettings = z.output<typeof ListAllSettingsSchema>;
type WaitSettings = z.output<typeof WaitSettingsSchema>;
type JobFallback = NonNullable<WaitForJobOptions["fallback"]>;

// ---------------------------------------------------------------------------------------------------------
// Inputs: each request validated and turned into wire names before any request is sent
// ---------------------------------------------------------------------------------------------------------

/** Validates a list request and returns its query in wire names. */
function listQuery(request: ListClientsOptions): ListQuery {
  const r = checkFields(request, "request", LIST_FIELDS);
  return checkWire(
    ListClientsQuerySchema,
    { node_id: r.nodeId, offset: r.offset, limit: r.limit, addr: r.addr, sort: r.sort, order: r.order },
    FIELD_NAMES,
  );
}

/**
 * A page's query: `base` and `offset`, written out in the order a spread would give. A spread that adds a
 * property its source lacks takes V8's slow path: ~0.5 µs a page against 20 ns.
 */
function atOffset(base: ListQuery, offset: number): ListQuery {
  const query: ListQuery = { node_id: base.node_id };
  if (base.limit !== undefined) query.limit = base.limit;
  if (base.addr !== undefined) query.addr = base.addr;
  if (base.sort !== undefined) query.sort = base.sort;
  if (base.order !== undefined) query.order = base.order;
  query.offset = offset;
  return query;
}

/** Validates a whole-list request: its base query (no offset) and its paging settings. */
function listAllInput(request: ListAllClientsOptions): { base: ListQuery; settings: ListAllSettings } {
  const r = checkFields(request, "request", [
    ...LIST_FIELDS.filter((f) => f !== "offset" && f !== "limit"),
    "pageSize",
    "concurrency",
    "onFirstPage",
  ]);
  const settings = parseInput(ListAllSettingsSchema, {
    pageSize: r.pageSize ?? LIST_ALL_DEFAULTS.pageSize,
    concurrency: r.concurrency ?? LIST_ALL_DEFAULTS.concurrency,
  });
  const base = listQuery({
    nodeId: request.nodeId,
    addr: request.addr,
    sort: request.sort,
    order: request.order,
    limit: settings.pageSize,
  });
  return { base, settings };
}

function scanBody(request: { nodeId: string; cleanCache?: boolean }) {
  const r = checkFields(request, "request", ["nodeId", "cleanCache"]);
  return checkWire(ScanClientsBodySchema, { node_id: r.nodeId, clean_cache: r.cleanCache }, FIELD_NAMES);
}

/** One node or every node, never both: said in the caller's words before the wire schema speaks. */
function killAllBody(target: KillAllTarget) {
  const t = checkFields(target, "target", ["nodeId", "allNodes"]);
  if (t.allNodes !== undefined && t.allNodes !== true) {
    throw new ValidationError("allNodes", "must be true when given", "true, or leave it out and give nodeId");
  }
  if (t.allNodes === true && t.nodeId !== undefined) {
    throw new ValidationError(
      "nodeId",
      "cannot be given with allNodes: true (one node or every node, not both)",
      "either { nodeId } or { allNodes: true }",
    );
  }
  return checkWire(
    KillAllBodySchema,
    { node_id: t.nodeId, kill_all_nodes: t.allNodes === true ? true : undefined },
    FIELD_NAMES,
  );
}

function killClientsBody(request: { nodeId: string; clientAddrs: string[] }) {
  const r = checkFields(request, "request", ["nodeId", "clientAddrs"]);
  return checkWire(KillClientsBodySchema, { node_id: r.nodeId, client_addrs: r.clientAddrs }, FIELD_NAMES);
}

function waitSettings(options: WaitForJobOptions): WaitSettings {
  const settings = parseInput(WaitSettingsSchema, {
    timeoutMs: options.timeoutMs ?? WAIT_DEFAULTS.timeoutMs,
    initialIntervalMs: options.initialIntervalMs ?? WAIT_DEFAULTS.initialIntervalMs,
    maxIntervalMs: options.maxIntervalMs ?? WAIT_DEFAULTS.maxIntervalMs,
  });
  const { fallback } = options;
  if (fallback) {
    checkId(fallback.instanceId, "fallback.instanceId");
    checkId(fallback.nodeId, "fallback.nodeId");
    if (!(fallback.since instanceof Date) || Number.isNaN(fallback.since.getTime())) {
      throw new ValidationError("fallback.since", "must be a valid Date", "a Date");
    }
  }
  return settings;
}

// ---------------------------------------------------------------------------------------------------------
// Paging: every page of a node's list, in order, a few fetched ahead
// ---------------------------------------------------------------------------------------------------------

/** Sends one validated list request; `readBody` reads a success body from its chunks (the fast path). */
function sendList(
  transport: Transport,
  instanceId: string,
  query: ListQuery,
  options?: CallOptions,
  readBody?: ApiRequest["readBody"],
): Promise<ApiResponse> {
  const request: ApiRequest = {
    operation: "listClients",
    params: { instance_id: instanceId },
    query,
    options,
  };
  if (readBody) request.readBody = readBody;
  return transport.send(request);
}

/** A decoded list body as a page: without a `count`, the sessions up to the end of this page. */
function pageOf<C>(
  body: { time?: string; count?: number; clients: C[] },
  query: ListQuery,
): { time: string; count: number; clients: C[] } {
  return {
    time: body.time ?? "",
    clients: body.clients,
    count: body.count ?? (query.offset ?? 0) + body.clients.length,
  };
}

/** Sends one validated list request and decodes the whole page. */
async function fetchPage(
  transport: Transport,
  instanceId: string,
  query: ListQuery,
  options?: CallOptions,
): Promise<ClientPage> {
  const res = await sendList(transport, instanceId, query, options);
  return pageOf(decodeResponse(ListClientsResponseSchema, res), query);
}

/** What `pagesInOrder` asks of a page, however its clients are decoded: its size, and the page cut shorter. */
interface PageShape<P> {
  size(page: P): number;
  cut(page: P, size: number): P;
}

/** A whole-parsed page as `pagesInOrder` sees it. */
const plainPages: PageShape<ClientPage> = {
  size: (page: ClientPage) => page.clients.length,
  cut: (page: ClientPage, size: number) => ({ ...page, clients: page.clients.slice(0, size) }),
};

/** A fast-path page as `pagesInOrder` sees it. */
const wirePages: PageShape<WireClientPage> = {
  size: (page: WireClientPage) => page.size,
  cut: (page: WireClientPage, size: number) => page.cut(size),
};

/**
 * Every page of a node's list, in order, cut so that no more than the first page's `count` sessions come out.
 * Later pages are requested while earlier ones are consumed, but never more than `concurrency` pages are held
 * at once (in flight or waiting to be consumed).
 */
async function* pagesInOrder<P extends { time: string; count: number }>(
  fetchAt: (offset: number, options: CallOptions) => Promise<P>,
  pages: PageShape<P>,
  settings: ListAllSettings,
  onFirstPage: ListAllClientsOptions["onFirstPage"],
  options?: CallOptions,
): AsyncGenerator<P> {
  const { pageSize, concurrency } = settings;
  const stop = new AbortController();
  const signal = options?.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const callOptions = { ...options, signal };
  const pageAt = (index: number): Promise<P> => fetchAt(index * pageSize, callOptions);
  const first = await pageAt(0);
  onFirstPage?.({ time: first.time, count: first.count });
  const pageCount = Math.ceil(first.count / pageSize);
  const queue: Promise<P>[] = [];
  let next = 1;
  try {
    let page = first;
    let yielded = 0;
    for (;;) {
      // The page being consumed counts as held, so up to `concurrency - 1` more are fetched meanwhile.
      while (queue.length < concurrency - 1 && next < pageCount) {
        const pending = pageAt(next++);
        // Awaited in order below; this only keeps a failure of a later page from going unhandled meanwhile.
        pending.catch(() => undefined);
        queue.push(pending);
      }
      const room = first.count - yielded;
      if (room <= 0) return;
      const size = pages.size(page);
      const taken = size > room ? pages.cut(page, room) : page;
      yielded += Math.min(size, room);
      yield taken;
      // The cache can answer an empty page before `count` is reached: there is nothing more to read.
      if (size === 0 || yielded >= first.count) return;
      if (queue.length === 0 && next < pageCount) queue.push(pageAt(next++));
      const head = queue.shift();
      if (!head) return;
      page = await head;
    }
  } finally {
    // Stopped early (break, error, empty page): pages still in flight are not needed.
    if (queue.length > 0) stop.abort();
  }
}

/** Sends one validated list request and checks only the page's envelope: the clients stay as they came. */
async function fetchWirePage(
  transport: Transport,
  instanceId: string,
  query: ListQuery,
  memory: { strings: StringTable; keys: KnownKeys },
  options?: CallOptions,
): Promise<WireClientPage> {
  const res = await sendList(transport, instanceId, query, options, (body) =>
    scanClientBody(body, memory.strings, memory.keys),
  );
  const scanned = res.body instanceof ScannedList ? res.body : undefined;
  const wire = scanned ? scanned.envelope : res.body;
  const body =
    plainEnvelope(wire) ?? decodeResponse(ListClientsEnvelopeSchema, scanned ? { ...res, body: wire } : res);
  const size = scanned ? scanned.sessions.size : body.clients.length;
  const time = body.time ?? "";
  // Without a `count`, the sessions up to the end of this page (as `pageOf` counts them).
  const count = body.count ?? (query.offset ?? 0) + size;
  const reject = (index: number): never => {
    // The full schema names the field; a client it accepts that the reader did not is named as a whole. A page
    // the WebAssembly reader read keeps no body to decode again (and every session of it reads).
    const bytes = scanned?.bytes;
    if (!scanned) decodeResponse(ListClientsResponseSchema, res);
    else if (bytes)
      decodeResponse(ListClientsResponseSchema, { ...res, body: JSON.parse(utf8Text(bytes)) as unknown });
    throw new ApiError({
      operation: res.operation,
      method: res.method,
      path: res.path,
      status: res.status,
      errorMsg: `unexpected response: clients.${index}: not a session`,
      requestId: res.requestId,
    });
  };
  return scanned ? scanned.page(time, count, reject) : new JsonClientPage(time, count, body.clients, reject);
}

// ---------------------------------------------------------------------------------------------------------
// Waiting: poll a job, or the list's data time when the job API does not know the job
// ---------------------------------------------------------------------------------------------------------

/** Polls a check with a doubling delay until it returns a result; a TimeoutError once the time is up. */
function makePoller(settings: WaitSettings, jobId: string, signal: AbortSignal | undefined) {
  const giveUpAt = Date.now() + settings.timeoutMs;
  let delay = settings.initialIntervalMs;
  let last = "not seen yet";
  return {
    /** What the job was last seen as, for the timeout's message. */
    report: (state: string) => {
      last = state;
    },
    async poll<T>(check: () => Promise<T | undefined>): Promise<T> {
      for (;;) {
        const done = await check();
        if (done !== undefined) return done;
        const left = giveUpAt - Date.now();
        if (left <= 0)
          throw new TimeoutError(
            "waitForJob",
            settings.timeoutMs,
            `job ${jobId} did not end; last status seen: ${last}`,
          );
        await sleep(Math.min(delay, left), signal);
        delay = Math.min(delay * 2, settings.maxIntervalMs);
      }
    },
  };
}

type Poller = ReturnType<typeof makePoller>;

/**
 * One look at a job: the job once it succeeded, undefined while it runs, a JobFailedError if it failed. Any
 * status but SUCCESS and FAIL, the undocumented ones included, is still running (DESIGN §1).
 */
function jobOutcome(job: Job, id: string): Job | undefined {
  if (job.status === "FAIL") throw new JobFailedError(id, job.failReason);
  return job.status === "SUCCESS" ? job : undefined;
}

/**
 * One poll of a job, as a function the poller calls again: the job once it succeeded, undefined while it runs.
 * A read that fails in a way retry.ts says is worth another read (a 5xx, a body that is not a job, …) counts
 * as still running, and the timeout's message says how the last read failed.
 */
function lookAtJob(
  readJob: () => Promise<Job>,
  id: string,
  poller: Poller,
  signal: AbortSignal | undefined,
): () => Promise<Job | undefined> {
  let seen = "not seen yet";
  return async () => {
    let job: Job;
    try {
      job = await readJob();
    } catch (error) {
      if (signal?.aborted || !decideJobPollRetry(error).retry) throw error;
      poller.report(`${seen} (the last read failed: ${describeReadFailure(error)})`);
      return undefined;
    }
    seen = job.status;
    poller.report(seen);
    return jobOutcome(job, id);
  };
}

/** What a failed read of a job says, for the timeout's message. */
function describeReadFailure(error: unknown): string {
  if (error instanceof TimeoutError) return "no answer in time";
  if (!(error instanceof ApiError)) return "an error";
  return [error.status ? `HTTP ${error.status}` : "no response", error.errorCode].filter(Boolean).join(" ");
}

/**
 * The nodes of a listing that the clients APIs can name, and those listed without a `node_id` (logged as a
 * warning: their sessions cannot be read, and the caller must not count them silently).
 */
function splitByNodeId(
  nodes: LogicalNode[],
  logger: Logger | undefined,
): Pick<NodeList, "nodes" | "withoutNodeId"> {
  const named: SessionNode[] = [];
  const unnamed: NodeWithoutId[] = [];
  for (const node of nodes) {
    if (node.node_id === undefined) unnamed.push(toNodeWithoutId(node));
    else named.push({ nodeId: node.node_id, ...toNodeWithoutId(node) });
  }
  if (unnamed.length === 0) return { nodes: named };
  const names = unnamed.map(nodeWithoutIdLabel).join(", ");
  const message = `listNodes: ${unnamed.length} node(s) listed without a node_id (${names}): the clients APIs cannot name them`;
  logTo(logger, "warn", message, { operation: "listNodes", withoutNodeId: unnamed.length });
  return { nodes: named, withoutNodeId: unnamed };
}

/** The server's clock from an answer's `Date` header, when it sent a readable one. */
function serverTimeOf(response: ApiResponse): Date | undefined {
  const at = response.serverDate === undefined ? NaN : Date.parse(response.serverDate);
  return Number.isNaN(at) ? undefined : new Date(at);
}

/** The job API does not know this id: the scan is done once the list's data time reaches its start. */
async function waitForListTime(
  listPage: (fallback: JobFallback, options: CallOptions) => Promise<ClientPage>,
  id: string,
  fallback: JobFallback,
  poller: Poller,
  callOptions: CallOptions,
): Promise<Job> {
  const since = fallback.since.getTime();
  poller.report("unknown to the job API, and the session list is older than the scan");
  return poller.poll(async () => {
    let page: ClientPage;
    try {
      page = await listPage(fallback, callOptions);
    } catch (error) {
      // Before the first scan lands the list answers 500: not ready yet.
      if (error instanceof ApiError && error.status === 500) return undefined;
      throw error;
    }
    const time = Date.parse(page.time);
    return Number.isNaN(time) || time < since
      ? undefined
      : { jobId: id, status: "SUCCESS" as const, endTime: page.time };
  });
}

// ---------------------------------------------------------------------------------------------------------
// The operations
// ---------------------------------------------------------------------------------------------------------

/** `logger`: where a warning goes (a node listed without a `node_id`); the client's own logger. */
export function createDcsApi(transport: Transport, logger?: Logger): DcsApi {
  // One memory for every listing of this client: each distinct name, command, client IP… of the pages read
  // on the fast path is made into a string once, whichever node it is met on (bounded: see StringTable), and
  // the keys of the clients are read byte by byte once, not once a page (see KnownKeys).
  const memory = { strings: new StringTable(), keys: new KnownKeys() };

  async function listNodes(instanceId: string, options?: CallOptions): Promise<NodeList> {
    const id = checkId(instanceId, "instanceId");
    const res = await transport.send({ operation: "listNodes", params: { instance_id: id }, options });
    const body = decodeResponse(ListNodesResponseSchema, res);
    return {
      instanceId: body.instance_id ?? id,
      total: body.total ?? body.nodes.length,
      ...splitByNodeId(body.nodes, logger),
    };
  }

  async function scanClients(
    instanceId: string,
    request: { nodeId: string; cleanCache?: boolean },
    options?: CallOptions,
  ) {
    const id = checkId(instanceId, "instanceId");
    const body = scanBody(request);
    const res = await transport.send({
      operation: "scanClients",
      params: { instance_id: id },
      body,
      options,
    });
    const jobId = decodeResponse(JobIdResponseSchema, res).job_id;
    const serverTime = serverTimeOf(res);
    return serverTime ? { jobId, serverTime } : { jobId };
  }

  async function listClients(instanceId: string, request: ListClientsOptions, options?: CallOptions) {
    const id = checkId(instanceId, "instanceId");
    return fetchPage(transport, id, listQuery(request), options);
  }

  function listAllClients(
    instanceId: string,
    request: ListAllClientsOptions,
    options?: CallOptions,
  ): AsyncIterable<ClientInfo> {
    // Checked now, so that bad input fails at the call rather than at the first iteration.
    const id = checkId(instanceId, "instanceId");
    const { base, settings } = listAllInput(request);
    const fetchAt = (offset: number, call: CallOptions) =>
      fetchPage(transport, id, atOffset(base, offset), call);
    const { onFirstPage } = request;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const page of pagesInOrder(fetchAt, plainPages, settings, onFirstPage, options)) {
          yield* page.clients;
        }
      },
    };
  }

  function listClientPages(
    instanceId: string,
    request: ListAllClientsOptions,
    options?: CallOptions,
  ): AsyncIterable<WireClientPage> {
    const id = checkId(instanceId, "instanceId");
    const { base, settings } = listAllInput(request);
    const fetchAt = (offset: number, call: CallOptions) =>
      fetchWirePage(transport, id, atOffset(base, offset), memory, call);
    return {
      [Symbol.asyncIterator]: () => pagesInOrder(fetchAt, wirePages, settings, request.onFirstPage, options),
    };
  }

  async function killAllClients(instanceId: string, target: KillAllTarget, options?: CallOptions) {
    const id = checkId(instanceId, "instanceId");
    const body = killAllBody(target);
    const res = await transport.send({
      operation: "killAllClients",
      params: { instance_id: id },
      body,
      options,
    });
    return { jobId: decodeResponse(JobIdResponseSchema, res).job_id };
  }

  async function killClients(
    instanceId: string,
    request: { nodeId: string; clientAddrs: string[] },
    options?: CallOptions,
  ) {
    const id = checkId(instanceId, "instanceId");
    const body = killClientsBody(request);
    await transport.send({ operation: "killClients", params: { instance_id: id }, body, options });
  }

  async function showJob(jobId: string, options?: CallOptions) {
    const id = checkId(jobId, "jobId");
    const res = await transport.send({ operation: "showJob", params: { job_id: id }, options });
    return toJob(decodeResponse(JobResponseSchema, res), id);
  }

  async function waitForJob(jobId: string, options: WaitForJobOptions = {}): Promise<Job> {
    const id = checkId(jobId, "jobId");
    const settings = waitSettings(options);
    const { signal, deadlineMs, fallback } = options;
    const callOptions: CallOptions = { signal, deadlineMs };
    const poller = makePoller(settings, id, signal);
    try {
      const look = lookAtJob(() => showJob(id, callOptions), id, poller, signal);
      return await poller.poll(look);
    } catch (error) {
      if (!(fallback && error instanceof ApiError && error.status === 404)) throw error;
      const latestPage = (f: JobFallback, call: CallOptions) =>
        listClients(f.instanceId, { nodeId: f.nodeId, limit: 1 }, call);
      return waitForListTime(latestPage, id, fallback, poller, callOptions);
    }
  }

  return {
    listNodes,
    scanClients,
    listClients,
    listAllClients,
    listClientPages,
    killAllClients,
    killClients,
    showJob,
    waitForJob,
  };
}
