/**
 * The plugin host: go-plugin's handshake and automatic mTLS, a gRPC server on a unix socket in a private
 * directory, the go-plugin controller, and Terraform's `tfplugin6.Provider` service translated onto a
 * `ProviderDefinition` of plain values.
 */
import type { handleUnaryCall, sendUnaryData, Server, ServerWritableStream } from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServerCertificate, parseCertificate } from "./certificate";
import { blockType, schemaMessage } from "./schema";
import { serviceDefinition } from "./services";
import type { Diagnostic, PathStep, ProviderDefinition } from "./types";
import { decodeValue, encodeValue, type ObjectValue } from "./values";

/** go-plugin's magic cookie for Terraform providers: a provider refuses to run without it. */
export const MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE";
export const MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
export const CORE_PROTOCOL_VERSION = 1;
export const APP_PROTOCOL_VERSION = 6;

/** Thrown for a start the provider refuses (not started by Terraform, no client certificate). */
export class PluginStartError extends Error {}

type Json = Record<string, unknown>;
type Unary = (request: Json) => Promise<Json> | Json;

function loadServices() {
  return {
    provider: serviceDefinition("tfplugin6", "Provider"),
    controller: serviceDefinition("plugin", "GRPCController"),
    stdio: serviceDefinition("plugin", "GRPCStdio"),
  };
}

function pathMessage(path: PathStep[]): Json {
  return {
    steps: path.map((step) =>
      typeof step === "string"
        ? { attribute_name: step }
        : typeof step === "number"
          ? { element_key_int: step }
          : { element_key_string: step.key },
    ),
  };
}

function diagnosticMessage(d: Diagnostic): Json {
  return {
    severity: d.severity === "error" ? 1 : 2,
    summary: d.summary,
    detail: d.detail ?? "",
    ...(d.path && d.path.length > 0 ? { attribute: pathMessage(d.path) } : {}),
  };
}

/** A failure of the provider itself (a bug, or a value it cannot shape), as Terraform shows it. */
function internalError(error: unknown): Diagnostic[] {
  const message = error instanceof Error ? error.message : String(error);
  return [{ severity: "error", summary: "dcssessions provider error", detail: message }];
}

/** The handlers of `tfplugin6.Provider` over a definition of plain values. */
export function providerHandlers(definition: ProviderDefinition, signal: AbortSignal): Record<string, Unary> {
  const providerType = blockType(definition.schema);
  const resource = (name: unknown) => {
    const r = definition.resources[String(name)];
    if (!r) throw new Error(`unknown resource type ${String(name)}`);
    return { r, type: blockType(r.schema) };
  };
  const dataSource = (name: unknown) => {
    const d = definition.dataSources[String(name)];
    if (!d) throw new Error(`unknown data source ${String(name)}`);
    return { d, type: blockType(d.schema) };
  };
  const dynamic = (value: unknown, type: Parameters<typeof encodeValue>[1]) => ({
    msgpack: encodeValue(value, type),
  });
  const diagnostics = (list: Diagnostic[] | undefined) => (list ?? []).map(diagnosticMessage);
  const schemas = (entries: Record<string, { schema: ProviderDefinition["schema"] }>) =>
    Object.fromEntries(Object.entries(entries).map(([n, e]) => [n, schemaMessage(e.schema)]));
  const capabilities = { plan_destroy: false, get_provider_schema_optional: false };

  const handlers: Record<string, Unary> = {
    GetMetadata: () => ({
      server_capabilities: capabilities,
      diagnostics: [],
      data_sources: Object.keys(definition.dataSources).map((type_name) => ({ type_name })),
      resources: Object.keys(definition.resources).map((type_name) => ({ type_name })),
    }),
    GetProviderSchema: () => ({
      provider: schemaMessage(definition.schema),
      resource_schemas: schemas(definition.resources),
      data_source_schemas: schemas(definition.dataSources),
      diagnostics: [],
      server_capabilities: capabilities,
    }),
    GetFunctions: () => ({ functions: {}, diagnostics: [] }),
    ValidateProviderConfig: async (req) => ({
      diagnostics: diagnostics(
        await definition.validate(decodeValue(req.config as Json, providerType) as ObjectValue),
      ),
    }),
    ConfigureProvider: async (req) => ({
      diagnostics: diagnostics(
        await definition.configure(decodeValue(req.config as Json, providerType) as ObjectValue),
      ),
    }),
    ValidateResourceConfig: async (req) => {
      const { r, type } = resource(req.type_name);
      const config = decodeValue(req.config as Json, type) as ObjectValue;
      return { diagnostics: diagnostics(await r.validate(config)) };
    },
    ValidateDataResourceConfig: async (req) => {
      const { d, type } = dataSource(req.type_name);
      const config = decodeValue(req.config as Json, type) as ObjectValue;
      return { diagnostics: diagnostics(await d.validate(config)) };
    },
    UpgradeResourceState: (req) => {
      const { type } = resource(req.type_name);
      const raw = req.raw_state as { json?: Buffer } | undefined;
      const state = raw?.json && raw.json.length > 0 ? JSON.parse(raw.json.toString("utf8")) : null;
      return { upgraded_state: dynamic(state, type), diagnostics: [] };
    },
    ReadResource: async (req) => {
      const { r, type } = resource(req.type_name);
      const current = decodeValue(req.current_state as Json, type) as ObjectValue | null;
      if (current === null) return { new_state: dynamic(null, type), diagnostics: [], private: req.private };
      const result = await r.read(current);
      return {
        new_state: dynamic(result.state, type),
        diagnostics: diagnostics(result.diagnostics),
        private: req.private,
      };
    },
    PlanResourceChange: (req) => {
      const { r, type } = resource(req.type_name);
      const result = r.plan({
        prior: decodeValue(req.prior_state as Json, type) as ObjectValue | null,
        proposed: decodeValue(req.proposed_new_state as Json, type) as ObjectValue | null,
        config: decodeValue(req.config as Json, type) as ObjectValue | null,
      });
      return {
        planned_state: dynamic(result.planned, type),
        requires_replace: (result.requiresReplace ?? []).map(pathMessage),
        planned_private: req.prior_private,
        diagnostics: diagnostics(result.diagnostics),
      };
    },
    ApplyResourceChange: async (req) => {
      const { r, type } = resource(req.type_name);
      const result = await r.apply({
        prior: decodeValue(req.prior_state as Json, type) as ObjectValue | null,
        planned: decodeValue(req.planned_state as Json, type) as ObjectValue | null,
        config: decodeValue(req.config as Json, type) as ObjectValue | null,
        signal,
      });
      return { new_state: dynamic(result.state, type), diagnostics: diagnostics(result.diagnostics) };
    },
    ImportResourceState: (req) => ({
      imported_resources: [],
      diagnostics: diagnostics([
        {
          severity: "error",
          summary: `${String(req.type_name)} cannot be imported`,
          detail: "It records an action that ran; create it instead, and it runs.",
        },
      ]),
    }),
    ReadDataSource: async (req) => {
      const { d, type } = dataSource(req.type_name);
      const result = await d.read(decodeValue(req.config as Json, type) as ObjectValue, signal);
      return { state: dynamic(result.state, type), diagnostics: diagnostics(result.diagnostics) };
    },
  };
  // Every failure becomes a diagnostic: Terraform shows it, where a gRPC error would read as a crash.
  return Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      async (req: Json) => {
        try {
          return await handler(req);
        } catch (error) {
          return { diagnostics: diagnostics(internalError(error)) };
        }
      },
    ]),
  );
}

/** The gRPC server with the provider, controller and stdio services, grpc-js loaded on the call. */
function createGrpcServer(definition: ProviderDefinition, aborter: AbortController, onShutdown: () => void) {
  const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
  const services = loadServices();
  const server = new grpc.Server();
  const unary = (handler: Unary): handleUnaryCall<Json, Json> => {
    return (call, callback) => {
      Promise.resolve()
        .then(() => handler(call.request))
        .then(
          (response) => callback(null, response),
          (error: unknown) =>
            callback({ code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : "" }),
        );
    };
  };
  const handlers = providerHandlers(definition, aborter.signal);
  handlers.StopProvider = () => {
    aborter.abort(new Error("Terraform asked the provider to stop"));
    return { Error: "" };
  };
  server.addService(
    services.provider,
    Object.fromEntries(Object.entries(handlers).map(([name, h]) => [name, unary(h)])),
  );
  server.addService(services.controller, {
    Shutdown: (_call: unknown, callback: sendUnaryData<Json>) => {
      onShutdown();
      callback(null, {});
    },
  });
  server.addService(services.stdio, {
    // Nothing is forwarded: the provider's stderr already reaches Terraform's log.
    StreamStdio: (call: ServerWritableStream<Json, Json>) => call.end(),
  });
  return {
    server,
    /** Terraform's automatic mTLS: our certificate, and only Terraform's client certificate accepted. */
    credentials: (clientCert: string, certificate: { keyPem: string; certPem: string }) =>
      grpc.ServerCredentials.createSsl(
        Buffer.from(clientCert),
        [{ private_key: Buffer.from(certificate.keyPem), cert_chain: Buffer.from(certificate.certPem) }],
        true,
      ),
  };
}

export interface ServeOptions {
  env?: Record<string, string | undefined>;
  /** Where the handshake line goes (stdout). */
  write?: (line: string) => void;
}

export interface RunningPlugin {
  socketDir: string;
  socketPath: string;
  /** Resolves when the plugin stopped (Shutdown, a signal, or `stop()`), its socket directory removed. */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Serves a provider as Terraform starts it: refuses to run without the magic cookie and a client
 * certificate, listens on a unix socket in a fresh 0700 directory, prints the handshake line, then loads
 * grpc-js and serves the connections (those that came meanwhile included), and stops on the controller's
 * Shutdown.
 */
export async function servePlugin(
  definition: ProviderDefinition,
  options: ServeOptions = {},
): Promise<RunningPlugin> {
  const env = options.env ?? process.env;
  if (env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    throw new PluginStartError(
      "This is the dcs-sessions Terraform provider: Terraform starts it, not a person. " +
        "Run `dcs-sessions terraform install-provider` and use it from Terraform.",
    );
  }
  const versions = (env.PLUGIN_PROTOCOL_VERSIONS ?? String(APP_PROTOCOL_VERSION)).split(",");
  if (!versions.map((v) => v.trim()).includes(String(APP_PROTOCOL_VERSION))) {
    throw new PluginStartError(
      `Terraform asks for plugin protocol ${versions.join(", ")}; this provider speaks ${APP_PROTOCOL_VERSION} (Terraform 1.0 or later)`,
    );
  }
  const clientCert = env.PLUGIN_CLIENT_CERT;
  if (!clientCert) {
    throw new PluginStartError("PLUGIN_CLIENT_CERT is not set: Terraform's automatic mTLS is required");
  }
  parseCertificate(clientCert);

  const certificate = createServerCertificate();
  const aborter = new AbortController();
  const socketDir = mkdtempSync(join(env.PLUGIN_UNIX_SOCKET_DIR || tmpdir(), "dcssessions-plugin-"));
  const socketPath = join(socketDir, "plugin.sock");
  const removeDir = () => rmSync(socketDir, { recursive: true, force: true });
  process.once("exit", removeDir);

  // The socket listens before grpc-js is loaded: Terraform waits for the handshake line, and grpc-js takes
  // longer to load than everything else before it. Connections that come first wait, paused, for it.
  const listener = createServer({ pauseOnConnect: true });
  const waiting: Socket[] = [];
  let inject: ((socket: Socket) => void) | undefined;
  listener.on("connection", (socket) => (inject ? inject(socket) : waiting.push(socket)));
  try {
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(socketPath, () => {
        listener.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    removeDir();
    throw error;
  }

  let server: Server | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= new Promise<void>((resolve) => {
      aborter.abort(new Error("the provider is shutting down"));
      listener.close();
      for (const socket of waiting.splice(0)) socket.destroy();
      const finish = () => {
        removeDir();
        process.removeListener("exit", removeDir);
        resolve();
        resolveStopped();
      };
      if (!server) return finish();
      const running = server;
      const force = setTimeout(() => running.forceShutdown(), 200);
      running.tryShutdown(() => {
        clearTimeout(force);
        finish();
      });
    });
    return stopping;
  };
  const onShutdown = () => {
    // The directory goes first: Terraform kills a provider that has not exited 2 s after Shutdown, and
    // open connections do not need the socket's name.
    removeDir();
    listener.close();
    setImmediate(() => void stop());
  };

  const line = [
    CORE_PROTOCOL_VERSION,
    APP_PROTOCOL_VERSION,
    "unix",
    socketPath,
    "grpc",
    certificate.handshakeBase64,
  ].join("|");
  (options.write ?? ((text: string) => process.stdout.write(text)))(`${line}\n`);

  // After the line (and after the caller has the handle, so a signal can stop it): grpc-js, then the
  // connections that waited for it.
  setImmediate(() => {
    if (stopping) return;
    try {
      const grpcServer = createGrpcServer(definition, aborter, onShutdown);
      const credentials = grpcServer.credentials(clientCert, certificate);
      const injector = grpcServer.server.createConnectionInjector(credentials);
      server = grpcServer.server;
      inject = (socket) => injector.injectConnection(socket);
      for (const socket of waiting.splice(0)) inject(socket);
    } catch (error) {
      process.stderr.write(
        `dcs-sessions provider: cannot serve gRPC: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      void stop();
    }
  });
  return { socketDir, socketPath, stopped, stop };
}
