/**
 * Schedule picker model: presets <-> 5-part cron, next run times (croner, time-zone aware) and the schedule in words
 * (cronstrue). The edge evaluates the same cron + IANA time zone each minute.
 */
import { msg } from "@lit/localize";
import { Cron } from "croner";

export type ScheduleKind = "off" | "hourly" | "daily" | "weekdays" | "weekly" | "monthly" | "custom";

export interface SchedulePreset {
  kind: ScheduleKind;
  /** "HH:MM" for daily / weekdays / weekly / monthly; for hourly only the minutes count. */
  time: string;
  /** 0 = Sunday … 6 = Saturday (weekly). */
  weekday: number;
  /** 1…28 (monthly; 28 so every month has it). */
  dayOfMonth: number;
  /** The expression for "custom". */
  cron: string;
}

export const DEFAULT_PRESET: SchedulePreset = { kind: "off", time: "02:00", weekday: 1, dayOfMonth: 1, cron: "0 2 * * *" };

/** The days of the week in `locale`, Sunday first (cron's 0 … 6). */
export function weekdayNames(locale?: string): string[] {
  const f = new Intl.DateTimeFormat(locale, { weekday: "long", timeZone: "UTC" });
  // 2026-01-04 was a Sunday.
  return Array.from({ length: 7 }, (_, i) => f.format(new Date(Date.UTC(2026, 0, 4 + i))));
}

function hm(time: string): { h: number; m: number } {
  const match = /^(\d{1,2}):(\d{2})$/.exec(time.trim());
  const h = match ? Math.min(23, Number(match[1])) : 0;
  const m = match ? Math.min(59, Number(match[2])) : 0;
  return { h, m };
}

const pad = (n: number) => String(n).padStart(2, "0");

/** The cron expression of a preset, or null for "off". */
export function presetToCron(p: SchedulePreset): string | null {
  const { h, m } = hm(p.time);
  switch (p.kind) {
    case "off":
      return null;
    case "hourly":
      return `${m} * * * *`;
    case "daily":
      return `${m} ${h} * * *`;
    case "weekdays":
      return `${m} ${h} * * 1-5`;
    case "weekly":
      return `${m} ${h} * * ${p.weekday}`;
    case "monthly":
      return `${m} ${h} ${p.dayOfMonth} * *`;
    case "custom":
      return p.cron.trim().replace(/\s+/g, " ");
  }
}

const num = "([0-9]|[1-5][0-9])";
const hour = "([0-9]|1[0-9]|2[0-3])";

/** Recognise the presets' own shapes; anything else is "custom". */
export function cronToPreset(cron: string | null | undefined): SchedulePreset {
  if (!cron) return { ...DEFAULT_PRESET };
  const c = cron.trim().replace(/\s+/g, " ");
  let m: RegExpExecArray | null;
  if ((m = new RegExp(`^${num} \\* \\* \\* \\*$`).exec(c))) {
    return { ...DEFAULT_PRESET, kind: "hourly", time: `00:${pad(Number(m[1]))}`, cron: c };
  }
  if ((m = new RegExp(`^${num} ${hour} \\* \\* \\*$`).exec(c))) {
    return { ...DEFAULT_PRESET, kind: "daily", time: `${pad(Number(m[2]))}:${pad(Number(m[1]))}`, cron: c };
  }
  if ((m = new RegExp(`^${num} ${hour} \\* \\* (1-5|MON-FRI)$`, "i").exec(c))) {
    return { ...DEFAULT_PRESET, kind: "weekdays", time: `${pad(Number(m[2]))}:${pad(Number(m[1]))}`, cron: c };
  }
  if ((m = new RegExp(`^${num} ${hour} \\* \\* ([0-6])$`).exec(c))) {
    return { ...DEFAULT_PRESET, kind: "weekly", time: `${pad(Number(m[2]))}:${pad(Number(m[1]))}`, weekday: Number(m[3]), cron: c };
  }
  if ((m = new RegExp(`^${num} ${hour} ([1-9]|1[0-9]|2[0-8]) \\* \\*$`).exec(c))) {
    return { ...DEFAULT_PRESET, kind: "monthly", time: `${pad(Number(m[2]))}:${pad(Number(m[1]))}`, dayOfMonth: Number(m[3]), cron: c };
  }
  return { ...DEFAULT_PRESET, kind: "custom", cron: c };
}

/** Why a cron expression is refused, or null when it is a valid 5-part expression. */
export function cronError(cron: string): string | null {
  const parts = cron.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 5) return msg("Use five parts: minute hour day-of-month month day-of-week (e.g. 0 2 * * *).");
  try {
    new Cron(parts.join(" "), { paused: true, mode: "5-part" });
    return null;
  } catch (e) {
    return (e as Error).message.replace(/^CronPattern: /, "");
  }
}

/** The next `count` run instants of `cron` evaluated in `timezone`, after `from`. Empty when the cron is invalid. */
export function nextRuns(cron: string, timezone: string, count = 3, from: Date = new Date()): Date[] {
  try {
    const job = new Cron(cron, { paused: true, timezone, mode: "5-part" });
    return job.nextRuns(count, from);
  } catch {
    return [];
  }
}

/** A run instant shown in the job's time zone: "Mon 30 Mar, 02:00". */
export function formatRun(d: Date, timezone: string, locale?: string): string {
  try {
    return new Intl.DateTimeFormat(locale, {
      timeZone: timezone,
      weekday: "short",
      day: "numeric",
      month: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }).format(d);
  } catch {
    return d.toISOString();
  }
}

/** The browser's time zone, and every IANA zone it knows (falls back to a short list on old engines). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function timeZones(): string[] {
  const intl = Intl as typeof Intl & { supportedValuesOf?: (k: string) => string[] };
  const zones = intl.supportedValuesOf
    ? intl.supportedValuesOf("timeZone")
    : ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"];
  return zones.includes("UTC") ? zones : ["UTC", ...zones];
}
