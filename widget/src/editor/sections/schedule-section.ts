import { msg } from "@lit/localize";
import { html, nothing } from "lit";
import { property } from "lit/decorators.js";
import { live } from "lit/directives/live.js";
import { define } from "../../util/define";
import { formatLocale } from "../../l10n/localization";
import { CronWords } from "../../views/schedule-words";
import "../combobox";
import type { EditorDraft } from "../job-model";
import { zoneItems } from "../metadata-views";
import { cronError, formatRun, nextRuns, presetToCron, weekdayNames, type ScheduleKind } from "../schedule";
import type { Job } from "../types";
import { EditorSection, editorSection } from "./editor-section";

const SCHEDULE_KINDS = (): Array<{ kind: ScheduleKind; label: string }> => [
  { kind: "off", label: msg("Off (run manually)") },
  { kind: "hourly", label: msg("Hourly") },
  { kind: "daily", label: msg("Daily") },
  { kind: "weekdays", label: msg("Weekdays (Monday to Friday)") },
  { kind: "weekly", label: msg("Weekly") },
  { kind: "monthly", label: msg("Monthly") },
  { kind: "custom", label: msg("Custom (cron expression)") },
];

/**
 * Section 5, "Schedule and notifications": when the job runs (a preset or a cron expression, in words and as the next
 * three runs in its time zone), the job it runs after, whether it is enabled, and who hears about its runs.
 *
 * @event dc-editor-edit - the schedule, time zone, chain, enabled switch or notifications changed.
 */
export class DcEditorScheduleSection extends EditorSection {
  /** All jobs: "Runs after" offers the others of the same connection. */
  @property({ attribute: false }) jobs: Job[] = [];
  /** The job being edited (null: a new one). */
  @property({ attribute: false }) jobId: string | null = null;
  /** The connection the job reads. */
  @property({ attribute: false }) connectionId = "";

  /** The schedule in words (cronstrue and the current language's words, loaded lazily). */
  private readonly _words = new CronWords(this);

  override render() {
    const d = this.draft;
    const s = d.schedule;
    const cron = presetToCron(s);
    const cronErr = s.kind === "custom" ? cronError(s.cron) : null;
    const runs = cron && !cronErr ? nextRuns(cron, d.timezone, 3) : [];
    const words = cron && !cronErr ? this._words.describe(cron, d.timezone) : null;
    const setS = (patch: Partial<typeof s>) => this._edit({ schedule: { ...s, ...patch } }, "schedule.cron");
    const schedule = (patch: Partial<typeof s>): Partial<EditorDraft> => ({ schedule: { ...s, ...patch } });
    const sameConnJobs = this.jobs.filter((j) => j.id !== this.jobId && j.connectionId === this.connectionId);
    const cronFieldErr = this._err("schedule.cron") || (cronErr ?? "");
    const notify = (patch: Partial<EditorDraft["notify"]>) => ({ notify: { ...d.notify, ...patch } });
    return editorSection(
      5,
      "sec-schedule",
      msg("Schedule and notifications"),
      html`
        <div class="grid two">
          ${this._select(
            "schedule.kind",
            msg("Run"),
            s.kind,
            SCHEDULE_KINDS().map((k) => ({ value: k.kind, label: k.label })),
            (v) => schedule({ kind: v }),
            { id: "sch-kind", clear: ["schedule.cron"] },
          )}
          ${
            s.kind === "hourly"
              ? html`<div class="field">
                  <label for="sch-minute">${msg("At minute")}</label>
                  <input
                    id="sch-minute"
                    type="number"
                    min="0"
                    max="59"
                    .value=${live(String(Number(s.time.split(":")[1] ?? 0)))}
                    @input=${(e: Event) => setS({ time: `00:${String(Math.max(0, Math.min(59, Number((e.target as HTMLInputElement).value) || 0))).padStart(2, "0")}` })}
                  />
                </div>`
              : nothing
          }
          ${
            ["daily", "weekdays", "weekly", "monthly"].includes(s.kind)
              ? html`<div class="field">
                  <label for="sch-time">${msg("Time")}</label>
                  <input
                    id="sch-time"
                    type="time"
                    .value=${live(s.time)}
                    @input=${(e: Event) => setS({ time: (e.target as HTMLInputElement).value || "00:00" })}
                  />
                </div>`
              : nothing
          }
          ${
            s.kind === "weekly"
              ? this._select(
                  "schedule.weekday",
                  msg("Day of the week"),
                  String(s.weekday),
                  weekdayNames(formatLocale()).map((w, i) => ({ value: String(i), label: w })),
                  (v) => schedule({ weekday: Number(v) }),
                  { id: "sch-weekday", clear: ["schedule.cron"] },
                )
              : nothing
          }
          ${
            s.kind === "monthly"
              ? html`<div class="field">
                  <label for="sch-dom">${msg("Day of the month")}</label>
                  <input
                    id="sch-dom"
                    type="number"
                    min="1"
                    max="28"
                    .value=${live(String(s.dayOfMonth))}
                    aria-describedby="sch-dom-help"
                    @input=${(e: Event) => setS({ dayOfMonth: Math.max(1, Math.min(28, Number((e.target as HTMLInputElement).value) || 1)) })}
                  />
                  <p class="help" id="sch-dom-help">${msg("1 to 28, so every month has it.")}</p>
                </div>`
              : nothing
          }
          ${
            s.kind === "custom"
              ? html`<div class="field">
                  <label for="sch-cron">${msg("Cron expression")}</label>
                  <input
                    id="sch-cron"
                    data-field-key="schedule.cron"
                    spellcheck="false"
                    .value=${live(s.cron)}
                    placeholder="0 2 * * 1-5"
                    aria-invalid=${cronFieldErr ? "true" : "false"}
                    aria-describedby=${cronFieldErr ? "sch-cron-err sch-cron-help" : "sch-cron-help"}
                    @input=${(e: Event) => setS({ cron: (e.target as HTMLInputElement).value })}
                  />
                  <p class="help" id="sch-cron-help">${msg("minute hour day-of-month month day-of-week")}</p>
                  ${cronFieldErr ? html`<p class="error" id="sch-cron-err">${cronFieldErr}</p>` : nothing}
                </div>`
              : nothing
          }
          ${
            s.kind !== "off"
              ? html`<dc-combobox
                  label=${msg("Time zone")}
                  data-field-key="schedule.timezone"
                  .items=${zoneItems()}
                  .value=${d.timezone}
                  .valueLabel=${d.timezone}
                  .error=${this._err("schedule.timezone")}
                  @dc-combobox-change=${(e: GlobalEventHandlersEventMap["dc-combobox-change"]) => this._edit({ timezone: e.detail.value }, "schedule.timezone")}
                ></dc-combobox>`
              : nothing
          }
        </div>
        ${s.kind !== "off" && s.kind !== "custom" && this._err("schedule.cron") ? html`<p class="error" data-field-key="schedule.cron" tabindex="-1">${this._err("schedule.cron")}</p>` : nothing}
        ${words ? html`<p><strong>${words}</strong></p>` : nothing}
        ${
          runs.length
            ? html`<div>
                <span class="label" id="next-runs">${msg("Next runs")}</span>
                <ol class="runs" aria-labelledby="next-runs">
                  ${runs.map((r) => html`<li><time datetime=${r.toISOString()}>${formatRun(r, d.timezone, formatLocale())}</time></li>`)}
                </ol>
              </div>`
            : nothing
        }

        <div class="grid two spaced">
          ${this._select(
            "dependsOn",
            msg("Runs after"),
            d.dependsOn ?? "",
            [{ value: "", label: msg("No other job") }, ...sameConnJobs.map((j) => ({ value: j.id, label: j.name }))],
            (v) => ({ dependsOn: v || null }),
            { id: "depends-on", help: msg("Run this job each time the chosen job finishes (in addition to its own schedule).") },
          )}
          <div class="field">
            <span class="label">${msg("Enabled")}</span
            ><label class="check"
              ><input type="checkbox" .checked=${d.enabled} @change=${(e: Event) => this._edit({ enabled: (e.target as HTMLInputElement).checked })} />${msg(
                "Run on schedule and in chains",
              )}</label
            >
          </div>
        </div>

        <h4>${msg("Notifications")}</h4>
        <div class="grid two">
          ${this._input("notify.onFailure", msg("E-mail when a run fails"), d.notify.onFailure, (v) => notify({ onFailure: v }), {
            type: "text",
            help: msg("Separate several addresses with commas."),
            placeholder: "ops@example.com",
          })}
          ${this._input("notify.onPartial", msg("E-mail when some records fail"), d.notify.onPartial, (v) => notify({ onPartial: v }))}
          ${this._input("notify.onSuccess", msg("E-mail when a run succeeds"), d.notify.onSuccess, (v) => notify({ onSuccess: v }))}
          ${this._input("notify.webhook", msg("Webhook URL"), d.notify.webhook, (v) => notify({ webhook: v }), {
            type: "url",
            placeholder: "https://example.com/hooks/dynamics",
            help: msg("Receives every run's outcome, signed with HMAC-SHA256."),
          })}
        </div>
      `,
    );
  }
}

define("dc-editor-schedule-section", DcEditorScheduleSection);

declare global {
  interface HTMLElementTagNameMap {
    "dc-editor-schedule-section": DcEditorScheduleSection;
  }
}
