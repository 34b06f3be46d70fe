/** Terraform's wiring of the constructs' elements: the provider meta-argument and dependencies. */
import type { Construct } from "constructs";
import type { ElementConfig, ProviderElement } from "./elements";
import { ensureProvider } from "./provider";
import type { SessionTargetProps } from "./session-scan";

/** The meta-arguments of the element: its provider (declared in the stack if needed) and dependencies. */
export function elementConfig(scope: Construct, props: SessionTargetProps): ElementConfig {
  if (props.provider === undefined) ensureProvider(scope);
  return {
    ...(props.provider ? { provider: props.provider.provider as unknown as ProviderElement } : {}),
    ...(props.dependsOn ? { dependsOn: props.dependsOn } : {}),
  };
}
