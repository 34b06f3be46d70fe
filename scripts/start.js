#!/usr/bin/env node
/**
 * `npm start`: builds dist/ when it is missing or older than a source file, then runs the demo
 * (src/demo/start.ts). Plain JavaScript, because it runs before anything is built.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const { existsSync, readdirSync, statSync } = require("node:fs");
const { join } = require("node:path");

const root = join(__dirname, "..");
const built = join(root, "dist/demo/start.js");

/** The newest modification time under a folder (bounded by the size of src/). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function needsBuild() {
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const sources = Math.max(newest(join(root, "src")), newest(join(root, "wasm")));
  return sources > builtAt || statSync(join(root, "tsconfig.build.json")).mtimeMs > builtAt;
}

if (needsBuild()) {
  process.stdout.write("Building dist/ (npm run build) ...\n");
  const build = spawnSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
  if (build.status !== 0) {
    process.stderr.write("npm start: the build failed (see above)\n");
    process.exit(build.status ?? 1);
  }
}

require(built)
  .start()
  .then((code) => {
    process.exitCode = code;
  });
