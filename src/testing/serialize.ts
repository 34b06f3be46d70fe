/**
 * The `__provider` text of a dynamic resource, produced exactly as `pulumi.dynamic.Resource` produces it, so
 * a test drives the provider host with what the engine would have stored in the state.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { ResourceKind } from "../pulumi/inputs";

/** Serializes one of our resource kinds' providers, or any dynamic provider object of yours. */
export async function serializeProvider(
  provider: ResourceKind | pulumi.dynamic.ResourceProvider,
): Promise<string> {
  // Loaded on demand: `dcs-sessions/testing` is usable without Pulumi installed.
  const { runtime } = require("@pulumi/pulumi") as typeof pulumi;
  const target =
    typeof provider === "string"
      ? (require("../pulumi/serialized") as typeof import("../pulumi/serialized")).serializedProviders[
          provider
        ]
      : provider;
  if (!target)
    throw new Error(`no dynamic provider for ${String(provider)}; expected SessionScan or SessionPurge`);
  // The same call, with the same options, as `serializeFunctionMaybeSecret` in `@pulumi/pulumi/dynamic`.
  const serialized = await runtime.serializeFunction(() => target, { allowSecrets: true });
  return serialized.text;
}
