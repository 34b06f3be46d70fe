/**
 * The shapes the constructs' public API speaks in, written structurally so that the declarations import
 * neither cdktf nor cdktn: a project with only one of them type-checks against either.
 */

/** Anything a `dependsOn` can name (a cdktf/cdktn resource, data source, module, or one of these constructs). */
export interface Dependable {
  readonly fqn: string;
}

/** A synthesized Terraform element (cdktf's `TerraformElement`): for escape hatches such as `addOverride`. */
export interface TerraformElementHandle {
  readonly fqn: string;
  readonly friendlyUniqueId: string;
  addOverride(path: string, value: unknown): void;
}

/** A value Terraform computes (cdktf's `IResolvable`): pass it to a `TerraformOutput` or another attribute. */
export interface Resolvable {
  readonly creationStack: string[];
  resolve(context: unknown): unknown;
  toString(): string;
}

/** A node of a scan, as attribute tokens (strings and numbers Terraform fills in). */
export interface ScanNodeAttributes {
  readonly nodeId: string;
  readonly role: string;
  readonly sessions: number;
  readonly dataTime: string;
}

/** A node of a purge, as attribute tokens. */
export interface PurgeNodeAttributes {
  readonly nodeId: string;
  readonly before: number;
  /** Null in the state when no after snapshot was taken. */
  readonly after: number;
  /** A selective purge: the node's sessions the match selected (null otherwise). */
  readonly matched: number;
}
