import { describe, expect, it } from "vitest";
import { decideDue, nextTick } from "../../src/sync/cron";

const berlinDaily0230 = { cron: "30 2 * * *", timezone: "Europe/Berlin" };
const at = (iso: string) => Date.parse(iso);

describe("cron due-ness", () => {
  it("fires a local time skipped by spring-forward once, at the first valid instant (Berlin 2026-03-29)", () => {
    // 02:30 does not exist on 2026-03-29 in Berlin (02:00 CET → 03:00 CEST); croner fires at 03:00 CEST = 01:00Z.
    expect(new Date(nextTick(berlinDaily0230, at("2026-03-28T12:00:00Z"))!).toISOString()).toBe("2026-03-29T01:00:00.000Z");
    expect(new Date(nextTick(berlinDaily0230, at("2026-03-29T01:00:00Z"))!).toISOString()).toBe("2026-03-30T00:30:00.000Z");
  });

  it("fires a local time repeated by fall-back only once (Berlin 2026-10-25)", () => {
    const first = nextTick(berlinDaily0230, at("2026-10-24T12:00:00Z"))!;
    expect(new Date(first).toISOString()).toBe("2026-10-25T00:30:00.000Z"); // 02:30 CEST
    // the second 02:30 (CET, 01:30Z) is not a second run
    expect(new Date(nextTick(berlinDaily0230, first)!).toISOString()).toBe("2026-10-26T01:30:00.000Z");
  });

  it("keeps a 09:00 New York schedule at 09:00 local across the US DST change (UTC hour moves)", () => {
    const ny = { cron: "0 9 * * *", timezone: "America/New_York" };
    expect(new Date(nextTick(ny, at("2026-03-07T15:00:00Z"))!).toISOString()).toBe("2026-03-08T13:00:00.000Z"); // EDT
    expect(new Date(nextTick(ny, at("2026-03-06T15:00:00Z"))!).toISOString()).toBe("2026-03-07T14:00:00.000Z"); // EST
  });

  it("is not due before the stored tick", () => {
    const d = decideDue(berlinDaily0230, at("2026-03-29T01:00:00Z"), at("2026-03-29T00:59:00Z"));
    expect(d.due).toBe(false);
  });

  it("coalesces missed ticks into one run and moves the next tick past now", () => {
    const hourly = { cron: "0 * * * *", timezone: "Europe/Berlin" };
    // stored tick 10:00Z, the worker was down until 13:20Z: one run, three missed ticks, next at 14:00Z
    const d = decideDue(hourly, at("2026-06-01T10:00:00Z"), at("2026-06-01T13:20:00Z"));
    expect(d).toEqual({ due: true, tick: at("2026-06-01T10:00:00Z"), nextDueAt: at("2026-06-01T14:00:00Z"), missed: 3 });
  });

  it("treats a tick exactly at the scheduled minute as due", () => {
    const d = decideDue({ cron: "*/15 * * * *", timezone: "UTC" }, at("2026-06-01T10:15:00Z"), at("2026-06-01T10:15:00Z"));
    expect(d.due).toBe(true);
    expect(d.nextDueAt).toBe(at("2026-06-01T10:30:00Z"));
  });

  it("rejects second-level cron expressions", () => {
    expect(() => nextTick({ cron: "* * * * * *", timezone: "UTC" }, Date.now())).toThrow(/five fields/);
  });
});
