/**
 * docs/safety.md lists every safety and reliability promise with "the tests that hold it" (the README links
 * there, as issue 11 asks): a file, then test names in double quotes. A test renamed or removed would leave
 * the page promising a test that no longer exists, so each name quoted in the "held by" column must be the
 * title of a test (or describe) in one of the test files named in the same cell: equal to a string written
 * in that file, or matched by one whose `%s`/`%i` or `${…}` placeholders stand for any text.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT } from "../cli/support";

const SAFETY = readFileSync(join(CHECKOUT, "docs/safety.md"), "utf8");

interface Row {
  files: string[];
  names: string[];
}

/** The "held by" cells of the page's tables: the test files in code spans, the test names in quotes. */
function heldBy(markdown: string): Row[] {
  const rows: Row[] = [];
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("|") || /^\|\s*-/.test(line)) continue;
    const cell = line
      .replace(/\|\s*$/, "")
      .split("|")
      .at(-1)!;
    const files = [...cell.matchAll(/`(test\/[^`]+\.test\.ts)`/g)].map((m) => m[1]!);
    const names = [...cell.replace(/`[^`]*`/g, "").matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
    if (names.length > 0) rows.push({ files, names });
  }
  return rows;
}

/** The string literals of a source file: test titles, test.each rows and template strings. */
function literals(source: string): string[] {
  return [...source.matchAll(/"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\]|\\.)*)`/g)].map((m) =>
    (m[1] ?? m[2] ?? m[3]!).replace(/\\(.)/g, "$1"),
  );
}

/**
 * A title as a pattern: Jest's %s/%i/%d/%p and a template's ${…} stand for any text. A title that is little
 * more than placeholders ("%s", "%s × %s") matches a name only when equal to it.
 */
function titlePattern(title: string): RegExp | undefined {
  const parts = title.split(/%[sidpj]|\$\{[^}]*\}/);
  if (parts.join("").trim().length < 12) return undefined;
  return new RegExp(`^${parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".+")}$`, "s");
}

test("the page names tests in the rows of its tables", () => {
  const rows = heldBy(SAFETY);
  expect(rows.length).toBeGreaterThanOrEqual(15);
  expect(rows.flatMap((r) => r.names).length).toBeGreaterThanOrEqual(50);
});

test("every test docs/safety.md names is a test of a file named beside it", () => {
  const missing: string[] = [];
  for (const { files, names } of heldBy(SAFETY)) {
    const titles = files.flatMap((file) => literals(readFileSync(join(CHECKOUT, file), "utf8")));
    for (const name of names) {
      if (!titles.some((title) => title === name || titlePattern(title)?.test(name)))
        missing.push(`"${name}" (in ${files.join(", ") || "no test file named in its cell"})`);
    }
  }
  expect(missing).toEqual([]);
});
