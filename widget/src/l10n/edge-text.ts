/**
 * Texts the edge writes, in the widget's language. The edge answers in English; its error codes (edge/src/contract/
 * errors.ts: the API's and a failed run's) are closed lists, so the widget words each code itself in German and
 * French and keeps the edge's own message for English, for a code it does not know, and in the banner's details.
 * Messages that carry data only the edge knows (a field's validation detail, a readiness check naming an app id or a
 * privilege) stay the edge's English: see docs/widget.md, "Localization".
 */
import { msg } from "@lit/localize";
import type { ErrorCode, RunErrorCode } from "#contract/errors";
import { sourceLocale } from "./generated/locale-codes";

const apiErrors = (): Partial<Record<ErrorCode, string>> => ({
  unauthorized: msg("The page's session was not accepted."),
  forbidden: msg("You are not allowed to do this."),
  not_found: msg("This item does not exist (any more)."),
  validation_failed: msg("Some values are not valid."),
  invalid_json: msg("The request could not be read."),
  payload_too_large: msg("The request is too large."),
  conflict: msg("This was changed elsewhere in the meantime. Reload and try again."),
  run_in_progress: msg("A run of this job is already in progress."),
  org_mismatch: msg("You signed in to a different Dynamics 365 organization than this connection's."),
  org_claimed: msg("Another account of this product already connected this Dynamics 365 organization."),
  not_authorized: msg("The connection is not authorized."),
  idempotency_in_progress: msg("The same request is still being processed. Try again in a moment."),
  idempotency_key_reused: msg("This request repeats an earlier, different one."),
  quota_exceeded: msg("A limit of this product's plan was reached."),
  dynamics_token_missing: msg("A Microsoft sign-in is needed for this."),
  dynamics_token_invalid: msg("Dynamics 365 did not accept your Microsoft sign-in."),
  dynamics_error: msg("Dynamics 365 answered with an error."),
  dynamics_unreachable: msg("Dynamics 365 could not be reached."),
  proxy_refused: msg("This request to Dynamics 365 is not allowed."),
  rate_limited: msg("Too many requests. Wait a moment and try again."),
  internal: msg("Something went wrong in the connector service."),
  misconfigured: msg("The connector service is not set up correctly."),
});

const runErrors = (): Partial<Record<RunErrorCode, string>> => ({
  org_claimed: msg("Another account of this product already connected this Dynamics 365 organization."),
  org_url_refused: msg("The environment address is not allowed."),
  insufficient_privilege: msg("The user who authorized the connection may not read every row of the table."),
  not_authorized: msg("The connection is not authorized."),
  dynamics_unauthorized: msg("Dynamics 365 did not accept the connector's sign-in. Authorize the connection again."),
  dynamics_forbidden: msg("Dynamics 365 refused access to the table."),
  dynamics_error: msg("Dynamics 365 answered with an error."),
  job_not_found: msg("The job no longer exists."),
  connection_not_found: msg("The connection no longer exists."),
  object_not_found: msg("The target object no longer exists."),
  invalid_job: msg("The job's configuration is not valid any more."),
  chain_too_deep: msg("Too many jobs are chained one after another."),
  reconcile_too_many_deletes: msg("Too many records seem deleted in Dynamics 365; none were deleted, to be safe."),
  schema_drift: msg("The table's columns changed in Dynamics 365."),
  start_failed: msg("The scheduled run could not start."),
  internal: msg("Something went wrong in the connector service."),
});

// A Microsoft sign-in that did not finish (auth/dynamics-auth.ts: DynamicsAuthError's reason; msal's own text is English).
const signInErrors = (): Record<string, string> => ({
  popup_blocked: msg("The browser blocked the Microsoft sign-in window."),
  cancelled: msg("Sign-in was cancelled."),
  timed_out: msg("Microsoft sign-in took too long."),
  failed: msg("Microsoft sign-in failed."),
});

type Coded = { code?: unknown; message?: unknown; name?: unknown; reason?: unknown } | null | undefined;

/** The edge's message in English; in another language the widget's wording of its code, else the edge's message. */
function worded(locale: string, e: Coded, table: () => Partial<Record<string, string>>, fallback: string): string {
  const own = typeof e?.message === "string" && e.message ? e.message : fallback;
  if (locale === sourceLocale) return own;
  if (e?.name === "DynamicsAuthError" && typeof e.reason === "string") return signInErrors()[e.reason] ?? own;
  if (typeof e?.code !== "string") return own;
  return table()[e.code] ?? own;
}

/**
 * A failed edge call's (or Microsoft sign-in's) message in `locale` (the message locale, l10n/localization.ts);
 * `fallback` without one.
 */
export const edgeErrorText = (locale: string, e: unknown, fallback = ""): string => worded(locale, e as Coded, apiErrors, fallback || String(e));

/** A failed run's `error.message` in `locale`. */
export const runErrorText = (locale: string, error: { code: string; message: string }): string => worded(locale, error, runErrors, error.message);
