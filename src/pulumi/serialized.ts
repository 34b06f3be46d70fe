/**
 * The provider objects handed to `pulumi.dynamic.Resource`. Pulumi serializes them into every resource's
 * `__provider` (stored in the state), so they hold nothing but a package name and a kind: each call loads
 * the implementation with `require("dcs-sessions/pulumi")` from the project's `node_modules` when the host
 * runs it. The state thus carries no code of ours and no credentials, and follows upgrades of the package.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { ResourceKind } from "./inputs";

/** A provider whose every method forwards to `dynamicProvider(kind)` of the installed package. */
export function lazyProvider(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  // Written against the public entry point only; `require` here runs in the host, not in the program.
  const load = (): Required<pulumi.dynamic.ResourceProvider> =>
    require("dcs-sessions/pulumi").dynamicProvider(kind);
  return {
    configure: (req) => load().configure(req),
    check: (olds, news) => load().check(olds, news),
    diff: (id, olds, news) => load().diff(id, olds, news),
    create: (inputs) => load().create(inputs),
    update: (id, olds, news) => load().update(id, olds, news),
    read: (id, props) => load().read(id, props),
    delete: (id, props) => load().delete(id, props),
  };
}

/** One object per kind, so Pulumi serializes each once per program (it caches by object). */
export const serializedProviders: Record<ResourceKind, pulumi.dynamic.ResourceProvider> = {
  SessionScan: lazyProvider("SessionScan"),
  SessionPurge: lazyProvider("SessionPurge"),
};
