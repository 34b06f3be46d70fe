import { ValidationError } from "../../src/api/errors";
import {
  formatLocal,
  formatWindow,
  isInWindow,
  parseWindowSpec,
  validateWindow,
  windowStatus,
} from "../../src/core/window";
import type { MaintenanceWindow } from "../../src/core/types";

const at = (iso: string): Date => new Date(iso);

/** Every minute in [from, to) at which the window is open, as ISO strings (bounded: at most a day). */
function openMinutes(window: MaintenanceWindow, from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(to);
  for (let t = Date.parse(from), i = 0; t < end && i < 1440; t += 60_000, i++) {
    if (isInWindow(window, t)) out.push(new Date(t).toISOString().slice(0, 16));
  }
  return out;
}

describe("isInWindow: days and hours (UTC)", () => {
  // 2026-11-23 is a Monday; 2026-11-21 a Saturday.
  const daily: MaintenanceWindow = { start: "02:00", end: "04:00" };
  it.each([
    ["2026-11-23T01:59:59Z", false],
    ["2026-11-23T02:00:00Z", true],
    ["2026-11-23T03:59:59Z", true],
    ["2026-11-23T04:00:00Z", false],
    ["2026-11-21T02:30:00Z", true],
  ])("every day 02:00-04:00 at %s → %s", (iso, expected) => {
    expect(isInWindow(daily, at(iso))).toBe(expected);
  });

  const weekdays: MaintenanceWindow = {
    days: ["mon", "tue", "wed", "thu", "fri"],
    start: "02:00",
    end: "04:00",
  };
  it.each([
    ["2026-11-23T02:30:00Z", true], // Monday
    ["2026-11-27T02:30:00Z", true], // Friday
    ["2026-11-21T02:30:00Z", false], // Saturday
    ["2026-11-22T02:30:00Z", false], // Sunday
  ])("mon-fri 02:00-04:00 at %s → %s", (iso, expected) => {
    expect(isInWindow(weekdays, at(iso))).toBe(expected);
  });

  it("takes 24:00 as the end of the day", () => {
    const w: MaintenanceWindow = { days: ["sun"], start: "00:00", end: "24:00" };
    expect(isInWindow(w, at("2026-11-22T00:00:00Z"))).toBe(true);
    expect(isInWindow(w, at("2026-11-22T23:59:59Z"))).toBe(true);
    expect(isInWindow(w, at("2026-11-23T00:00:00Z"))).toBe(false);
    expect(isInWindow(w, at("2026-11-21T23:59:00Z"))).toBe(false);
  });
});

describe("isInWindow: windows crossing midnight belong to their opening day", () => {
  const satNight: MaintenanceWindow = { days: ["sat"], start: "23:00", end: "01:00" };
  it.each([
    ["2026-11-21T22:59:00Z", false], // Saturday, before the opening
    ["2026-11-21T23:00:00Z", true], // Saturday 23:00
    ["2026-11-22T00:30:00Z", true], // Sunday 00:30: still Saturday's window
    ["2026-11-22T01:00:00Z", false], // Sunday 01:00: closed
    ["2026-11-21T00:30:00Z", false], // Saturday 00:30 belongs to Friday's window, and Friday is not listed
    ["2026-11-22T23:30:00Z", false], // Sunday evening: Sunday not listed
  ])("sat 23:00-01:00 at %s → %s", (iso, expected) => {
    expect(isInWindow(satNight, at(iso))).toBe(expected);
  });

  it("every day 22:00-02:00 is open around every midnight", () => {
    const w: MaintenanceWindow = { start: "22:00", end: "02:00" };
    expect(isInWindow(w, at("2026-11-23T23:59:00Z"))).toBe(true);
    expect(isInWindow(w, at("2026-11-24T01:59:00Z"))).toBe(true);
    expect(isInWindow(w, at("2026-11-24T02:00:00Z"))).toBe(false);
    expect(isInWindow(w, at("2026-11-24T21:59:00Z"))).toBe(false);
  });
});

describe("isInWindow: time zones", () => {
  it("Asia/Shanghai (UTC+8, no DST): Monday 02:00-04:00 local is Sunday 18:00-20:00 UTC", () => {
    const w: MaintenanceWindow = { days: ["mon"], start: "02:00", end: "04:00", timeZone: "Asia/Shanghai" };
    expect(isInWindow(w, at("2026-11-22T17:59:00Z"))).toBe(false);
    expect(isInWindow(w, at("2026-11-22T18:00:00Z"))).toBe(true);
    expect(isInWindow(w, at("2026-11-22T19:59:00Z"))).toBe(true);
    expect(isInWindow(w, at("2026-11-22T20:00:00Z"))).toBe(false);
    expect(isInWindow(w, at("2026-11-23T02:30:00Z"))).toBe(false); // Monday 10:30 in Shanghai
  });

  it("America/New_York in winter (UTC-5) and summer (UTC-4)", () => {
    const w: MaintenanceWindow = { start: "02:00", end: "03:00", timeZone: "America/New_York" };
    expect(isInWindow(w, at("2026-01-15T07:30:00Z"))).toBe(true); // 02:30 EST
    expect(isInWindow(w, at("2026-01-15T06:30:00Z"))).toBe(false);
    expect(isInWindow(w, at("2026-07-15T06:30:00Z"))).toBe(true); // 02:30 EDT
    expect(isInWindow(w, at("2026-07-15T07:30:00Z"))).toBe(false);
  });

  it("a weekday is the weekday in the window's zone, not in UTC", () => {
    // Friday 23:30 UTC is Saturday 07:30 in Shanghai.
    const w: MaintenanceWindow = { days: ["sat"], start: "07:00", end: "08:00", timeZone: "Asia/Shanghai" };
    expect(isInWindow(w, at("2026-11-20T23:30:00Z"))).toBe(true);
  });
});

describe("DST days", () => {
  // Europe/Paris springs forward on 2026-03-29 at 01:00 UTC (02:00 CET → 03:00 CEST).
  it("Paris spring-forward: a window inside the skipped hour never opens that day", () => {
    const w: MaintenanceWindow = { days: ["sun"], start: "02:30", end: "02:45", timeZone: "Europe/Paris" };
    expect(openMinutes(w, "2026-03-28T22:00Z", "2026-03-29T22:00Z")).toEqual([]);
    // It opens the next Sunday instead, at 02:30 CEST = 00:30 UTC.
    expect(windowStatus(w, at("2026-03-29T00:00:00Z")).opensAt?.toISOString()).toBe(
      "2026-04-05T00:30:00.000Z",
    );
  });

  it("Paris spring-forward: a window straddling the skipped hour opens when the clocks jump", () => {
    const w: MaintenanceWindow = { days: ["sun"], start: "02:30", end: "03:30", timeZone: "Europe/Paris" };
    const open = openMinutes(w, "2026-03-28T22:00Z", "2026-03-29T22:00Z");
    expect(open[0]).toBe("2026-03-29T01:00"); // 03:00 CEST, the first reading at or after 02:30
    expect(open.at(-1)).toBe("2026-03-29T01:29"); // 03:29 CEST
    expect(open).toHaveLength(30);
    const status = windowStatus(w, at("2026-03-29T00:10:00Z"));
    expect(status.inside).toBe(false);
    expect(status.opensAt?.toISOString()).toBe("2026-03-29T01:00:00.000Z");
    expect(windowStatus(w, at("2026-03-29T01:10:00Z")).closesAt?.toISOString()).toBe(
      "2026-03-29T01:30:00.000Z",
    );
  });

  // Europe/Paris falls back on 2026-10-25 at 01:00 UTC (03:00 CEST → 02:00 CET).
  it("Paris fall-back: the repeated hour is inside once per wall-clock reading", () => {
    const w: MaintenanceWindow = { days: ["sun"], start: "02:15", end: "02:45", timeZone: "Europe/Paris" };
    const open = openMinutes(w, "2026-10-24T22:00Z", "2026-10-25T22:00Z");
    expect(open).toHaveLength(60); // 30 minutes at CEST, 30 more at CET
    expect(open[0]).toBe("2026-10-25T00:15");
    expect(open[29]).toBe("2026-10-25T00:44");
    expect(open[30]).toBe("2026-10-25T01:15");
    expect(open[59]).toBe("2026-10-25T01:44");
    expect(windowStatus(w, at("2026-10-25T00:50:00Z")).opensAt?.toISOString()).toBe(
      "2026-10-25T01:15:00.000Z",
    );
  });

  it("Paris fall-back: a window the clocks jump back into opens at the jump", () => {
    const w: MaintenanceWindow = { days: ["sun"], start: "01:00", end: "02:30", timeZone: "Europe/Paris" };
    expect(isInWindow(w, at("2026-10-25T00:59:00Z"))).toBe(false); // 02:59 CEST
    expect(isInWindow(w, at("2026-10-25T01:00:00Z"))).toBe(true); // 02:00 CET
    expect(windowStatus(w, at("2026-10-25T00:40:00Z")).opensAt?.toISOString()).toBe(
      "2026-10-25T01:00:00.000Z",
    );
  });

  it("New York fall-back (2026-11-01): 01:00-02:00 lasts two real hours", () => {
    const w: MaintenanceWindow = {
      days: ["sun"],
      start: "01:00",
      end: "02:00",
      timeZone: "America/New_York",
    };
    expect(openMinutes(w, "2026-11-01T04:00Z", "2026-11-01T08:00Z")).toHaveLength(120);
    expect(isInWindow(w, at("2026-11-01T07:00:00Z"))).toBe(false); // 02:00 EST
  });

  it("New York spring-forward (2026-03-08): 02:00-03:00 does not exist", () => {
    const w: MaintenanceWindow = { start: "02:00", end: "03:00", timeZone: "America/New_York" };
    expect(openMinutes(w, "2026-03-08T05:00Z", "2026-03-08T09:00Z")).toEqual([]);
    expect(windowStatus(w, at("2026-03-08T06:30:00Z")).opensAt?.toISOString()).toBe(
      "2026-03-09T06:00:00.000Z",
    );
  });
});

describe("windowStatus", () => {
  it("outside: says the local time and the next opening", () => {
    const w: MaintenanceWindow = {
      days: ["mon", "tue", "wed", "thu", "fri"],
      start: "02:00",
      end: "04:00",
      timeZone: "America/New_York",
    };
    const s = windowStatus(w, at("2026-11-21T15:04:00Z")); // Saturday 10:04 EST
    expect(s).toEqual({
      inside: false,
      timeZone: "America/New_York",
      localTime: "sat 2026-11-21 10:04",
      opensAt: new Date("2026-11-23T07:00:00Z"),
    });
  });

  it("inside: says when it closes, across midnight", () => {
    const w: MaintenanceWindow = { days: ["sat"], start: "23:00", end: "01:00" };
    const s = windowStatus(w, at("2026-11-21T23:30:00Z"));
    expect(s.inside).toBe(true);
    expect(s.closesAt?.toISOString()).toBe("2026-11-22T01:00:00.000Z");
    expect(s.opensAt).toBeUndefined();
  });

  it("a window opening later today opens today", () => {
    const s = windowStatus(
      { start: "02:00", end: "04:00", timeZone: "Asia/Shanghai" },
      at("2026-11-23T10:00:00Z"),
    );
    expect(s.localTime).toBe("mon 2026-11-23 18:00");
    expect(s.opensAt?.toISOString()).toBe("2026-11-23T18:00:00.000Z");
  });

  it("formats local times in the zone", () => {
    expect(formatLocal(at("2026-03-29T01:00:00Z"), "Europe/Paris")).toBe("sun 2026-03-29 03:00");
  });
});

describe("validateWindow", () => {
  const invalid: Array<[string, unknown, string, RegExp]> = [
    ["start without a leading zero", { start: "2:00", end: "04:00" }, "maintenanceWindow.start", /HH:MM/],
    ["start at 24:00", { start: "24:00", end: "04:00" }, "maintenanceWindow.start", /00:00 to 23:59/],
    ["end at 25:00", { start: "02:00", end: "25:00" }, "maintenanceWindow.end", /00:00 to 24:00/],
    ["start == end", { start: "02:00", end: "02:00" }, "maintenanceWindow.end", /must differ from start/],
    ["missing start", { end: "02:00" }, "maintenanceWindow.start", /string/],
    [
      "a bad day",
      { days: ["sunday"], start: "02:00", end: "04:00" },
      "maintenanceWindow.days[0]",
      /mon, tue/,
    ],
    ["no days", { days: [], start: "02:00", end: "04:00" }, "maintenanceWindow.days", /at least one day/],
    [
      "an unknown zone",
      { start: "02:00", end: "04:00", timeZone: "Mars/Olympus" },
      "maintenanceWindow.timeZone",
      /IANA/,
    ],
    [
      "an offset as zone",
      { start: "02:00", end: "04:00", timeZone: "+01:00" },
      "maintenanceWindow.timeZone",
      /IANA/,
    ],
    [
      "an unknown field",
      { start: "02:00", end: "04:00", zone: "UTC" },
      "maintenanceWindow.zone",
      /known field/,
    ],
    ["not an object", "mon 02:00-04:00", "maintenanceWindow", /object/],
  ];
  it.each(invalid)("rejects %s naming the field", (_what, value, field, message) => {
    let caught: unknown;
    try {
      validateWindow(value);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).field).toBe(field);
    expect((caught as ValidationError).message).toMatch(message);
  });

  it("accepts a full window", () => {
    const w = { days: ["sat", "sun"], start: "23:00", end: "01:00", timeZone: "Europe/Paris" };
    expect(validateWindow(w)).toEqual(w);
  });
});

describe("parseWindowSpec", () => {
  it.each<[string, MaintenanceWindow]>([
    [
      "mon-fri 02:00-04:00 Europe/Paris",
      { days: ["mon", "tue", "wed", "thu", "fri"], start: "02:00", end: "04:00", timeZone: "Europe/Paris" },
    ],
    ["sat,sun 23:00-01:00", { days: ["sat", "sun"], start: "23:00", end: "01:00" }],
    ["* 02:00-03:00 UTC", { start: "02:00", end: "03:00", timeZone: "UTC" }],
    ["02:00-04:00", { start: "02:00", end: "04:00" }],
    ["2:00-4:30 Asia/Shanghai", { start: "02:00", end: "04:30", timeZone: "Asia/Shanghai" }],
    ["fri-mon 22:00-06:00", { days: ["mon", "fri", "sat", "sun"], start: "22:00", end: "06:00" }],
    ["SUN,mon-tue,sun 00:00-24:00", { days: ["mon", "tue", "sun"], start: "00:00", end: "24:00" }],
    [
      "  sat   01:00-02:00   America/New_York ",
      { days: ["sat"], start: "01:00", end: "02:00", timeZone: "America/New_York" },
    ],
  ])("reads %j", (text, expected) => {
    expect(parseWindowSpec(text)).toEqual(expected);
  });

  it.each<[string, RegExp]>([
    ["", /cannot read/],
    ["mon-fri", /cannot read/],
    ["mon-fri 02:00", /cannot read/],
    ["funday 02:00-04:00", /"funday" is not a day/],
    ["mon-fri-sat 02:00-04:00", /"mon-fri-sat" is not a day/],
    ["mon 02:00-04:00 Europe/Paris extra", /cannot read/],
    ["mon 25:00-04:00", /start in "mon 25:00-04:00" must be HH:MM/],
    ["02:00-02:00", /end .* must differ/],
    ["mon 02:00-04:00 Nowhere/Land", /timeZone .* not a known time zone/],
  ])("rejects %j naming --window", (text, message) => {
    let caught: unknown;
    try {
      parseWindowSpec(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).field).toBe("--window");
    expect((caught as ValidationError).message).toMatch(message);
    expect((caught as ValidationError).allowed).toMatch(/mon-fri 02:00-04:00 Europe\/Paris/);
  });

  it("formatWindow writes what parseWindowSpec reads", () => {
    for (const text of [
      "mon-fri 02:00-04:00 Europe/Paris",
      "sat,sun 23:00-01:00 UTC",
      "* 02:00-03:00 UTC",
      "mon,wed,fri-sun 01:00-02:00 Asia/Shanghai",
    ]) {
      expect(formatWindow(parseWindowSpec(text))).toBe(text);
    }
  });
});
