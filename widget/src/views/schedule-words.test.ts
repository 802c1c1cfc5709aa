import { describe, expect, it } from "vitest";
import { cronInWords, loadCronstrue } from "./schedule-words";

describe("schedules in words", () => {
  it("says a cron with its time zone in English, German and French once that language's words are loaded", async () => {
    const en = await loadCronstrue("en");
    expect(cronInWords(en, "0 2 * * 1-5", "Europe/Berlin", "en")).toBe("At 02:00, Monday through Friday (Europe/Berlin)");
    const de = await loadCronstrue("de");
    expect(cronInWords(de, "0 2 * * 1-5", "Europe/Berlin", "de")).toBe("Um 02:00, Montag bis Freitag (Europe/Berlin)");
    const fr = await loadCronstrue("fr");
    expect(cronInWords(fr, "0 2 * * *", undefined, "fr")).toBe("À 02:00");
  });

  it("returns null for what cronstrue can't read", async () => {
    expect(cronInWords(await loadCronstrue("en"), "not cron", undefined, "en")).toBeNull();
  });
});
