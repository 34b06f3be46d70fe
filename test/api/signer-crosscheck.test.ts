/**
 * Our signer against Huawei's own (`AKSKSigner` of @huaweicloud/huaweicloud-sdk-core) on generated requests.
 *
 * The SDK takes the path as unescaped text (it substitutes its path parameters raw) and the query as an
 * object of decoded values; it sends them escaped. Our signer takes the URL as it goes on the wire. So each
 * generated request is one piece of decoded text, handed to the SDK as is and to us escaped in one of several
 * ways a client may escape it: both must produce the same canonical request and the same signature.
 */
import { stringify as querystringStringify } from "node:querystring";
import { AKSKSigner } from "@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner";
import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials";
import { HttpRequestBuilder } from "@huaweicloud/huaweicloud-sdk-core/http/IHttpRequestBuilder";
import { formatSdkDate, percentEncode, signRequestWithDetails } from "../../src/api/signer";
import { seededRandom as prng } from "./helpers";

const REQUESTS = 400;

const random = prng(0x5eed2026);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)];
const chance = (p: number) => random() < p;

const PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
// Path text: what the SDK's url.parse leaves alone (it pre-escapes space, quotes, <>, {}, |, \, ^, `).
const PATH_EXTRA = [
  "-",
  "_",
  ".",
  "~",
  "*",
  "!",
  "$",
  "(",
  ")",
  ",",
  ";",
  "=",
  ":",
  "@",
  "+",
  "%",
  "é",
  "中",
  "😀",
];
const QUERY_EXTRA = [
  " ",
  "*",
  "~",
  "/",
  "%",
  "+",
  "&",
  "=",
  "?",
  "#",
  "'",
  "!",
  ":",
  "[",
  "]",
  "-",
  "_",
  ".",
  "é",
  "ü",
  "中",
  "😀",
  "\u00a0",
];

function text(extra: readonly string[], maxLength: number, extraRate: number): string {
  let out = "";
  const length = 1 + int(maxLength);
  for (let i = 0; i < length; i++) out += chance(extraRate) ? pick(extra) : pick([...PLAIN]);
  return out;
}

type PathEscaping = "percentEncode" | "encodeURIComponent" | "url-parser";
type QueryEscaping = "percentEncode" | "URLSearchParams" | "querystring";

/** Escapes one path segment for the wire; the URL parser variant leaves all but `%` to `new URL`. */
function escapeSegment(segment: string, how: PathEscaping): string {
  if (how === "percentEncode") return percentEncode(segment);
  if (how === "encodeURIComponent") return encodeURIComponent(segment);
  return segment.replace(/%/g, "%25");
}

function escapeQuery(pairs: Array<[string, string]>, how: QueryEscaping): string {
  if (how === "URLSearchParams") return new URLSearchParams(pairs).toString();
  if (how === "querystring") return pairs.map(([k, v]) => querystringStringify({ [k]: v })).join("&");
  return pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join("&");
}

interface Generated {
  method: string;
  origin: string;
  host: string;
  /** Decoded path segments, first one empty (the leading `/`). */
  segments: string[];
  trailingSlash: boolean;
  /** Decoded query pairs in the order sent. */
  pairs: Array<[string, string]>;
  json?: Record<string, unknown>;
  bodyAsBytes: boolean;
  contentType: boolean;
  projectId: string;
  securityToken?: string;
  accessKey: string;
  secretKey: string;
  date: Date;
  pathEscaping: PathEscaping;
  queryEscaping: QueryEscaping;
  headerCase: "lower" | "title";
  explicitHost: boolean;
}

function generate(): Generated {
  const method = pick(["GET", "GET", "POST", "POST", "DELETE"]);
  const [origin, host] = pick([
    ["https://dcs.cn-north-4.myhuaweicloud.com", "dcs.cn-north-4.myhuaweicloud.com"],
    ["https://gaussdb-nosql.eu-west-101.myhuaweicloud.eu", "gaussdb-nosql.eu-west-101.myhuaweicloud.eu"],
    ["http://127.0.0.1:18080", "127.0.0.1:18080"],
  ]);
  const projectId = text([], 32, 0);
  const segments = ["", pick(["v2", "v3"]), projectId];
  const extraSegments = 1 + int(4);
  for (let i = 0; i < extraSegments; i++) {
    segments.push(
      chance(0.5)
        ? pick(["instances", "clients", "kill-all", "jobs", "sessions"])
        : text(PATH_EXTRA, 12, 0.3),
    );
  }
  const pairs: Array<[string, string]> = [];
  const keys = int(6);
  for (let i = 0; i < keys; i++) {
    const key = chance(0.6)
      ? pick(["node_id", "offset", "limit", "addr", "sort", "order"])
      : text(QUERY_EXTRA, 6, 0.3);
    const repeats = chance(0.25) ? 2 + int(2) : 1;
    for (let r = 0; r < repeats; r++) pairs.push([key, chance(0.1) ? "" : text(QUERY_EXTRA, 16, 0.35)]);
  }
  // Shuffle: the order sent must not matter.
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
  }
  const json =
    method === "POST" && chance(0.7)
      ? { node_id: text([], 32, 0), clean_cache: chance(0.5), note: text(QUERY_EXTRA, 20, 0.4) }
      : undefined;
  const accessKey = text([], 20, 0).toUpperCase().padEnd(20, "X");
  return {
    method,
    origin,
    host,
    segments,
    trailingSlash: chance(0.4),
    pairs,
    json,
    bodyAsBytes: chance(0.5),
    contentType: json !== undefined || chance(0.2),
    projectId,
    securityToken: chance(0.3) ? text(["-", "_", "="], 60, 0.1) : undefined,
    accessKey,
    secretKey: text([], 40, 0),
    // Whole seconds between 2020 and 2035: the date format has no fraction.
    date: new Date((1577836800 + int(473040000)) * 1000),
    pathEscaping: pick(["percentEncode", "encodeURIComponent", "url-parser"] as const),
    queryEscaping: pick(["percentEncode", "URLSearchParams", "querystring"] as const),
    headerCase: pick(["lower", "title"] as const),
    explicitHost: chance(0.7),
  };
}

interface SdkResult {
  canonicalRequest: string;
  authorization: string;
}

const buildCanonicalRequest = jest.spyOn(
  AKSKSigner as unknown as { buildCanonicalRequest: (...parts: string[]) => string },
  "buildCanonicalRequest",
);

afterAll(() => buildCanonicalRequest.mockRestore());

function signWithSdk(g: Generated): SdkResult {
  const queryParams: Record<string, string | string[]> = {};
  for (const [k, v] of g.pairs) {
    const existing = queryParams[k];
    if (existing === undefined) queryParams[k] = v;
    else queryParams[k] = Array.isArray(existing) ? [...existing, v] : [existing, v];
  }
  const path = g.segments.join("/") + (g.trailingSlash ? "/" : "");
  const headers: Record<string, string> = {
    host: g.host,
    "x-project-id": g.projectId,
    // The SDK reads a date it is given instead of its clock.
    "X-Sdk-Date": formatSdkDate(g.date),
  };
  if (g.contentType) headers["content-type"] = "application/json";
  if (g.securityToken) headers["x-security-token"] = g.securityToken;
  const credential = new BasicCredentials().withAk(g.accessKey).withSk(g.secretKey);
  buildCanonicalRequest.mockClear();
  const signed = AKSKSigner.sign(
    { method: g.method, endpoint: g.origin + path, headers, queryParams, data: g.json },
    credential,
  ) as Record<string, string>;
  return {
    canonicalRequest: buildCanonicalRequest.mock.results[0].value as string,
    authorization: signed.Authorization,
  };
}

function signWithOurs(g: Generated) {
  const path =
    g.segments.map((s) => escapeSegment(s, g.pathEscaping)).join("/") + (g.trailingSlash ? "/" : "");
  const query = g.pairs.length > 0 ? `?${escapeQuery(g.pairs, g.queryEscaping)}` : "";
  const title = g.headerCase === "title";
  const headers: Record<string, string> = { [title ? "X-Project-Id" : "x-project-id"]: g.projectId };
  if (g.explicitHost) headers[title ? "Host" : "host"] = g.host;
  if (g.contentType) headers[title ? "Content-Type" : "content-type"] = "application/json";
  headers["user-agent"] = "dcs-sessions-test"; // sent, not signed
  const bodyText = g.json === undefined ? "" : JSON.stringify(g.json);
  return signRequestWithDetails(
    {
      method: g.method,
      url: g.origin + path + query,
      headers,
      body: g.bodyAsBytes ? new TextEncoder().encode(bodyText) : bodyText,
    },
    { accessKey: g.accessKey, secretKey: g.secretKey, securityToken: g.securityToken },
    g.date,
  );
}

const generated = Array.from({ length: REQUESTS }, generate);

describe("signer cross-check against @huaweicloud/huaweicloud-sdk-core", () => {
  test("the generated requests cover every input class the issue names", () => {
    const all = (predicate: (g: Generated) => boolean) => generated.filter(predicate).length;
    const queryText = (g: Generated) => g.pairs.flat().join("");
    const covered = {
      get: all((g) => g.method === "GET"),
      post: all((g) => g.method === "POST"),
      emptyBody: all((g) => g.json === undefined),
      jsonBody: all((g) => g.json !== undefined),
      space: all((g) => queryText(g).includes(" ")),
      unicode: all((g) => /[^ -~]/.test(queryText(g))),
      star: all((g) => queryText(g).includes("*")),
      tilde: all((g) => queryText(g).includes("~")),
      slash: all((g) => queryText(g).includes("/")),
      percent: all((g) => queryText(g).includes("%")),
      repeatedKeys: all((g) => new Set(g.pairs.map(([k]) => k)).size < g.pairs.length),
      trailingSlash: all((g) => g.trailingSlash),
      noTrailingSlash: all((g) => !g.trailingSlash),
      percentInPath: all((g) => g.segments.some((s) => s.includes("%"))),
      unicodeInPath: all((g) => g.segments.some((s) => /[^ -~]/.test(s))),
      securityToken: all((g) => g.securityToken !== undefined),
    };
    for (const [name, count] of Object.entries(covered)) {
      expect({ name, enough: count >= 20 }).toEqual({ name, enough: true });
    }
  });

  test.each(generated.map((g, i) => [i, g] as const))(
    "request %i: same canonical request and signature",
    (_i, g) => {
      const sdk = signWithSdk(g);
      const ours = signWithOurs(g);
      expect(ours.canonicalRequest).toBe(sdk.canonicalRequest);
      expect(ours.headers.Authorization).toBe(sdk.authorization);
      expect(ours.headers["X-Security-Token"]).toBe(g.securityToken);
    },
  );
});

describe("where the SDK's own escaping is inconsistent (documented, not followed)", () => {
  test("a space in a path segment: the SDK signs %2520 for what goes on the wire as %20", () => {
    const g: Generated = { ...generated[0], segments: ["", "v2", "a b"], trailingSlash: false, pairs: [] };
    const sdk = signWithSdk(g);
    expect(sdk.canonicalRequest.split("\n")[1]).toBe("/v2/a%2520b/");
    // Ours follows the wire, decoding the path before encoding each segment, as Huawei's Python SDK signer does.
    expect(signWithOurs(g).canonicalRequest.split("\n")[1]).toBe("/v2/a%20b/");
  });
});

/**
 * The same comparison through the SDK's own credential step, the one its HcClient runs before sending: it fills
 * `{project_id}`, adds `X-Project-Id` and `X-Security-Token` itself and signs every header it will send. This
 * shows that the header set we sign for each operation of DESIGN §1 is the SDK's.
 */
describe("through the SDK's credential pipeline, for every operation we call", () => {
  const operations = [
    { method: "GET", path: "/v2/{project_id}/instances/i-1/logical-nodes" },
    {
      method: "POST",
      path: "/v2/{project_id}/instances/i-1/clients",
      data: { node_id: "n-1", clean_cache: true },
    },
    {
      method: "GET",
      path: "/v2/{project_id}/instances/i-1/clients",
      query: {
        node_id: "n-1",
        offset: "0",
        limit: "1000",
        addr: "10.0.0.1 x*~",
        sort: "idle",
        order: "desc",
      },
    },
    {
      method: "POST",
      path: "/v2/{project_id}/instances/i-1/clients/kill-all",
      data: { kill_all_nodes: true },
    },
    {
      method: "POST",
      path: "/v2/{project_id}/instances/i-1/clients/kill",
      data: { node_id: "n", client_addrs: ["a:1"] },
    },
    { method: "GET", path: "/v2/{project_id}/jobs/job-1" },
    { method: "GET", path: "/v3/{project_id}/instances/i-1/sessions", query: { node_id: "n-1" } },
    { method: "DELETE", path: "/v3/{project_id}/instances/i-1/sessions" },
    {
      method: "GET",
      path: "/v3/{project_id}/redis/nodes/n-1/sessions",
      query: { offset: "0", limit: "100" },
    },
    { method: "DELETE", path: "/v3/{project_id}/redis/nodes/n-1/sessions", data: { is_all: true } },
  ] as const;
  const cases = operations.flatMap((op) => [
    { ...op, securityToken: undefined },
    { ...op, securityToken: "temporary-token-value" },
  ]);

  test.each(cases)("$method $path (token: $securityToken)", async (op) => {
    const origin = "https://dcs.cn-north-4.myhuaweicloud.com";
    const projectId = "0123456789abcdef0123456789abcdef";
    const date = new Date("2026-11-23T13:26:53Z");
    const data = "data" in op ? op.data : undefined;
    const query: Record<string, string> = "query" in op ? { ...op.query } : {};
    const credentials = { accessKey: "AKCROSSCHECK00000001", secretKey: "crosscheck-secret-key" };

    const sdkCredential = new BasicCredentials()
      .withAk(credentials.accessKey)
      .withSk(credentials.secretKey)
      .withProjectId(projectId);
    if (op.securityToken) sdkCredential.withSecurityToken(op.securityToken);
    const headers: Record<string, string> = { "X-Sdk-Date": formatSdkDate(date) };
    if (data) headers["content-type"] = "application/json";
    const sdkRequest = new HttpRequestBuilder()
      .withEndpoint(origin)
      .withUrl(op.path)
      .withMethod(op.method)
      .withHeaders(headers)
      .withQueryParams(query)
      .withData(data)
      .build();
    buildCanonicalRequest.mockClear();
    const signed = await sdkCredential.processAuthRequest(undefined as never, sdkRequest);
    const sdkCanonical = buildCanonicalRequest.mock.results[0].value as string;

    const url = new URL(origin + op.path.replace("{project_id}", projectId));
    for (const [k, v] of Object.entries(query)) url.searchParams.append(k, v);
    const ourHeaders: Record<string, string> = { host: url.host, "x-project-id": projectId };
    if (data) ourHeaders["content-type"] = "application/json";
    const ours = signRequestWithDetails(
      { method: op.method, url, headers: ourHeaders, body: data ? JSON.stringify(data) : "" },
      { ...credentials, securityToken: op.securityToken },
      date,
    );
    expect(ours.canonicalRequest).toBe(sdkCanonical);
    expect(ours.headers.Authorization).toBe(signed.headers.Authorization);
  });
});
