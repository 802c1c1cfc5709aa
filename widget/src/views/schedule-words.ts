import type { Job } from "#contract/job";

type Cronstrue = { toString(cron: string, opts?: Record<string, unknown>): string };
let loader: Promise<Cronstrue> | null = null;

/** cronstrue is only needed by the jobs view: fetched on first use so it never weighs on the first paint. */
export function loadCronstrue(): Promise<Cronstrue> {
  loader ??= import("cronstrue").then((m) => (m as unknown as { default?: Cronstrue }).default ?? (m as unknown as Cronstrue));
  return loader;
}

/** "At 02:00, every day (Europe/Berlin)"; "Off" without a schedule; the raw cron if cronstrue can't read it. */
export function scheduleInWords(schedule: Job["schedule"], cronstrue: Cronstrue | null): string {
  if (!schedule) return "Off — runs only when started";
  if (!cronstrue) return `${schedule.cron} (${schedule.timezone})`;
  try {
    const words = cronstrue.toString(schedule.cron, { use24HourTimeFormat: true, verbose: false, throwExceptionOnParseError: true });
    return `${words} (${schedule.timezone})`;
  } catch {
    return `${schedule.cron} (${schedule.timezone})`;
  }
}
