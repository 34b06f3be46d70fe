/**
 * What a provider written above the protocol layer implements: plain values in, plain values and
 * diagnostics out. The layer below (server.ts) does the gRPC, the msgpack and the schema shapes.
 */
import type { BlockSpec } from "./schema";
import type { ObjectValue } from "./values";

/** A step of an attribute path: an attribute name, a list index, or a map key (`{ key }`). */
export type PathStep = string | number | { key: string };

export interface Diagnostic {
  severity: "error" | "warning";
  summary: string;
  detail?: string;
  /** The attribute the diagnostic is about. */
  path?: PathStep[];
}

export interface PlanRequest {
  /** Null on create. */
  prior: ObjectValue | null;
  /** Null on destroy. */
  proposed: ObjectValue | null;
  config: ObjectValue | null;
}

export interface PlanResult {
  planned: ObjectValue | null;
  requiresReplace?: PathStep[][];
  diagnostics?: Diagnostic[];
}

export interface ApplyRequest {
  prior: ObjectValue | null;
  /** Null on destroy. */
  planned: ObjectValue | null;
  config: ObjectValue | null;
  signal: AbortSignal;
}

export interface StateResult {
  /** Null when nothing is to be recorded (a failed create, a destroy). */
  state: ObjectValue | null;
  diagnostics?: Diagnostic[];
}

export interface ResourceDefinition {
  schema: BlockSpec;
  validate(config: ObjectValue): Promise<Diagnostic[]>;
  plan(request: PlanRequest): PlanResult;
  apply(request: ApplyRequest): Promise<StateResult>;
  /** A refresh. */
  read(state: ObjectValue): Promise<StateResult>;
}

export interface DataSourceDefinition {
  schema: BlockSpec;
  validate(config: ObjectValue): Promise<Diagnostic[]>;
  read(config: ObjectValue, signal: AbortSignal): Promise<StateResult>;
}

export interface ProviderDefinition {
  schema: BlockSpec;
  validate(config: ObjectValue): Promise<Diagnostic[]>;
  configure(config: ObjectValue): Promise<Diagnostic[]>;
  resources: Record<string, ResourceDefinition>;
  dataSources: Record<string, DataSourceDefinition>;
}
