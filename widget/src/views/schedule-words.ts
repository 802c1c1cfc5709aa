// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- the package's typings are built from the entry alone
/// <reference path="./cronstrue-locales.d.ts" />
import { msg } from "@lit/localize";
import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { Job } from "#contract/job";
import { getLocale } from "../l10n/localization";

export type Cronstrue = { toString(cron: string, opts?: Record<string, unknown>): string };

let core: Promise<Cronstrue> | null = null;
const loadedLocales = new Map<string, Promise<unknown>>();
// cronstrue's own translations (English is built in), one small module each.
const LOCALES: Record<string, () => Promise<unknown>> = {
  de: () => import("cronstrue/locales/de"),
  fr: () => import("cronstrue/locales/fr"),
};

/**
 * cronstrue with the words of `locale` registered. Fetched on first use (the jobs table, the job summary, the editor's
 * schedule), so neither cronstrue nor its locales weigh on the first paint.
 */
export async function loadCronstrue(locale: string = getLocale()): Promise<Cronstrue> {
  core ??= import("cronstrue").then((m) => (m as unknown as { default?: Cronstrue }).default ?? (m as unknown as Cronstrue));
  const cronstrue = await core;
  // A locale module registers itself on the cronstrue it requires: the core is loaded first.
  const load = LOCALES[locale];
  if (load) {
    if (!loadedLocales.has(locale)) loadedLocales.set(locale, load());
    await loadedLocales.get(locale);
  }
  return cronstrue;
}

/** "At 02:00, Monday through Friday (Europe/Berlin)" in `locale`; null when cronstrue can't read the expression. */
export function cronInWords(cronstrue: Cronstrue, cron: string, timezone?: string, locale: string = getLocale()): string | null {
  try {
    const words = cronstrue.toString(cron, { locale, use24HourTimeFormat: true, verbose: false, throwExceptionOnParseError: true });
    return timezone ? `${words} (${timezone})` : words;
  } catch {
    return null;
  }
}

/**
 * Schedules in words for an element: loads cronstrue and the current language's words, again when the language
 * changes, and re-renders the element once they are there. Until then a schedule reads as its raw cron.
 */
export class CronWords implements ReactiveController {
  private _cronstrue: Cronstrue | null = null;
  /** The language whose words are loaded, and the one asked for last. */
  private _ready: string | null = null;
  private _wanted: string | null = null;

  constructor(private readonly _host: ReactiveControllerHost) {
    _host.addController(this);
  }

  hostConnected(): void {
    this._ensure();
  }

  hostUpdate(): void {
    this._ensure();
  }

  private _ensure(): void {
    const locale = getLocale();
    if (this._wanted === locale) return;
    this._wanted = locale;
    void loadCronstrue(locale)
      .then((c) => {
        if (this._wanted !== locale) return;
        this._cronstrue = c;
        this._ready = locale;
        this._host.requestUpdate();
      })
      .catch(() => {
        /* the raw cron stays */
      });
  }

  /** The expression in words in the current language (with its time zone); null until loaded or when unreadable. */
  describe(cron: string, timezone?: string): string | null {
    const locale = getLocale();
    return this._cronstrue && this._ready === locale ? cronInWords(this._cronstrue, cron, timezone, locale) : null;
  }

  /** A job's schedule: in words; "Off — runs only when started" without one; the raw cron until words are there. */
  schedule(schedule: Job["schedule"]): string {
    if (!schedule) return msg("Off — runs only when started");
    return this.describe(schedule.cron, schedule.timezone) ?? `${schedule.cron} (${schedule.timezone})`;
  }
}
