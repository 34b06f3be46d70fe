/**
 * `DcsSessionsProvider`: the `provider "dcssessions"` block. Only where to connect is a prop; credentials
 * are read by the provider from Terraform's environment (DESIGN §3), so none is ever synthesized.
 */
import { Construct } from "constructs";
import { elementClassesOf } from "./elements";
import { PROVIDER_NAME } from "./names";
import { libraryOf } from "./library";
import type { TerraformElementHandle } from "./types";
import { checkProviderProps } from "./validate";

export interface DcsSessionsProviderProps {
  /** Region, e.g. `eu-west-101`; default `HW_REGION_NAME` (or `HUAWEICLOUD_SDK_REGION`) in Terraform's environment. */
  readonly region?: string;
  /** Project id; default `HW_PROJECT_ID` (or `HUAWEICLOUD_SDK_PROJECT_ID`). */
  readonly projectId?: string;
  /** DCS endpoint override (https, or http on loopback); default `HW_DCS_ENDPOINT`, else from the region. */
  readonly endpoint?: string;
  /** GeminiDB endpoint override; default `HW_GEMINIDB_ENDPOINT`, else from the region. */
  readonly geminidbEndpoint?: string;
  /** A provider alias, for a second configuration in one stack (pass the construct as a scan's `provider`). */
  readonly alias?: string;
}

/** The id of the provider block the constructs add to a stack that has none. */
export const DEFAULT_PROVIDER_ID = "dcssessions-default-provider";

export class DcsSessionsProvider extends Construct {
  /** The `TerraformProvider` element (the `provider "dcssessions"` block). */
  readonly provider: TerraformElementHandle;
  readonly alias?: string;

  constructor(scope: Construct, id: string, props: DcsSessionsProviderProps = {}) {
    super(scope, id);
    const lib = libraryOf(this);
    checkProviderProps(props, lib);
    const stack = lib.TerraformStack.of(this);
    // A default block added for an earlier scan or purge gives way to the user's own (two unaliased blocks
    // would be a duplicate provider configuration); the constructs never reference it by name.
    const fallback = stack.node.tryFindChild(DEFAULT_PROVIDER_ID);
    if (props.alias === undefined && fallback !== undefined && fallback !== this) {
      stack.node.tryRemoveChild(DEFAULT_PROVIDER_ID);
    }
    const { Provider } = elementClassesOf(lib);
    this.provider = new Provider(
      this,
      "provider",
      {
        region: { kind: "string", value: props.region },
        project_id: { kind: "string", value: props.projectId },
        endpoint: { kind: "string", value: props.endpoint },
        geminidb_endpoint: { kind: "string", value: props.geminidbEndpoint },
      },
      props.alias,
    );
    this.alias = props.alias;
  }
}

/**
 * Makes sure `scope`'s stack declares the provider: Terraform needs `required_providers` to find
 * `dcs-sessions/dcssessions` (without it, it looks for `hashicorp/dcssessions`), and cdktf checks that
 * every resource's provider has a construct. An empty block configures everything from the environment.
 */
export function ensureProvider(scope: Construct): void {
  const lib = libraryOf(scope);
  const stack = lib.TerraformStack.of(scope);
  const present = stack.node
    .findAll()
    .some(
      (c) =>
        lib.TerraformProvider.isTerraformProvider(c) &&
        c.terraformGeneratorMetadata?.providerName === PROVIDER_NAME &&
        c.alias === undefined,
    );
  if (!present) new DcsSessionsProvider(stack, DEFAULT_PROVIDER_ID);
}
