import { describe, expect, it } from "vitest";
import { convertValue } from "../../src/sync/convert";

/** The general date-time path: parse, then print as ISO 8601 UTC without zero milliseconds. */
function parsed(s: string): unknown {
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace(".000Z", "Z") : null;
}

describe("convertValue: date-times", () => {
  it("gives Dataverse's `YYYY-MM-DDTHH:MM:SSZ` instants the answer a full parse gives, for every part in and out of range", () => {
    const pad = (n: number, w: number) => String(n).padStart(w, "0");
    let checked = 0;
    for (const y of [0, 999, 1900, 2000, 2023, 2024, 2100, 9999])
      for (let mo = 0; mo <= 13; mo++)
        for (let d = 0; d <= 32; d++)
          for (const [h, mi, se] of [
            [0, 0, 0],
            [23, 59, 59],
            [24, 0, 0],
            [12, 60, 0],
            [12, 0, 60],
          ] as const) {
            const s = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(se, 2)}Z`;
            const c = convertValue(s, "datetime");
            expect(c.ok ? c.value : null, s).toBe(parsed(s));
            checked++;
          }
    expect(checked).toBe(8 * 14 * 33 * 5);
  });

  it("keeps a valid instant as sent, leap days included; other forms are normalized to UTC", () => {
    expect(convertValue("2024-02-29T23:59:59Z", "datetime")).toEqual({ ok: true, value: "2024-02-29T23:59:59Z" });
    expect(convertValue("2024-02-29T23:59:59+01:00", "datetime")).toEqual({ ok: true, value: "2024-02-29T22:59:59Z" });
    expect(convertValue(" 2024-03-01T00:00:00Z ", "datetime")).toEqual({ ok: true, value: "2024-03-01T00:00:00Z" });
    expect(convertValue("2024-03-01T00:00:00.250Z", "datetime")).toEqual({ ok: true, value: "2024-03-01T00:00:00.250Z" });
    expect(convertValue("2024-0a-01T00:00:00Z", "datetime")).toEqual({ ok: false, reason: "not a date-time" });
  });
});
