/**
 * Runs Pulumi dynamic resources without the Pulumi CLI: starts the real dynamic-provider host shipped in
 * `@pulumi/pulumi` (`cmd/dynamic-provider`) as a child process and drives it over gRPC as the engine does
 * (Configure, Check, Diff, Create, Update, Read, Delete). Values cross as plain JavaScript; secrets are
 * `SecretValue`s and unknown (preview) values are `UNKNOWN`, on the wire exactly as the engine encodes them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import type * as grpcTypes from "@grpc/grpc-js";
import type * as provprotoTypes from "@pulumi/pulumi/proto/provider_pb";
import type * as provrpcTypes from "@pulumi/pulumi/proto/provider_grpc_pb";
import type * as structTypes from "google-protobuf/google/protobuf/struct_pb";

/** The engine's wire markers (`@pulumi/pulumi/runtime/rpc`): a secret is `{[SIG_KEY]: SECRET_SIG, value}`. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** What the engine sends for a value not known during a preview. */
export const UNKNOWN_WIRE_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** A value the engine treats as secret (`pulumi.secret(...)`, `pulumi config set --secret`). */
export class SecretValue<T = unknown> {
  constructor(readonly value: T) {}
  /** Keeps the value out of logs and test failure output. */
  toString(): string {
    return "[secret]";
  }
  toJSON(): string {
    return "[secret]";
  }
}

export function secret<T>(value: T): SecretValue<T> {
  return new SecretValue(value);
}

/** A value not known yet (an output of a resource that a preview has not created). */
export const UNKNOWN: unique symbol = Symbol("unknown");

/** Removes every `SecretValue` wrapper, deeply (to compare values in tests). */
export function reveal(value: unknown): unknown {
  if (value instanceof SecretValue) return reveal(value.value);
  if (Array.isArray(value)) return value.map(reveal);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  return value;
}

export function containsSecret(value: unknown): boolean {
  if (value instanceof SecretValue) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (isPlainObject(value)) return Object.values(value).some(containsSecret);
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof SecretValue)
  );
}

/** Plain JS → the JSON the host's `Struct.toJavaScript()` will see. `keepSecrets: false` sends them bare. */
export function toWire(value: unknown, keepSecrets: boolean): unknown {
  if (value === UNKNOWN) return UNKNOWN_WIRE_VALUE;
  if (value instanceof SecretValue) {
    const inner = toWire(value.value, keepSecrets);
    return keepSecrets ? { [SIG_KEY]: SECRET_SIG, value: inner } : inner;
  }
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toWire(v, keepSecrets)));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v, keepSecrets);
    return out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError(`a property value cannot be ${String(value)}`);
  }
  return value;
}

/** The JSON the host answered → plain JS with `SecretValue` and `UNKNOWN` restored. */
export function fromWire(value: unknown): unknown {
  if (value === UNKNOWN_WIRE_VALUE) return UNKNOWN;
  if (Array.isArray(value)) return value.map(fromWire);
  if (isPlainObject(value)) {
    if (value[SIG_KEY] === SECRET_SIG) return new SecretValue(fromWire(value.value));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromWire(v)]));
  }
  return value;
}

/**
 * What the engine does when a provider does not accept secrets: every output whose input of the same name
 * held a secret becomes secret (recursing into objects present on both sides).
 */
export function annotateSecrets(
  outs: Record<string, unknown>,
  ins: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...outs };
  for (const [key, out] of Object.entries(outs)) {
    if (!(key in ins)) continue;
    const input = ins[key];
    if (isPlainObject(out) && isPlainObject(input)) result[key] = annotateSecrets(out, input);
    else if (containsSecret(input) && !(out instanceof SecretValue)) result[key] = new SecretValue(out);
  }
  return result;
}

export type Props = Record<string, unknown>;

export interface CheckFailure {
  property: string;
  reason: string;
}

export interface CheckResult {
  inputs: Props;
  failures: CheckFailure[];
}

export interface DiffResult {
  changes: "none" | "some" | "unknown";
  replaces: string[];
  stables: string[];
  deleteBeforeReplace: boolean;
}

export interface ConfigureResult {
  acceptSecrets: boolean;
  supportsPreview: boolean;
}

/** A gRPC call to the host failed: `details` is the provider's error message. */
export class ProviderHostError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly details: string,
  ) {
    super(`${method} failed: ${details}`);
    this.name = "ProviderHostError";
  }
}

export interface ProviderHostOptions {
  /**
   * The project folder: the host runs there and resolves `require(...)` of the serialized providers from its
   * `node_modules`, as under `pulumi up`. Default `process.cwd()`.
   */
  cwd?: string;
  /** The host's environment (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Project and stack names used to build URNs (default `project`, `dev`). */
  project?: string;
  stack?: string;
  /** How long to wait for the host to print its port (default 30 000 ms). */
  startTimeoutMs?: number;
}

export interface ProviderHost {
  /** The host's gRPC port on 127.0.0.1. */
  readonly port: number;
  /** The host's process id. */
  readonly pid: number;
  /** The host's stdout (after the port line) and stderr, line by line, as the engine would log them. */
  readonly logs: string[];
  /**
   * Resolves with the first log line (already seen or still to come) that matches; rejects after
   * `timeoutMs` (default 5 000). Output reaches us through a pipe, after the gRPC answer that caused it.
   */
  waitForLog(match: string | RegExp, timeoutMs?: number): Promise<string>;
  /** A URN as the engine builds it for a resource of this type and name. */
  urn(type: string, name: string): string;
  /**
   * The stack's config, keys with their namespace (`huaweicloud:region`); `SecretValue` for `--secret` ones.
   * Call it first, once, as the engine does; a resource call made before it configures with no config.
   */
  configure(config: Props): Promise<ConfigureResult>;
  check(urn: string, olds: Props, news: Props): Promise<CheckResult>;
  /** `olds` are the resource's current outputs (its state), `news` the checked inputs. */
  diff(
    id: string,
    urn: string,
    olds: Props,
    news: Props,
    options?: { oldInputs?: Props },
  ): Promise<DiffResult>;
  /**
   * With `preview: true` the engine only calls a provider that declared preview support in Configure; the
   * dynamic-provider host does not, so like the engine this returns the inputs without calling it.
   * `timeoutSeconds` is the request's `timeout`, where the engine puts a resource's `customTimeouts`
   * (create or update) in seconds.
   */
  create(
    urn: string,
    props: Props,
    options?: { preview?: boolean; timeoutSeconds?: number },
  ): Promise<{ id: string; properties: Props }>;
  update(
    id: string,
    urn: string,
    olds: Props,
    news: Props,
    options?: { preview?: boolean; oldInputs?: Props; timeoutSeconds?: number },
  ): Promise<{ properties: Props }>;
  /** A refresh: `props` are the current outputs, `inputs` the current inputs. */
  read(
    id: string,
    urn: string,
    props: Props,
    inputs?: Props,
  ): Promise<{ id: string; properties: Props; inputs?: Props }>;
  delete(id: string, urn: string, props: Props, options?: { oldInputs?: Props }): Promise<void>;
  /** Closes the channel, stops the host and waits for it to exit. Safe to call twice. */
  close(): Promise<void>;
}

interface Modules {
  grpc: typeof grpcTypes;
  provproto: typeof provprotoTypes;
  provrpc: typeof provrpcTypes;
  Struct: typeof structTypes.Struct;
}

/**
 * The gRPC and protobuf modules that `@pulumi/pulumi` itself uses (resolved from its folder), so the
 * messages we build are the classes its generated code serializes.
 */
function loadModules(cwd: string): Modules {
  const pulumiPackage = resolveFrom(cwd, "@pulumi/pulumi/package.json");
  const fromPulumi = createRequire(pulumiPackage);
  return {
    grpc: fromPulumi("@grpc/grpc-js") as typeof grpcTypes,
    provproto: fromPulumi("./proto/provider_pb") as typeof provprotoTypes,
    provrpc: fromPulumi("./proto/provider_grpc_pb") as typeof provrpcTypes,
    Struct: (fromPulumi("google-protobuf/google/protobuf/struct_pb") as typeof structTypes).Struct,
  };
}

/** Resolves from the project folder first (the user's install), then from this package. */
function resolveFrom(cwd: string, request: string): string {
  try {
    return require.resolve(request, { paths: [cwd] });
  } catch {
    return require.resolve(request);
  }
}

/** The host script the engine runs for `pulumi-nodejs` dynamic resources. */
export function dynamicProviderHostPath(cwd: string = process.cwd()): string {
  return resolveFrom(cwd, "@pulumi/pulumi/cmd/dynamic-provider/index.js");
}

/** Starts the host, waits for its port, and returns a driver. Always `close()` it. */
export async function startProviderHost(options: ProviderHostOptions = {}): Promise<ProviderHost> {
  const cwd = options.cwd ?? process.cwd();
  const modules = loadModules(cwd);
  const hostPath = dynamicProviderHostPath(cwd);
  // The host requires an engine address argument but never dials it: logs go to its stdout/stderr, which
  // the engine captures, and so do we.
  const child = spawn(process.execPath, [hostPath, "127.0.0.1:0"], {
    cwd,
    env: { ...(options.env ?? process.env) } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs = new LogBook();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let port: number;
  try {
    port = await readPort(child, logs, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    throw error;
  }
  return new HostDriver(
    modules,
    child,
    exited,
    port,
    logs,
    options.project ?? "project",
    options.stack ?? "dev",
  );
}

/** The host's output lines, telling listeners about each one as it arrives. */
class LogBook {
  readonly lines: string[] = [];
  private readonly listeners = new Set<(line: string) => void>();
  add(line: string): void {
    this.lines.push(line);
    for (const listener of this.listeners) listener(line);
  }
  listen(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function readPort(child: ChildProcess, logs: LogBook, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdoutBuffer = "";
    let stderrBuffer = "";
    let port: number | undefined;
    const fail = (message: string): void => {
      clearTimeout(timer);
      reject(new Error(`${message}${logs.lines.length ? `; host output:\n${logs.lines.join("\n")}` : ""}`));
    };
    const timer = setTimeout(
      () => fail(`the dynamic-provider host printed no port within ${timeoutMs} ms`),
      timeoutMs,
    );
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdoutBuffer += chunk;
      let newline: number;
      while ((newline = stdoutBuffer.indexOf("\n")) >= 0) {
        const line = stdoutBuffer.slice(0, newline).trimEnd();
        stdoutBuffer = stdoutBuffer.slice(newline + 1);
        if (port === undefined && /^\d+$/.test(line)) {
          port = Number(line);
          clearTimeout(timer);
          resolve(port);
        } else if (line) logs.add(line);
      }
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderrBuffer += chunk;
      const lines = stderrBuffer.split("\n");
      stderrBuffer = lines.pop() ?? "";
      for (const line of lines) if (line.trimEnd()) logs.add(line.trimEnd());
    });
    child.once("error", (error) => fail(`the dynamic-provider host did not start: ${error.message}`));
    child.once("exit", (code, signal) => {
      if (stderrBuffer.trim()) logs.add(stderrBuffer.trimEnd());
      if (port === undefined)
        fail(`the dynamic-provider host exited (${signal ?? `code ${code}`}) before printing its port`);
    });
  });
}

type Unary<Req, Res> = (
  request: Req,
  callback: (error: grpcTypes.ServiceError | null, response: Res) => void,
) => unknown;

class HostDriver implements ProviderHost {
  private readonly client: provrpcTypes.ResourceProviderClient;
  private acceptSecrets = false;
  private configured?: Promise<ConfigureResult>;
  private supportsPreview = false;
  private closed = false;

  constructor(
    private readonly m: Modules,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
    readonly port: number,
    private readonly book: LogBook,
    private readonly project: string,
    private readonly stack: string,
  ) {
    this.client = new m.provrpc.ResourceProviderClient(
      `127.0.0.1:${port}`,
      m.grpc.credentials.createInsecure(),
    );
  }

  get logs(): string[] {
    return this.book.lines;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  waitForLog(match: string | RegExp, timeoutMs = 5000): Promise<string> {
    const matches = (line: string): boolean =>
      typeof match === "string" ? line.includes(match) : match.test(line);
    const seen = this.logs.find(matches);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const stop = this.book.listen((line) => {
        if (!matches(line)) return;
        clearTimeout(timer);
        stop();
        resolve(line);
      });
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no host log line matched ${String(match)} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  urn(type: string, name: string): string {
    return `urn:pulumi:${this.stack}::${this.project}::${type}::${name}`;
  }

  configure(config: Props): Promise<ConfigureResult> {
    this.configured = this.sendConfigure(config);
    return this.configured;
  }

  /** The engine never calls a resource method of an unconfigured provider (the host would fail on it). */
  private ensureConfigured(): Promise<ConfigureResult> {
    return this.configured ?? this.configure({});
  }

  private async sendConfigure(config: Props): Promise<ConfigureResult> {
    const request = new this.m.provproto.ConfigureRequest();
    const variables = request.getVariablesMap();
    for (const [key, value] of Object.entries(config)) {
      if (value === undefined) continue;
      const plain = reveal(value);
      variables.set(key, typeof plain === "string" ? plain : JSON.stringify(plain));
    }
    request.setArgs(this.struct(config, true));
    request.setAcceptsecrets(true);
    request.setAcceptresources(true);
    request.setSendsOldInputs(true);
    request.setSendsOldInputsToDelete(true);
    // The provider's own URN, name and type are fields that 3.139's ConfigureRequest (the lowest SDK we support)
    // does not have yet; its engine sent none, so they are set only where the message has them.
    const named = request as Partial<Record<"setUrn" | "setName" | "setType", (value: string) => unknown>>;
    named.setUrn?.call(request, this.urn("pulumi:providers:pulumi-nodejs", "default"));
    named.setName?.call(request, "default");
    named.setType?.call(request, "pulumi:providers:pulumi-nodejs");
    const response = await this.call<provprotoTypes.ConfigureRequest, provprotoTypes.ConfigureResponse>(
      "Configure",
      this.client.configure,
      request,
    );
    this.acceptSecrets = response.getAcceptsecrets();
    this.supportsPreview = response.getSupportspreview();
    return { acceptSecrets: this.acceptSecrets, supportsPreview: this.supportsPreview };
  }

  async check(urn: string, olds: Props, news: Props): Promise<CheckResult> {
    await this.ensureConfigured();
    const request = new this.m.provproto.CheckRequest();
    this.name(request, urn);
    request.setOlds(this.struct(olds));
    request.setNews(this.struct(news));
    request.setRandomseed(randomBytes(32));
    const response = await this.call<provprotoTypes.CheckRequest, provprotoTypes.CheckResponse>(
      "Check",
      this.client.check,
      request,
    );
    return {
      inputs: annotateSecrets(this.props(response.getInputs()), news),
      failures: response.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(
    id: string,
    urn: string,
    olds: Props,
    news: Props,
    options: { oldInputs?: Props } = {},
  ): Promise<DiffResult> {
    await this.ensureConfigured();
    const request = new this.m.provproto.DiffRequest();
    this.name(request, urn);
    request.setId(id);
    request.setOlds(this.struct(olds));
    request.setNews(this.struct(news));
    if (options.oldInputs) request.setOldInputs(this.struct(options.oldInputs));
    const response = await this.call<provprotoTypes.DiffRequest, provprotoTypes.DiffResponse>(
      "Diff",
      this.client.diff,
      request,
    );
    const kinds = this.m.provproto.DiffResponse.DiffChanges;
    const changes = response.getChanges();
    return {
      changes: changes === kinds.DIFF_SOME ? "some" : changes === kinds.DIFF_NONE ? "none" : "unknown",
      replaces: response.getReplacesList(),
      stables: response.getStablesList(),
      deleteBeforeReplace: response.getDeletebeforereplace(),
    };
  }

  async create(
    urn: string,
    props: Props,
    options: { preview?: boolean; timeoutSeconds?: number } = {},
  ): Promise<{ id: string; properties: Props }> {
    await this.ensureConfigured();
    if (options.preview && !this.supportsPreview) return { id: "", properties: props };
    const request = new this.m.provproto.CreateRequest();
    this.name(request, urn);
    request.setProperties(this.struct(props));
    request.setPreview(options.preview ?? false);
    if (options.timeoutSeconds !== undefined) request.setTimeout(options.timeoutSeconds);
    const response = await this.call<provprotoTypes.CreateRequest, provprotoTypes.CreateResponse>(
      "Create",
      this.client.create,
      request,
    );
    return { id: response.getId(), properties: annotateSecrets(this.props(response.getProperties()), props) };
  }

  async update(
    id: string,
    urn: string,
    olds: Props,
    news: Props,
    options: { preview?: boolean; oldInputs?: Props; timeoutSeconds?: number } = {},
  ): Promise<{ properties: Props }> {
    await this.ensureConfigured();
    if (options.preview && !this.supportsPreview) return { properties: news };
    const request = new this.m.provproto.UpdateRequest();
    this.name(request, urn);
    request.setId(id);
    request.setOlds(this.struct(olds));
    request.setNews(this.struct(news));
    if (options.oldInputs) request.setOldInputs(this.struct(options.oldInputs));
    request.setPreview(options.preview ?? false);
    if (options.timeoutSeconds !== undefined) request.setTimeout(options.timeoutSeconds);
    const response = await this.call<provprotoTypes.UpdateRequest, provprotoTypes.UpdateResponse>(
      "Update",
      this.client.update,
      request,
    );
    return { properties: annotateSecrets(this.props(response.getProperties()), news) };
  }

  async read(
    id: string,
    urn: string,
    props: Props,
    inputs?: Props,
  ): Promise<{ id: string; properties: Props; inputs?: Props }> {
    await this.ensureConfigured();
    const request = new this.m.provproto.ReadRequest();
    this.name(request, urn);
    request.setId(id);
    request.setProperties(this.struct(props));
    if (inputs) request.setInputs(this.struct(inputs));
    const response = await this.call<provprotoTypes.ReadRequest, provprotoTypes.ReadResponse>(
      "Read",
      this.client.read,
      request,
    );
    const returnedInputs = response.getInputs();
    return {
      id: response.getId(),
      properties: annotateSecrets(this.props(response.getProperties()), props),
      inputs: returnedInputs ? annotateSecrets(this.props(returnedInputs), inputs ?? {}) : undefined,
    };
  }

  async delete(id: string, urn: string, props: Props, options: { oldInputs?: Props } = {}): Promise<void> {
    await this.ensureConfigured();
    const request = new this.m.provproto.DeleteRequest();
    this.name(request, urn);
    request.setId(id);
    request.setProperties(this.struct(props));
    if (options.oldInputs) request.setOldInputs(this.struct(options.oldInputs));
    await this.call("Delete", this.client.delete, request);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      const killer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
      await this.exited;
      clearTimeout(killer);
    }
  }

  /** Sets the URN and the name and type the engine derives from it. */
  private name(
    request: { setUrn(v: string): unknown; setName(v: string): unknown; setType(v: string): unknown },
    urn: string,
  ): void {
    request.setUrn(urn);
    const parts = urn.split("::");
    request.setType(parts[2] ?? "");
    request.setName(parts[3] ?? "");
  }

  /** Secrets stay marked only when the host said it accepts them (or for Configure, which always does). */
  private struct(props: Props, keepSecrets = this.acceptSecrets): structTypes.Struct {
    return this.m.Struct.fromJavaScript(
      toWire(props, keepSecrets) as Record<string, structTypes.JavaScriptValue>,
    );
  }

  private props(struct: structTypes.Struct | undefined): Props {
    return struct ? (fromWire(struct.toJavaScript()) as Props) : {};
  }

  private call<Req, Res>(method: string, fn: Unary<Req, Res>, request: Req): Promise<Res> {
    if (this.closed) return Promise.reject(new Error(`${method}: the provider host is closed`));
    return new Promise((resolve, reject) => {
      fn.call(this.client, request, (error, response) => {
        if (error) reject(new ProviderHostError(method, error.code, error.details || error.message));
        else resolve(response);
      });
    });
  }
}
