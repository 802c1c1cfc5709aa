import { localized, msg, str } from "@lit/localize";
import { LitElement, css, html, nothing, type PropertyValues } from "lit";
import { property, state } from "lit/decorators.js";
import type { Job, JobWithLastRun } from "#contract/job";
import type { TargetObject } from "#contract/object";
import type { RunSummary } from "#contract/run";
import type { EdgeClient } from "../api/edge-client";
import { emit } from "../events";
import { shared } from "../styles/shared.styles";
import { define } from "../util/define";
import { asList, formatDateTime, formatNumber, formatRelative } from "../util/format";
import { builtInNote, entityDisplayName } from "../util/names";
import { codeOf } from "./connection-form";
import { openModal } from "./dialog";
import { chainOrder, toJobInput } from "./job-input";
import { CronWords } from "./schedule-words";
import { adminOnlyNote, errorBanner, runChip, skeletonRows } from "./ui";
import { isActiveStatus, isCancelledRun } from "#contract/run";

/** Rows per page: a page renders at once whatever the number of jobs (1,000 jobs are 20 pages, not 1,000 rows). */
export const JOBS_PAGE_SIZE = 50;

/** A connection with more jobs than this gets the search, the last-run filter and the count (a few jobs need none). */
export const JOBS_FILTERS_FROM = 10;

/** The last-run filter: what an admin looking for trouble among many jobs asks for. */
const STATUS_FILTERS = () => ({
  all: msg("Any last run"),
  failed: msg("Failed"),
  partial: msg("Partial success"),
  succeeded: msg("Success"),
  active: msg("Queued or running"),
  never: msg("Never run"),
});
type StatusFilter = keyof ReturnType<typeof STATUS_FILTERS>;

function matchesStatus(last: RunSummary | null, filter: StatusFilter): boolean {
  if (filter === "all") return true;
  if (filter === "never") return !last;
  if (filter === "active") return isActiveStatus(last?.status);
  return last?.status === filter;
}

/**
 * The jobs of one connection: source → target, schedule in words, last run, enabled toggle, Run now, chain order.
 * Everything comes from two requests whatever the number of jobs: GET /jobs (each job carries its `lastRun`) and
 * GET /objects (target labels). The rows can be searched (name, source table, target object) and filtered by last run,
 * and are shown a page of JOBS_PAGE_SIZE at a time, so 1,000 jobs cost the page no more than 50.
 * A viewer (`read-only`) gets the same table without New job, the enabled switch, Run now and Delete; "View" opens the
 * job's configuration read-only.
 * @event dc-job-open - internal: detail { job } (null = new; for a viewer: show the job)
 * @event dc-runs-open - internal: detail { job, runId? }
 * @event dc-jobs-loaded - internal: detail { jobs }
 */
@localized()
export class DcJobsTable extends LitElement {
  static override styles = [
    shared,
    css`
      .name {
        font-weight: 600;
      }
      .step {
        display: inline-grid;
        place-items: center;
        min-width: 1.5em;
        height: 1.5em;
        border-radius: 999px;
        background: var(--dc-neutral-bg);
        font-size: 0.75em;
        font-weight: 700;
        margin-right: 0.35em;
      }
      .switch {
        display: inline-flex;
        align-items: center;
        gap: 0.4em;
        font-weight: 400;
        cursor: pointer;
      }
      .switch input {
        width: 1.1em;
        height: 1.1em;
        accent-color: var(--dc-accent);
      }
      td .row {
        flex-wrap: nowrap;
      }
      .filters {
        align-items: end;
      }
      .filters > [role="search"] {
        flex: 1 1 24rem;
        align-items: end;
      }
      .filters .search {
        flex: 1 1 12rem;
        max-width: 24rem;
      }
      .filters .count {
        margin: 0;
      }
      .pager {
        flex-wrap: nowrap;
      }
      dialog {
        border: 1px solid var(--dc-border);
        border-radius: var(--dc-radius);
        background: var(--dc-bg);
        color: var(--dc-text);
        padding: calc(var(--dc-space) * 2);
        width: min(28rem, calc(100vw - 2rem));
      }
      dialog::backdrop {
        background: rgb(0 0 0 / 0.4);
      }
      dialog form {
        display: grid;
        gap: calc(var(--dc-space) * 1.5);
      }
      /* Narrow hosts: the table becomes stacked cards. */
      @media (max-width: 640px) {
        thead {
          display: none;
        }
        table,
        tbody,
        tr,
        td {
          display: block;
          width: 100%;
        }
        tr {
          border-bottom: 1px solid var(--dc-border);
          padding: 0.5em 0;
        }
        td {
          border: none;
          padding: 0.2em 0.75em;
        }
        td[data-label]::before {
          content: attr(data-label) ": ";
          color: var(--dc-text-muted);
          font-size: 0.8125em;
        }
        td .row {
          flex-wrap: wrap;
        }
      }
    `,
  ];

  /** API client of the edge. */
  @property({ attribute: false }) client!: EdgeClient;
  /** The connection whose jobs are listed. */
  @property({ attribute: false }) connectionId!: string;
  /** Whether jobs may be created (the connection is authorized). */
  @property({ type: Boolean }) canCreate = false;
  /** A viewer's table: no New job, enabled switch, Run now or Delete (the edge would refuse them). */
  @property({ type: Boolean, attribute: "read-only" }) readOnly = false;

  @state() private _jobs: JobWithLastRun[] | null = null;
  @state() private _query = "";
  @state() private _status: StatusFilter = "all";
  @state() private _page = 0;
  @state() private _objects = new Map<string, string>();
  @state() private _error: unknown = null;
  @state() private _rowError: { jobId: string; what: string; error: unknown } | null = null;
  @state() private _busy = new Set<string>();
  @state() private _pendingDelete: Job | null = null;
  @state() private _notice: string | null = null;
  private readonly _cron = new CronWords(this);

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  protected override updated(changed: PropertyValues<this>): void {
    // The role followed a refreshed token down to viewer: a delete confirmation left open would only earn a 403.
    if (changed.has("readOnly") && this.readOnly) this.renderRoot.querySelector<HTMLDialogElement>("#confirm-job-delete[open]")?.close();
  }

  /** Reloads the jobs (after an edit, an authorization…). */
  async load(): Promise<void> {
    this._error = null;
    try {
      const all = asList<JobWithLastRun>(await this.client.request("GET", `/jobs?connectionId=${encodeURIComponent(this.connectionId)}`));
      this._jobs = all.filter((j) => j.connectionId === this.connectionId);
      emit(this, "dc-jobs-loaded", { jobs: this._jobs }, { local: true });
      void this._loadObjects();
    } catch (e) {
      this._error = e;
      this._jobs ??= [];
    }
  }

  private async _loadObjects(): Promise<void> {
    try {
      const list = asList<TargetObject>(await this.client.request("GET", "/objects"));
      this._objects = new Map(list.map((o) => [o.name, o.label]));
    } catch {
      /* labels fall back to names */
    }
  }

  private _orderedFor: { jobs: JobWithLastRun[]; rows: ReturnType<typeof chainOrder> } | null = null;

  /** The jobs in chain order, computed again only when the list changed (not on every keystroke of the search). */
  private _ordered(): ReturnType<typeof chainOrder> | null {
    if (!this._jobs) return null;
    if (this._orderedFor?.jobs !== this._jobs) this._orderedFor = { jobs: this._jobs, rows: chainOrder(this._jobs) };
    return this._orderedFor.rows;
  }

  /** The rows the filters keep, in chain order (a chained job keeps its step and "runs after" whatever is filtered out). */
  private _filtered(ordered: ReturnType<typeof chainOrder>) {
    const q = this._query.trim().toLowerCase();
    if ((!q && this._status === "all") || ordered.length <= JOBS_FILTERS_FROM) return ordered; // no filters shown, none applied
    return ordered.filter(({ job }) => {
      const last = (job as JobWithLastRun).lastRun ?? null;
      if (!matchesStatus(last, this._status)) return false;
      if (!q) return true;
      const target = this._objects.get(job.target.object) ?? job.target.object;
      return [job.name, job.source.entity, entityDisplayName(job.source.entity), job.target.object, target].some((s) => s.toLowerCase().includes(q));
    });
  }

  private _setQuery(q: string): void {
    this._query = q;
    this._page = 0;
  }

  private _setStatus(s: StatusFilter): void {
    this._status = s;
    this._page = 0;
  }

  private _renderFilters(shown: number, total: number, from: number, to: number, pages: number, page: number) {
    const filtered = shown !== total;
    const range =
      shown === 0
        ? msg("No jobs match")
        : pages > 1
          ? msg(str`Jobs ${from + 1}–${to} of ${formatNumber(shown)}`)
          : shown === 1
            ? msg("1 job")
            : msg(str`${formatNumber(shown)} jobs`);
    return html`<div class="row filters">
      <div class="row" role="search" aria-label=${msg("Jobs")}>
        <div class="field search">
          <label for="dc-jobs-search">${msg("Search jobs")}</label>
          <input
            id="dc-jobs-search"
            type="search"
            placeholder=${msg("Name, Dynamics table or target")}
            autocomplete="off"
            .value=${this._query}
            @input=${(e: Event) => this._setQuery((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="dc-jobs-status">${msg("Last run")}</label>
          <select id="dc-jobs-status" @change=${(e: Event) => this._setStatus((e.target as HTMLSelectElement).value as StatusFilter)}>
            ${Object.entries(STATUS_FILTERS()).map(([v, label]) => html`<option value=${v} ?selected=${v === this._status}>${label}</option>`)}
          </select>
        </div>
      </div>
      <span class="spacer"></span>
      <p class="small muted count" role="status">${range}${filtered ? ` ${msg(str`(of ${formatNumber(total)})`)}` : ""}</p>
      ${
        pages > 1
          ? html`<nav class="row pager" aria-label=${msg("Job pages")}>
              <button type="button" ?disabled=${page === 0} @click=${() => (this._page = page - 1)}>
                ${msg("Previous")}<span class="visually-hidden"> ${msg("page")}</span>
              </button>
              <span class="small">${msg(str`Page ${page + 1} of ${pages}`)}</span>
              <button type="button" ?disabled=${page >= pages - 1} @click=${() => (this._page = page + 1)}>
                ${msg("Next")}<span class="visually-hidden"> ${msg("page")}</span>
              </button>
            </nav>`
          : nothing
      }
    </div>`;
  }

  override render() {
    const ordered = this._ordered();
    const shown = ordered ? this._filtered(ordered) : null;
    const pages = Math.max(1, Math.ceil((shown?.length ?? 0) / JOBS_PAGE_SIZE));
    const page = Math.min(this._page, pages - 1);
    const from = page * JOBS_PAGE_SIZE;
    const rows = shown ? shown.slice(from, from + JOBS_PAGE_SIZE) : null;
    const parents = new Set((this._jobs ?? []).map((j) => j.dependsOn).filter((id): id is string => !!id));
    return html`<section class="stack" aria-labelledby="dc-jobs-title" part="jobs">
      <div class="row">
        <h3 id="dc-jobs-title">${msg("Jobs")}</h3>
        <span class="spacer"></span>
        ${this.canCreate && !this.readOnly ? html`<button type="button" class="primary" @click=${() => emit(this, "dc-job-open", { job: null }, { local: true })}>${msg("New job")}</button>` : nothing}
      </div>
      ${this.readOnly && ordered?.length ? adminOnlyNote(msg("Only admins can create, change, run or delete jobs.")) : nothing}
      ${this._error ? errorBanner(msg("The jobs could not be loaded."), this._error, html`<button type="button" @click=${() => this.load()}>${msg("Retry")}</button>`) : nothing}
      ${this._notice ? html`<div class="banner info" role="status">${this._notice}</div>` : nothing}
      ${this._rowError ? errorBanner(this._rowError.what, this._rowError.error, html`<button type="button" @click=${() => (this._rowError = null)}>${msg("Dismiss")}</button>`) : nothing}
      ${ordered && ordered.length > JOBS_FILTERS_FROM ? this._renderFilters(shown!.length, ordered.length, from, Math.min(from + JOBS_PAGE_SIZE, shown!.length), pages, page) : nothing}
      ${
        ordered && ordered.length === 0 && !this._error
          ? html`<p class="card muted">
              ${msg("No jobs yet.")}
              ${this.readOnly ? msg("Only admins can create jobs.") : this.canCreate ? msg("Create one to copy a Dynamics table into this product.") : msg("Authorize the connection: the standard jobs are created for you.")}
            </p>`
          : shown && shown.length === 0
            ? html`<p class="card muted">${msg("No job matches the search and the last-run filter.")}</p>`
            : html`<div class="table-wrap">
                <table aria-labelledby="dc-jobs-title" aria-busy=${rows ? "false" : "true"}>
                  <thead>
                    <tr>
                      <th scope="col">${msg("Job")}</th>
                      <th scope="col">${msg("Source → target")}</th>
                      <th scope="col">${msg("Schedule")}</th>
                      <th scope="col">${msg("Last run")}</th>
                      <th scope="col">${msg("Enabled")}</th>
                      <th scope="col"><span class="visually-hidden">${msg("Actions")}</span></th>
                    </tr>
                  </thead>
                  <tbody>
                    ${rows ? rows.map((r) => this._renderRow(r.job as JobWithLastRun, r.step, r.after, parents)) : skeletonRows(3, 6)}
                  </tbody>
                </table>
              </div>`
      }
      <dialog id="confirm-job-delete" aria-labelledby="jd-title" @close=${() => (this._pendingDelete = null)}>
        <form method="dialog" @submit=${this._confirmDelete}>
          <h3 id="jd-title">${msg(str`Delete job “${this._pendingDelete?.name ?? ""}”?`)}</h3>
          <p>${msg("It stops syncing. Records already synced stay in place.")}</p>
          <div class="row">
            <button class="danger" type="submit">${msg("Delete job")}</button>
            <button type="button" id="jd-cancel" @click=${() => (this.renderRoot.querySelector("dialog") as HTMLDialogElement).close()}>
              ${msg("Keep it")}
            </button>
          </div>
        </form>
      </dialog>
    </section>`;
  }

  private _renderRow(job: JobWithLastRun, step: number, after: Job | null, parents: Set<string>) {
    const last = job.lastRun ?? null;
    const active = isActiveStatus(last?.status);
    const chained = step > 1 || parents.has(job.id);
    const target = this._objects.get(job.target.object) ?? job.target.object;
    const nameId = `job-${job.id}-name`;
    const busy = this._busy.has(job.id);
    return html`<tr data-job-id=${job.id}>
      <td data-label=${msg("Job")}>
        <div>
          ${chained ? html`<span class="step" title=${msg(str`Step ${step} of its chain`)}><span class="visually-hidden">${msg("Step")} </span>${step}</span>` : nothing}<span
            class="name"
            translate="no"
            id=${nameId}
            >${job.name}</span
          >
        </div>
        ${after ? html`<div class="small muted">${msg(str`Runs after “${after.name}”`)}</div>` : nothing}
        ${job.builtIn ? html`<div class="small muted">${builtInNote(job.builtIn)}</div>` : nothing}
      </td>
      <td data-label=${msg("Source → target")}>${entityDisplayName(job.source.entity)} → <span translate="no">${target}</span></td>
      <td data-label=${msg("Schedule")}>${!job.schedule && after ? msg(str`After “${after.name}”`) : this._cron.schedule(job.schedule)}</td>
      <td data-label=${msg("Last run")}>
        ${
          last
            ? html`${runChip(last.status, isCancelledRun(last))}
                <time
                  class="small muted"
                  datetime=${last.finishedAt ?? last.startedAt ?? last.createdAt}
                  title=${formatDateTime(last.finishedAt ?? last.startedAt ?? last.createdAt)}
                  >${formatRelative(last.finishedAt ?? last.startedAt ?? last.createdAt)}</time
                >`
            : html`<span class="muted">${msg("Never")}</span>`
        }
      </td>
      <td data-label=${msg("Enabled")}>
        ${
          this.readOnly
            ? html`<span>${job.enabled ? msg("On") : msg("Off")}</span>`
            : html`<label class="switch"
                ><input
                  type="checkbox"
                  role="switch"
                  .checked=${job.enabled}
                  ?disabled=${busy}
                  aria-describedby=${nameId}
                  @change=${(e: Event) => this._toggle(job, (e.target as HTMLInputElement).checked)}
                /><span>${job.enabled ? msg("On") : msg("Off")}</span><span class="visually-hidden"> — ${job.name}</span></label
              >`
        }
      </td>
      <td>
        <div class="row">
          ${this.readOnly ? nothing : html`<button type="button" class="primary" ?disabled=${busy || active} @click=${() => this._runNow(job)} aria-describedby=${nameId}>${active ? msg("Running…") : msg("Run now")}</button>`}
          <button type="button" @click=${() => emit(this, "dc-runs-open", { job }, { local: true })} aria-describedby=${nameId}>${msg("Runs")}</button>
          <button type="button" @click=${() => emit(this, "dc-job-open", { job }, { local: true })} aria-describedby=${nameId}>
            ${this.readOnly ? msg("View") : msg("Edit")}
          </button>
          ${this.readOnly ? nothing : html`<button type="button" class="danger" @click=${() => this._askDelete(job)} aria-describedby=${nameId}>${msg("Delete")}</button>`}
        </div>
      </td>
    </tr>`;
  }

  private _setBusy(id: string, on: boolean): void {
    const next = new Set(this._busy);
    if (on) next.add(id);
    else next.delete(id);
    this._busy = next;
  }

  private async _toggle(job: Job, enabled: boolean): Promise<void> {
    this._setBusy(job.id, true);
    this._rowError = null;
    try {
      const saved = await this.client.request<Job>("PUT", `/jobs/${encodeURIComponent(job.id)}`, { body: toJobInput(job, { enabled }) });
      this._jobs = (this._jobs ?? []).map((j) => (j.id === job.id ? { ...j, ...(saved ?? {}), enabled } : j));
      emit(this, "dc-job-saved", { job: { ...job, ...(saved ?? {}), enabled } });
    } catch (e) {
      this._rowError = { jobId: job.id, what: enabled ? msg(str`“${job.name}” was not enabled.`) : msg(str`“${job.name}” was not disabled.`), error: e };
      this._jobs = [...(this._jobs ?? [])]; // re-render resets the switch to the stored state
      emit(this, "dc-error", { action: "toggle-job", error: e as Error, ...codeOf(e) });
    } finally {
      this._setBusy(job.id, false);
    }
  }

  private async _runNow(job: Job): Promise<void> {
    this._setBusy(job.id, true);
    this._rowError = null;
    try {
      const { runId } = await this.client.request<{ runId: string }>("POST", `/jobs/${encodeURIComponent(job.id)}/runs`);
      emit(this, "dc-run-started", { jobId: job.id, runId });
      emit(this, "dc-runs-open", { job, runId }, { local: true });
    } catch (e) {
      this._rowError = { jobId: job.id, what: msg(str`“${job.name}” did not start.`), error: e };
      emit(this, "dc-error", { action: "run-job", error: e as Error, ...codeOf(e) });
    } finally {
      this._setBusy(job.id, false);
    }
  }

  private _askDelete(job: Job): void {
    this._pendingDelete = job;
    const dlg = this.renderRoot.querySelector<HTMLDialogElement>("#confirm-job-delete");
    openModal(dlg, this.renderRoot.querySelector<HTMLButtonElement>("#jd-cancel"));
  }

  private async _confirmDelete(e: Event): Promise<void> {
    e.preventDefault();
    const job = this._pendingDelete;
    this.renderRoot.querySelector<HTMLDialogElement>("#confirm-job-delete")?.close();
    if (!job) return;
    if (!emit(this, "dc-request-delete", { kind: "job", id: job.id, name: job.name }, { cancelable: true })) {
      this._notice = msg(str`This page did not allow deleting “${job.name}”. Nothing was deleted.`);
      return;
    }
    try {
      await this.client.request("DELETE", `/jobs/${encodeURIComponent(job.id)}`);
      this._notice = `“${job.name}” was deleted.`;
      await this.load();
    } catch (err) {
      this._rowError = { jobId: job.id, what: `“${job.name}” was not deleted.`, error: err };
      emit(this, "dc-error", { action: "delete-job", error: err as Error, ...codeOf(err) });
    }
  }
}

define("dc-jobs-table", DcJobsTable);

declare global {
  interface HTMLElementTagNameMap {
    "dc-jobs-table": DcJobsTable;
  }
}
