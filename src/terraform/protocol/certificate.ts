/**
 * The provider's side of go-plugin's automatic mTLS: a fresh self-signed certificate for `localhost`, made
 * with Node's own crypto (an EC P-256 key in about a millisecond, and an ECDSA signature). Node can parse a
 * certificate but not write one, so the few DER structures of an X.509 v3 certificate are encoded here;
 * a library that writes certificates would cost more start-up time than this file is long.
 */
import { generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";

/** A DER element: tag, length, contents. */
function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else if (n < 0x100) length = Buffer.from([0x81, n]);
  else if (n < 0x10000) length = Buffer.from([0x82, n >> 8, n & 0xff]);
  else throw new Error(`DER element too long (${n} bytes)`);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const sequence = (...parts: Buffer[]) => der(0x30, ...parts);
const set = (...parts: Buffer[]) => der(0x31, ...parts);
const utf8 = (text: string) => der(0x0c, Buffer.from(text, "utf8"));
const octets = (bytes: Buffer) => der(0x04, bytes);
const TRUE = der(0x01, Buffer.from([0xff]));

/** A non-negative INTEGER from big-endian bytes (a 0x00 in front when the top bit is set). */
function integer(bytes: Buffer): Buffer {
  return der(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  return der(0x03, Buffer.from([unusedBits]), bytes);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [a! * 40 + b!];
  for (const value of rest) {
    const groups = [value & 0x7f];
    for (let v = value >>> 7; v > 0; v >>>= 7) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  }
  return der(0x06, Buffer.from(out));
}

/** UTCTime, `YYMMDDHHMMSSZ` (valid through 2049, as RFC 5280 asks). */
function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-12-04T20:59:35.123Z
  const text = iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16);
  return der(0x17, Buffer.from(`${text}${iso.slice(17, 19)}Z`, "ascii"));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(id), TRUE, octets(value)) : sequence(oid(id), octets(value));
}

const ECDSA_WITH_SHA256 = sequence(oid("1.2.840.10045.4.3.2"));

export interface ServerCertificate {
  /** PEM, for the TLS server. */
  certPem: string;
  keyPem: string;
  /** The DER bytes, base64 without padding: what the handshake line carries. */
  handshakeBase64: string;
}

/**
 * A certificate as go-plugin expects of a plugin: subject and SAN `localhost` (and 127.0.0.1), a CA
 * (Terraform uses it as the root that verifies the server), usable for server and client auth.
 */
export function createServerCertificate(now: Date = new Date()): ServerCertificate {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const name = sequence(
    set(sequence(oid("2.5.4.10"), utf8("dcs-sessions"))),
    set(sequence(oid("2.5.4.3"), utf8("localhost"))),
  );
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  serial[0]! |= 0x01; // positive, never a leading zero byte
  // keyUsage bits: digitalSignature (0), keyEncipherment (2), keyCertSign (5) → 1010 0100, 2 unused bits.
  const keyUsage = bitString(Buffer.from([0xa4]), 2);
  const extKeyUsage = sequence(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2"));
  const altNames = sequence(
    der(0x82, Buffer.from("localhost", "ascii")),
    der(0x87, Buffer.from([127, 0, 0, 1])),
  );
  const tbs = sequence(
    der(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ECDSA_WITH_SHA256,
    name,
    sequence(utcTime(new Date(now.getTime() - 60_000)), utcTime(new Date(now.getTime() + 86_400_000 * 30))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    der(
      0xa3,
      sequence(
        extension("2.5.29.19", true, sequence(TRUE)),
        extension("2.5.29.15", true, keyUsage),
        extension("2.5.29.37", false, extKeyUsage),
        extension("2.5.29.17", false, altNames),
      ),
    ),
  );
  const signature = sign("sha256", tbs, privateKey);
  const certificate = sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
  const base64 = certificate.toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    handshakeBase64: base64.replace(/=+$/, ""),
  };
}

/** Parses a PEM certificate (Terraform's client certificate) so that a bad one fails with a clear message. */
export function parseCertificate(pem: string): X509Certificate {
  return new X509Certificate(pem);
}
