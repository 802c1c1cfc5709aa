import { localized, msg, str } from "@lit/localize";
import { LitElement, css, html, nothing } from "lit";
import { property, state } from "lit/decorators.js";
import type { Job } from "#contract/job";
import type { TargetObject } from "#contract/object";
import type { EdgeClient } from "../api/edge-client";
import { emit } from "../events";
import { shared } from "../styles/shared.styles";
import { define } from "../util/define";
import { asList, formatDateTime } from "../util/format";
import { deleteLabels, modeLabels, onMissingLabels } from "../util/job-wording";
import { builtInNote, entityDisplayName } from "../util/names";
import { CronWords } from "./schedule-words";
import { adminOnlyNote } from "./ui";

/**
 * A job's configuration, read-only: what a viewer sees instead of the job editor (every control of which writes, and
 * whose Dynamics metadata needs a Microsoft sign-in). Names come from the job itself, so no Dynamics token is needed.
 * @event dc-runs-open - internal: the viewer wants this job's runs (detail { job })
 * @event dc-job-summary-close - internal: back to the jobs
 * @csspart job-summary
 */
@localized()
export class DcJobSummary extends LitElement {
  static override styles = [
    shared,
    css`
      dl {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0.3em 1.25em;
        margin: 0;
      }
      dt {
        color: var(--dc-text-muted);
      }
      dd {
        margin: 0;
        min-width: 0;
        overflow-wrap: anywhere;
      }
      @media (max-width: 420px) {
        dl {
          grid-template-columns: 1fr;
        }
        dd {
          margin-bottom: 0.4em;
        }
      }
    `,
  ];

  /** The job shown. */
  @property({ attribute: false }) job!: Job;
  /** The connection's jobs (to name the one this job runs after). */
  @property({ attribute: false }) jobs: Job[] = [];
  /** API client of the edge (target object labels). */
  @property({ attribute: false }) client!: EdgeClient;

  @state() private _objects = new Map<string, TargetObject>();
  private readonly _cron = new CronWords(this);

  override connectedCallback(): void {
    super.connectedCallback();
    void this.client.request("GET", "/objects").then(
      (list) => (this._objects = new Map(asList<TargetObject>(list).map((o) => [o.name, o]))),
      () => {
        /* labels fall back to names */
      },
    );
  }

  private _fieldLabel(object: string, field: string): string {
    return this._objects.get(object)?.fields.find((f) => f.name === field)?.label ?? field;
  }

  override render() {
    const j = this.job;
    const target = this._objects.get(j.target.object)?.label ?? j.target.object;
    const after = j.dependsOn ? this.jobs.find((x) => x.id === j.dependsOn) : null;
    const notify = j.notify;
    const modes: Record<string, { label: string }> = modeLabels();
    const deletes: Record<string, string> = deleteLabels();
    const onMissing: Record<string, string> = onMissingLabels();
    return html`<section class="stack" aria-labelledby="dc-job-title" part="job-summary">
      <div class="row">
        <h2 id="dc-job-title">${j.name}</h2>
        <span class="spacer"></span>
        <button type="button" @click=${() => emit(this, "dc-runs-open", { job: this.job }, { local: true })}>${msg("Runs")}</button>
        <button type="button" @click=${() => emit(this, "dc-job-summary-close", {}, { local: true })}>${msg("Back to jobs")}</button>
      </div>
      ${adminOnlyNote(msg("You are viewing this job's configuration. Only admins can change jobs."))}
      <div class="card">
        <dl>
          <dt>${msg("Source")}</dt>
          <dd>${entityDisplayName(j.source.entity)} <span class="mono muted">(${j.source.entity})</span></dd>
          <dt>${msg("Filter")}</dt>
          <dd>${j.source.filter ? html`<span class="mono">${j.source.filter}</span>` : html`<span class="muted">${msg("All rows")}</span>`}</dd>
          <dt>${msg("Target")}</dt>
          <dd>${target}</dd>
          <dt>${msg("Records")}</dt>
          <dd>${modes[j.mode]?.label ?? j.mode}</dd>
          <dt>${msg("Deleted in Dynamics")}</dt>
          <dd>${deletes[j.deletes] ?? j.deletes}</dd>
          <dt>${msg("Schedule")}</dt>
          <dd>${!j.schedule && after ? msg(str`After “${after.name}”`) : this._cron.schedule(j.schedule)}</dd>
          ${
            after && j.schedule
              ? html`<dt>${msg("Runs after")}</dt>
                  <dd>“${after.name}”</dd>`
              : nothing
          }
          <dt>${msg("Enabled")}</dt>
          <dd>${j.enabled ? msg("On") : msg("Off")}</dd>
          ${
            notify && (notify.onSuccess.length || notify.onPartial.length || notify.onFailure.length || notify.webhook)
              ? html`<dt>${msg("Notifications")}</dt>
                  <dd>
                    ${[
                      notify.onFailure.length ? msg(str`on failure: ${notify.onFailure.join(", ")}`) : "",
                      notify.onPartial.length ? msg(str`on partial success: ${notify.onPartial.join(", ")}`) : "",
                      notify.onSuccess.length ? msg(str`on success: ${notify.onSuccess.join(", ")}`) : "",
                      notify.webhook ? msg("a webhook") : "",
                    ]
                      .filter(Boolean)
                      .join("; ")}
                  </dd>`
              : nothing
          }
          <dt>${msg("Last changed")}</dt>
          <dd>${formatDateTime(j.updatedAt)}</dd>
        </dl>
        ${j.builtIn ? html`<p class="small muted">${builtInNote(j.builtIn)}</p>` : nothing}
      </div>

      <h3 id="dc-job-ids">${msg("Identifiers")}</h3>
      ${
        j.identifiers.length
          ? html`<div class="table-wrap">
              <table aria-labelledby="dc-job-ids">
                <thead>
                  <tr>
                    <th scope="col">${msg("Dynamics column")}</th>
                    <th scope="col">${msg(str`${target} field`)}</th>
                  </tr>
                </thead>
                <tbody>
                  ${j.identifiers.map(
                    (i) =>
                      html`<tr>
                        <td class="mono">${i.source}</td>
                        <td>${this._fieldLabel(j.target.object, i.target)}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
          : html`<p class="muted">${msg("None: every run inserts.")}</p>`
      }

      <h3 id="dc-job-maps">${msg(str`Field mappings (${j.mappings.length})`)}</h3>
      <div class="table-wrap">
        <table aria-labelledby="dc-job-maps">
          <thead>
            <tr>
              <th scope="col">${msg("Dynamics column")}</th>
              <th scope="col">${msg("Uses")}</th>
              <th scope="col">${msg(str`${target} field`)}</th>
            </tr>
          </thead>
          <tbody>
            ${j.mappings.map(
              (m) =>
                html`<tr>
                  <td class="mono">${m.via ? `${m.source} → ${m.via.entity}.${m.via.attribute}` : m.source}</td>
                  <td>${m.use === "label" ? msg("Label") : msg("Value")}</td>
                  <td>${this._fieldLabel(j.target.object, m.target)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>

      ${
        j.lookups.length
          ? html`<h3 id="dc-job-lookups">${msg("Lookups")}</h3>
              <div class="table-wrap">
                <table aria-labelledby="dc-job-lookups">
                  <thead>
                    <tr>
                      <th scope="col">${msg(str`${target} field`)}</th>
                      <th scope="col">${msg("Matched in")}</th>
                      <th scope="col">${msg("Match on")}</th>
                      <th scope="col">${msg("No match")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${j.lookups.map(
                      (l) =>
                        html`<tr>
                          <td>${this._fieldLabel(j.target.object, l.target)}</td>
                          <td>${this._objects.get(l.object)?.label ?? l.object}</td>
                          <td class="mono">${l.match.map((m) => `${m.source} = ${m.field}`).join(", ")}</td>
                          <td>
                            ${msg(str`${onMissing[l.onMissing] ?? l.onMissing}; when empty: ${(onMissing[l.onEmpty ?? "null"] ?? l.onEmpty ?? "").toLocaleLowerCase()}`)}
                          </td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
          : nothing
      }
    </section>`;
  }
}

define("dc-job-summary", DcJobSummary);

declare global {
  interface HTMLElementTagNameMap {
    "dc-job-summary": DcJobSummary;
  }
}
