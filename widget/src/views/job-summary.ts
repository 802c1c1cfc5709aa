import { LitElement, css, html, nothing } from "lit";
import { property, state } from "lit/decorators.js";
import type { Job } from "#contract/job";
import type { TargetObject } from "#contract/object";
import type { EdgeClient } from "../api/edge-client";
import { emit } from "../events";
import { shared } from "../styles/shared.styles";
import { define } from "../util/define";
import { asList, formatDateTime } from "../util/format";
import { BUILT_IN_NOTES, entityDisplayName } from "../util/names";
import { loadCronstrue, scheduleInWords } from "./schedule-words";
import { adminOnlyNote } from "./ui";

// The editor's wording (editor/job-editor.component.ts), repeated so a viewer's page does not load the editor chunk.
const MODES: Record<string, string> = { upsert: "Insert and update", insert: "Insert only", update: "Update only" };
const DELETES: Record<string, string> = { ignore: "Keep the record", soft: "Mark it as deleted", delete: "Delete it" };
const ON_MISSING: Record<string, string> = { null: "Leave the field empty", skip: "Skip the record", error: "Report an error" };

/**
 * A job's configuration, read-only: what a viewer sees instead of the job editor (every control of which writes, and
 * whose Dynamics metadata needs a Microsoft sign-in). Names come from the job itself, so no Dynamics token is needed.
 * @event dc-runs-open - internal: the viewer wants this job's runs (detail { job })
 * @event dc-job-summary-close - internal: back to the jobs
 * @csspart job-summary
 */
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
  @state() private _cron: Awaited<ReturnType<typeof loadCronstrue>> | null = null;

  override connectedCallback(): void {
    super.connectedCallback();
    void loadCronstrue()
      .then((c) => (this._cron = c))
      .catch(() => {});
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
    return html`<section class="stack" aria-labelledby="dc-job-title" part="job-summary">
      <div class="row">
        <h2 id="dc-job-title">${j.name}</h2>
        <span class="spacer"></span>
        <button type="button" @click=${() => emit(this, "dc-runs-open", { job: this.job }, { local: true })}>Runs</button>
        <button type="button" @click=${() => emit(this, "dc-job-summary-close", {}, { local: true })}>Back to jobs</button>
      </div>
      ${adminOnlyNote("You are viewing this job's configuration. Only admins can change jobs.")}
      <div class="card">
        <dl>
          <dt>Source</dt>
          <dd>${entityDisplayName(j.source.entity)} <span class="mono muted">(${j.source.entity})</span></dd>
          <dt>Filter</dt>
          <dd>${j.source.filter ? html`<span class="mono">${j.source.filter}</span>` : html`<span class="muted">All rows</span>`}</dd>
          <dt>Target</dt>
          <dd>${target}</dd>
          <dt>Records</dt>
          <dd>${MODES[j.mode] ?? j.mode}</dd>
          <dt>Deleted in Dynamics</dt>
          <dd>${DELETES[j.deletes] ?? j.deletes}</dd>
          <dt>Schedule</dt>
          <dd>${!j.schedule && after ? `After “${after.name}”` : scheduleInWords(j.schedule, this._cron)}</dd>
          ${
            after && j.schedule
              ? html`<dt>Runs after</dt>
                  <dd>“${after.name}”</dd>`
              : nothing
          }
          <dt>Enabled</dt>
          <dd>${j.enabled ? "On" : "Off"}</dd>
          ${
            notify && (notify.onSuccess.length || notify.onPartial.length || notify.onFailure.length || notify.webhook)
              ? html`<dt>Notifications</dt>
                  <dd>
                    ${[
                      notify.onFailure.length ? `on failure: ${notify.onFailure.join(", ")}` : "",
                      notify.onPartial.length ? `on partial success: ${notify.onPartial.join(", ")}` : "",
                      notify.onSuccess.length ? `on success: ${notify.onSuccess.join(", ")}` : "",
                      notify.webhook ? "a webhook" : "",
                    ]
                      .filter(Boolean)
                      .join("; ")}
                  </dd>`
              : nothing
          }
          <dt>Last changed</dt>
          <dd>${formatDateTime(j.updatedAt)}</dd>
        </dl>
        ${j.builtIn ? html`<p class="small muted">${BUILT_IN_NOTES[j.builtIn] ?? ""}</p>` : nothing}
      </div>

      <h3 id="dc-job-ids">Identifiers</h3>
      ${
        j.identifiers.length
          ? html`<div class="table-wrap">
              <table aria-labelledby="dc-job-ids">
                <thead>
                  <tr>
                    <th scope="col">Dynamics column</th>
                    <th scope="col">${target} field</th>
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
          : html`<p class="muted">None: every run inserts.</p>`
      }

      <h3 id="dc-job-maps">Field mappings (${j.mappings.length})</h3>
      <div class="table-wrap">
        <table aria-labelledby="dc-job-maps">
          <thead>
            <tr>
              <th scope="col">Dynamics column</th>
              <th scope="col">Uses</th>
              <th scope="col">${target} field</th>
            </tr>
          </thead>
          <tbody>
            ${j.mappings.map(
              (m) =>
                html`<tr>
                  <td class="mono">${m.via ? `${m.source} → ${m.via.entity}.${m.via.attribute}` : m.source}</td>
                  <td>${m.use === "label" ? "Label" : "Value"}</td>
                  <td>${this._fieldLabel(j.target.object, m.target)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>

      ${
        j.lookups.length
          ? html`<h3 id="dc-job-lookups">Lookups</h3>
              <div class="table-wrap">
                <table aria-labelledby="dc-job-lookups">
                  <thead>
                    <tr>
                      <th scope="col">${target} field</th>
                      <th scope="col">Matched in</th>
                      <th scope="col">Match on</th>
                      <th scope="col">No match</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${j.lookups.map(
                      (l) =>
                        html`<tr>
                          <td>${this._fieldLabel(j.target.object, l.target)}</td>
                          <td>${this._objects.get(l.object)?.label ?? l.object}</td>
                          <td class="mono">${l.match.map((m) => `${m.source} = ${m.field}`).join(", ")}</td>
                          <td>${ON_MISSING[l.onMissing] ?? l.onMissing}; when empty: ${(ON_MISSING[l.onEmpty ?? "null"] ?? l.onEmpty ?? "").toLowerCase()}</td>
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
