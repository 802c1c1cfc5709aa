// @vitest-environment jsdom
// (@lit/localize announces locale changes on window.)
import { describe, expect, it } from "vitest";
import { formatDateTime, formatDuration, formatNumber, formatRelative } from "../util/format";
import { applyLocale, formatLocale, getLocale, messageLocaleFor } from "./localization";

describe("localization", () => {
  it("picks the nearest supported message locale for a BCP 47 tag, else English", () => {
    expect(messageLocaleFor("de")).toBe("de");
    expect(messageLocaleFor("de-CH")).toBe("de");
    expect(messageLocaleFor("FR-ca")).toBe("fr");
    expect(messageLocaleFor("en-GB")).toBe("en");
    expect(messageLocaleFor("ja")).toBe("en");
    expect(messageLocaleFor("")).toBe("en");
    expect(messageLocaleFor("not a tag!")).toBe("en");
  });

  it("formats dates, numbers, durations and relative times in the exact tag, and texts in its language", async () => {
    const at = "2026-03-04T05:06:00Z";
    const now = Date.parse(at) + 3 * 3600 * 1000;
    await applyLocale("de-CH");
    expect([getLocale(), formatLocale()]).toEqual(["de", "de-CH"]);
    expect(formatNumber(1234567.5)).toBe(new Intl.NumberFormat("de-CH").format(1234567.5));
    expect(formatNumber(1234567.5)).not.toBe(new Intl.NumberFormat("en").format(1234567.5));
    expect(formatDateTime(at)).toBe(new Intl.DateTimeFormat("de-CH", { dateStyle: "medium", timeStyle: "short" }).format(new Date(at)));
    expect(formatRelative(at, now)).toBe("vor 3 Stunden");
    expect(formatRelative(at, Date.parse(at))).toBe("gerade eben");
    await applyLocale("fr");
    expect(formatRelative(at, now)).toBe("il y a 3 heures");
    expect(formatRelative(at, Date.parse(at))).toBe("à l’instant");
    expect(formatDuration(at, new Date(Date.parse(at) + 65_000).toISOString())).toBe(
      `${new Intl.NumberFormat("fr", { style: "unit", unit: "minute", unitDisplay: "short" }).format(1)} ${new Intl.NumberFormat("fr", { style: "unit", unit: "second", unitDisplay: "short" }).format(5)}`,
    );
    await applyLocale("");
    expect([getLocale(), formatLocale(), formatRelative(at, now)]).toEqual(["en", "en", "3 hours ago"]);
  });
});
