/**
 * Keeps the CLI reference at the end of docs/cli.md in step with the real `--help` of every command. Run with
 * UPDATE_CLI_DOCS=1 to rewrite the generated part after a deliberate change.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import { resolve } from "node:path";
import { runCli } from "../../src/cli/program";

const DOC = resolve(__dirname, "../../docs/cli.md");
const MARKER = "<!-- generated help below: do not edit by hand -->";
const COMMANDS = [
  [],
  ["nodes"],
  ["scan"],
  ["list"],
  ["purge"],
  ["emulator"],
  ["terraform-external"],
  ["terraform-external", "scan"],
  ["terraform"],
  ["terraform", "install-provider"],
];

async function helpOf(command: string[]): Promise<string> {
  let out = "";
  let err = "";
  const stdin = new PassThrough();
  stdin.end();
  const code = await runCli(["node", "dcs-sessions", ...command, "--help"], {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: (s: string) => (err += s), isTTY: false },
    stdin,
    env: {},
    now: () => new Date(0),
  });
  expect({ code, err }).toEqual({ code: 0, err: "" });
  return out.trimEnd();
}

function generated(helps: Array<[string[], string]>): string {
  return helps
    .map(
      ([command, help]) =>
        `### \`${["dcs-sessions", ...command].join(" ")} --help\`\n\n\`\`\`text\n${help}\n\`\`\`\n`,
    )
    .join("\n");
}

test("docs/cli.md ends with the real --help of every command", async () => {
  const helps: Array<[string[], string]> = [];
  for (const command of COMMANDS) helps.push([command, await helpOf(command)]);
  const doc = readFileSync(DOC, "utf8");
  const at = doc.indexOf(MARKER);
  expect(at).toBeGreaterThan(0);
  const expected = `${doc.slice(0, at + MARKER.length)}\n\n${generated(helps)}`;
  if (process.env.UPDATE_CLI_DOCS === "1") writeFileSync(DOC, expected);
  expect(readFileSync(DOC, "utf8")).toBe(expected);
  // Every command's help shows an example, and fits the help width.
  for (const [command, help] of helps) {
    expect({ command, example: /Examples?:\n {2}\$ (echo .* \| )?dcs-sessions/.test(help) }).toEqual({
      command,
      example: true,
    });
    const long = help.split("\n").filter((line) => line.length > 100);
    expect({ command, long }).toEqual({ command, long: [] });
  }
});
