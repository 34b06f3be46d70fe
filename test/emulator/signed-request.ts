/**
 * Test-only HTTP calls to the emulator, signed by Huawei's own SDK signer (@huaweicloud/huaweicloud-sdk-core),
 * never by src/api: the emulator and the client must not be able to share a signing mistake.
 */
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { AKSKSigner } from "@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner";
import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials";
import type { EmulatorHandle } from "../../src/emulator/types";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON (undefined when empty or not JSON). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** `YYYYMMDDTHHMMSSZ` of an epoch ms. */
export function sdkDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/** Raw HTTP over loopback, no connection reuse (so nothing outlives a test). */
export function rawRequest(
  url: string,
  options: { method: string; headers?: Record<string, string>; body?: string },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers };
    // Node sends a DELETE body without a length unless told: set it as real clients do.
    if (options.body !== undefined) headers["content-length"] = String(Buffer.byteLength(options.body));
    const req = httpRequest(url, { method: options.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

export interface SignedOptions {
  query?: Record<string, string | number>;
  body?: unknown;
  /** Defaults to the emulator's keys. */
  accessKey?: string;
  secretKey?: string;
  /** Epoch ms of `X-Sdk-Date` (default now). */
  dateMs?: number;
  /** Replaces the body after signing (to send what was not signed). */
  sendBody?: string;
  /** A raw body (not JSON.stringify of `body`), signed through `X-Sdk-Content-Sha256`. */
  rawBody?: string;
  /** Extra headers sent without being signed. */
  unsignedHeaders?: Record<string, string>;
}

/** Signs with the SDK's AKSKSigner and sends the request; `path` is relative to the endpoint. */
export function signed(
  handle: EmulatorHandle,
  method: string,
  path: string,
  options: SignedOptions = {},
): Promise<Reply> {
  const endpoint = `${handle.endpoint}${path}`;
  const query = Object.fromEntries(Object.entries(options.query ?? {}).map(([k, v]) => [k, String(v)]));
  const headers: Record<string, string> = {
    "X-Sdk-Date": sdkDate(options.dateMs ?? Date.now()),
    "X-Project-Id": handle.projectId,
    "content-type": "application/json",
  };
  const credential = new BasicCredentials()
    .withAk(options.accessKey ?? handle.accessKey)
    .withSk(options.secretKey ?? handle.secretKey)
    .withProjectId(handle.projectId);
  if (options.rawBody !== undefined) {
    headers["X-Sdk-Content-Sha256"] = createHash("sha256").update(options.rawBody).digest("hex");
  }
  const signedHeaders = AKSKSigner.sign(
    { endpoint, method, headers, queryParams: query, data: options.body },
    credential,
  ) as Record<string, string>;
  const qs = new URLSearchParams(query).toString().replace(/\+/g, "%20");
  const body =
    options.sendBody ??
    options.rawBody ??
    (options.body === undefined ? undefined : JSON.stringify(options.body));
  return rawRequest(qs ? `${endpoint}?${qs}` : endpoint, {
    method,
    headers: { ...signedHeaders, ...options.unsignedHeaders },
    body,
  });
}

/** The DCS v2 / GeminiDB v3 paths of the emulator's project. */
export function paths(handle: EmulatorHandle, instanceId = handle.instanceId) {
  const p = handle.projectId;
  return {
    nodes: `/v2/${p}/instances/${instanceId}/logical-nodes`,
    clients: `/v2/${p}/instances/${instanceId}/clients`,
    killAll: `/v2/${p}/instances/${instanceId}/clients/kill-all`,
    kill: `/v2/${p}/instances/${instanceId}/clients/kill`,
    job: (id: string) => `/v2/${p}/jobs/${id}`,
    sessions: `/v3/${p}/instances/${instanceId}/sessions`,
    nodeSessions: (nodeId: string) => `/v3/${p}/redis/nodes/${nodeId}/sessions`,
  };
}

/** Polls a job until it leaves INIT/RUNNING (bounded). */
export async function waitForJob(handle: EmulatorHandle, jobId: string, maxPolls = 200): Promise<Reply> {
  for (let i = 0; i < maxPolls; i++) {
    const reply = await signed(handle, "GET", paths(handle).job(jobId));
    if (reply.status !== 200 || (reply.json.status !== "INIT" && reply.json.status !== "RUNNING"))
      return reply;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${jobId} did not end after ${maxPolls} polls`);
}

/** Scans a node and waits for the job to end. */
export async function scanNode(
  handle: EmulatorHandle,
  nodeId: string,
  cleanCache = true,
  instanceId?: string,
): Promise<Reply> {
  const started = await signed(handle, "POST", paths(handle, instanceId).clients, {
    body: { node_id: nodeId, clean_cache: cleanCache },
  });
  if (started.status !== 200) throw new Error(`scan refused: ${started.status} ${started.text}`);
  return waitForJob(handle, started.json.job_id);
}
