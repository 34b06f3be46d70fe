/**
 * Schemas as the provider's definitions write them, their value types, and their protocol form. A nested
 * block is `single` (at most one, an object or null) or `list` (a list of objects).
 */
import type { ValueType } from "./values";

export interface AttributeSpec {
  type: ValueType;
  description: string;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  sensitive?: boolean;
}

export interface BlockSpec {
  description?: string;
  attributes: Record<string, AttributeSpec>;
  blocks?: Record<string, NestedBlockSpec>;
}

export interface NestedBlockSpec {
  nesting: "single" | "list";
  block: BlockSpec;
  maxItems?: number;
}

/** The value type of a block: an object of its attributes and nested blocks. */
export function blockType(block: BlockSpec): ValueType {
  const fields: Record<string, ValueType> = {};
  for (const [name, attribute] of Object.entries(block.attributes)) fields[name] = attribute.type;
  for (const [name, nested] of Object.entries(block.blocks ?? {})) {
    const inner = blockType(nested.block);
    fields[name] = nested.nesting === "single" ? inner : ["list", inner];
  }
  return ["object", fields];
}

const NESTING = { single: 1, list: 2 } as const;

/** The protocol's `Schema.Block` (plain object for the protobuf encoder). */
export function blockMessage(block: BlockSpec): Record<string, unknown> {
  return {
    version: 0,
    description: block.description ?? "",
    description_kind: 0,
    attributes: Object.entries(block.attributes).map(([name, a]) => ({
      name,
      type: Buffer.from(JSON.stringify(a.type)),
      description: a.description,
      required: a.required === true,
      optional: a.optional === true,
      computed: a.computed === true,
      sensitive: a.sensitive === true,
    })),
    block_types: Object.entries(block.blocks ?? {}).map(([name, nested]) => ({
      type_name: name,
      block: blockMessage(nested.block),
      nesting: NESTING[nested.nesting],
      min_items: 0,
      max_items: nested.maxItems ?? 0,
    })),
  };
}

export function schemaMessage(block: BlockSpec, version = 0): Record<string, unknown> {
  return { version, block: blockMessage(block) };
}
