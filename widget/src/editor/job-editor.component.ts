import { localized, msg, str } from "@lit/localize";
import { LitElement, html, nothing, type PropertyValues } from "lit";
import { property, state } from "lit/decorators.js";
import type { EdgeClient } from "../api/edge-client";
import { emit } from "../events";
import { edgeErrorText } from "../l10n/localization";
import { errorBanner, renderBanner, type Banner } from "./banner";
import { relativeTime, TickController } from "./controllers";
import { DraftController } from "./draft-controller";
import { withCreatedObject, withEntity, withMapping, withObject, type EditContext } from "./draft-edits";
import type { DraftPatch, EditorEvent } from "./editor-events";
import { parseFilter, type FilterCondition } from "./filter-builder";
import { editorStyles } from "./job-editor.styles";
import { draftFromJob, draftToInput, errorsByKey, mappingKey, sameDraft, type EditorDraft } from "./job-model";
import { MetadataController } from "./metadata-controller";
import { attrMap } from "./metadata-views";
import { browserTimeZone } from "./schedule";
import "./sections/filter-section";
import "./sections/identifiers-section";
import "./sections/mappings-section";
import "./sections/preview-section";
import type { PreviewResult, PreviewRow } from "./sections/preview-section";
import "./sections/schedule-section";
import "./sections/source-section";
import { isEdgeError, type Connection, type Job, type JobInput, type Mapping } from "./types";
import { keyLabel, localErrors } from "./validation";

type Client = Pick<EdgeClient, "request">;

/**
 * The job editor: one page of sections (source and target, field mappings, identifiers and lookups, filter,
 * schedule, preview) with a sticky Save / Discard bar. Edits autosave as a local draft (IndexedDB) that survives a
 * reload; Dataverse metadata is cached per connection with a refresh control. Validation errors from the edge land on
 * the fields they name and the page scrolls to the first one.
 *
 * This element owns the draft, the validation errors, the banner, saving and the preview request; each section (and
 * its dialog) is its own element (./sections, ./dialogs) that renders what it is given and sends its changes as the
 * typed events of ./editor-events. Metadata loading and the draft's autosave are reactive controllers.
 *
 * @event dc-job-saved - `detail: { job }` after a successful create or update (bubbles, composed).
 * @event dc-editor-close - the admin left the editor (Discard or Back). Bubbles, composed.
 * @csspart editor - the page. @csspart header @csspart section - each of the six sections. @csspart footer - the
 *   sticky Save / Discard bar. @csspart banner - error and notice banners. @csspart mapping-row @csspart preview-table
 * @csspart add-field-dialog - "Add a field to <Object>" (adds the field to the target object with PATCH addFields)
 * @cssproperty --dc-accent --dc-accent-text --dc-focus --dc-text --dc-text-muted --dc-bg --dc-border --dc-input-border
 *   --dc-input-bg --dc-danger --dc-danger-bg --dc-warning --dc-success --dc-skeleton --dc-radius --dc-space --dc-mono
 */
@localized()
export class DcJobEditor extends LitElement {
  static override styles = editorStyles;

  /** The edge API client (widget/src/api/edge-client.ts). */
  @property({ attribute: false }) client!: Client;
  /** The connection whose Dataverse the job reads. */
  @property({ attribute: false }) connection!: Connection;
  /** The job to edit; null creates a new one. */
  @property({ attribute: false }) job: Job | null = null;
  /** All jobs (the "runs after" picker lists those of the same connection). */
  @property({ attribute: false }) jobs: Job[] = [];
  /** Returns the admin's delegated Dynamics token (sent as X-Dynamics-Token for metadata and preview). */
  @property({ attribute: false }) getDynamicsToken: () => Promise<string> = () => Promise.reject(new Error("not signed in"));

  @state() private _draft: EditorDraft = draftFromJob(null, browserTimeZone());
  @state() private _baseline: EditorDraft = this._draft;
  @state() private _ready = false;
  @state() private _errors = new Map<string, string[]>();
  @state() private _banner: Banner | null = null;
  @state() private _saving = false;
  /** The filter builder's rows (null: the filter text is hand-written beyond the builder). */
  @state() private _conditions: FilterCondition[] | null = [];
  @state() private _preview: PreviewResult | null = null;
  @state() private _previewBusy = false;
  @state() private _previewError: Banner | null = null;

  private _loadSeq = 0;
  /** `connectionId/jobId` the editor was initialised for (a saved new job keeps its state: no re-init). */
  private _initedFor: string | null = null;

  private readonly _meta = new MetadataController(this, {
    client: () => this.client,
    connectionId: () => this.connection.id,
    token: () => this._token(),
    onError: (title, e, retry) => (this._banner = errorBanner(title, e, { label: msg("Retry"), run: retry })),
    onAttributes: (logicalName) => this._attributesArrived(logicalName),
  });

  private readonly _drafts = new DraftController(this, {
    key: () => ({ connectionId: this.connection.id, jobId: this.job?.id ?? null }),
    draft: () => this._draft,
    dirty: () => this._dirty,
    baseUpdatedAt: () => this.job?.updatedAt ?? null,
  });

  constructor() {
    super();
    new TickController(this, 5000);
    this.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
        e.preventDefault();
        void this._save();
      }
    });
  }

  // ---------------------------------------------------------------- lifecycle and loading

  protected override willUpdate(_changed: PropertyValues) {
    if (this.connection && this.client) {
      const k = `${this.connection.id}/${this.job?.id ?? "new"}`;
      if (k !== this._initedFor) {
        this._initedFor = k;
        void this._init();
      }
    }
  }

  private async _init() {
    const seq = ++this._loadSeq;
    this._ready = false;
    this._errors = new Map();
    this._banner = null;
    this._preview = null;
    const base = draftFromJob(this.job, browserTimeZone());
    this._baseline = base;
    const [, draft] = await Promise.all([this._meta.open(), this._drafts.restore(base, this.job, () => seq === this._loadSeq)]);
    if (seq !== this._loadSeq) return;
    this._draft = draft;
    this._conditions = parseFilter(draft.filter, attrMap(this._meta.attrs.get(draft.entity)));
    this._ready = true;
    void this._meta.loadEntities(false);
    void this._meta.loadObjects();
    if (draft.entity) void this._meta.loadAttributes(draft.entity);
    for (const m of draft.mappings) if (m.via?.entity) void this._meta.loadAttributes(m.via.entity);
  }

  private async _token(): Promise<string | undefined> {
    try {
      return await this.getDynamicsToken();
    } catch {
      return undefined;
    }
  }

  private _attributesArrived(logicalName: string) {
    // The text is the truth: read it again now that lookups' `_x_value` names can be resolved — unless the admin has
    // half-written builder rows the text does not hold yet.
    const complete = (c: FilterCondition) => !!c.attribute && (c.value !== "" || c.operator === "null" || c.operator === "notnull");
    if (logicalName === this._draft.entity && (this._conditions === null || this._conditions.every(complete))) {
      this._conditions = parseFilter(this._draft.filter, attrMap(this._meta.attrs.get(logicalName)));
    }
  }

  // ---------------------------------------------------------------- the draft, and what the sections ask of it

  private _update(patch: DraftPatch) {
    this._draft = typeof patch === "function" ? patch(this._draft) : { ...this._draft, ...patch };
    this._drafts.schedule();
  }

  private get _dirty() {
    return !sameDraft(this._draft, this._baseline);
  }

  private get _ctx(): EditContext {
    return { entities: this._meta.entities, objects: this._meta.objects };
  }

  private _clearError(...keys: string[]) {
    if (!keys.some((k) => this._errors.has(k))) return;
    const next = new Map(this._errors);
    for (const k of keys) next.delete(k);
    this._errors = next;
  }

  private _onEdit(e: EditorEvent<"dc-editor-edit">) {
    this._update(e.detail.patch);
    this._clearError(...(e.detail.clear ?? []));
  }

  private _onEntityPick(e: EditorEvent<"dc-editor-entity-pick">) {
    const { logicalName } = e.detail;
    if (logicalName === this._draft.entity) return;
    const hadMappings = this._draft.mappings.length > 0;
    this._update((d) => withEntity(d, logicalName, this._ctx));
    this._conditions = [];
    this._clearError("source.entity");
    this._preview = null;
    if (hadMappings)
      this._banner = {
        kind: "info",
        title: msg("Source table changed"),
        message: msg("Field mappings, identifiers' sources and the filter were cleared because they named columns of the previous table."),
      };
    void this._meta.loadAttributes(logicalName);
  }

  private _onObjectPick(e: EditorEvent<"dc-editor-object-pick">) {
    const { name } = e.detail;
    if (name === this._draft.targetObject) return;
    this._update((d) => withObject(d, name, this._ctx));
    this._clearError("target.object");
  }

  private _onObjectCreated(e: EditorEvent<"dc-editor-object-created">) {
    const { object, derived } = e.detail;
    this._meta.addObject(object);
    this._update((d) => withCreatedObject(d, object, derived, this._ctx));
    this._clearError("target.object");
    this._banner = {
      kind: "info",
      title: msg(str`Created ${object.label}`),
      message: msg(str`${derived.body.fields.length} fields, each mapped from its column.`),
    };
  }

  private _onFieldAdded(e: EditorEvent<"dc-editor-field-added">) {
    const { object, mapping, notice } = e.detail;
    this._meta.updateObject(object);
    if (mapping) this._setMapping(mapping);
    this._banner = notice;
  }

  private _setMapping(m: Mapping) {
    this._update((d) => withMapping(d, m.target, m));
    this._clearError(mappingKey(m.target));
  }

  private _onFilterChange(e: EditorEvent<"dc-editor-filter-change">) {
    this._conditions = e.detail.conditions;
    this._update({ filter: e.detail.filter });
    this._clearError("source.filter");
  }

  private _refreshMetadata() {
    return this._meta.refresh(() => [this._draft.entity, ...this._draft.mappings.map((m) => m.via?.entity ?? "")]);
  }

  // ---------------------------------------------------------------- save, discard, preview

  /** The draft as job JSON, or null (with the problems shown on their fields) when the local checks fail. */
  private _checkedInput(): JobInput | null {
    const input = draftToInput(this._draft, this.connection.id);
    // Rows whose via attribute is still missing are dropped by draftToInput; validate against what the admin sees.
    const sent = { ...input, mappings: this._draft.mappings.filter((m) => m.source && m.target) as Mapping[] };
    const local = localErrors(sent, this._draft, this._meta.entities);
    if (local.length) {
      this._applyErrors(local, sent, msg("Some fields need your attention"));
      return null;
    }
    return input;
  }

  private async _save(): Promise<Job | null> {
    if (this._saving || !this._ready) return null;
    const input = this._checkedInput();
    if (!input) return null;
    this._saving = true;
    this._banner = null;
    try {
      // The admin's token lets the edge prove, at save, that the connection's user reads a new table Organization-wide.
      const token = await this._token();
      const opts = { body: input, ...(token ? { dynamicsToken: token } : {}) };
      const saved = this.job
        ? await this.client.request<Job>("PUT", `/jobs/${encodeURIComponent(this.job.id)}`, opts)
        : await this.client.request<Job>("POST", "/jobs", opts);
      const { warnings, ...job } = saved as Job & { warnings?: string[] };
      await this._drafts.discard();
      this._errors = new Map();
      // Editing continues on the saved job: it becomes the new baseline (and the draft key is now its id).
      this._loadSeq++;
      const next = draftFromJob(job, browserTimeZone());
      this._baseline = next;
      this._draft = { ...next, review: this._draft.review };
      this._initedFor = `${this.connection.id}/${job.id}`;
      this.job = job;
      this._banner = { kind: "info", title: msg("Job saved"), ...(warnings?.length ? { message: warnings.join(" ") } : {}) };
      emit(this, "dc-job-saved", { job });
      return job;
    } catch (e) {
      if (isEdgeError(e) && (e.code === "validation_failed" || e.code === "quota_exceeded") && e.details?.length) {
        this._applyErrors(e.details, input, edgeErrorText(e, msg("The job is not valid")));
      } else {
        this._banner = errorBanner(msg("The job was not saved"), e, { label: msg("Try again"), run: () => void this._save() });
        void this.updateComplete.then(() => this.renderRoot.querySelector(".banner")?.scrollIntoView({ block: "nearest" }));
      }
      return null;
    } finally {
      this._saving = false;
    }
  }

  private _applyErrors(details: ReadonlyArray<{ path: string; message: string }>, sent: Pick<JobInput, "mappings">, title: string) {
    this._errors = errorsByKey(details, sent);
    this._banner = { kind: "error", title, message: details.length === 1 ? msg("1 problem to fix.") : msg(str`${details.length} problems to fix.`) };
    void this.updateComplete.then(() => this._focusFirstError());
  }

  /** Scroll to (and focus) the first field in page order that carries an error. */
  private async _focusFirstError() {
    // Sections render after the editor, and comboboxes their error after their own update.
    await new Promise((r) => requestAnimationFrame(r));
    const all = [...this.renderRoot.querySelectorAll<HTMLElement>("[data-field-key]")];
    const first = all.find((el) => this._errors.has(el.dataset.fieldKey ?? el.getAttribute("data-field-key") ?? ""));
    const target = first ?? this.renderRoot.querySelector<HTMLElement>(".banner");
    target?.scrollIntoView({ block: "center", behavior: "smooth" });
    if (first) first.focus({ preventScroll: true });
  }

  private _goToError(key: string) {
    const el = this.renderRoot.querySelector<HTMLElement>(`[data-field-key="${CSS.escape(key)}"]`);
    el?.scrollIntoView({ block: "center" });
    el?.focus({ preventScroll: true });
  }

  private async _discard() {
    await this._drafts.discard();
    this._draft = this._baseline;
    this._errors = new Map();
    emit(this, "dc-editor-close", {});
  }

  private async _back() {
    await this._drafts.flush();
    emit(this, "dc-editor-close", {});
  }

  private async _discardRestored() {
    await this._drafts.discard();
    this._draft = this._baseline;
    this._conditions = parseFilter(this._draft.filter, attrMap(this._meta.attrs.get(this._draft.entity)));
  }

  /**
   * A new job or one with unsaved changes is previewed as the draft it is (POST /jobs/preview: validated like a save,
   * stored nowhere); a saved, unchanged job by its id.
   */
  private async _runPreview() {
    this._previewError = null;
    const unsaved = !this.job || this._dirty;
    const draft = unsaved ? this._checkedInput() : null;
    if (unsaved && !draft) return;
    this._previewBusy = true;
    try {
      const token = await this._token();
      const opts = { ...(token ? { dynamicsToken: token } : {}), ...(draft ? { body: draft } : {}) };
      const path = draft ? "/jobs/preview" : `/jobs/${encodeURIComponent(this.job!.id)}/preview`;
      const r = await this.client.request<{ rows?: PreviewRow[]; records?: PreviewRow[] }>("POST", path, opts);
      this._preview = { rows: r.rows ?? r.records ?? [], at: Date.now() };
      if (draft && this._errors.size) {
        // The edge accepted the draft: problems a previous attempt reported are fixed.
        this._errors = new Map();
        this._banner = null;
      }
    } catch (e) {
      if (draft && isEdgeError(e) && (e.code === "validation_failed" || e.code === "quota_exceeded") && e.details?.length) {
        this._applyErrors(e.details, draft, edgeErrorText(e, msg("The job is not valid")));
        return;
      }
      const needsSignIn = isEdgeError(e) && (e.code === "dynamics_token_missing" || e.status === 401);
      this._previewError = {
        kind: "error",
        title: msg("Could not fetch sample records"),
        message: needsSignIn ? msg("Sign in to Microsoft again (Re-authorize the connection), then retry.") : edgeErrorText(e),
        ...(isEdgeError(e) && e.requestId ? { requestId: e.requestId } : {}),
      };
    } finally {
      this._previewBusy = false;
    }
  }

  // ---------------------------------------------------------------- rendering

  override render() {
    if (!this.connection) return nothing;
    const title = this.job ? msg(str`Edit job: ${this.job.name}`) : msg("New job");
    return html`
      <div
        class="editor"
        part="editor"
        @dc-editor-edit=${this._onEdit}
        @dc-editor-entity-pick=${this._onEntityPick}
        @dc-editor-object-pick=${this._onObjectPick}
        @dc-editor-object-created=${this._onObjectCreated}
        @dc-editor-field-added=${this._onFieldAdded}
        @dc-editor-filter-change=${this._onFilterChange}
        @dc-editor-attributes-need=${(e: EditorEvent<"dc-editor-attributes-need">) => void this._meta.loadAttributes(e.detail.logicalName)}
        @dc-editor-metadata-refresh=${() => void this._refreshMetadata()}
        @dc-editor-notice=${(e: EditorEvent<"dc-editor-notice">) => (this._banner = e.detail.banner)}
        @dc-editor-preview-run=${() => void this._runPreview()}
        @dc-editor-preview-dismiss=${() => (this._previewError = null)}
      >
        <header part="header">
          <h2 id="editor-title">${title}</h2>
          <button class="link" @click=${() => void this._back()}>${msg("Back to jobs")}</button>
        </header>
        ${this._renderRestored()}
        ${renderBanner(this._banner, "banner", () => (this._banner = null), {
          errors: this._errors,
          label: (k) => keyLabel(k, this._meta.object(this._draft.targetObject)),
          goTo: (k) => this._goToError(k),
        })}
        ${
          this._ready
            ? this._renderSections()
            : html`<div class="skeleton" aria-hidden="true"></div>
                <div class="skeleton" aria-hidden="true"></div>
                <p role="status">${msg("Loading the editor…")}</p>`
        }
        ${this._renderFooter()}
      </div>
    `;
  }

  private _renderSections() {
    const d = this._draft;
    const m = this._meta;
    const object = m.object(d.targetObject);
    const attrs = m.attrs.get(d.entity);
    return html` <dc-editor-source-section
        .draft=${d}
        .errors=${this._errors}
        .entities=${m.entities}
        .entitiesAt=${m.entitiesAt}
        .attrs=${attrs}
        .objects=${m.objects}
        .refreshing=${m.refreshing}
        .client=${this.client}
      ></dc-editor-source-section>
      <dc-editor-mappings-section
        .draft=${d}
        .errors=${this._errors}
        .object=${object}
        .attrs=${m.attrs}
        .attrsLoading=${m.attrsLoading}
        .entities=${m.entities}
        .client=${this.client}
      ></dc-editor-mappings-section>
      <dc-editor-identifiers-section
        .draft=${d}
        .errors=${this._errors}
        .object=${object}
        .objects=${m.objects}
        .entity=${m.entity(d.entity)}
        .attrs=${attrs}
      ></dc-editor-identifiers-section>
      <dc-editor-filter-section .draft=${d} .errors=${this._errors} .attrs=${attrs} .conditions=${this._conditions}></dc-editor-filter-section>
      <dc-editor-schedule-section
        .draft=${d}
        .errors=${this._errors}
        .jobs=${this.jobs}
        .jobId=${this.job?.id ?? null}
        .connectionId=${this.connection.id}
      ></dc-editor-schedule-section>
      <dc-editor-preview-panel
        .draft=${d}
        .errors=${this._errors}
        .preview=${this._preview}
        .busy=${this._previewBusy}
        .disabled=${this._saving || !d.entity || !d.targetObject}
        .error=${this._previewError}
        .object=${object}
      ></dc-editor-preview-panel>`;
  }

  private _renderRestored() {
    const r = this._drafts.restored;
    if (!r) return nothing;
    return html`
      <div class="banner info" part="banner" role="status">
        <p>
          ${msg(html`<strong>Restored your unsaved changes</strong> from ${relativeTime(r.savedAt)}.`)}
          ${r.stale ? html`<span class="warning">${msg("The job was changed since; saving replaces those changes.")}</span>` : nothing}
        </p>
        <button @click=${() => void this._discardRestored()}>${msg("Discard my changes")}</button>
        <button class="link" @click=${() => this._drafts.dismissRestored()}>${msg("Keep them")}</button>
      </div>
    `;
  }

  private _renderFooter() {
    const dirty = this._ready && this._dirty;
    const savedAt = this._drafts.savedAt;
    const marker =
      savedAt && dirty ? msg(str`Draft saved locally ${relativeTime(savedAt)}`) : dirty ? msg("Unsaved changes") : this.job ? msg("No unsaved changes") : "";
    return html`<div class="footer" part="footer" role="group" aria-label=${msg("Save or discard")}>
      <span class="marker">${marker}</span>
      <button @click=${() => void this._discard()} ?disabled=${this._saving}>${msg("Discard")}</button>
      <button class="primary" @click=${() => void this._save()} ?disabled=${this._saving || !this._ready}>
        ${this._saving ? msg("Saving…") : msg("Save")}
      </button>
    </div>`;
  }
}
