/**
 * The dynamic provider behind `SessionScan` and `SessionPurge`: it translates the Pulumi lifecycle into
 * `scanSessions` / `purgeSessions`. The dynamic-provider host reaches it through `dynamicProvider(kind)`
 * (see serialized.ts); nothing here is serialized into the state.
 */
import { randomUUID } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { ApiError, CredentialsError, redact } from "../api/errors";
import { nodeWithoutIdLabel } from "../api/node-label";
import type { ClientOptions, Credentials } from "../api/types";
import { purgeSessions } from "../core/purge";
import { scanSessions } from "../core/scan";
import { secretsInEnv } from "../core/secrets";
import type { NodeSessions, PurgeOptions, PurgeReport, ScanOptions, SessionSnapshot } from "../core/types";
import { MAX_TOP_N, PURGE_OUTPUT_NAMES, SCAN_OUTPUT_NAMES } from "../core/types";
import {
  CREDENTIAL_INPUTS,
  checkInputs,
  diffInputs,
  pickInputs,
  type ResourceKind,
  type SessionPurgeInputs,
  type SessionScanInputs,
} from "./inputs";

/** The `huaweicloud:*` stack config keys the provider reads (DESIGN §3). */
export const CONFIG_KEYS = {
  region: "huaweicloud:region",
  accessKey: "huaweicloud:accessKey",
  secretKey: "huaweicloud:secretKey",
  securityToken: "huaweicloud:securityToken",
  projectId: "huaweicloud:projectId",
} as const;

export type StackConfig = Partial<Record<keyof typeof CONFIG_KEYS, string>>;

export function readStackConfig(config: { get(key: string): unknown }): StackConfig {
  const out: StackConfig = {};
  for (const [name, key] of Object.entries(CONFIG_KEYS) as [keyof StackConfig, string][]) {
    const value = config.get(key);
    if (typeof value === "string" && value !== "") out[name] = value;
    else if (typeof value === "number") out[name] = String(value);
  }
  return out;
}

/** Precedence (DESIGN §3): resource input > stack config > environment (the client reads the environment). */
export function clientOptionsFor(
  inputs: { region?: string; projectId?: string; endpoint?: string; geminidbEndpoint?: string },
  config: StackConfig,
  env: Record<string, string | undefined>,
): ClientOptions {
  let credentials: Credentials | undefined;
  if (config.accessKey !== undefined || config.secretKey !== undefined) {
    if (config.accessKey === undefined || config.secretKey === undefined) {
      const missing = config.accessKey === undefined ? CONFIG_KEYS.accessKey : CONFIG_KEYS.secretKey;
      throw new CredentialsError(
        `the stack config sets only half of an access key pair; set ${missing} too`,
        [CONFIG_KEYS.accessKey, CONFIG_KEYS.secretKey],
      );
    }
    credentials = {
      kind: "aksk",
      accessKey: config.accessKey,
      secretKey: config.secretKey,
      securityToken: config.securityToken,
    };
  }
  return {
    region: inputs.region ?? config.region,
    projectId: inputs.projectId ?? config.projectId,
    endpoint: inputs.endpoint,
    geminidbEndpoint: inputs.geminidbEndpoint,
    credentials,
    env,
  };
}

/** The named fields of a result, and nothing else. */
function pick<T extends object>(result: T, names: ReadonlyArray<keyof T>): Record<string, unknown> {
  return Object.fromEntries(names.map((name) => [name, result[name]]));
}

/**
 * A node as the state keeps it: what a user reads (its id, its sessions, its list's time) and nothing else,
 * so that the state grows by about 100 bytes a node. The role stays in the snapshot the API returns.
 */
function storedNode(n: NodeSessions): NodeSessions {
  return n.dataTime === undefined
    ? { nodeId: n.nodeId, sessions: n.sessions }
    : { nodeId: n.nodeId, sessions: n.sessions, dataTime: n.dataTime };
}

/** The scan outputs of DESIGN §5, bounded whatever the number of sessions. */
export function scanOutputs(s: SessionSnapshot): Record<string, unknown> {
  return {
    ...pick(s, SCAN_OUTPUT_NAMES),
    nodes: s.nodes.map(storedNode),
    topIdle: s.topIdle.slice(0, MAX_TOP_N),
  };
}

/** The purge outputs of DESIGN §5 (the before/after snapshots stay out of the state: they are large). */
export function purgeOutputs(r: PurgeReport): Record<string, unknown> {
  return pick(r, PURGE_OUTPUT_NAMES);
}

/** Drops `undefined` (a protobuf Struct cannot carry it) and anything that is not plain data. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** A warning in the engine's output (the host without an engine connection prints it on stderr). */
function pulumiWarning(message: string): void {
  const { log } = require("@pulumi/pulumi") as typeof pulumi;
  void log.warn(message);
}

/** Operations the provider runs; tests pass their own. */
export interface SessionOperations {
  scanSessions(options: ScanOptions): Promise<SessionSnapshot>;
  purgeSessions(options: PurgeOptions): Promise<PurgeReport>;
}

export class SessionProvider implements pulumi.dynamic.ResourceProvider {
  private config: StackConfig = {};

  constructor(
    readonly kind: ResourceKind,
    private readonly operations: SessionOperations = { scanSessions, purgeSessions },
    /** Read at call time: the host's environment when it runs the operation, never a captured copy. */
    private readonly env: () => Record<string, string | undefined> = () => process.env,
    private readonly warn: (message: string) => void = pulumiWarning,
  ) {}

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.config = readStackConfig(req.config);
  }

  async check(
    _olds: Record<string, unknown>,
    news: Record<string, unknown>,
  ): Promise<pulumi.dynamic.CheckResult> {
    return { inputs: withoutCredentials(news), failures: checkInputs(this.kind, news) };
  }

  async diff(
    _id: string,
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
  ): Promise<pulumi.dynamic.DiffResult> {
    const d = diffInputs(this.kind, olds, news);
    return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: d.deleteBeforeReplace };
  }

  async create(inputs: Record<string, unknown>): Promise<pulumi.dynamic.CreateResult> {
    const prefix = this.kind === "SessionScan" ? "scan" : "purge";
    return { id: `${prefix}-${randomUUID()}`, outs: await this.run(inputs) };
  }

  /**
   * Re-runs the operation only for a change that calls for it (`diffInputs(...).reruns`); any other change
   * (a purge's guards, timeouts, where to connect) is recorded with the previous results, without a remote call.
   */
  async update(
    _id: string,
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
  ): Promise<pulumi.dynamic.UpdateResult> {
    if (diffInputs(this.kind, olds, news).reruns.length > 0) return { outs: await this.run(news) };
    const names: ReadonlyArray<string> = this.kind === "SessionScan" ? SCAN_OUTPUT_NAMES : PURGE_OUTPUT_NAMES;
    const results = Object.fromEntries(names.filter((n) => olds[n] !== undefined).map((n) => [n, olds[n]]));
    return { outs: plain({ ...pickInputs(this.kind, news), ...results }) };
  }

  /** A refresh: a scan re-lists the cached lists without a new scan; a purge is history and stays as it is. */
  async read(id: string, props: Record<string, unknown> = {}): Promise<pulumi.dynamic.ReadResult> {
    if (this.kind === "SessionPurge") return { id, props };
    const inputs = pickInputs(this.kind, props) as SessionScanInputs;
    let gone = false;
    const snapshot = await this.guarded(() =>
      this.operations.scanSessions({ ...this.scanOptions(inputs), rescan: false }).catch((error: unknown) => {
        // The instance (or its project) is not found: keep the last counts rather than fail the refresh.
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        gone = true;
        this.warn(
          `SessionScan of ${inputs.instanceId}: refresh kept the last counts: ${redact(error.message, this.secrets())}`,
        );
        return undefined;
      }),
    );
    if (gone || snapshot === undefined) return { id, props };
    return { id, props: plain({ ...inputs, ...scanOutputs(snapshot) }) };
  }

  /** Nothing remote, ever: a scan is a reading and a purge cannot be undone. */
  async delete(): Promise<void> {}

  private async run(news: Record<string, unknown>): Promise<Record<string, unknown>> {
    const inputs = pickInputs(this.kind, news);
    if (this.kind === "SessionScan") {
      const snapshot = await this.guarded(() =>
        this.operations.scanSessions(this.scanOptions(inputs as SessionScanInputs)),
      );
      this.warnSkippedNodes((inputs as SessionScanInputs).instanceId, snapshot);
      return plain({ ...inputs, ...scanOutputs(snapshot) });
    }
    const p = inputs as SessionPurgeInputs;
    const report = await this.guarded(() =>
      this.operations.purgeSessions({
        instanceId: p.instanceId,
        engine: p.engine,
        nodeIds: p.nodeIds,
        allNodes: p.allNodes,
        dryRun: p.dryRun,
        maxSessions: p.maxSessions,
        minSessions: p.minSessions,
        maintenanceWindow: p.maintenanceWindow,
        outsideWindow: p.outsideWindow,
        verify: p.verify,
        match: p.match,
        waitTimeoutSeconds: p.waitTimeoutSeconds,
        clientOptions: clientOptionsFor(p, this.config, this.env()),
      }),
    );
    const outputs = purgeOutputs(report);
    if (report.status === "purged-unverified") {
      // The kill may have happened: record it (never throw it away, or the next `up` would kill again).
      const detail = redact(report.verificationError ?? "the kill could not be verified", this.secrets());
      outputs.verificationError = detail;
      this.warn(
        `SessionPurge of ${p.instanceId}: purged-unverified: ${detail}. The purge is recorded in the state and ` +
          "will not run again by itself; check the instance, then use triggers to purge again if needed",
      );
    }
    return plain({ ...inputs, ...outputs });
  }

  /** Nodes the scan could not name (no `node_id`): their sessions are missing from the outputs, so say so. */
  private warnSkippedNodes(instanceId: string, snapshot: SessionSnapshot): void {
    const skipped = snapshot.skippedNodes ?? [];
    if (skipped.length === 0) return;
    const names = skipped.map(nodeWithoutIdLabel).join(", ");
    this.warn(
      `SessionScan of ${instanceId}: ${skipped.length} node(s) listed without a node_id were not scanned ` +
        `(${names}); their sessions are not in totalSessions`,
    );
  }

  private scanOptions(s: SessionScanInputs): ScanOptions {
    return {
      instanceId: s.instanceId,
      engine: s.engine,
      nodeIds: s.nodeIds,
      cleanCache: s.cleanCache,
      addr: s.addr,
      topN: s.topN,
      waitTimeoutSeconds: s.waitTimeoutSeconds,
      clientOptions: clientOptionsFor(s, this.config, this.env()),
    };
  }

  private secrets(): Array<string | undefined> {
    return [this.config.secretKey, this.config.securityToken, ...secretsInEnv(this.env())];
  }

  /**
   * Runs an operation and lets its error out with every secret we know of replaced: the host prints the
   * message and the engine shows and logs it.
   */
  private async guarded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      const message = redact(error instanceof Error ? error.message : String(error), this.secrets());
      const safe = new Error(message);
      safe.name = error instanceof Error ? error.name : "Error";
      throw safe;
    }
  }
}

/**
 * The checked inputs without a credential given as an input: Check refuses it (a failure names the config
 * key to use instead), and the value must not travel further with the inputs the engine keeps.
 */
function withoutCredentials(news: Record<string, unknown>): Record<string, unknown> {
  const kept = { ...news };
  for (const key of CREDENTIAL_INPUTS) delete kept[key];
  return kept;
}

const providers = new Map<ResourceKind, SessionProvider>();

/**
 * The provider of a resource kind, one per process. This is the entry point the serialized `__provider`
 * of every existing resource calls by package name: its name and behaviour stay stable across versions.
 */
export function dynamicProvider(kind: ResourceKind): SessionProvider {
  if (kind !== "SessionScan" && kind !== "SessionPurge") {
    throw new Error(`dcs-sessions has no dynamic provider for ${String(kind)}`);
  }
  let provider = providers.get(kind);
  if (!provider) {
    provider = new SessionProvider(kind);
    providers.set(kind, provider);
  }
  return provider;
}
