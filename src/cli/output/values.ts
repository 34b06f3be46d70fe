/** What the terminal, Markdown and HTML renderings share about the values they show. */
import { OTHER_KEY } from "../../core/types";
import type { PurgeReport } from "../../core/types";
import { formatCount } from "./table";

/** Bidirectional controls, which can make a name read as another (`\u202e` reverses what follows). */
export const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what this matches
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/g;

/** `\n`, `\t` as JSON writes them, the others as `\u0007`: a value cannot break a line or a row. */
function controlEscape(c: string): string {
  const json = JSON.stringify(c).slice(1, -1);
  return json === c ? unicodeEscape(c) : json;
}

/** A value cut to `max` characters, its control and bidirectional characters shown as escapes. */
export function visible(value: string, max: number): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return cut.replace(CONTROL, controlEscape).replace(BIDI, unicodeEscape);
}

/** The largest entries of a `by*` map, and how many sessions the others (and `other`) hold. */
export function topOf(
  map: Record<string, number>,
  n: number,
): { top: Array<[string, number]>; rest: number; restKeys: number } {
  const entries = Object.entries(map).filter(([key]) => key !== OTHER_KEY);
  entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const top = entries.slice(0, n);
  const dropped = entries.slice(n);
  const folded = map[OTHER_KEY] ?? 0;
  return {
    top,
    rest: dropped.reduce((sum, [, v]) => sum + v, 0) + folded,
    restKeys: dropped.length,
  };
}

/** The heading of a selective purge's matched sessions: how many are listed, and of how many when fewer. */
export function matchedSessionsTitle(r: PurgeReport): string {
  const listed = (r.selectedSessions ?? []).length;
  return r.matchedSessions !== undefined && r.matchedSessions > listed
    ? `Matched sessions (first ${listed} of ${formatCount(r.matchedSessions)})`
    : `Matched sessions (${listed})`;
}
