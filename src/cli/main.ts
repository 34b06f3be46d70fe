#!/usr/bin/env node
/** The `dcs-sessions` command (package.json `bin`). */
import { processContext } from "./context";
import { runCli } from "./program";

void runCli(process.argv, processContext()).then((code) => {
  // exitCode rather than exit(): stdout may still be flushing into a pipe.
  process.exitCode = code;
});
