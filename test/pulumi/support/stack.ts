/**
 * The engine's side of a `pulumi up` for our two resources, over the real provider host: what a test needs
 * to create, diff, update, refresh and delete them as the engine would, call by call.
 */
import { serializeProvider } from "../../../src/testing/serialize";
import type { Props, ProviderHost } from "../../../src/testing/provider-host";
import type { ResourceKind } from "../../../src/pulumi/inputs";

export interface ResourceState {
  kind: ResourceKind;
  urn: string;
  id: string;
  /** The checked inputs, `__provider` included (what the state stores as inputs). */
  inputs: Props;
  /** The outputs (what the state stores as the resource's properties). */
  outputs: Props;
}

export class Stack {
  private readonly providers = new Map<ResourceKind, string>();

  constructor(readonly host: ProviderHost) {}

  /** The `__provider` text the engine would store for this kind. */
  async provider(kind: ResourceKind): Promise<string> {
    let text = this.providers.get(kind);
    if (!text) {
      text = await serializeProvider(kind);
      this.providers.set(kind, text);
    }
    return text;
  }

  urn(kind: ResourceKind, name: string): string {
    return this.host.urn(`pulumi-nodejs:dynamic/dcs-sessions:${kind}`, name);
  }

  /** The inputs as a program registers them: the user's args plus `__provider`. */
  async news(kind: ResourceKind, args: Props): Promise<Props> {
    return { ...args, __provider: await this.provider(kind) };
  }

  /** Check then Create, failing on check failures. */
  async create(kind: ResourceKind, name: string, args: Props): Promise<ResourceState> {
    const urn = this.urn(kind, name);
    const checked = await this.host.check(urn, {}, await this.news(kind, args));
    if (checked.failures.length > 0) {
      throw new Error(`check failed: ${checked.failures.map((f) => f.reason).join("; ")}`);
    }
    const created = await this.host.create(urn, checked.inputs);
    return { kind, urn, id: created.id, inputs: checked.inputs, outputs: created.properties };
  }

  /** What a preview does for an existing resource with new args: Check, then Diff against the state. */
  async preview(state: ResourceState, args: Props) {
    const checked = await this.host.check(state.urn, state.inputs, await this.news(state.kind, args));
    const diff = await this.host.diff(state.id, state.urn, state.outputs, checked.inputs, {
      oldInputs: state.inputs,
    });
    return { checked, diff };
  }

  /** What `pulumi up` does with new args: Check, Diff, and Update only when the diff says so. */
  async up(state: ResourceState, args: Props): Promise<{ state: ResourceState; updated: boolean }> {
    const { checked, diff } = await this.preview(state, args);
    if (diff.changes === "none") return { state, updated: false };
    if (diff.replaces.length > 0)
      throw new Error(`a replacement (${diff.replaces.join(", ")}) is not an update`);
    const updated = await this.host.update(state.id, state.urn, state.outputs, checked.inputs, {
      oldInputs: state.inputs,
    });
    return { state: { ...state, inputs: checked.inputs, outputs: updated.properties }, updated: true };
  }

  /** `pulumi refresh` of one resource. */
  async refresh(state: ResourceState): Promise<ResourceState> {
    const read = await this.host.read(state.id, state.urn, state.outputs, state.inputs);
    return { ...state, id: read.id, outputs: read.properties, inputs: read.inputs ?? state.inputs };
  }

  /** `pulumi destroy` of one resource. */
  async destroy(state: ResourceState): Promise<void> {
    await this.host.delete(state.id, state.urn, state.outputs, { oldInputs: state.inputs });
  }
}
