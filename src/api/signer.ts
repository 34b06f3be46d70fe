/**
 * SDK-HMAC-SHA256 request signing (DESIGN §1), one pure function per step. The steps agree with Huawei's own
 * Node.js SDK (`@huaweicloud/huaweicloud-sdk-core`), which test/api/signer-crosscheck.test.ts proves.
 */
import { createHash, createHmac } from "node:crypto";

export const SIGNING_ALGORITHM = "SDK-HMAC-SHA256";

export interface SignableRequest {
  method: string;
  /** Full URL, query included, as it goes on the wire (percent-encoded where needed). */
  url: string | URL;
  /** Headers to send; must include `host` and `x-project-id`. */
  headers: Record<string, string>;
  body: string | Uint8Array;
}

export interface SigningCredentials {
  accessKey: string;
  secretKey: string;
  securityToken?: string;
}

/**
 * The headers that are signed when the request carries them. `host` is always signed (taken from the URL when
 * the request does not set it) and `x-sdk-date` always comes from the clock. The SDK signs every header it
 * sends, `content-type` included, so a request with a body and its content type signs both.
 */
export const SIGNABLE_HEADERS = ["content-type", "host", "x-project-id", "x-sdk-date", "x-security-token"];

/** RFC 3986 percent-encoding: everything but `A-Za-z0-9-_.~`, as UTF-8 bytes, upper-case hex. */
export function percentEncode(text: string): string {
  // encodeURIComponent leaves !'()* alone; the signature encodes them too.
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `X-Sdk-Date`: UTC `YYYYMMDDTHHMMSSZ`. */
export function formatSdkDate(now: Date): string {
  if (Number.isNaN(now.getTime())) throw new RangeError("formatSdkDate: invalid date");
  return now
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A stray `%` that starts no valid escape is a literal percent sign.
    return segment;
  }
}

/**
 * Canonical URI from the path as sent (`URL.pathname`): each segment is decoded, then encoded with
 * `percentEncode`, and a `/` is appended when missing (for signing only; the request keeps its own path).
 * Decoding first makes the result independent of how the path was escaped on the wire, and equal to what the
 * SDK computes from the unescaped path it substitutes its parameters into.
 */
export function canonicalUri(pathname: string): string {
  const path = pathname === "" ? "/" : pathname;
  const encoded = path
    .split("/")
    .map((segment) => percentEncode(decodeSegment(segment)))
    .join("/");
  return encoded.endsWith("/") ? encoded : `${encoded}/`;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Canonical query from the query as sent: parameters decoded as a server decodes them (`+` is a space), keys
 * sorted, the values of a repeated key sorted, each `key=value` encoded with `percentEncode`. Sorting is on
 * the decoded text by UTF-16 code units, as the SDK sorts its query parameters.
 */
export function canonicalQuery(query: string | URLSearchParams): string {
  const params = typeof query === "string" ? new URLSearchParams(query) : query;
  const byKey = new Map<string, string[]>();
  for (const [key, value] of params) {
    const values = byKey.get(key);
    if (values) values.push(value);
    else byKey.set(key, [value]);
  }
  const parts: string[] = [];
  for (const key of [...byKey.keys()].sort(compareCodeUnits)) {
    const encodedKey = percentEncode(key);
    for (const value of byKey.get(key)!.sort(compareCodeUnits)) {
      parts.push(`${encodedKey}=${percentEncode(value)}`);
    }
  }
  return parts.join("&");
}

export interface CanonicalHeaders {
  /** `lowercase-name:trimmed-value\n` for each header, sorted by name. */
  canonicalHeaders: string;
  /** The lower-case names, sorted, `;`-joined. */
  signedHeaders: string;
}

/** Canonical headers and signed header names of the headers given (all of them are signed). */
export function canonicalHeaders(headers: Record<string, string>): CanonicalHeaders {
  const entries = Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase(), value.trim()] as const)
    .sort(([a], [b]) => compareCodeUnits(a, b));
  return {
    canonicalHeaders: entries.map(([name, value]) => `${name}:${value}\n`).join(""),
    signedHeaders: entries.map(([name]) => name).join(";"),
  };
}

/** Hex SHA-256 of no bytes: every GET signs it, so it is computed once. */
const EMPTY_PAYLOAD_HASH = createHash("sha256").digest("hex");

/** Hex SHA-256 of the body bytes (a string is hashed as UTF-8). */
export function payloadHash(body: string | Uint8Array): string {
  if (body.length === 0) return EMPTY_PAYLOAD_HASH;
  return createHash("sha256").update(body).digest("hex");
}

export interface CanonicalRequestParts {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  canonicalHeaders: string;
  signedHeaders: string;
  payloadHash: string;
}

/** The six parts joined by `\n` (the canonical headers end with their own `\n`). */
export function canonicalRequest(parts: CanonicalRequestParts): string {
  return [
    parts.method,
    parts.canonicalUri,
    parts.canonicalQuery,
    parts.canonicalHeaders,
    parts.signedHeaders,
    parts.payloadHash,
  ].join("\n");
}

/** `SDK-HMAC-SHA256\n{X-Sdk-Date}\n{hex sha256 of the canonical request}`. */
export function stringToSign(sdkDate: string, canonicalRequestText: string): string {
  return `${SIGNING_ALGORITHM}\n${sdkDate}\n${payloadHash(canonicalRequestText)}`;
}

/** Hex HMAC-SHA256 of the string to sign, keyed with the secret key. */
export function signature(secretKey: string, stringToSignText: string): string {
  return createHmac("sha256", secretKey).update(stringToSignText).digest("hex");
}

/** `SDK-HMAC-SHA256 Access={AK}, SignedHeaders={names}, Signature={hex}`. */
export function authorizationHeader(accessKey: string, signedHeaders: string, signatureHex: string): string {
  return `${SIGNING_ALGORITHM} Access=${accessKey}, SignedHeaders=${signedHeaders}, Signature=${signatureHex}`;
}

/**
 * The headers that will be signed, lower-case: those of `SIGNABLE_HEADERS` the request carries, `host` from
 * the URL when absent, the date, and the security token of temporary credentials (which wins over a header).
 */
export function headersToSign(
  requestHeaders: Record<string, string>,
  url: URL,
  sdkDate: string,
  securityToken?: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(requestHeaders)) {
    const lower = name.toLowerCase();
    if (SIGNABLE_HEADERS.includes(lower)) out[lower] = value;
  }
  out.host ??= url.host;
  out["x-sdk-date"] = sdkDate;
  if (securityToken) out["x-security-token"] = securityToken;
  else delete out["x-security-token"];
  return out;
}

export interface SigningDetails {
  /** The headers to add to the request. */
  headers: Record<string, string>;
  /** Holds the security token's value when there is one: never log it. */
  canonicalRequest: string;
  stringToSign: string;
  signedHeaders: string;
}

/** Signs and also returns the intermediate texts (for tests and for explaining a signature mismatch). */
export function signRequestWithDetails(
  request: SignableRequest,
  credentials: SigningCredentials,
  now: Date,
): SigningDetails {
  const url = typeof request.url === "string" ? new URL(request.url) : request.url;
  const sdkDate = formatSdkDate(now);
  const signed = canonicalHeaders(headersToSign(request.headers, url, sdkDate, credentials.securityToken));
  const canonical = canonicalRequest({
    method: request.method,
    canonicalUri: canonicalUri(url.pathname),
    canonicalQuery: canonicalQuery(url.searchParams),
    canonicalHeaders: signed.canonicalHeaders,
    signedHeaders: signed.signedHeaders,
    payloadHash: payloadHash(request.body),
  });
  const toSign = stringToSign(sdkDate, canonical);
  const headers: Record<string, string> = {
    "X-Sdk-Date": sdkDate,
    Authorization: authorizationHeader(
      credentials.accessKey,
      signed.signedHeaders,
      signature(credentials.secretKey, toSign),
    ),
  };
  if (credentials.securityToken) headers["X-Security-Token"] = credentials.securityToken;
  return { headers, canonicalRequest: canonical, stringToSign: toSign, signedHeaders: signed.signedHeaders };
}

/** Returns the headers to add: `X-Sdk-Date`, `Authorization` and, with a token, `X-Security-Token`. */
export function signRequest(
  request: SignableRequest,
  credentials: SigningCredentials,
  now: Date,
): Record<string, string> {
  return signRequestWithDetails(request, credentials, now).headers;
}
