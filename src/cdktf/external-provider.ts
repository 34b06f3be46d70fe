/**
 * The `hashicorp/external` provider and its `external` data source, declared with cdktf's own core classes:
 * the prebuilt `@cdktf/provider-*` packages are archived, and a generated binding would be a second copy.
 */
import {
  TerraformDataSource,
  TerraformProvider,
  TerraformStack,
  hashMapperHcl,
  listMapperHcl,
  stringToHclTerraform,
} from "cdktf";
import type { ITerraformDependable } from "cdktf";
import type { Construct } from "constructs";

export const EXTERNAL_PROVIDER_SOURCE = "hashicorp/external";
export const EXTERNAL_PROVIDER_VERSION = "~> 2.3";
const PROVIDER_ID = "dcs-sessions-external-provider";

export interface ExternalProviderConfig {
  /** A provider alias, for a second configuration of `external` in one stack. */
  readonly alias?: string;
}

export class ExternalProvider extends TerraformProvider {
  private _alias?: string;

  constructor(scope: Construct, id: string, config: ExternalProviderConfig = {}) {
    super(scope, id, {
      terraformResourceType: "external",
      terraformGeneratorMetadata: {
        providerName: "external",
        providerVersionConstraint: EXTERNAL_PROVIDER_VERSION,
      },
      terraformProviderSource: EXTERNAL_PROVIDER_SOURCE,
    });
    this._alias = config.alias;
  }

  override get alias(): string | undefined {
    return this._alias;
  }

  override set alias(value: string | undefined) {
    this._alias = value;
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return this._alias === undefined ? {} : { alias: this._alias };
  }

  protected override synthesizeHclAttributes(): Record<string, unknown> {
    return this._alias === undefined ? {} : { alias: stringToHclTerraform(this._alias) };
  }
}

/** One provider block per stack, shared by every SessionScan in it (Terraform rejects duplicates). */
export function externalProviderOf(scope: Construct): TerraformProvider {
  const stack = TerraformStack.of(scope);
  const existing = stack.node.tryFindChild(PROVIDER_ID);
  return existing instanceof TerraformProvider ? existing : new ExternalProvider(stack, PROVIDER_ID);
}

export interface ExternalDataConfig {
  /** argv of the program; Terraform runs it without a shell. */
  program: string[];
  /** The query: a map of strings written to the program's stdin as JSON. */
  query: Record<string, string>;
  provider: TerraformProvider;
  dependsOn?: ITerraformDependable[];
}

/** `data "external"`: Terraform runs `program` at plan time (or at apply, when it depends on a change). */
export class ExternalData extends TerraformDataSource {
  private readonly program: string[];
  private readonly query: Record<string, string>;

  constructor(scope: Construct, id: string, config: ExternalDataConfig) {
    super(scope, id, {
      terraformResourceType: "external",
      terraformGeneratorMetadata: { providerName: "external" },
      provider: config.provider,
      dependsOn: config.dependsOn,
    });
    this.program = config.program;
    this.query = config.query;
  }

  /** A string of the program's result (all values are strings in the protocol). */
  resultString(key: string): string {
    return this.getStringAttribute(`result.${key}`);
  }

  /** A number of the program's result; Terraform converts the string. */
  resultNumber(key: string): number {
    return this.getNumberAttribute(`result.${key}`);
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { program: this.program, query: this.query };
  }

  protected override synthesizeHclAttributes(): Record<string, unknown> {
    return {
      program: listMapperHcl(stringToHclTerraform, false)(this.program),
      query: hashMapperHcl(stringToHclTerraform)(this.query),
    };
  }
}
