/**
 * Maintenance window arithmetic: pure functions of a window and an instant, time zones through
 * `Intl.DateTimeFormat` (no dependency).
 *
 * Semantics, decided once here and documented in docs/api.md ("Maintenance windows"):
 * - A window is judged on the wall clock of its time zone: `start <= HH:MM < end` on one of its days.
 * - `end` earlier than `start` crosses midnight; the window belongs to its opening day, so
 *   `sat 23:00-01:00` is open on Sunday at 00:30 but not on Saturday at 00:30.
 * - `end` may be `24:00` (the end of the day); `start == end` is rejected as ambiguous (empty or 24 hours?).
 * - DST: a wall-clock time that a spring-forward skips never happens, so a window that lies wholly inside
 *   the skipped hour does not open that day, and one that straddles it opens when the clocks jump. On a
 *   fall-back day the repeated hour is judged on each reading, so a window covering it is open during both.
 */
import { z } from "zod";
import { ValidationError } from "../api/errors";
import { parseInput } from "../api/schemas";
import type { MaintenanceWindow } from "./types";

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const HHMM_PATTERN = /^([01]\d|2[0-3]):[0-5]\d$/;
const HHMM_ALLOWED = "HH:MM, 24-hour, from 00:00 to 23:59";
const END_PATTERN = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;
const END_ALLOWED = "HH:MM, 24-hour, from 00:00 to 24:00";
const ZONE_ALLOWED = "an IANA time zone name such as UTC, Europe/Paris, Asia/Shanghai";
/** Letters, digits and `/_+-`: IANA names only (Intl also takes offsets like `+01:00` on some versions). */
const ZONE_PATTERN = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A cached formatter giving the wall clock of a zone; throws RangeError for an unknown zone. */
function wallClockFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the name is an IANA time zone this runtime knows. */
export function isTimeZone(name: string): boolean {
  if (!ZONE_PATTERN.test(name)) return false;
  try {
    wallClockFormatter(name);
    return true;
  } catch {
    return false;
  }
}

export const MaintenanceWindowSchema = z
  .strictObject({
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1, { message: "must list at least one day (omit days for every day)" })
      .max(7)
      .optional(),
    start: z.string().regex(HHMM_PATTERN, { message: `must be ${HHMM_ALLOWED}` }),
    end: z.string().regex(END_PATTERN, { message: `must be ${END_ALLOWED}` }),
    timeZone: z
      .string()
      .refine(isTimeZone, { message: `is not a known time zone; allowed: ${ZONE_ALLOWED}` })
      .optional(),
  })
  .refine((w) => w.start !== w.end, {
    message: "must differ from start (a window of zero or 24 hours is ambiguous; use 00:00-24:00 for a day)",
    path: ["end"],
  });

/** Validates a window; throws a ValidationError naming `maintenanceWindow.start` (or the given prefix). */
export function validateWindow(window: unknown, field = "maintenanceWindow"): MaintenanceWindow {
  return parseInput(MaintenanceWindowSchema, window, field);
}

/** A wall-clock reading in a time zone. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Index into WEEKDAYS (0 = mon). */
  weekday: number;
}

export function wallClockAt(instant: Date | number, timeZone: string): WallClock {
  const parts = wallClockFormatter(timeZone).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value ?? NaN);
  const year = get("year");
  const month = get("month");
  const day = get("day");
  return {
    year,
    month,
    day,
    hour: get("hour"),
    minute: get("minute"),
    second: get("second"),
    weekday: weekdayOf(year, month, day),
  };
}

/** 0 = mon … 6 = sun, for a calendar date. */
function weekdayOf(year: number, month: number, day: number): number {
  return (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7;
}

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

function dayAllowed(window: MaintenanceWindow, weekday: number): boolean {
  return !window.days || window.days.includes(WEEKDAYS[weekday]!);
}

/** Whether the instant falls inside the window (the window is assumed valid: see `validateWindow`). */
export function isInWindow(window: MaintenanceWindow, now: Date | number): boolean {
  const clock = wallClockAt(now, window.timeZone ?? "UTC");
  const t = clock.hour * 60 + clock.minute;
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  if (start < end) return dayAllowed(window, clock.weekday) && t >= start && t < end;
  // Crossing midnight: the evening part belongs to today, the morning part to yesterday's opening.
  if (t >= start) return dayAllowed(window, clock.weekday);
  return t < end && dayAllowed(window, (clock.weekday + 6) % 7);
}

export interface WindowStatus {
  inside: boolean;
  /** The time zone the window is judged in. */
  timeZone: string;
  /** The wall clock of `now` in that zone, `ddd YYYY-MM-DD HH:MM`. */
  localTime: string;
  /** When outside: the next instant the window opens (absent if it never does within 8 days). */
  opensAt?: Date;
  /** When inside: the instant it closes. */
  closesAt?: Date;
}

/** Whether `now` is inside, and when the window next opens (or closes), for messages. */
export function windowStatus(window: MaintenanceWindow, now: Date | number): WindowStatus {
  const timeZone = window.timeZone ?? "UTC";
  const nowMs = typeof now === "number" ? now : now.getTime();
  const inside = isInWindow(window, nowMs);
  const change = nextChange(window, nowMs, inside);
  return {
    inside,
    timeZone,
    localTime: formatLocal(nowMs, timeZone),
    ...(change === undefined ? {} : inside ? { closesAt: new Date(change) } : { opensAt: new Date(change) }),
  };
}

/** `sat 2026-03-28 02:30` in the zone. */
export function formatLocal(instant: Date | number, timeZone: string): string {
  const c = wallClockAt(instant, timeZone);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${WEEKDAYS[c.weekday]} ${c.year}-${p(c.month)}-${p(c.day)} ${p(c.hour)}:${p(c.minute)}`;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Minutes east of UTC at an instant (the wall clock minus UTC), at minute precision. */
function offsetMinutes(instantMs: number, timeZone: string): number {
  const c = wallClockAt(instantMs, timeZone);
  const asUtc = Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute);
  return Math.round((asUtc - Math.floor(instantMs / MINUTE) * MINUTE) / MINUTE);
}

/**
 * Every instant whose wall clock reads this date and minute: none inside a spring-forward gap, two inside
 * a fall-back overlap. Assumes at most one offset change within a day on either side, as in every zone.
 */
function instantsReading(y: number, m: number, d: number, minuteOfDay: number, timeZone: string): number[] {
  const naive = Date.UTC(y, m - 1, d) + minuteOfDay * MINUTE;
  const offsets = new Set([offsetMinutes(naive - DAY, timeZone), offsetMinutes(naive + DAY, timeZone)]);
  const found = new Set<number>();
  for (const off of offsets) {
    const candidate = naive - off * MINUTE;
    const c = wallClockAt(candidate, timeZone);
    const reads = Date.UTC(c.year, c.month - 1, c.day) + (c.hour * 60 + c.minute) * MINUTE;
    if (reads === naive) found.add(candidate);
  }
  return [...found].sort((a, b) => a - b);
}

/** The instant (to the minute) where the offset changes between `from` and `to`, if it does. */
function offsetChangeBetween(fromMs: number, toMs: number, timeZone: string): number | undefined {
  const before = offsetMinutes(fromMs, timeZone);
  if (offsetMinutes(toMs, timeZone) === before) return undefined;
  let lo = Math.floor(fromMs / MINUTE);
  let hi = Math.ceil(toMs / MINUTE);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMinutes(mid * MINUTE, timeZone) === before) lo = mid;
    else hi = mid;
  }
  return hi * MINUTE;
}

/**
 * The first instant after `nowMs` at which `isInWindow` differs from `inside`. The state can only change
 * when the wall clock reads `start` or `end`, or when the offset jumps, so only those instants are tried.
 */
function nextChange(window: MaintenanceWindow, nowMs: number, inside: boolean): number | undefined {
  const timeZone = window.timeZone ?? "UTC";
  const today = wallClockAt(nowMs, timeZone);
  const base = Date.UTC(today.year, today.month - 1, today.day);
  const marks = [minutesOf(window.start), minutesOf(window.end) % 1440];
  const candidates: number[] = [];
  for (let i = -1; i <= 8; i++) {
    const date = new Date(base + i * DAY);
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    for (const mark of marks) candidates.push(...instantsReading(y, m, d, mark, timeZone));
    // The day's local midnight, shifted by the largest known offsets either way, brackets its transitions.
    const jump = offsetChangeBetween(
      base + i * DAY - 14 * 3_600_000,
      base + (i + 1) * DAY + 14 * 3_600_000,
      timeZone,
    );
    if (jump !== undefined) candidates.push(jump);
  }
  candidates.sort((a, b) => a - b);
  return candidates.find((c) => c > nowMs && isInWindow(window, c) !== inside);
}

/** `mon-fri 02:00-04:00 Europe/Paris`: the CLI's form, also used in messages. */
export function formatWindow(window: MaintenanceWindow): string {
  const days = window.days ? compactDays(window.days) : "*";
  return `${days} ${window.start}-${window.end} ${window.timeZone ?? "UTC"}`;
}

/** `mon,tue,wed,sat` → `mon-wed,sat`. */
function compactDays(days: ReadonlyArray<Weekday>): string {
  const set = new Set(days.map((d) => WEEKDAYS.indexOf(d)));
  if (set.size === 7) return "*";
  const parts: string[] = [];
  for (let i = 0; i < 7; i++) {
    if (!set.has(i)) continue;
    let j = i;
    while (set.has(j + 1)) j++;
    parts.push(
      j === i
        ? WEEKDAYS[i]!
        : j === i + 1
          ? `${WEEKDAYS[i]},${WEEKDAYS[j]}`
          : `${WEEKDAYS[i]}-${WEEKDAYS[j]}`,
    );
    i = j;
  }
  return parts.join(",");
}

const SPEC_ALLOWED =
  "[days] HH:MM-HH:MM [time zone], days as mon..sun, lists and ranges (sat,sun or mon-fri) or *, " +
  "e.g. mon-fri 02:00-04:00 Europe/Paris";
const RANGE_PATTERN = /^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$/;

/**
 * Parses the CLI's window form, `[days] HH:MM-HH:MM [zone]`: `mon-fri 02:00-04:00 Europe/Paris`,
 * `sat,sun 23:00-01:00`, `* 02:00-03:00 UTC`, `02:00-04:00`. Day ranges may wrap (`fri-mon`).
 * Throws a ValidationError naming `field` on any problem.
 */
export function parseWindowSpec(text: string, field = "--window"): MaintenanceWindow {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  const rangeAt = tokens.findIndex((t) => RANGE_PATTERN.test(t));
  if (rangeAt < 0 || rangeAt > 1 || tokens.length > rangeAt + 2) {
    throw new ValidationError(field, `cannot read "${text}" as a window`, SPEC_ALLOWED);
  }
  const [, start, end] = RANGE_PATTERN.exec(tokens[rangeAt]!)!;
  const window: MaintenanceWindow = { start: padHour(start!), end: padHour(end!) };
  if (rangeAt === 1) {
    const days = parseDays(tokens[0]!, field);
    if (days) window.days = days;
  }
  const zone = tokens[rangeAt + 1];
  if (zone !== undefined) window.timeZone = zone;
  const result = MaintenanceWindowSchema.safeParse(window);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const part = issue.path.map(String).join(".") || "window";
    throw new ValidationError(field, `${part} in "${text}" ${issue.message}`, SPEC_ALLOWED);
  }
  return result.data;
}

function padHour(hhmm: string): string {
  return hhmm.length === 4 ? `0${hhmm}` : hhmm;
}

/** `*` → undefined (every day); `mon-fri`, `sat,sun`, `fri-mon` → days in week order. */
function parseDays(text: string, field: string): Weekday[] | undefined {
  if (text === "*") return undefined;
  const picked = new Set<number>();
  for (const item of text.toLowerCase().split(",")) {
    const [from, to, extra] = item.split("-");
    const a = WEEKDAYS.indexOf(from as Weekday);
    const b = to === undefined ? a : WEEKDAYS.indexOf(to as Weekday);
    if (a < 0 || b < 0 || extra !== undefined) {
      throw new ValidationError(field, `"${item}" is not a day or a range of days`, SPEC_ALLOWED);
    }
    for (let i = a; ; i = (i + 1) % 7) {
      picked.add(i);
      if (i === b) break;
    }
  }
  return [...picked].sort((x, y) => x - y).map((i) => WEEKDAYS[i]!);
}
