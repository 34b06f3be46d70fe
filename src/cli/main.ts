#!/usr/bin/env node
/** The `dcs-sessions` command. Stub: the CLI issue implements it. */
process.stderr.write("dcs-sessions: not implemented yet\n");
process.exitCode = 1;
