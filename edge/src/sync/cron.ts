/**
 * Cron due-ness, pure. A job's schedule is a 5-field cron expression read in an IANA time zone (croner does the
 * DST arithmetic: a local time skipped by spring-forward fires at the first valid instant after it, a time repeated
 * by fall-back fires once). The scheduler stores the next tick as an instant; when the cron handler finds it in the
 * past it claims it and moves it to the first tick after *now*, so any number of missed ticks produce one run.
 */
import { Cron } from "croner";

interface CronSpec {
  cron: string;
  timezone: string;
}

function parse(spec: CronSpec): Cron {
  // Five fields only: croner's optional seconds / year fields would let a schedule fire every second.
  if (spec.cron.trim().split(/\s+/).length !== 5) throw new Error("cron must have five fields (minute hour day month weekday)");
  return new Cron(spec.cron, { timezone: spec.timezone, paused: true, domAndDow: false, mode: "5-part" });
}

/** The first tick strictly after `after` (epoch ms), or null when the expression never fires again. Throws on a bad spec. */
export function nextTick(spec: CronSpec, after: number): number | null {
  const next = parse(spec).nextRun(new Date(after));
  return next ? next.getTime() : null;
}

/**
 * The shortest time (ms) between two consecutive ticks among the next `samples` ticks after `after`, or null when the
 * expression fires at most once. Stops at the first gap shorter than `stopBelow` (the caller only needs to know that
 * one exists). Throws on a bad spec. A cron's fields repeat per hour and per day, so the first few dozen ticks show its
 * minute pattern and its hour boundaries; each tick costs croner a fraction of a millisecond, so the default stays small.
 */
export function shortestInterval(spec: CronSpec, after: number, stopBelow = 0, samples = 64): number | null {
  const cron = parse(spec);
  const horizon = after + 400 * 86_400_000; // past a year of ticks, a rare schedule (29 February) is not a load
  let prev = cron.nextRun(new Date(after));
  let shortest: number | null = null;
  for (let i = 0; prev && i < samples; i++) {
    const next = cron.nextRun(prev);
    if (!next || next.getTime() > horizon) break;
    const gap = next.getTime() - prev.getTime();
    if (shortest === null || gap < shortest) shortest = gap;
    if (shortest < stopBelow) break;
    prev = next;
  }
  return shortest;
}

/** Whether `tz` is an IANA time zone name the runtime knows. */
export function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * What is wrong with a schedule's cron expression, read exactly as the scheduler reads it (five fields, croner, the
 * job's zone) — or null when it fires. An unknown zone is reported separately (validTimezone), so it is read in UTC here.
 */
export function cronExpressionProblem(spec: CronSpec): string | null {
  try {
    return nextTick({ cron: spec.cron, timezone: validTimezone(spec.timezone) ? spec.timezone : "UTC" }, Date.now()) === null ? "never fires" : null;
  } catch (e) {
    return e instanceof Error ? e.message : "is not a valid cron expression";
  }
}

interface DueDecision {
  /** Run now? */
  due: boolean;
  /** The tick being claimed (the stored next_due_at) when due. */
  tick: number | null;
  /** What next_due_at becomes: the first tick after `now` (never one of the missed ones). */
  nextDueAt: number | null;
  /** How many ticks were missed and coalesced into this one run (0 when on time). */
  missed: number;
}

/**
 * Given the stored next tick and the current time, decides whether the job is due and where the next tick goes.
 * `now` is the cron handler's scheduledTime (a minute boundary); a tick at exactly `now` is due.
 */
export function decideDue(spec: CronSpec, storedNextDueAt: number | null, now: number): DueDecision {
  if (storedNextDueAt === null) return { due: false, tick: null, nextDueAt: nextTick(spec, now), missed: 0 };
  if (storedNextDueAt > now) return { due: false, tick: null, nextDueAt: storedNextDueAt, missed: 0 };
  // Parsed once: a tick claims up to 20,000 due jobs, and a late job walks through every tick it missed.
  const cron = parse(spec);
  const after = (at: number) => cron.nextRun(new Date(at))?.getTime() ?? null;
  let missed = 0;
  let t = after(storedNextDueAt);
  while (t !== null && t <= now && missed < 10_000) {
    missed++;
    t = after(t);
  }
  return { due: true, tick: storedNextDueAt, nextDueAt: t, missed };
}
