/**
 * Per-org performance settings (docs/sandbox.md, "Latency and concurrency"): how long a Web API request takes and
 * Dataverse's service-protection limit on concurrent requests per user. Set at start (`startSandbox` options, CLI
 * flags) and at runtime through `PUT /_sandbox/settings`; `POST /_sandbox/reset` restores the start values.
 */
import { ODataError } from "./odata";

export interface OrgSettings {
  /** Time every authenticated Web API request takes, on top of the sandbox's own work (ms; default 0). */
  pageLatencyMs: number;
  /** Extra time per 1,000 rows a response returns (ms; default 0): a 5,000-row page at 400 takes 2 s more. */
  latencyPer1000RowsMs: number;
  /** Concurrent requests one user (or application user) may have in flight in one org (default 52, Dataverse's). */
  concurrencyLimit: number;
}

/** Dataverse's documented "Number of concurrent requests" limit per user per web server. */
export const DATAVERSE_CONCURRENCY_LIMIT = 52;

export const DEFAULT_SETTINGS: OrgSettings = { pageLatencyMs: 0, latencyPer1000RowsMs: 0, concurrencyLimit: DATAVERSE_CONCURRENCY_LIMIT };

const LIMITS: Record<keyof OrgSettings, { min: number; max: number }> = {
  pageLatencyMs: { min: 0, max: 600_000 },
  latencyPer1000RowsMs: { min: 0, max: 600_000 },
  concurrencyLimit: { min: 1, max: 100_000 },
};

/** `base` with the fields of `input` applied; every field is checked (integer within its range), unknown ones refused. */
export function applySettings(base: OrgSettings, input: unknown): OrgSettings {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new ODataError("Settings must be an object such as {pageLatencyMs, latencyPer1000RowsMs, concurrencyLimit}.", "sandbox_bad_request");
  const out = { ...base };
  for (const [k, v] of Object.entries(input)) {
    const range = LIMITS[k as keyof OrgSettings];
    if (!range) throw new ODataError(`Unknown setting '${k}' (known: ${Object.keys(LIMITS).join(", ")}).`, "sandbox_bad_request");
    if (typeof v !== "number" || !Number.isInteger(v) || v < range.min || v > range.max)
      throw new ODataError(
        `${k} must be an integer from ${range.min} to ${range.max} (got ${typeof v === "number" ? String(v) : JSON.stringify(v)}).`,
        "sandbox_bad_request",
      );
    out[k as keyof OrgSettings] = v;
  }
  return out;
}

/** How long a response with `rows` rows takes under these settings. */
export function latencyMs(s: OrgSettings, rows: number): number {
  return s.pageLatencyMs + Math.round((s.latencyPer1000RowsMs * rows) / 1000);
}
