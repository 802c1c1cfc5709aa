import { msg } from "@lit/localize";
import { formatLocale } from "../l10n/localization";

/**
 * Formatting in the widget's language (its `locale` attribute, else the host page's `lang`: l10n/localization.ts),
 * through Intl; every function is safe with missing values.
 */
type Formatter = Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat | Intl.ListFormat;
const cache = new Map<string, Formatter>();
function formatter<T extends Formatter>(kind: string, make: (locale: string) => T): T {
  const key = `${kind}|${formatLocale()}`;
  let f = cache.get(key) as T | undefined;
  if (!f) cache.set(key, (f = make(formatLocale())));
  return f;
}

export const formatNumber = (n: number | null | undefined): string => (n == null ? "—" : formatter("number", (l) => new Intl.NumberFormat(l)).format(n));

/** "A, B and C" / "A, B or C" in the widget's language. */
export const listFormat = (items: readonly string[], type: "conjunction" | "disjunction" = "conjunction"): string =>
  formatter(`list-${type}`, (l) => new Intl.ListFormat(l, { type })).format(items);

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return formatter("datetime", (l) => new Intl.DateTimeFormat(l, { dateStyle: "medium", timeStyle: "short" })).format(d);
}

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["week", 7 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return "—";
  const diff = (t - now) / 1000;
  if (Math.abs(diff) < 10) return msg("just now");
  const rtf = formatter("relative", (l) => new Intl.RelativeTimeFormat(l, { numeric: "auto" }));
  for (const [unit, secs] of UNITS) {
    if (Math.abs(diff) >= secs || unit === "second") return rtf.format(Math.round(diff / secs), unit);
  }
  return "—";
}

export function formatDuration(startIso: string | null | undefined, endIso: string | null | undefined, now = Date.now()): string {
  if (!startIso) return "—";
  const start = new Date(startIso).getTime();
  const end = endIso ? new Date(endIso).getTime() : now;
  if (Number.isNaN(start) || Number.isNaN(end)) return "—";
  let s = Math.max(0, Math.round((end - start) / 1000));
  // Intl.DurationFormat is not in every browser the widget supports yet: each unit through Intl's unit format.
  const unit = (n: number, u: "second" | "minute" | "hour") =>
    formatter(`unit-${u}`, (l) => new Intl.NumberFormat(l, { style: "unit", unit: u, unitDisplay: "short" })).format(n);
  if (s < 60) return unit(s, "second");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  s %= 60;
  return h ? `${unit(h, "hour")} ${unit(m, "minute")}` : `${unit(m, "minute")} ${unit(s, "second")}`;
}

/** The edge may answer a list as an array or wrapped (`{ items }`, `{ connections }`…): accept both. */
export function asList<T>(value: unknown): T[] {
  if (Array.isArray(value)) return value as T[];
  if (value && typeof value === "object") {
    for (const key of ["items", "data", "results", "connections", "jobs", "runs", "errors", "objects", "records"]) {
      const v = (value as Record<string, unknown>)[key];
      if (Array.isArray(v)) return v as T[];
    }
  }
  return [];
}
