/**
 * The e-mail a finished run sends (pure): subject, plain text and HTML with the job, the outcome, the counts, the first
 * per-record errors and — when the deployment sets APP_URL — a link to the run. Rendered once, when the run ends, and
 * queued in the outbox as it is (a retry sends the same message).
 */
import type { Job } from "#contract/job";
import type { Run, RunRecordError } from "#contract/run";

/** Per-record errors an e-mail lists; the run's error CSV has all of them. */
export const EMAIL_ERRORS = 5;

export interface RunEmail {
  subject: string;
  text: string;
  html: string;
}

/**
 * Control characters (CR, LF, TAB, NUL …, and the Unicode line/paragraph separators) become one space: a job name goes
 * into e-mail subjects, where a line break would start a header of its own. Job names are refused with them on save
 * (contract/job.ts); this is the second line for names stored before that rule.
 */
export function headerSafe(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]+/gu, " ").trim();
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** What the run's outcome is called in the subject: a cancelled run is `failed` with the code `cancelled`. */
export function runOutcome(run: Run): string {
  return run.status === "failed" && run.error?.code === "cancelled" ? "cancelled" : run.status;
}

/**
 * The run's page in the host app: APP_URL with `{runId}` / `{jobId}` replaced, or with `#dc-run=<runId>` appended when it
 * has neither. Only http(s) URLs; anything else gives no link.
 */
export function runLink(appUrl: string | undefined, run: Pick<Run, "id" | "jobId">): string | null {
  const base = (appUrl ?? "").trim();
  if (!/^https?:\/\//i.test(base)) return null;
  const hasPlaceholder = base.includes("{runId}") || base.includes("{jobId}");
  const link = hasPlaceholder
    ? base.replaceAll("{runId}", encodeURIComponent(run.id)).replaceAll("{jobId}", encodeURIComponent(run.jobId))
    : `${base}#dc-run=${encodeURIComponent(run.id)}`;
  try {
    return new URL(link).href;
  } catch {
    return null;
  }
}

export function renderRunEmail(job: Pick<Job, "id" | "name">, run: Run, firstErrors: RunRecordError[], appUrl?: string): RunEmail {
  const outcome = runOutcome(run);
  const name = headerSafe(job.name);
  const c = run.counts;
  const counts = `Read ${c.read}, inserted ${c.inserted}, updated ${c.updated}, deleted ${c.deleted}, skipped ${c.skipped}, failed ${c.failed}`;
  const link = runLink(appUrl, run);
  const kind = run.strategy === "reconcile" ? "reconciliation" : "run";
  const errors = firstErrors.slice(0, EMAIL_ERRORS);
  const errorLine = (e: RunRecordError) => `${e.sourceId}${e.field ? ` ${e.field}` : ""}: ${e.reason}`;
  const text = [
    `Job: ${name} (${job.id})`,
    `Run: ${run.id} — ${outcome} (${run.trigger} ${kind})`,
    `Started: ${run.startedAt ?? "-"}  Finished: ${run.finishedAt ?? "-"}`,
    counts,
    ...(run.error ? [`Error: ${run.error.code}: ${run.error.message}`] : []),
    ...(errors.length ? ["", `First record errors (${errors.length} of ${c.failed}):`, ...errors.map((e) => `- ${errorLine(e)}`)] : []),
    ...(link ? ["", `Open the run: ${link}`] : []),
  ].join("\n");
  const row = (k: string, v: string) => `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`;
  const html = [
    `<!doctype html><html><body style="font-family:system-ui,sans-serif;font-size:14px">`,
    `<h2 style="margin:0 0 8px">${escapeHtml(name)}: ${escapeHtml(outcome)}</h2>`,
    `<table>`,
    row("Job", `${name} (${job.id})`),
    row("Run", `${run.id} (${run.trigger} ${kind})`),
    row("Started", run.startedAt ?? "-"),
    row("Finished", run.finishedAt ?? "-"),
    row("Counts", counts),
    ...(run.error ? [row("Error", `${run.error.code}: ${run.error.message}`)] : []),
    `</table>`,
    ...(errors.length
      ? [`<p>First record errors (${errors.length} of ${c.failed}):</p><ul>`, ...errors.map((e) => `<li>${escapeHtml(errorLine(e))}</li>`), `</ul>`]
      : []),
    ...(link ? [`<p><a href="${escapeHtml(link)}">Open the run</a></p>`] : []),
    `</body></html>`,
  ].join("\n");
  return { subject: `[${outcome}] ${name}`, text, html };
}
