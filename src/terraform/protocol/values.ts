/**
 * Terraform's values on the wire: a type language (JSON-encoded cty types, as schemas carry them) and
 * msgpack `DynamicValue`s, where a value not known yet is msgpack extension type 0. Above this file a value
 * is plain data: objects, arrays, strings, numbers, booleans, null, and `UNKNOWN`.
 */
import type { ExtensionCodec } from "@msgpack/msgpack";

export type ValueType =
  | "string"
  | "number"
  | "bool"
  | readonly ["list", ValueType]
  | readonly ["set", ValueType]
  | readonly ["map", ValueType]
  | readonly ["object", { readonly [name: string]: ValueType }];

/** A value Terraform does not know yet (planning). */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

export type Value = null | string | number | boolean | Unknown | Value[] | { [key: string]: Value };
export type ObjectValue = { [key: string]: Value };

export function isUnknown(value: unknown): value is Unknown {
  return value === UNKNOWN;
}

/** True when the value or anything inside it is unknown. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
  return false;
}

type Msgpack = typeof import("@msgpack/msgpack");
let msgpack: { library: Msgpack; codec: ExtensionCodec } | undefined;

/**
 * The msgpack library and the extension codec of unknown values, loaded at the first value rather than at
 * start: Terraform waits for the provider's handshake line, and no value crosses before it.
 */
function loadMsgpack(): { library: Msgpack; codec: ExtensionCodec } {
  if (!msgpack) {
    const library = require("@msgpack/msgpack") as Msgpack;
    const codec = new library.ExtensionCodec();
    // Type 0 is an unknown value; 12 an unknown with refinements (newer Terraform): both "not known yet".
    codec.register({
      type: 0,
      encode: (value: unknown) => (value === UNKNOWN ? new Uint8Array([0]) : null),
      decode: () => UNKNOWN,
    });
    codec.register({ type: 12, encode: () => null, decode: () => UNKNOWN });
    msgpack = { library, codec };
  }
  return msgpack;
}

/** Shapes a value to its type: every attribute of an object present (null when absent), numbers as numbers. */
export function conform(value: unknown, type: ValueType, path = "value"): Value {
  if (value === null || value === undefined) return null;
  if (value === UNKNOWN) return UNKNOWN;
  if (type === "string") {
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    throw new TypeError(`${path}: expected a string, got ${typeof value}`);
  }
  if (type === "number") {
    const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof n === "number" && Number.isFinite(n)) return n;
    throw new TypeError(`${path}: expected a number, got ${typeof value}`);
  }
  if (type === "bool") {
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    throw new TypeError(`${path}: expected a bool, got ${typeof value}`);
  }
  const [kind, inner] = type;
  if (kind === "list" || kind === "set") {
    if (!Array.isArray(value)) throw new TypeError(`${path}: expected a ${kind}, got ${typeof value}`);
    return value.map((v, i) => conform(v, inner, `${path}[${i}]`));
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${path}: expected an ${kind === "map" ? "map" : "object"}, got ${typeof value}`);
  }
  const entries = value as Record<string, unknown>;
  if (kind === "map") {
    return Object.fromEntries(
      Object.entries(entries).map(([k, v]) => [k, conform(v, inner, `${path}[${JSON.stringify(k)}]`)]),
    );
  }
  return Object.fromEntries(
    Object.entries(inner).map(([name, t]) => [name, conform(entries[name], t, `${path}.${name}`)]),
  );
}

export function encodeValue(value: unknown, type: ValueType): Buffer {
  const { library, codec } = loadMsgpack();
  const bytes = library.encode(conform(value, type), { extensionCodec: codec, ignoreUndefined: false });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A `DynamicValue` to plain data: msgpack (what Terraform sends) or JSON (allowed by the protocol). */
export function decodeValue(
  dynamic: { msgpack?: Uint8Array | null; json?: Uint8Array | null } | null | undefined,
  type: ValueType,
): Value {
  if (!dynamic) return null;
  if (dynamic.msgpack && dynamic.msgpack.length > 0) {
    const { library, codec } = loadMsgpack();
    return conform(library.decode(dynamic.msgpack, { extensionCodec: codec }), type);
  }
  if (dynamic.json && dynamic.json.length > 0) {
    return conform(JSON.parse(Buffer.from(dynamic.json).toString("utf8")), type);
  }
  return null;
}
