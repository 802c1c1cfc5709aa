import { localized, msg, str } from "@lit/localize";
import { LitElement, css, html, nothing } from "lit";
import { property, state } from "lit/decorators.js";
import type { Job } from "#contract/job";
import type { ObjectField, TargetObject, TargetRecord } from "#contract/object";
import type { EdgeClient } from "../api/edge-client";
import { shared } from "../styles/shared.styles";
import { define } from "../util/define";
import { asList, formatDateTime, formatNumber } from "../util/format";
import { errorBanner, skeletonRows } from "./ui";

const PAGE = 50;

/** The records a job has synced into its target object, paged; columns are the fields the job fills. */
@localized()
export class DcRecordsView extends LitElement {
  static override styles = [
    shared,
    css`
      td {
        white-space: nowrap;
        max-width: 18rem;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .deleted td {
        color: var(--dc-text-muted);
        text-decoration: line-through;
      }
    `,
  ];

  /** API client of the edge. */
  @property({ attribute: false }) client!: EdgeClient;
  /** The job whose target object is listed. */
  @property({ attribute: false }) job!: Job;

  @state() private _object: TargetObject | null = null;
  @state() private _records: TargetRecord[] | null = null;
  @state() private _cursor: string | null = null;
  @state() private _error: unknown = null;
  @state() private _loadingMore = false;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  async load(): Promise<void> {
    this._error = null;
    try {
      const name = encodeURIComponent(this.job.target.object);
      const [object, page] = await Promise.all([
        this.client.request<TargetObject>("GET", `/objects/${name}`),
        this.client.request<{ records?: TargetRecord[]; nextCursor?: string | null; cursor?: string | null }>("GET", `/objects/${name}/records?limit=${PAGE}`),
      ]);
      this._object = object;
      this._records = asList<TargetRecord>(page);
      this._cursor = page?.nextCursor ?? page?.cursor ?? null;
    } catch (e) {
      this._error = e;
      this._records ??= [];
    }
  }

  private async _more(): Promise<void> {
    if (!this._cursor) return;
    this._loadingMore = true;
    try {
      const name = encodeURIComponent(this.job.target.object);
      const page = await this.client.request<{ records?: TargetRecord[]; nextCursor?: string | null }>(
        "GET",
        `/objects/${name}/records?limit=${PAGE}&cursor=${encodeURIComponent(this._cursor)}`,
      );
      this._records = [...(this._records ?? []), ...asList<TargetRecord>(page)];
      this._cursor = page?.nextCursor ?? null;
    } catch (e) {
      this._error = e;
    } finally {
      this._loadingMore = false;
    }
  }

  private _columns(): ObjectField[] {
    const fields = this._object?.fields ?? [];
    const used = new Set<string>([
      ...this.job.identifiers.map((i) => i.target),
      ...this.job.mappings.map((m) => m.target),
      ...this.job.lookups.map((l) => l.target),
    ]);
    const cols = fields.filter((f) => used.has(f.name));
    return cols.length ? cols : fields.slice(0, 8);
  }

  override render() {
    const cols = this._columns();
    const label = this._object?.label ?? this.job.target.object;
    return html`<section class="stack" aria-labelledby="dc-rec-title" part="records">
      <div class="row">
        <h2 id="dc-rec-title">${msg(str`${label} records from “${this.job.name}”`)}</h2>
        <span class="spacer"></span> <button type="button" @click=${() => this.load()}>${msg("Refresh")}</button>
      </div>
      ${this._error ? errorBanner(msg("The records could not be loaded."), this._error, html`<button type="button" @click=${() => this.load()}>${msg("Retry")}</button>`) : nothing}
      ${
        this._records && this._records.length === 0 && !this._error
          ? html`<p class="card muted">${msg("No records yet. Run the job to bring them in.")}</p>`
          : html`<div class="table-wrap">
              <table aria-labelledby="dc-rec-title" aria-busy=${this._records ? "false" : "true"}>
                <thead>
                  <tr>
                    ${this._records ? cols.map((c) => html`<th scope="col">${c.label}</th>`) : html`<th scope="col">${msg("Loading…")}</th>`}
                    <th scope="col">${msg("Updated")}</th>
                  </tr>
                </thead>
                <tbody>
                  ${
                    this._records
                      ? this._records.map(
                          (r) =>
                            html`<tr class=${r.deleted ? "deleted" : ""}>
                              ${cols.map((c) => html`<td title=${show(r.fields[c.name])}>${show(r.fields[c.name])}</td>`)}
                              <td>${formatDateTime(r.updatedAt)}</td>
                            </tr>`,
                        )
                      : skeletonRows(5, 4)
                  }
                </tbody>
              </table>
            </div>`
      }
      ${
        this._records?.length
          ? html`<div class="row">
              <span class="small muted">${msg(str`${formatNumber(this._records.length)} shown`)}</span>
              ${this._cursor ? html`<button type="button" ?disabled=${this._loadingMore} @click=${() => this._more()}>${this._loadingMore ? msg("Loading…") : msg("Show more")}</button>` : nothing}
            </div>`
          : nothing
      }
    </section>`;
  }
}

function show(v: unknown): string {
  if (v === null || v === undefined || v === "") return "—";
  if (Array.isArray(v)) return v.join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

define("dc-records-view", DcRecordsView);

declare global {
  interface HTMLElementTagNameMap {
    "dc-records-view": DcRecordsView;
  }
}
