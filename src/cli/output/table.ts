/** Plain-text building blocks for human output: colour, aligned tables, text bars, durations. */

export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  cyan(text: string): string;
}

function sgr(code: string, enabled: boolean): (text: string) => string {
  return enabled ? (text) => `\u001b[${code}m${text}\u001b[0m` : (text) => text;
}

/** ANSI styles, or the identity when colour is off (not a TTY, or `NO_COLOR`). */
export function makeStyle(enabled: boolean): Style {
  return {
    enabled,
    bold: sgr("1", enabled),
    dim: sgr("2", enabled),
    green: sgr("32", enabled),
    yellow: sgr("33", enabled),
    red: sgr("31", enabled),
    cyan: sgr("36", enabled),
  };
}

export interface Column {
  header: string;
  align?: "left" | "right";
}

/** Columns padded to their widest cell, two spaces apart; headers styled after padding. */
export function renderTable(columns: Column[], rows: string[][], style: Style, indent = "  "): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? "").length)));
  const pad = (text: string, i: number): string =>
    columns[i]?.align === "right" ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const line = (cells: string[], header: boolean): string =>
    indent +
    cells
      .map((cell, i) => (header ? style.bold(pad(cell, i)) : pad(cell, i)))
      .join("  ")
      .replace(/\s+$/, "");
  return [
    line(
      columns.map((c) => c.header),
      true,
    ),
    ...rows.map((r) => line(r, false)),
  ].join("\n");
}

const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/** A bar of `width` cells for `value` out of `max`, in eighths of a cell so small counts still show. */
export function bar(value: number, max: number, width: number): string {
  if (max <= 0 || value <= 0) return "";
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  return "█".repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]!;
}

/** Labelled bars with their counts, e.g. sessions per node. */
export function renderBars(
  entries: Array<[string, number]>,
  style: Style,
  width = 30,
  indent = "  ",
): string {
  if (entries.length === 0) return `${indent}${style.dim("(none)")}`;
  const max = Math.max(...entries.map(([, v]) => v));
  const labelWidth = Math.max(...entries.map(([l]) => l.length));
  const countWidth = Math.max(...entries.map(([, v]) => formatCount(v).length));
  return entries
    .map(([label, value]) =>
      `${indent}${label.padEnd(labelWidth)}  ${formatCount(value).padStart(countWidth)}  ${style.cyan(bar(value, max, width))}`.replace(
        /\s+$/,
        "",
      ),
    )
    .join("\n");
}

/** `12,345`. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** `45s`, `12m 3s`, `3h 4m`, `2d 5h`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** A section title line. */
export function heading(text: string, style: Style): string {
  return style.bold(text);
}
