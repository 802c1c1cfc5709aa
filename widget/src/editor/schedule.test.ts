import { describe, expect, it } from "vitest";
import { cronError, cronToPreset, DEFAULT_PRESET, nextRuns, presetToCron, weekdayNames } from "./schedule";

describe("schedule presets", () => {
  it.each([
    [{ kind: "hourly", time: "00:15" }, "15 * * * *"],
    [{ kind: "daily", time: "02:00" }, "0 2 * * *"],
    [{ kind: "weekdays", time: "07:30" }, "30 7 * * 1-5"],
    [{ kind: "weekly", time: "23:05", weekday: 0 }, "5 23 * * 0"],
    [{ kind: "monthly", time: "01:00", dayOfMonth: 28 }, "0 1 28 * *"],
  ] as const)("writes %o as %s and reads it back", (p, cron) => {
    const preset = { ...DEFAULT_PRESET, ...p };
    expect(presetToCron(preset)).toBe(cron);
    const back = cronToPreset(cron);
    expect(back.kind).toBe(p.kind);
    expect(presetToCron(back)).toBe(cron);
  });

  it("has no cron when off", () => {
    expect(presetToCron({ ...DEFAULT_PRESET, kind: "off" })).toBeNull();
    expect(cronToPreset(null).kind).toBe("off");
  });

  it("reads anything else as custom and keeps it", () => {
    const p = cronToPreset("*/10 8-18 * * 1-5");
    expect(p.kind).toBe("custom");
    expect(presetToCron(p)).toBe("*/10 8-18 * * 1-5");
  });

  it("refuses expressions with seconds or nonsense", () => {
    expect(cronError("0 0 2 * * *")).toMatch(/five parts/);
    expect(cronError("61 * * * *")).not.toBeNull();
    expect(cronError("0 2 * * 1-5")).toBeNull();
  });

  it("computes next runs in the job's time zone across a DST change", () => {
    // Europe/Berlin switches to summer time on 2026-03-29: 02:00 local is 01:00Z before, 00:00Z after.
    const runs = nextRuns("0 2 * * 1-5", "Europe/Berlin", 3, new Date("2026-03-26T12:00:00Z"));
    expect(runs.map((d) => d.toISOString())).toEqual(["2026-03-27T01:00:00.000Z", "2026-03-30T00:00:00.000Z", "2026-03-31T00:00:00.000Z"]);
  });

  it("returns no runs for an invalid expression", () => {
    expect(nextRuns("nope", "UTC")).toEqual([]);
  });

  it("names the weekdays Sunday first (cron's 0 … 6) in the widget's language", () => {
    expect(weekdayNames("en")).toEqual(["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]);
    expect(weekdayNames("de")[0]).toBe("Sonntag");
    expect(weekdayNames("fr")[1]).toBe("lundi");
  });
});
