#!/usr/bin/env node
/**
 * Writes src/terraform/protocol/descriptors.json: the provider's .proto files parsed once, here, so that the
 * provider does not parse them at every start (Terraform starts it several times per run). Run it after
 * editing a .proto file; test/terraform/protocol.test.ts fails while the JSON and the .proto files differ.
 */
"use strict";
const { writeFileSync } = require("node:fs");
const { join } = require("node:path");

const dir = join(__dirname, "..", "src", "terraform", "protocol");
const FILES = ["tfplugin6.proto", "plugin.proto"];

/** The descriptors of the .proto files in protobufjs's JSON form, field names as written. */
function parseProtoFiles() {
  const protobuf = require("protobufjs");
  const root = new protobuf.Root();
  root.loadSync(
    FILES.map((file) => join(dir, file)),
    { keepCase: true },
  );
  return root.toJSON();
}

module.exports = { parseProtoFiles };

if (require.main === module) {
  writeFileSync(join(dir, "descriptors.json"), `${JSON.stringify(parseProtoFiles(), null, 2)}\n`);
}
