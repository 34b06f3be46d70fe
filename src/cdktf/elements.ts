/**
 * The provider block, data source and resource of the `dcs-sessions/dcssessions` Terraform provider, as
 * subclasses of the core `TerraformProvider` / `TerraformDataSource` / `TerraformResource` of whichever CDK
 * library (cdktf or cdktn) the stack was built with: one set of classes per library module.
 *
 * Attributes are declared once with their Terraform type, and synthesized both as JSON (the default) and as
 * HCL (`new App({ hclOutput: true })`).
 */
import type { Construct } from "constructs";
import type { CdkLibrary } from "./library";
import { PROVIDER_NAME, PROVIDER_SOURCE, PROVIDER_VERSION } from "./names";

export type AttributeKind = "string" | "number" | "boolean" | "stringList" | "numberList" | "stringMap";

/** One attribute: its Terraform type and its value (a literal or a token). */
export interface Attribute {
  kind: AttributeKind;
  value: unknown;
}

/** A nested block (`maintenance_window`, `match`): attributes of its own. */
export interface Block {
  kind: "block";
  attributes: Attributes;
}

export type Attributes = Record<string, Attribute | Block>;

/**
 * The JSON form. A map's keys are the user's (`triggers`), so the map travels as a lazy value: cdktf turns
 * every key of a plain object into snake_case, which would rename them.
 */
function jsonAttributes(lib: CdkLibrary, attributes: Attributes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, attribute] of Object.entries(attributes)) {
    if (attribute.kind === "block") out[name] = jsonAttributes(lib, attribute.attributes);
    else if (attribute.value === undefined) continue;
    else if (attribute.kind === "stringMap" && !lib.Token.isUnresolved(attribute.value)) {
      const map = attribute.value;
      out[name] = lib.Lazy.anyValue({ produce: () => map });
    } else out[name] = attribute.value;
  }
  return out;
}

/** The HCL form: each attribute with its type, as cdktf's HCL renderer expects. */
function hclAttributes(lib: CdkLibrary, attributes: Attributes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, attribute] of Object.entries(attributes)) {
    if (attribute.kind === "block") {
      const value = hclAttributes(lib, attribute.attributes);
      out[name] = { value, isBlock: true, type: "list", storageClassType: `${name}List` };
      continue;
    }
    if (attribute.value === undefined) continue;
    const value = attribute.value as never;
    switch (attribute.kind) {
      case "string":
        out[name] = simple(lib.stringToHclTerraform(value), "string");
        break;
      case "number":
        out[name] = simple(lib.numberToHclTerraform(value), "number");
        break;
      case "boolean":
        out[name] = simple(lib.booleanToHclTerraform(value), "boolean");
        break;
      case "stringList":
        out[name] = list(lib.listMapperHcl(lib.stringToHclTerraform, false)(value), "stringList");
        break;
      case "numberList":
        out[name] = list(lib.listMapperHcl(lib.numberToHclTerraform, false)(value), "numberList");
        break;
      case "stringMap": {
        const map = lib.hashMapperHcl(lib.stringToHclTerraform)(value) as unknown;
        const lazy = lib.Token.isUnresolved(map) ? map : lib.Lazy.anyValue({ produce: () => map });
        out[name] = { value: lazy, isBlock: false, type: "map", storageClassType: "stringMap" };
        break;
      }
    }
  }
  return out;
}

const simple = (value: unknown, storageClassType: string) => ({
  value,
  isBlock: false,
  type: "simple",
  storageClassType,
});
const list = (value: unknown, storageClassType: string) => ({
  value,
  isBlock: false,
  type: "list",
  storageClassType,
});

/** Terraform meta-arguments of a data source or resource. */
export interface ElementConfig {
  provider?: InstanceType<CdkLibrary["TerraformProvider"]>;
  dependsOn?: Array<{ readonly fqn: string }>;
}

export interface ElementClasses {
  Provider: new (scope: Construct, id: string, attributes: Attributes, alias?: string) => ProviderElement;
  DataSource: new (
    scope: Construct,
    id: string,
    type: string,
    attributes: Attributes,
    config: ElementConfig,
  ) => DataSourceElement;
  Resource: new (
    scope: Construct,
    id: string,
    type: string,
    attributes: Attributes,
    config: ElementConfig,
  ) => ResourceElement;
}

export type ProviderElement = InstanceType<CdkLibrary["TerraformProvider"]>;
export type DataSourceElement = InstanceType<CdkLibrary["TerraformDataSource"]>;
export type ResourceElement = InstanceType<CdkLibrary["TerraformResource"]>;

const classesByLibrary = new WeakMap<CdkLibrary, ElementClasses>();

/** The three element classes, built on `lib`'s core classes (once per library module). */
export function elementClassesOf(lib: CdkLibrary): ElementClasses {
  const existing = classesByLibrary.get(lib);
  if (existing) return existing;
  const metadata = { providerName: PROVIDER_NAME, providerVersion: PROVIDER_VERSION };

  class Provider extends lib.TerraformProvider {
    private _alias?: string;

    constructor(
      scope: Construct,
      id: string,
      private readonly attributes: Attributes,
      alias?: string,
    ) {
      super(scope, id, {
        terraformResourceType: PROVIDER_NAME,
        terraformGeneratorMetadata: metadata,
        terraformProviderSource: PROVIDER_SOURCE,
      });
      this._alias = alias;
    }

    override get alias(): string | undefined {
      return this._alias;
    }

    override set alias(value: string | undefined) {
      this._alias = value;
    }

    protected override synthesizeAttributes(): Record<string, unknown> {
      return jsonAttributes(lib, this.attributes);
    }

    protected override synthesizeHclAttributes(): Record<string, unknown> {
      return hclAttributes(lib, this.attributes);
    }
  }

  class DataSource extends lib.TerraformDataSource {
    constructor(
      scope: Construct,
      id: string,
      type: string,
      private readonly attributes: Attributes,
      config: ElementConfig,
    ) {
      super(scope, id, { terraformResourceType: type, terraformGeneratorMetadata: metadata, ...config });
    }

    protected override synthesizeAttributes(): Record<string, unknown> {
      return jsonAttributes(lib, this.attributes);
    }

    protected override synthesizeHclAttributes(): Record<string, unknown> {
      return hclAttributes(lib, this.attributes);
    }
  }

  class Resource extends lib.TerraformResource {
    constructor(
      scope: Construct,
      id: string,
      type: string,
      private readonly attributes: Attributes,
      config: ElementConfig,
    ) {
      super(scope, id, { terraformResourceType: type, terraformGeneratorMetadata: metadata, ...config });
    }

    protected override synthesizeAttributes(): Record<string, unknown> {
      return jsonAttributes(lib, this.attributes);
    }

    protected override synthesizeHclAttributes(): Record<string, unknown> {
      return hclAttributes(lib, this.attributes);
    }
  }

  const classes: ElementClasses = { Provider, DataSource, Resource };
  classesByLibrary.set(lib, classes);
  return classes;
}
