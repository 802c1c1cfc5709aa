/**
 * The widget's language (@lit/localize, runtime mode). English is built in; German and French are modules generated
 * from widget/l10n/*.xlf (`npm run l10n:build`) and imported only when that locale is chosen, so the first paint carries
 * no translations. One language per page: @lit/localize keeps one current locale for the document.
 *
 * `applyLocale(tag)` takes the element's `locale` attribute or, without it, the host page's `lang`: the messages follow
 * the nearest supported language ("de-CH" → German), dates and numbers the exact tag (Swiss German formats).
 */
import { configureLocalization, type LocaleModule } from "@lit/localize";
import type * as EdgeTextModule from "./edge-text";
import { sourceLocale, targetLocales } from "./generated/locale-codes";

/** The widget's wording of the edge's error codes: only another language needs it, so it comes with the locales. */
let edgeText: typeof EdgeTextModule | null = null;
const withEdgeText = async (messages: Promise<LocaleModule>): Promise<LocaleModule> => {
  const [m, t] = await Promise.all([messages, import("./edge-text")]);
  edgeText = t;
  return m;
};

// One lazy chunk per language, loaded the first time it is chosen.
const LOADERS: Record<(typeof targetLocales)[number], () => Promise<LocaleModule>> = {
  de: () => withEdgeText(import("./generated/de")),
  fr: () => withEdgeText(import("./generated/fr")),
};

const { getLocale, setLocale } = configureLocalization({
  sourceLocale,
  targetLocales,
  loadLocale: (locale) => LOADERS[locale as keyof typeof LOADERS](),
});

const supported: readonly string[] = [sourceLocale, ...targetLocales];
let intlLocale: string = sourceLocale;

/** The supported message locale for a BCP 47 tag: exact, else its language, else English. */
export function messageLocaleFor(tag: string | null | undefined): string {
  const t = (tag ?? "").trim();
  if (!t) return sourceLocale;
  try {
    const canonical = Intl.getCanonicalLocales(t)[0]!;
    if (supported.includes(canonical)) return canonical;
    const language = new Intl.Locale(canonical).language;
    return supported.includes(language) ? language : sourceLocale;
  } catch {
    return sourceLocale;
  }
}

/** The tag dates, numbers and relative times are formatted in (format.ts). */
export const formatLocale = (): string => intlLocale;

/** Switches messages and formats to `tag`; resolves once the locale's messages are loaded and elements re-rendered. */
export async function applyLocale(tag: string | null | undefined): Promise<void> {
  const messages = messageLocaleFor(tag);
  try {
    intlLocale = tag ? Intl.getCanonicalLocales(tag.trim())[0]! : messages;
  } catch {
    intlLocale = messages;
  }
  if (getLocale() !== messages) await setLocale(messages);
}

/** A failed edge call's message in the widget's language (edge-text.ts); the edge's own message in English. */
export function edgeErrorText(e: unknown, fallback = ""): string {
  if (edgeText) return edgeText.edgeErrorText(getLocale(), e, fallback);
  const m = (e as { message?: unknown } | null)?.message;
  return typeof m === "string" && m ? m : fallback || String(e);
}

/** A failed run's message in the widget's language (edge-text.ts); the edge's own message in English. */
export const runErrorText = (error: { code: string; message: string }): string => edgeText?.runErrorText(getLocale(), error) ?? error.message;

export { getLocale };
