/**
 * Server-side verification of SDK-HMAC-SHA256 signatures (DESIGN §1), written independently of the client's
 * signer so that the two cannot share a mistake. Each step is a pure function of its inputs.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export const ALGORITHM = "SDK-HMAC-SHA256";
export const DEFAULT_MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

/** Percent-encodes every byte of the UTF-8 form except `A-Za-z0-9-_.~`, with upper-case hex. */
export function percentEncode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a stray `%` is taken literally, as the client would have sent it
  }
}

/** The raw request path, each segment decoded then re-encoded, with a `/` appended when missing. */
export function canonicalUri(rawPath: string): string {
  const encoded = rawPath
    .split("/")
    .map((segment) => percentEncode(decodeComponent(segment)))
    .join("/");
  return encoded.endsWith("/") ? encoded : `${encoded}/`;
}

/** Keys sorted, repeated values sorted, both encoded; `k=v` pairs joined with `&`. */
export function canonicalQuery(rawQuery: string): string {
  const byKey = new Map<string, string[]>();
  for (const pair of rawQuery.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? "" : decodeComponent(pair.slice(eq + 1));
    const values = byKey.get(key) ?? [];
    values.push(value);
    byKey.set(key, values);
  }
  const parts: string[] = [];
  for (const key of [...byKey.keys()].sort()) {
    for (const value of (byKey.get(key) ?? []).sort())
      parts.push(`${percentEncode(key)}=${percentEncode(value)}`);
  }
  return parts.join("&");
}

/** `name:trimmed-value\n` for each signed header, in sorted order. */
export function canonicalHeaders(headers: IncomingHttpHeaders, signedHeaders: string[]): string {
  return [...signedHeaders]
    .sort()
    .map((name) => {
      const value = headers[name];
      const text = Array.isArray(value) ? value.join(",") : (value ?? "");
      return `${name}:${text.trim()}\n`;
    })
    .join("");
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export function canonicalRequest(parts: {
  method: string;
  uri: string;
  query: string;
  headers: string;
  signedHeaders: string[];
  payloadHash: string;
}): string {
  return [
    parts.method,
    parts.uri,
    parts.query,
    parts.headers,
    [...parts.signedHeaders].sort().join(";"),
    parts.payloadHash,
  ].join("\n");
}

export function stringToSign(sdkDate: string, canonical: string): string {
  return `${ALGORITHM}\n${sdkDate}\n${sha256Hex(canonical)}`;
}

export function signatureOf(secretKey: string, toSign: string): string {
  return createHmac("sha256", secretKey).update(toSign).digest("hex");
}

export interface ParsedAuthorization {
  access: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`; undefined when malformed. */
export function parseAuthorization(header: string): ParsedAuthorization | undefined {
  const trimmed = header.trim();
  if (!trimmed.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const access = fields.get("Access");
  const signed = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (!access || !signed || !signature) return undefined;
  return { access, signedHeaders: signed.split(";").map((h) => h.trim().toLowerCase()), signature };
}

/** Parses `YYYYMMDDTHHMMSSZ` (UTC) to epoch ms; undefined when malformed. */
export function parseSdkDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  return back.getUTCMonth() === month - 1 && back.getUTCDate() === day ? ms : undefined;
}

export interface AuthConfig {
  accessKey: string;
  secretKey: string;
  authToken?: string;
  maxClockSkewMs: number;
  now: () => number;
}

export interface AuthRequest {
  method: string;
  /** Path and query as received (`req.url`). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** `undefined` when the request is authenticated, else the reason (safe to show: it holds no secret). */
export function verifyRequest(config: AuthConfig, req: AuthRequest): string | undefined {
  const token = single(req.headers["x-auth-token"]);
  const authorization = single(req.headers["authorization"]);
  if (token !== undefined && authorization === undefined) {
    if (config.authToken === undefined)
      return "IAM tokens are not accepted by this emulator: sign the request";
    return safeEqual(token, config.authToken) ? undefined : "the X-Auth-Token is not valid";
  }
  if (authorization === undefined)
    return "the request is not signed: no Authorization or X-Auth-Token header";
  const parsed = parseAuthorization(authorization);
  if (!parsed) {
    return `the Authorization header is malformed: expected "${ALGORITHM} Access=..., SignedHeaders=..., Signature=..."`;
  }
  if (!safeEqual(parsed.access, config.accessKey)) return "the access key is not known";
  for (const required of ["host", "x-sdk-date"]) {
    if (!parsed.signedHeaders.includes(required)) return `SignedHeaders must include ${required}`;
  }
  for (const name of parsed.signedHeaders) {
    if (req.headers[name] === undefined) return `the signed header ${name} is missing from the request`;
  }
  const sdkDate = single(req.headers["x-sdk-date"]) ?? "";
  const dateMs = parseSdkDate(sdkDate);
  if (dateMs === undefined) return "X-Sdk-Date is malformed: expected UTC YYYYMMDDTHHMMSSZ";
  const skewMs = Math.abs(config.now() - dateMs);
  if (skewMs > config.maxClockSkewMs) {
    return (
      `X-Sdk-Date is ${Math.round(skewMs / 1000)} s away from the server's clock ` +
      `(at most ${Math.round(config.maxClockSkewMs / 1000)} s allowed): check the client's clock`
    );
  }
  const bodyHash = sha256Hex(req.body);
  const declared = single(req.headers["x-sdk-content-sha256"]);
  let payloadHash = bodyHash;
  if (declared !== undefined && parsed.signedHeaders.includes("x-sdk-content-sha256")) {
    if (declared !== UNSIGNED_PAYLOAD && declared !== bodyHash)
      return "X-Sdk-Content-Sha256 does not match the body";
    payloadHash = declared;
  }
  const q = req.url.indexOf("?");
  const canonical = canonicalRequest({
    method: req.method.toUpperCase(),
    uri: canonicalUri(q < 0 ? req.url : req.url.slice(0, q)),
    query: q < 0 ? "" : canonicalQuery(req.url.slice(q + 1)),
    headers: canonicalHeaders(req.headers, parsed.signedHeaders),
    signedHeaders: parsed.signedHeaders,
    payloadHash,
  });
  const expected = signatureOf(config.secretKey, stringToSign(sdkDate, canonical));
  return safeEqual(parsed.signature.toLowerCase(), expected)
    ? undefined
    : "the signature does not match: check the secret key and how the canonical request is built";
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM_MIXED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomText(alphabet: string, length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** A fresh key pair shaped like Huawei Cloud's (20-character AK, 40-character SK). */
export function generateKeys(): { accessKey: string; secretKey: string } {
  return { accessKey: randomText(ALNUM, 20), secretKey: randomText(ALNUM_MIXED, 40) };
}
