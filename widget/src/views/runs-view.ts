import { localized, msg, str } from "@lit/localize";
import { LitElement, css, html, nothing, type PropertyValues } from "lit";
import { property, state } from "lit/decorators.js";
import type { Job } from "#contract/job";
import type { Run, RunRecordError } from "#contract/run";
import type { EdgeClient } from "../api/edge-client";
import { PollingController } from "../controllers/polling-controller";
import { emit } from "../events";
import { shared } from "../styles/shared.styles";
import { define } from "../util/define";
import { asList, formatDateTime, formatDuration, formatNumber } from "../util/format";
import { runErrorText } from "../l10n/localization";
import { codeOf } from "./connection-form";
import { runsChart } from "./runs-chart";
import { openModal } from "./dialog";
import { adminOnlyNote, errorBanner, runChip, saveBlob, skeletonRows } from "./ui";
import { isActiveStatus, isCancelledRun } from "#contract/run";

const TRIGGERS = (): Record<string, string> => ({ manual: msg("Manual"), schedule: msg("Schedule"), chain: msg("Chain") });
/** Sets the bar's width through the CSSOM: a `style` attribute would be blocked by a strict host CSP (style-src). */
const COUNT_KEYS = ["read", "inserted", "updated", "deleted", "skipped", "failed"] as const;

/**
 * Run history of one job: chart of the last 30, a table with counts, live progress of an active run (polling),
 * and the selected run's detail with its per-record errors and "Download CSV". An active run can be cancelled
 * (after a confirm step) by an admin: a viewer (`read-only`) sees why there is no Cancel run; the edge enforces it.
 * @event dc-run-finished - when a run watched here finishes (a cancelled one too)
 * @event dc-error - when cancelling a run or downloading the errors failed
 * @event dc-records-open - internal: the admin wants the synced records of this job (detail { job })
 */
@localized()
export class DcRunsView extends LitElement {
  static override styles = [
    shared,
    css`
      .chart {
        margin: 0;
        display: grid;
        gap: 0.25em;
      }
      .chart svg {
        width: 100%;
        max-width: 36rem;
        height: 4rem;
        display: block;
      }
      tr.selected td {
        background: var(--dc-surface);
      }
      .counts {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(7rem, 1fr));
        gap: var(--dc-space);
        margin: 0;
      }
      .counts div {
        background: var(--dc-surface);
        border-radius: var(--dc-radius-small);
        padding: 0.4em 0.6em;
      }
      .counts dt {
        font-size: 0.8125em;
        color: var(--dc-text-muted);
      }
      .counts dd {
        margin: 0;
        font-size: 1.125em;
        font-weight: 700;
        font-variant-numeric: tabular-nums;
      }
      .bar {
        height: 0.6em;
        background: var(--dc-neutral-bg);
        border-radius: 999px;
        overflow: hidden;
      }
      .bar > span {
        display: block;
        height: 100%;
        background: var(--dc-accent);
        transition: width 0.3s;
      }
      .bar.indeterminate > span {
        width: 30%;
        animation: slide 1.2s ease-in-out infinite;
      }
      @keyframes slide {
        from {
          transform: translateX(-100%);
        }
        to {
          transform: translateX(350%);
        }
      }
      @media (prefers-reduced-motion: reduce) {
        .bar > span {
          transition: none;
          animation: none;
        }
      }
      @media (max-width: 640px) {
        .hide-narrow {
          display: none;
        }
      }
    `,
  ];

  /** API client of the edge. */
  @property({ attribute: false }) client!: EdgeClient;
  /** The job whose runs are shown. */
  @property({ attribute: false }) job!: Job;
  /** A run to select first (e.g. the one "Run now" just started). */
  @property({ attribute: false }) focusRunId: string | null = null;
  /** A viewer's view: everything but Cancel run (the edge would refuse it). */
  @property({ type: Boolean, attribute: "read-only" }) readOnly = false;

  @state() private _runs: Run[] | null = null;
  @state() private _selectedId: string | null = null;
  @state() private _errors: RunRecordError[] | null = null;
  @state() private _errorsError: unknown = null;
  @state() private _loadError: unknown = null;
  @state() private _downloading = false;
  @state() private _downloadError: unknown = null;
  @state() private _cancelling = false;
  @state() private _cancelError: unknown = null;

  private readonly _poller = new PollingController(this, () => this._poll(), 1500);
  /** Runs whose end this view has announced (dc-run-finished), so a run is announced once. */
  private readonly _announced = new Set<string>();

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("focusRunId") && this.focusRunId) this._selectedId = this.focusRunId;
  }

  protected override updated(changed: PropertyValues<this>): void {
    // The role followed a refreshed token down to viewer: a cancel confirmation left open would only earn a 403.
    if (changed.has("readOnly") && this.readOnly) this.renderRoot.querySelector<HTMLDialogElement>("#confirm-run-cancel[open]")?.close();
    // The progress bar's width goes through the CSSOM: a style attribute would need CSP's style-src 'unsafe-inline'.
    const bar = this.renderRoot.querySelector<HTMLElement>("[part=run-progress] .bar > span[data-pct]");
    if (bar) bar.style.width = bar.dataset.pct ? `${bar.dataset.pct}%` : "";
  }

  async load(): Promise<void> {
    this._loadError = null;
    try {
      const runs = asList<Run>(await this.client.request("GET", `/jobs/${encodeURIComponent(this.job.id)}/runs?limit=100`));
      runs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      this._runs = runs;
      this._selectedId ??= runs[0]?.id ?? null;
      if (this._selectedId && !runs.some((r) => r.id === this._selectedId) && this.focusRunId === this._selectedId) {
        // Just started: the history may not list it yet.
        try {
          const run = await this.client.request<Run>("GET", `/runs/${encodeURIComponent(this._selectedId)}`);
          this._runs = [run, ...runs];
        } catch {
          /* listed on the next poll */
        }
      }
      // A run started from "Run now" may already be over by the time the history loads: announce it anyway.
      const focus = this.focusRunId ? this._runs.find((r) => r.id === this.focusRunId) : undefined;
      if (focus && !isActiveStatus(focus.status) && !this._announced.has(focus.id)) {
        this._announced.add(focus.id);
        emit(this, "dc-run-finished", { run: focus });
      }
      if (this._runs.some((r) => isActiveStatus(r.status))) this._poller.start();
      void this._loadErrors();
    } catch (e) {
      this._loadError = e;
      this._runs ??= [];
    }
  }

  /** Refreshes active runs; stops when none is left. */
  private async _poll(): Promise<boolean> {
    const active = (this._runs ?? []).filter((r) => isActiveStatus(r.status));
    if (!active.length) return false;
    const updated = await Promise.all(active.map((r) => this.client.request<Run>("GET", `/runs/${encodeURIComponent(r.id)}`).catch(() => r)));
    const byId = new Map(updated.map((r) => [r.id, r]));
    let finished = false;
    this._runs = (this._runs ?? []).map((r) => {
      const u = byId.get(r.id);
      if (u && isActiveStatus(r.status) && !isActiveStatus(u.status)) {
        finished = true;
        if (!this._announced.has(u.id)) {
          this._announced.add(u.id);
          emit(this, "dc-run-finished", { run: u });
        }
      }
      return u ?? r;
    });
    if (finished) {
      void this._loadErrors();
      // Chained jobs may have been queued by this one; the history also gets its final counts.
      void this.load();
    }
    return this._runs.some((r) => isActiveStatus(r.status));
  }

  /** Puts a fresher copy of a run into the list; announces its end once. */
  private _replaceRun(u: Run): void {
    const was = this._runs?.find((r) => r.id === u.id);
    this._runs = (this._runs ?? []).map((r) => (r.id === u.id ? u : r));
    if (was && isActiveStatus(was.status) && !isActiveStatus(u.status) && !this._announced.has(u.id)) {
      this._announced.add(u.id);
      emit(this, "dc-run-finished", { run: u });
    }
  }

  private get _selected(): Run | null {
    return this._runs?.find((r) => r.id === this._selectedId) ?? null;
  }

  private async _loadErrors(): Promise<void> {
    const run = this._selected;
    this._errors = null;
    this._errorsError = null;
    if (!run || isActiveStatus(run.status)) return;
    if (!run.counts?.failed) {
      this._errors = [];
      return;
    }
    try {
      this._errors = asList<RunRecordError>(await this.client.request("GET", `/runs/${encodeURIComponent(run.id)}/errors`));
    } catch (e) {
      this._errorsError = e;
    }
  }

  override render() {
    const runs = this._runs;
    return html`<section class="stack" aria-labelledby="dc-runs-title" part="runs">
      <div class="row">
        <h2 id="dc-runs-title">${msg(str`Runs of “${this.job.name}”`)}</h2>
        <span class="spacer"></span>
        <button type="button" @click=${() => emit(this, "dc-records-open", { job: this.job }, { local: true })}>${msg("View records")}</button>
        <button type="button" @click=${() => this.load()}>${msg("Refresh")}</button>
      </div>
      ${this._loadError ? errorBanner(msg("The run history could not be loaded."), this._loadError, html`<button type="button" @click=${() => this.load()}>${msg("Retry")}</button>`) : nothing}
      ${runs && runs.length ? runsChart(runs) : nothing} ${this._selected ? this._renderDetail(this._selected) : nothing}
      ${
        runs && runs.length === 0 && !this._loadError
          ? html`<p class="card muted">${msg("This job has not run yet.")}</p>`
          : html`<div class="table-wrap">
              <table aria-labelledby="dc-runs-title" aria-busy=${runs ? "false" : "true"}>
                <thead>
                  <tr>
                    <th scope="col">${msg("Status")}</th>
                    <th scope="col" class="hide-narrow">${msg("Trigger")}</th>
                    <th scope="col">${msg("Started")}</th>
                    <th scope="col" class="hide-narrow">${msg("Duration")}</th>
                    ${COUNT_KEYS.map((k) => html`<th scope="col" class="num hide-narrow">${countLabel(k)}</th>`)}
                    <th scope="col"><span class="visually-hidden">${msg("Details")}</span></th>
                  </tr>
                </thead>
                <tbody>
                  ${runs ? runs.map((r) => this._renderRow(r)) : skeletonRows(4, 11)}
                </tbody>
              </table>
            </div>`
      }
    </section>`;
  }

  private _renderRow(r: Run) {
    const sel = r.id === this._selectedId;
    return html`<tr class=${sel ? "selected" : ""} data-run-id=${r.id}>
      <td>${runChip(r.status, isCancelledRun(r))}</td>
      <td class="hide-narrow">${TRIGGERS()[r.trigger] ?? r.trigger}</td>
      <td>${r.startedAt ? html`<time datetime=${r.startedAt}>${formatDateTime(r.startedAt)}</time>` : html`<span class="muted">${msg("Waiting")}</span>`}</td>
      <td class="hide-narrow">${formatDuration(r.startedAt, r.finishedAt)}</td>
      ${COUNT_KEYS.map((k) => html`<td class="num hide-narrow">${formatNumber(r.counts?.[k] ?? 0)}</td>`)}
      <td>
        <button type="button" aria-pressed=${sel ? "true" : "false"} @click=${() => this._select(r.id)}>
          Details<span class="visually-hidden"> of the run started ${formatDateTime(r.startedAt ?? r.createdAt)}</span>
        </button>
      </td>
    </tr>`;
  }

  private _renderDetail(r: Run) {
    const active = isActiveStatus(r.status);
    const p = r.progress;
    const total = p?.totalEstimate;
    const pct = total ? Math.min(100, Math.round(((p?.rowsSeen ?? 0) / total) * 100)) : null;
    return html`<section class="card stack" aria-labelledby="dc-run-detail-title" part="run-detail">
      <div class="row">
        <h3 id="dc-run-detail-title">${msg(str`Run of ${formatDateTime(r.startedAt ?? r.createdAt)}`)}</h3>
        ${runChip(r.status, isCancelledRun(r))}
        ${r.strategy ? html`<span class="chip">${r.strategy === "full" ? msg("Full sync") : r.strategy === "delta" ? msg("Changes only") : r.strategy === "reconcile" ? msg("Reconciliation") : msg("Changes since last run")}</span>` : nothing}
        ${
          active && this.readOnly
            ? html`<span class="spacer"></span>${adminOnlyNote(msg("Only admins can cancel a run."))}`
            : active
              ? html`<span class="spacer"></span
                  ><button type="button" class="danger" id="run-cancel" ?disabled=${this._cancelling} @click=${this._askCancel}>
                    ${this._cancelling ? msg("Cancelling…") : msg("Cancel run")}
                  </button>`
              : nothing
        }
      </div>
      ${active && this._cancelError ? errorBanner(msg("The run was not cancelled."), this._cancelError, html`<button type="button" @click=${() => (this._cancelError = null)}>${msg("Dismiss")}</button>`) : nothing}
      ${
        active
          ? html`<div class="stack" role="status" aria-live="polite" part="run-progress">
              <div
                class="bar ${pct === null ? "indeterminate" : ""}"
                role="progressbar"
                aria-label=${msg("Run progress")}
                aria-valuemin="0"
                aria-valuemax=${total ?? nothing}
                aria-valuenow=${pct === null || !total ? nothing : Math.min(total, p?.rowsSeen ?? 0)}
              >
                <span data-pct=${pct ?? ""}></span>
              </div>
              <span
                >${
                  r.status === "queued"
                    ? msg("Waiting to start…")
                    : total
                      ? msg(str`${formatNumber(p?.rowsSeen ?? 0)} of ${formatNumber(total)} rows`)
                      : msg(str`${formatNumber(p?.rowsSeen ?? 0)} rows so far`)
                }${p?.pages ? html` · ${msg(str`page ${formatNumber(p.pages)}`)}` : nothing}</span
              >
            </div>`
          : nothing
      }
      <dl class="counts">
        ${COUNT_KEYS.map(
          (k) =>
            html`<div>
              <dt>${countLabel(k)}</dt>
              <dd>${formatNumber(r.counts?.[k] ?? 0)}</dd>
            </div>`,
        )}
      </dl>
      ${
        isCancelledRun(r)
          ? html`<div class="banner info" role="status">
              <strong>${msg("The run was cancelled.")}</strong><span>${cancelledBy(r.error!.message)}.</span>
              <span class="small">${msg("Records synced before it stopped stay. The next run continues from there.")}</span>
            </div>`
          : r.error
            ? html`<div class="banner error" role="alert">
                <strong>${msg("The run failed.")}</strong><span>${runErrorText(r.error)}</span>
                <details>
                  <summary>${msg("Details")}</summary>
                  <span class="small mono">${msg("Code:")} ${r.error.code}</span>
                </details>
              </div>`
            : nothing
      }
      ${
        r.notes?.length
          ? html`<ul class="small muted">
              ${r.notes.map((n) => html`<li>${n}</li>`)}
            </ul>`
          : nothing
      }
      ${!active ? this._renderErrors(r) : nothing}
      <dialog id="confirm-run-cancel" aria-labelledby="rc-title" aria-describedby="rc-text">
        <form method="dialog" @submit=${(e: Event) => this._confirmCancel(e, r)}>
          <h3 id="rc-title">${msg("Cancel this run?")}</h3>
          <p id="rc-text">${msg("It stops after the page it is reading. Records synced so far stay, and the next run continues from there.")}</p>
          <div class="row">
            <button class="danger" type="submit">${msg("Cancel run")}</button>
            <button type="button" id="rc-keep" @click=${() => this.renderRoot.querySelector<HTMLDialogElement>("#confirm-run-cancel")?.close()}>
              ${msg("Keep running")}
            </button>
          </div>
        </form>
      </dialog>
    </section>`;
  }

  private _askCancel(): void {
    this._cancelError = null;
    openModal(this.renderRoot.querySelector<HTMLDialogElement>("#confirm-run-cancel"), this.renderRoot.querySelector<HTMLButtonElement>("#rc-keep"));
  }

  private async _confirmCancel(e: Event, r: Run): Promise<void> {
    e.preventDefault();
    this.renderRoot.querySelector<HTMLDialogElement>("#confirm-run-cancel")?.close();
    this._cancelling = true;
    this._cancelError = null;
    try {
      this._replaceRun(await this.client.request<Run>("POST", `/runs/${encodeURIComponent(r.id)}/cancel`));
      void this._loadErrors();
    } catch (err) {
      // 409: it finished on its own meanwhile — the history shows how.
      if (codeOf(err).code === "conflict") void this.load();
      else {
        this._cancelError = err;
        emit(this, "dc-error", { action: "cancel-run", error: err as Error, ...codeOf(err) });
      }
    } finally {
      this._cancelling = false;
    }
  }

  private _renderErrors(r: Run) {
    if (this._errorsError)
      return errorBanner(
        msg("The record errors could not be loaded."),
        this._errorsError,
        html`<button type="button" @click=${() => this._loadErrors()}>${msg("Retry")}</button>`,
      );
    if (this._errors === null)
      return html`<div class="table-wrap">
        <table aria-label=${msg("Record errors (loading)")}>
          <tbody>
            ${skeletonRows(2, 4)}
          </tbody>
        </table>
      </div>`;
    if (!this._errors.length) return html`<p class="small muted">${msg("No record errors.")}</p>`;
    return html`<div class="stack">
      <div class="row">
        <h4 id="dc-rec-errors">Record errors (${formatNumber(r.counts?.failed ?? this._errors.length)})</h4>
        <span class="spacer"></span>
        <button type="button" @click=${() => this._downloadCsv(r)} ?disabled=${this._downloading}>
          ${this._downloading ? msg("Preparing…") : msg("Download CSV")}
        </button>
      </div>
      ${this._downloadError ? errorBanner(msg("The CSV could not be downloaded."), this._downloadError) : nothing}
      <div class="table-wrap">
        <table aria-labelledby="dc-rec-errors">
          <thead>
            <tr>
              <th scope="col">${msg("Source id")}</th>
              <th scope="col">${msg("Field")}</th>
              <th scope="col">${msg("Value")}</th>
              <th scope="col">${msg("Reason")}</th>
            </tr>
          </thead>
          <tbody>
            ${this._errors.slice(0, 200).map(
              (e) =>
                html`<tr>
                  <td class="mono">${e.sourceId}</td>
                  <td>${e.field ?? "—"}</td>
                  <td class="mono">${e.value ?? "—"}</td>
                  <td>${e.reason}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      ${this._errors.length > 200 ? html`<p class="small muted">${msg("The first 200 are shown; the CSV has all of them.")}</p>` : nothing}
    </div>`;
  }

  private _select(id: string): void {
    this._selectedId = id;
    void this._loadErrors();
  }

  private async _downloadCsv(r: Run): Promise<void> {
    this._downloading = true;
    this._downloadError = null;
    try {
      const blob = await this.client.download(`/runs/${encodeURIComponent(r.id)}/errors?format=csv`);
      const stamp = (r.startedAt ?? r.createdAt).slice(0, 19).replace(/[:T]/g, "-");
      saveBlob(blob, `${this.job.name.replace(/[^\w-]+/g, "_")}-errors-${stamp}.csv`, this);
    } catch (e) {
      this._downloadError = e;
      emit(this, "dc-error", { action: "download-errors", error: e as Error, ...codeOf(e) });
    } finally {
      this._downloading = false;
    }
  }
}

const countLabel = (k: (typeof COUNT_KEYS)[number]): string =>
  ({ read: msg("Read"), inserted: msg("Inserted"), updated: msg("Updated"), deleted: msg("Deleted"), skipped: msg("Skipped"), failed: msg("Failed") })[k];

define("dc-runs-view", DcRunsView);

declare global {
  interface HTMLElementTagNameMap {
    "dc-runs-view": DcRunsView;
  }
}

/** The edge writes "Cancelled by <who>" (stores/runs.ts): the who is data, the words are the widget's. */
function cancelledBy(message: string): string {
  const m = /^Cancelled by (.+)$/.exec(message);
  return m ? msg(str`Cancelled by ${m[1]!}`) : message;
}
