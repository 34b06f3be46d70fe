/**
 * The size of `__provider`, the text Pulumi stores in the state for every dynamic resource: the provider objects
 * of dist/pulumi serialized the way `pulumi.dynamic.Resource` does it.
 */
"use strict";
const path = require("node:path");

async function serializedProviderBytes() {
  const { serializeFunction } = require("@pulumi/pulumi/runtime/closure/serializeClosure");
  const { serializedProviders } = require(path.resolve(__dirname, "../dist/pulumi/serialized"));
  const out = [];
  for (const [kind, provider] of Object.entries(serializedProviders)) {
    const sf = await serializeFunction(() => provider, { allowSecrets: true });
    out.push({ kind, bytes: Buffer.byteLength(sf.text) });
  }
  return out;
}

module.exports = { serializedProviderBytes };
