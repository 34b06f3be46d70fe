/**
 * The README is a front page a newcomer reads in five minutes: at most 250 lines, the quick start as the
 * package's scripts run it, and links to the licence, the changelog and every page of docs/. Every relative
 * link of README.md and docs/*.md reaches a file, and its #anchor a heading of that file.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { CHECKOUT } from "../cli/support";

const README = readFileSync(join(CHECKOUT, "README.md"), "utf8");
const DOCS = readdirSync(join(CHECKOUT, "docs"))
  .filter((name) => name.endsWith(".md"))
  .sort()
  .map((name) => `docs/${name}`);

/** The text outside fenced code blocks (links inside them are code, not links). */
function prose(markdown: string): string {
  return markdown.replace(/^([ \t]*)(```+|~~~+)[^\n]*\n[\s\S]*?^\1\2[ \t]*$/gm, "");
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  return found;
}

/** The relative link targets of a Markdown file: `[text](target)`, without external URLs. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

test("README.md is at most 250 lines", () => {
  expect(README.split("\n").length).toBeLessThanOrEqual(250);
});

test("the quick start is the package's own scripts: npm ci && npm start, then npm test", () => {
  const scripts = (JSON.parse(readFileSync(join(CHECKOUT, "package.json"), "utf8")) as { scripts: object })
    .scripts;
  expect(README).toContain("```sh\nnpm ci && npm start\n```");
  expect(README).toContain("```sh\nnpm test\n```");
  expect(scripts).toEqual(expect.objectContaining({ start: expect.any(String), test: expect.any(String) }));
});

test("README.md links to the licence, the changelog and every page of docs/", () => {
  const links = new Set(relativeLinks(README).map((target) => target.split("#")[0]));
  const missing = ["LICENSE", "CHANGELOG.md", ...DOCS].filter((file) => !links.has(file));
  expect(missing).toEqual([]);
});

test("every relative link of README.md and docs/*.md reaches a file, and its #anchor a heading there", () => {
  const broken: string[] = [];
  for (const file of ["README.md", ...DOCS]) {
    const text = readFileSync(join(CHECKOUT, file), "utf8");
    for (const target of relativeLinks(text)) {
      const [path, anchor] = target.split("#") as [string, string | undefined];
      const resolved = path === "" ? file : normalize(join(dirname(file), decodeURI(path)));
      if (!existsSync(join(CHECKOUT, resolved))) {
        broken.push(`${file}: (${target}) names ${resolved}, which does not exist`);
        continue;
      }
      if (anchor && resolved.endsWith(".md")) {
        const headings = anchors(readFileSync(join(CHECKOUT, resolved), "utf8"));
        if (!headings.has(anchor)) broken.push(`${file}: (${target}) names no heading of ${resolved}`);
      }
    }
  }
  expect(broken).toEqual([]);
});

test("no file of README.md and docs/ holds a merge conflict's markers", () => {
  const marked = ["README.md", ...DOCS].filter((file) =>
    /^(<{7}|={7}|>{7})( |$)/m.test(readFileSync(join(CHECKOUT, file), "utf8")),
  );
  expect(marked).toEqual([]);
});
