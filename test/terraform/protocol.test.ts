/**
 * The provider's protocol pieces, without the terraform binary: msgpack values (unknowns included), schemas
 * in their protocol form, the message codecs against the .proto files, the server certificate, and the
 * plugin served over real mTLS on its unix socket to a grpc-js client that plays Terraform's part.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { createProvider, PROVIDER_SCHEMA } from "../../src/terraform/provider";
import { assertBuilt, CHECKOUT } from "../cli/support";
import { createServerCertificate } from "../../src/terraform/protocol/certificate";
import descriptors from "../../src/terraform/protocol/descriptors.json";
import { blockType, schemaMessage, type BlockSpec } from "../../src/terraform/protocol/schema";
import {
  MAGIC_COOKIE_KEY,
  MAGIC_COOKIE_VALUE,
  PluginStartError,
  servePlugin,
} from "../../src/terraform/protocol/server";
import { serviceDefinition } from "../../src/terraform/protocol/services";
import { decodeValue, encodeValue, UNKNOWN, type ValueType } from "../../src/terraform/protocol/values";

const { parseProtoFiles } = require("../../scripts/proto-descriptors") as {
  parseProtoFiles: () => unknown;
};

describe("msgpack values", () => {
  const type: ValueType = [
    "object",
    {
      name: "string",
      count: "number",
      on: "bool",
      tags: ["map", "number"],
      ids: ["list", "string"],
      window: ["object", { start: "string", end: "string" }],
    },
  ];

  test("round trip with unknown values at any depth, absent attributes as null", () => {
    const value = {
      name: UNKNOWN,
      count: 3,
      on: true,
      tags: { a: 1, b: UNKNOWN },
      ids: ["x", UNKNOWN],
      window: UNKNOWN,
    };
    expect(decodeValue({ msgpack: encodeValue(value, type) }, type)).toEqual(value);
    expect(decodeValue({ msgpack: encodeValue({ count: 1 }, type) }, type)).toEqual({
      name: null,
      count: 1,
      on: null,
      tags: null,
      ids: null,
      window: null,
    });
  });

  test("an unknown is msgpack extension type 0; type 12 (an unknown with refinements) decodes as unknown", () => {
    // fixext 1 (0xd4), type 0, one zero byte: what Terraform sends for an unknown value.
    expect([...encodeValue(UNKNOWN, "string")]).toEqual([0xd4, 0x00, 0x00]);
    expect(decodeValue({ msgpack: Buffer.from([0xd4, 0x00, 0x00]) }, "number")).toBe(UNKNOWN);
    expect(decodeValue({ msgpack: Buffer.from([0xd4, 0x0c, 0x00]) }, "number")).toBe(UNKNOWN);
  });

  test("numbers stay numbers, JSON dynamic values are read too, a wrong type names its path", () => {
    const bytes = encodeValue({ count: 2.5, tags: { a: 7 } }, type);
    const decoded = decodeValue({ msgpack: bytes }, type) as Record<string, unknown>;
    expect(decoded.count).toBe(2.5);
    expect(decoded.tags).toEqual({ a: 7 });
    expect(decodeValue({ json: Buffer.from('{"count": 4}') }, type)).toMatchObject({ count: 4 });
    expect(decodeValue(null, type)).toBeNull();
    expect(() => encodeValue({ count: "many" }, type)).toThrow(/value\.count: expected a number/);
    expect(() => encodeValue({ ids: "x" }, type)).toThrow(/value\.ids: expected a list/);
  });
});

describe("schemas", () => {
  const block: BlockSpec = {
    description: "test block",
    attributes: {
      id: { type: "string", description: "id", computed: true },
      limit: { type: "number", description: "limit", optional: true },
      token: { type: "string", description: "token", optional: true, sensitive: true },
    },
    blocks: {
      window: { nesting: "single", block: { attributes: { start: { type: "string", description: "s" } } } },
      rule: {
        nesting: "list",
        maxItems: 3,
        block: { attributes: { n: { type: "number", description: "n" } } },
      },
    },
  };

  test("a block's value type: attributes and nested blocks (single → object, list → list of objects)", () => {
    expect(blockType(block)).toEqual([
      "object",
      {
        id: "string",
        limit: "number",
        token: "string",
        window: ["object", { start: "string" }],
        rule: ["list", ["object", { n: "number" }]],
      },
    ]);
  });

  test("the protocol form: cty types as JSON bytes, flags, nesting modes, through the protobuf codec", () => {
    const message = schemaMessage(block, 2);
    const definition = serviceDefinition("tfplugin6", "Provider").GetProviderSchema!;
    const wire = definition.responseSerialize({ provider: message, diagnostics: [] });
    const decoded = definition.responseDeserialize(wire) as {
      provider: {
        version: number;
        block: {
          description: string;
          attributes: Array<{
            name: string;
            type: Buffer;
            optional: boolean;
            computed: boolean;
            sensitive: boolean;
          }>;
          block_types: Array<{ type_name: string; nesting: number; max_items: number }>;
        };
      };
    };
    expect(decoded.provider.version).toBe(2);
    expect(decoded.provider.block.description).toBe("test block");
    const attributes = Object.fromEntries(decoded.provider.block.attributes.map((a) => [a.name, a]));
    expect(JSON.parse(attributes.limit!.type.toString("utf8"))).toBe("number");
    expect(attributes.id).toMatchObject({ computed: true, optional: false, sensitive: false });
    expect(attributes.token).toMatchObject({ optional: true, sensitive: true });
    expect(decoded.provider.block.block_types).toEqual([
      expect.objectContaining({ type_name: "window", nesting: 1, max_items: 0 }),
      expect.objectContaining({ type_name: "rule", nesting: 2, max_items: 3 }),
    ]);
  });

  test("the provider's credentials are sensitive attributes", () => {
    for (const name of ["secret_key", "security_token", "auth_token"]) {
      expect(PROVIDER_SCHEMA.attributes[name]!.sensitive).toBe(true);
    }
  });

  test("descriptors.json is the parse of the .proto files (run scripts/proto-descriptors.js after editing them)", () => {
    expect(descriptors).toEqual(parseProtoFiles());
  });

  test("a oneof, an int64 and an enum cross the codec as the handlers write them", () => {
    const definition = serviceDefinition("tfplugin6", "Provider").ValidateResourceConfig!;
    const response = {
      diagnostics: [
        {
          severity: 1,
          summary: "Invalid top_n",
          detail: "must be at most 100",
          attribute: {
            steps: [{ attribute_name: "nodes" }, { element_key_int: 2 }, { element_key_string: "k" }],
          },
        },
      ],
    };
    const decoded = definition.responseDeserialize(definition.responseSerialize(response)) as typeof response;
    expect(decoded.diagnostics[0]).toMatchObject({ severity: 1, summary: "Invalid top_n" });
    expect(decoded.diagnostics[0]!.attribute.steps).toEqual([
      expect.objectContaining({ selector: "attribute_name", attribute_name: "nodes" }),
      expect.objectContaining({ selector: "element_key_int", element_key_int: 2 }),
      expect.objectContaining({ selector: "element_key_string", element_key_string: "k" }),
    ]);
  });
});

/** The DER contents of one extension of a certificate, found by its OID's encoding. */
function extensionValue(der: Buffer, oid: number[]): Buffer {
  const at = der.indexOf(Buffer.from([0x06, oid.length, ...oid]));
  if (at < 0) throw new Error(`extension ${oid.join(".")} not found`);
  let i = at + 2 + oid.length;
  if (der[i] === 0x01) i += 3; // critical: BOOLEAN TRUE
  expect(der[i]).toBe(0x04); // OCTET STRING holding the extension's value
  return der.subarray(i + 2, i + 2 + der[i + 1]!);
}

describe("the server certificate", () => {
  const now = new Date("2026-12-05T12:00:00Z");
  const made = createServerCertificate(now);
  const cert = new X509Certificate(made.certPem);

  test("self-signed EC P-256 certificate for localhost, a CA, valid now", () => {
    expect(cert.publicKey.asymmetricKeyType).toBe("ec");
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.subject).toMatch(/CN=localhost/);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.ca).toBe(true);
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(new Date(cert.validFrom).getTime()).toBeLessThanOrEqual(now.getTime());
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(now.getTime());
  });

  test("usable for server and client auth; key usage allows signing certificates", () => {
    expect(cert.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]));
    // keyUsage (2.5.29.15) is a BIT STRING: digitalSignature is bit 0, keyCertSign bit 5.
    const usage = extensionValue(cert.raw, [0x55, 0x1d, 0x0f]);
    expect(usage[0]).toBe(0x03);
    const bits = usage[3]!;
    expect(bits & 0x80).toBe(0x80);
    expect(bits & 0x04).toBe(0x04);
  });

  test("the handshake carries the DER as base64 without padding; each certificate is fresh", () => {
    expect(made.handshakeBase64).not.toMatch(/[=\s]/);
    expect(Buffer.from(made.handshakeBase64, "base64").equals(cert.raw)).toBe(true);
    expect(made.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(createServerCertificate(now).handshakeBase64).not.toBe(made.handshakeBase64);
  });
});

describe("the plugin over mTLS on its unix socket", () => {
  type GetSchema = (
    request: object,
    callback: (error: grpc.ServiceError | null, response?: { provider?: { block?: unknown } }) => void,
  ) => void;
  const Provider = grpc.makeGenericClientConstructor(serviceDefinition("tfplugin6", "Provider"), "Provider");
  const Controller = grpc.makeGenericClientConstructor(
    serviceDefinition("plugin", "GRPCController"),
    "GRPCController",
  );

  /** A client as Terraform makes one: its own certificate, the provider's as the only root. */
  function client<T extends grpc.Client>(
    Ctor: new (address: string, credentials: grpc.ChannelCredentials, options?: object) => T,
    socketPath: string,
    serverDer: string,
    own: { certPem: string; keyPem: string },
  ): T {
    const serverPem = new X509Certificate(Buffer.from(serverDer, "base64")).toString();
    const credentials = grpc.credentials.createSsl(
      Buffer.from(serverPem),
      Buffer.from(own.keyPem),
      Buffer.from(own.certPem),
    );
    return new Ctor(`unix:${socketPath}`, credentials, { "grpc.ssl_target_name_override": "localhost" });
  }

  test("refuses to start without the magic cookie or a client certificate", async () => {
    await expect(
      servePlugin(createProvider({ env: {} }), { env: {}, write: () => undefined }),
    ).rejects.toThrow(PluginStartError);
    await expect(
      servePlugin(createProvider({ env: {} }), {
        env: { [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE },
        write: () => undefined,
      }),
    ).rejects.toThrow(/PLUGIN_CLIENT_CERT/);
  });

  test("handshake line, a 0700 socket directory, schema over mTLS, a stranger refused, Shutdown removes the directory", async () => {
    const terraform = createServerCertificate();
    const stranger = createServerCertificate();
    const lines: string[] = [];
    const plugin = await servePlugin(createProvider({ env: {} }), {
      env: {
        [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
        PLUGIN_PROTOCOL_VERSIONS: "5,6",
        PLUGIN_CLIENT_CERT: terraform.certPem,
        PLUGIN_UNIX_SOCKET_DIR: tmpdir(),
      },
      write: (line) => lines.push(line),
    });
    const clients: grpc.Client[] = [];
    try {
      expect(lines).toHaveLength(1);
      const [core, app, network, address, protocol, der] = lines[0]!.trimEnd().split("|");
      expect([core, app, network, address, protocol]).toEqual(["1", "6", "unix", plugin.socketPath, "grpc"]);
      expect(lines[0]!.endsWith("\n")).toBe(true);
      expect(statSync(plugin.socketDir).mode & 0o777).toBe(0o700);

      const good = client(Provider, plugin.socketPath, der!, terraform);
      clients.push(good);
      const schema = await new Promise<{ provider?: { block?: unknown } }>((resolve, reject) =>
        (good as unknown as { GetProviderSchema: GetSchema }).GetProviderSchema({}, (error, response) =>
          error ? reject(error) : resolve(response!),
        ),
      );
      expect(schema.provider?.block).toEqual(expect.objectContaining({ attributes: expect.any(Array) }));

      const bad = client(Provider, plugin.socketPath, der!, stranger);
      clients.push(bad);
      const refused = await new Promise<grpc.ServiceError | null>((resolve) =>
        (bad as unknown as { GetProviderSchema: GetSchema }).GetProviderSchema({}, (error) => resolve(error)),
      );
      expect(refused?.code).toBe(grpc.status.UNAVAILABLE);

      const controller = client(Controller, plugin.socketPath, der!, terraform);
      clients.push(controller);
      await new Promise<void>((resolve, reject) =>
        (controller as unknown as { Shutdown: GetSchema }).Shutdown({}, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
      await plugin.stopped;
      expect(existsSync(plugin.socketDir)).toBe(false);
    } finally {
      for (const c of clients) c.close();
      await plugin.stop();
    }
  });

  test("the built executable as Terraform starts it: a connection made at once waits for grpc-js, Shutdown ends the process with its directory", async () => {
    assertBuilt();
    const terraform = createServerCertificate();
    const child = spawn(process.execPath, [join(CHECKOUT, "dist", "terraform", "main.js")], {
      env: {
        PATH: process.env.PATH,
        [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
        PLUGIN_PROTOCOL_VERSIONS: "6",
        PLUGIN_CLIENT_CERT: terraform.certPem,
        PLUGIN_UNIX_SOCKET_DIR: tmpdir(),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const clients: grpc.Client[] = [];
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) resolve(out);
        });
        child.on("error", reject);
        child.on("close", () => reject(new Error(`exited before the handshake: ${out}`)));
      });
      const [, , , address, , der] = line.trimEnd().split("|");
      // Connected as soon as the line is read, while the provider is still loading grpc-js.
      const provider = client(Provider, address!, der!, terraform);
      const controller = client(Controller, address!, der!, terraform);
      clients.push(provider, controller);
      const schema = await new Promise<{ provider?: { block?: unknown } }>((resolve, reject) =>
        (provider as unknown as { GetProviderSchema: GetSchema }).GetProviderSchema({}, (error, response) =>
          error ? reject(error) : resolve(response!),
        ),
      );
      expect(schema.provider?.block).toEqual(expect.objectContaining({ attributes: expect.any(Array) }));
      await new Promise<void>((resolve, reject) =>
        (controller as unknown as { Shutdown: GetSchema }).Shutdown({}, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
      expect(await exited).toBe(0);
      expect(existsSync(dirname(address!))).toBe(false);
    } finally {
      for (const c of clients) c.close();
      child.kill("SIGKILL");
    }
  });
});
