/**
 * The gRPC services the provider serves, built from descriptors.json (the .proto files parsed at
 * development time, see scripts/proto-descriptors.js) instead of parsing the .proto files at every start.
 * The services are built when grpc-js loads, after the handshake (only the JSON, about 0.2 ms, loads with
 * this module); protobufjs and its per-message codecs are loaded at the first message (or just after the
 * handshake, see `warmUpCodecs`), so Terraform does not wait for them to read the handshake line.
 */
import type * as grpc from "@grpc/grpc-js";
import type { Root } from "protobufjs";
import descriptors from "./descriptors.json";

type Json = Record<string, unknown>;

/** How decoded messages look: the options `@grpc/proto-loader` was given before (snake_case kept). */
const TO_OBJECT = { longs: Number, enums: Number, defaults: true, oneofs: true } as const;

interface MethodDescriptor {
  requestType: string;
  responseType: string;
  requestStream?: boolean;
  responseStream?: boolean;
}

interface Codec {
  encode(message: Json): Buffer;
  decode(bytes: Buffer): Json;
}

let root: Root | undefined;
const codecs = new Map<string, Codec>();

function loadRoot(): Root {
  // Synchronous on purpose: grpc-js calls serializers synchronously. After `warmUpCodecs` it is cached.
  const protobuf = require("protobufjs/light") as typeof import("protobufjs/light");
  root ??= protobuf.Root.fromJSON(descriptors as import("protobufjs").INamespace);
  return root;
}

/** The codec of a message type, by its full name (`tfplugin6.GetMetadata.Request`). */
function codec(fullName: string): Codec {
  let found = codecs.get(fullName);
  if (!found) {
    const type = loadRoot().lookupType(fullName);
    found = {
      encode: (message) => {
        if (Array.isArray(message)) throw new Error(`${fullName}: expected an object, got an array`);
        return Buffer.from(type.encode(type.fromObject(message)).finish());
      },
      decode: (bytes) => type.toObject(type.decode(bytes), TO_OBJECT) as Json,
    };
    codecs.set(fullName, found);
  }
  return found;
}

/** A message type named in a method, relative to the service's package (as the .proto files write them). */
function qualified(pkg: string, typeName: string): string {
  return typeName.startsWith(".") ? typeName.slice(1) : `${pkg}.${typeName}`;
}

const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/** A grpc-js service definition whose (de)serializers load their codec at the first message. */
export function serviceDefinition(pkg: string, service: string): grpc.ServiceDefinition {
  const nested = (descriptors.nested as Record<string, { nested: Record<string, unknown> }>)[pkg]?.nested;
  const methods = (nested?.[service] as { methods?: Record<string, MethodDescriptor> } | undefined)?.methods;
  if (!methods) throw new Error(`descriptors.json has no service ${pkg}.${service}`);
  const definition: Record<string, grpc.MethodDefinition<Json, Json>> = {};
  for (const [name, method] of Object.entries(methods)) {
    const request = qualified(pkg, method.requestType);
    const response = qualified(pkg, method.responseType);
    definition[name] = {
      path: `/${pkg}.${service}/${name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: (message: Json) => codec(request).encode(message),
      requestDeserialize: (bytes: Buffer) => codec(request).decode(bytes),
      responseSerialize: (message: Json) => codec(response).encode(message),
      responseDeserialize: (bytes: Buffer) => codec(response).decode(bytes),
      originalName: lowerFirst(name),
    };
  }
  return definition;
}

/** Loads protobufjs and the descriptors now (after the handshake, while Terraform connects). */
export function warmUpCodecs(): void {
  loadRoot();
}
