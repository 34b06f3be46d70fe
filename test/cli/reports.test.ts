/**
 * The Markdown summary and the HTML report as pure functions of a scan or a purge: what a reviewer reads,
 * and that no value from the wire can turn into Markdown, HTML or a mention. The Markdown is rendered by
 * markdown-it (GFM tables, raw HTML on) and, when installed, by cmark-gfm, GitHub's own renderer.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import MarkdownIt from "markdown-it";
import { barChart, escapeHtml, purgeHtml, snapshotHtml } from "../../src/cli/output/html";
import { codeCell, escapeText, purgeMarkdown, snapshotMarkdown } from "../../src/cli/output/markdown";
import { topOf } from "../../src/cli/output/values";
import { HOSTILE, hostileSnapshot, purgedReport } from "./report-fixtures";

const CMARK_HINT = "apt-get install -y cmark-gfm";
const hasCmark = spawnSync("cmark-gfm", ["--version"]).status === 0;

const markdownIt = new MarkdownIt({ html: true, linkify: true });

/** GitHub's renderer, with raw HTML let through (`--unsafe`) so that an unescaped tag would show. */
function cmarkGfm(markdown: string): string {
  const r = spawnSync("cmark-gfm", ["--unsafe", "-e", "table", "-e", "autolink"], {
    input: markdown,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`cmark-gfm failed: ${r.stderr}`);
  return r.stdout;
}

const RENDERERS: Array<[string, (md: string) => string]> = [["markdown-it", (md) => markdownIt.render(md)]];
if (hasCmark) RENDERERS.push(["cmark-gfm", cmarkGfm]);
else if (process.env.CI === "true")
  test("cmark-gfm is installed (required under CI=true)", () => {
    throw new Error(`cmark-gfm was not found on PATH and CI=true; install it: ${CMARK_HINT}`);
  });
else console.warn(`cmark-gfm not found: rendering with markdown-it only (install it: ${CMARK_HINT})`);

function decode(html: string): string {
  return html
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

/** The text of every `<code>` element, entities decoded. */
function codeTexts(html: string): string[] {
  return [...html.matchAll(/<code>([\s\S]*?)<\/code>/g)].map((m) => decode(m[1]!));
}

/** Each table of the rendered HTML as rows of cell texts (tags stripped, entities decoded). */
function tables(html: string): string[][][] {
  return [...html.matchAll(/<table>([\s\S]*?)<\/table>/g)].map((t) =>
    [...t[1]!.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
      [...row[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) =>
        decode(cell[1]!.replace(/<[^>]+>/g, "")).trim(),
      ),
    ),
  );
}

/** No element but the ones our Markdown makes: no script, image, anchor or anything a value smuggled in. */
function tagsOf(html: string): Set<string> {
  return new Set([...html.matchAll(/<([a-z][a-z0-9]*)/gi)].map((m) => m[1]!.toLowerCase()));
}
const MARKDOWN_TAGS = [
  "h3",
  "table",
  "thead",
  "tbody",
  "tr",
  "th",
  "td",
  "code",
  "p",
  "strong",
  "em",
  "blockquote",
];

describe("Markdown building blocks", () => {
  test.each([
    ["plain", "`plain`"],
    ["a|b", "`a\\|b`"],
    ["x`y", "``x`y``"],
    ["`x`", "`` `x` ``"],
    ["", "*(empty)*"],
    ["a\nb\tc", "`a\\nb\\tc`"],
    ["evil\u202egnp.exe", "`evil\\u202egnp.exe`"],
    ["a\u2028b\u0007", "`a\\u2028b\\u0007`"],
  ])("codeCell(%j) is %s", (value, cell) => {
    expect(codeCell(value)).toBe(cell);
  });

  test("codeCell cuts long values", () => {
    expect(codeCell("x".repeat(500))).toBe(`\`${"x".repeat(80)}…\``);
  });

  test("escapeText leaves no Markdown or HTML and breaks mentions", () => {
    expect(escapeText("<b>*hi*</b> @team [x](y) a|b & c")).toBe(
      "&lt;b\\>\\*hi\\*&lt;/b\\> @\u200bteam \\[x\\](y) a\\|b &amp; c",
    );
  });

  test("topOf keeps the largest keys and counts the rest with the folded other", () => {
    expect(topOf({ a: 5, b: 7, c: 1, other: 3 }, 2)).toEqual({
      top: [
        ["b", 7],
        ["a", 5],
      ],
      rest: 4,
      restKeys: 1,
    });
  });
});

describe.each(RENDERERS)("the Markdown summary rendered by %s", (_name, render) => {
  test("a scan: totals, per node, idle buckets and top clients, hostile values shown literally", () => {
    const s = hostileSnapshot();
    const html = render(snapshotMarkdown(s));
    expect([...tagsOf(html)].filter((t) => !MARKDOWN_TAGS.includes(t))).toEqual([]);
    const [summary, perNode, idle, ips, names, users, idlest] = tables(html);
    expect(summary).toEqual([
      ["Instance", "Engine", "Sessions", "Nodes", "Subscribers", "Max idle", "Max age", "Scanned at"],
      ["inst-1", "dcs", "60", "2", "2", "1d 1h", "2d 7h", "2026-03-01T10:00:00.000Z"],
    ]);
    expect(perNode).toEqual([
      ["Node", "Role", "Sessions", "Share"],
      ["node-a", "redis-proxy", "40", "67%"],
      ["node-<b>", "redis-proxy", "20", "33%"],
    ]);
    expect(idle!.slice(1).map((r) => [r[0], r[1]])).toEqual([
      ["<1m", "30"],
      ["1m-10m", "15"],
      ["10m-1h", "10"],
      ["1h-24h", "4"],
      [">=24h", "1"],
    ]);
    expect(ips!.slice(1)).toEqual([
      ["10.0.0.1", "30", "50%"],
      ["10.0.0.2", "20", "33%"],
      [HOSTILE.image, "6", "10%"],
      ["others", "4", "7%"],
    ]);
    expect(names!.slice(1).map((r) => r[0])).toEqual([
      HOSTILE.name,
      HOSTILE.ticks,
      HOSTILE.mention,
      "line1\\n| injected | row |", // the newline shown as an escape, the row kept whole
    ]);
    expect(users!.slice(1).map((r) => r[0])).toEqual(["default", HOSTILE.pipe]);
    expect(idlest).toEqual([
      ["Node", "Client", "Name", "User", "DB", "Last command", "Idle", "Age"],
      ["node-a", "10.0.0.1:5000", HOSTILE.name, HOSTILE.pipe, "0", HOSTILE.link, "1d 1h", "2d 7h"],
    ]);
    // Every table row has as many cells as its header: no value split or added a cell.
    for (const t of tables(html)) for (const row of t) expect(row).toHaveLength(t[0]!.length);
    // Mentions and links stay inside code, where GitHub and GitLab do not resolve them.
    expect(codeTexts(html)).toEqual(expect.arrayContaining([HOSTILE.mention, HOSTILE.link]));
  });

  test("a purge: outcome, before/after per node, the before snapshot's idle times and clients", () => {
    const html = render(purgeMarkdown(purgedReport()));
    expect(html).toContain("<h3>dcs-sessions purge: purged</h3>");
    expect(html).toContain("Sessions killed and verified by a scan after the kill.");
    const [summary, perNode, idle] = tables(html);
    expect(summary).toEqual([
      ["Instance", "Engine", "Status", "Before", "After", "Jobs", "At"],
      ["inst-1", "dcs", "purged", "60", "3", "job-1 job-2", "2026-03-01T10:05:00.000Z"],
    ]);
    expect(perNode).toEqual([
      ["Node", "Before", "After"],
      ["node-a", "40", "2"],
      ["node-<b>", "20", "1"],
    ]);
    expect(idle![0]).toEqual(["Idle for", "Sessions", "Share"]);
    expect(html).toContain("<strong>Top client IPs before</strong>");
  });

  test("purged-unverified: a warning with the verification error, escaped; a selective purge's matched count", () => {
    const md = purgeMarkdown(
      purgedReport({
        status: "purged-unverified",
        sessionsAfter: null,
        nodes: [{ nodeId: "node-a", before: 40, matched: 12, after: null }],
        matchedSessions: 12,
        selectedSessions: [
          {
            nodeId: "node-a",
            peer: "10.0.0.9:41000",
            user: HOSTILE.pipe,
            name: HOSTILE.name,
            idle: 7200,
            db: "3",
            cmd: HOSTILE.link,
          },
        ],
        verificationError: "after snapshot failed: <b>HTTP 503</b> @oncall `x`",
      }),
    );
    const html = render(md);
    expect([...tagsOf(html)].filter((t) => !MARKDOWN_TAGS.includes(t))).toEqual([]);
    expect(decode(html.replace(/<[^>]+>/g, ""))).toContain(
      "Warning: The kill was sent but could not be confirmed: after snapshot failed: <b>HTTP 503</b> @\u200boncall `x`",
    );
    const [summary, perNode, selected] = tables(html);
    expect(summary).toEqual([
      ["Instance", "Engine", "Status", "Before", "Matched", "After", "Jobs", "At"],
      ["inst-1", "dcs", "purged-unverified", "60", "12", "–", "job-1 job-2", "2026-03-01T10:05:00.000Z"],
    ]);
    expect(perNode).toEqual([
      ["Node", "Before", "Matched", "After"],
      ["node-a", "40", "12", "–"],
    ]);
    // The first matched sessions, wire values kept inside code spans.
    expect(html).toContain("<strong>Matched sessions (first 1 of 12)</strong>");
    expect(selected).toEqual([
      ["Node", "Peer", "User", "Name", "DB", "Command", "Idle"],
      ["node-a", "10.0.0.9:41000", HOSTILE.pipe, HOSTILE.name, "3", HOSTILE.link, "2h 0m"],
    ]);
  });

  test("a skip outside the window: the reason, no counts, no snapshot sections", () => {
    const html = render(
      purgeMarkdown(
        purgedReport({
          status: "skipped-outside-window",
          sessionsBefore: null,
          sessionsAfter: null,
          nodes: [],
          jobIds: [],
          before: undefined,
          after: undefined,
          reason: "outside the maintenance window sat,sun 02:00-04:00 Europe/Paris",
        }),
      ),
    );
    expect(html).toContain(
      "Skipped, nothing was killed: outside the maintenance window sat,sun 02:00-04:00 Europe/Paris",
    );
    expect(tables(html)).toEqual([
      [
        ["Instance", "Engine", "Status", "Before", "After", "Jobs", "At"],
        ["inst-1", "dcs", "skipped-outside-window", "–", "–", "–", "2026-03-01T10:05:00.000Z"],
      ],
    ]);
  });

  test("a dry run says nothing was killed", () => {
    const html = render(purgeMarkdown(purgedReport({ status: "dry-run", sessionsAfter: null, jobIds: [] })));
    expect(html).toContain("Dry run: nothing was killed.");
  });
});

/** The element and attribute names of an HTML document (attribute values are always double-quoted here). */
function markupOf(html: string): { tags: string[]; attributes: string[] } {
  const tags: string[] = [];
  const attributes: string[] = [];
  for (const m of html.matchAll(/<([a-z][a-z0-9]*)((?:\s+[a-z:-]+(?:="[^"]*")?)*)\s*\/?>/gi)) {
    tags.push(m[1]!.toLowerCase());
    for (const a of m[2]!.matchAll(/\s+([a-z:-]+)(?:="[^"]*")?/gi)) attributes.push(a[1]!.toLowerCase());
  }
  return { tags, attributes };
}

describe("the HTML report", () => {
  test("escapeHtml escapes the five metacharacters and shows control characters", () => {
    expect(escapeHtml(`<a href="x" title='y'>&\u0007</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;\\u0007&lt;/a&gt;",
    );
    expect(escapeHtml("a\u202eb\u2066c")).toBe("a\\u202eb\\u2066c");
  });

  test.each([
    ["scan", () => snapshotHtml(hostileSnapshot())],
    ["purge", () => purgeHtml(purgedReport())],
  ])("the %s page loads nothing, runs nothing, and its one style is allowed by hash", (_kind, make) => {
    const html = make();
    expect(html.startsWith("<!doctype html>")).toBe(true);
    const { tags, attributes } = markupOf(html);
    expect(
      tags.filter((t) => ["script", "img", "link", "iframe", "object", "embed", "image", "use"].includes(t)),
    ).toEqual([]);
    expect(
      attributes.filter((a) => ["src", "href", "xlink:href", "style"].includes(a) || a.startsWith("on")),
    ).toEqual([]);
    expect(html).not.toMatch(/url\(|@import/i);
    // The only URL in the markup is the SVG namespace, a name and not a request (URLs in text are text).
    expect([...html.matchAll(/="([a-z]+:\/\/[^"]*)"/gi)].map((m) => m[1])).toEqual(
      expect.arrayContaining(["http://www.w3.org/2000/svg"]),
    );
    expect(new Set([...html.matchAll(/="([a-z]+:\/\/[^"]*)"/gi)].map((m) => m[1]))).toEqual(
      new Set(["http://www.w3.org/2000/svg"]),
    );
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    expect(csp).toMatch(/^default-src 'none'; /);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    expect(styles).toHaveLength(1);
    const hash = createHash("sha256").update(styles[0]!).digest("base64");
    expect(csp).toContain(`style-src 'sha256-${hash}'`);
  });

  test("hostile values arrive as text, never as markup", () => {
    const html = snapshotHtml(hostileSnapshot());
    expect(html).not.toContain(HOSTILE.name);
    expect(html).toContain("&lt;script&gt;window.pwned=1&lt;/script&gt;");
    expect(html).toContain('data-label="&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;"');
    expect(html).not.toContain("node-<b>");
  });

  test("a selective purge: matched per node as a chart, the first matched sessions as text", () => {
    const html = purgeHtml(
      purgedReport({
        status: "dry-run",
        sessionsAfter: null,
        nodes: [
          { nodeId: "node-a", before: 40, matched: 3, after: null },
          { nodeId: "node-<b>", before: 20, matched: 0, after: null },
        ],
        matchedSessions: 3,
        selectedSessions: [
          {
            nodeId: "node-a",
            peer: "[::1]:5000",
            user: HOSTILE.pipe,
            name: HOSTILE.image,
            idle: 90,
            db: "0",
            cmd: "get",
          },
        ],
      }),
    );
    expect(html).toContain('data-field="matchedSessions"');
    expect(html).toMatch(/data-chart="matched".*data-label="node-a".*data-value="3".*data-value="0"/s);
    expect(html).toContain("<h2>Matched sessions (first 1 of 3)</h2>");
    expect(html).toContain("<code>[::1]:5000</code>");
    expect(html).not.toContain(HOSTILE.image);
    expect(html).toContain("&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;");
    // A purge of whole nodes shows neither.
    const whole = purgeHtml(purgedReport());
    expect(whole).not.toContain('data-chart="matched"');
    expect(whole).not.toContain('id="selected"');
  });

  test("a bar chart scales to the largest value, one bar per series, a missing value drawn empty", () => {
    const svg = barChart({
      id: "t",
      title: "T",
      series: ["before", "after"],
      rows: [
        { label: "a", values: [100, 50] },
        { label: "b", values: [25, null] },
      ],
    });
    const bars = [
      ...svg.matchAll(
        /<rect class="bar s(\d)" data-series="(\w+)"(?: data-value="(\d+)")?[^>]* width="(\d+)"/g,
      ),
    ].map((m) => [m[2], m[3] ?? null, Number(m[4])]);
    expect(bars).toEqual([
      ["before", "100", 390],
      ["after", "50", 195],
      ["before", "25", 98],
      ["after", null, 0],
    ]);
  });
});
