/**
 * A language host's run of a Pulumi project, in its own process (the SDK changes directory, registers
 * TypeScript and installs process handlers): argv[2] is the checkout, argv[3] the project's `main` as
 * Pulumi.yaml says it. The engine's rule turns `main` into a working directory and a program, the SDK's own
 * `run` (`@pulumi/pulumi/cmd/run/run.js`) resolves the entry point and loads it with ts-node, type-checking
 * it with the tsconfig.json of that directory, under mocks that record each registered resource. Prints one
 * JSON line: the program the SDK loaded, the resources, the stack outputs' names, or the error.
 */
"use strict";
const { join } = require("node:path");

const [, , root, main] = process.argv;
const { engineEntryPoint, loadSdkRun, pulumiProject } = require(join(root, "dist/demo/start.js"));
const pulumi = require(require.resolve("@pulumi/pulumi", { paths: [root] }));

const project = pulumiProject(root);
const { pwd, program } = engineEntryPoint(root, main);
const resources = [];
const before = new Set(Object.keys(require.cache));
process.env.PULUMI_CONFIG = JSON.stringify({ [`${project.name}:instanceId`]: "dcs-instance-1" });
process.env.PULUMI_NODEJS_TYPESCRIPT = "true";
process.env.PULUMI_NODEJS_TRANSPILE_ONLY = "false";

const report = (result) => process.stdout.write(`${JSON.stringify({ pwd, program, ...result })}\n`);

pulumi.runtime
  .setMocks(
    {
      newResource: (args) => {
        resources.push({ type: args.type, name: args.name });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    project.name,
    "dev",
    false,
  )
  .then(() =>
    loadSdkRun(root).run(
      { _: [program], pwd },
      () => {},
      () => {},
      () => false,
    ),
  )
  .then(
    (outputs) => {
      const loaded = Object.keys(require.cache).filter((f) => !before.has(f) && !f.includes("node_modules"));
      report({ loaded, resources, outputs: Object.keys(outputs ?? {}).sort() });
    },
    (error) => {
      report({ error: String(error && error.message ? error.message : error), resources });
      process.exitCode = 1;
    },
  );
