import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { property, state } from "lit/decorators.js";
import { live } from "lit/directives/live.js";
import type { EdgeClient } from "../api/edge-client";
import { emit } from "../events";
import { openModal } from "../views/dialog";
import { DraftStore, type StoredDraft } from "../cache/drafts";
import { openStore, type KvStore } from "../cache/kv-store";
import { MetadataCache, type CachedMetadata } from "../cache/metadata-cache";
import "./combobox";
import type { ComboItem } from "./combobox";
import { autoMap } from "./auto-map";
import { hasLabel, isCompatible, isCompatibleAnyUse, isMappable, LOOKUP_TYPES } from "#contract/compatibility";
import { fieldTypeForAttribute, fieldTypeLabel, OPTION_TYPES, preferredUse, typeIcon } from "./compatibility";
import { buildFilter, OPERATORS, operatorsFor, parseFilter, valueError, type FilterCondition, type FilterOperator } from "./filter-builder";
import {
  defaultAttributeSelection, deriveObject, draftFromJob, draftToInput, errorsByKey, mappingKey, orderFields, proposeField, sameDraft,
  suggestJobName, type DeletePolicy, type EditorDraft, type JobMode, type OnMissing,
} from "./job-model";
import {
  browserTimeZone, cronError, describeSchedule, formatRun, nextRuns, presetToCron, timeZones, WEEKDAYS, type ScheduleKind,
} from "./schedule";
import { editorStyles } from "./job-editor.styles";
import { AutosaveController, relativeTime, TickController } from "./controllers";
import {
  isEdgeError, type AttributeInfo, type Connection, type EntityInfo, type FieldType, type Job, type JobInput, type Mapping, type ObjectField,
  type TargetObject,
} from "./types";

type Client = Pick<EdgeClient, "request">;

interface PreviewRow {
  sourceId: string;
  fields: Record<string, unknown>;
  errors: Array<{ field: string | null; value: unknown; reason: string }>;
}

interface Banner {
  kind: "error" | "info";
  title: string;
  message?: string;
  requestId?: string;
  action?: { label: string; run: () => void };
}

interface CreateObjectState {
  name: string;
  label: string;
  selected: Set<string>;
  filter: string;
  busy: boolean;
  error: string;
}

type AddFieldKey = "name" | "label" | "type";

/** The "Add a field to <Object>" dialog: the field, the column it is suggested from (and mapped to), what failed. */
interface AddFieldState {
  source: string;
  through: boolean;
  viaEntity: string;
  viaAttribute: string;
  name: string;
  label: string;
  type: FieldType;
  /** Values the admin typed are theirs: picking another column no longer overwrites them. */
  edited: Record<AddFieldKey, boolean>;
  busy: boolean;
  errors: Partial<Record<AddFieldKey | "form", string>>;
  requestId?: string;
}

/** Types a new field can have here; reference fields are made by lookups to other objects, not from a column. */
const NEW_FIELD_TYPES: FieldType[] = ["string", "text", "integer", "number", "currency", "boolean", "date", "datetime", "email", "url", "phone", "id", "string_list"];

const SCHEDULE_KINDS: Array<{ kind: ScheduleKind; label: string }> = [
  { kind: "off", label: "Off (run manually)" },
  { kind: "hourly", label: "Hourly" },
  { kind: "daily", label: "Daily" },
  { kind: "weekdays", label: "Weekdays (Monday to Friday)" },
  { kind: "weekly", label: "Weekly" },
  { kind: "monthly", label: "Monthly" },
  { kind: "custom", label: "Custom (cron expression)" },
];

const MODES: Array<{ value: JobMode; label: string; help: string }> = [
  { value: "upsert", label: "Insert and update", help: "New records are added, existing ones (same identifier) updated." },
  { value: "insert", label: "Insert only", help: "Only adds records; existing ones are left alone." },
  { value: "update", label: "Update only", help: "Only changes records that already exist." },
];

const DELETES: Array<{ value: DeletePolicy; label: string }> = [
  { value: "ignore", label: "Keep the record" },
  { value: "soft", label: "Mark it as deleted" },
  { value: "delete", label: "Delete it" },
];

const ON_MISSING: Array<{ value: OnMissing; label: string }> = [
  { value: "null", label: "Leave the field empty" },
  { value: "skip", label: "Skip the record" },
  { value: "error", label: "Report an error" },
];

// Shared by every editor instance on the page (one IndexedDB connection).
let storesPromise: Promise<{ drafts: KvStore<StoredDraft<EditorDraft>>; metadata: KvStore<CachedMetadata<unknown>> }> | null = null;
function stores() {
  storesPromise ??= Promise.all([openStore<StoredDraft<EditorDraft>>("drafts"), openStore<CachedMetadata<unknown>>("metadata")]).then(
    ([drafts, metadata]) => ({ drafts, metadata }),
  );
  return storesPromise;
}

function displayValue(v: unknown): TemplateResult | string {
  if (v === null || v === undefined) return html`<span class="null">empty</span>`;
  if (Array.isArray(v)) return v.map((x) => String(x)).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * The job editor: one page of sections (source and target, field mappings, identifiers and lookups, filter,
 * schedule, preview) with a sticky Save / Discard bar. Edits autosave as a local draft (IndexedDB) that survives a
 * reload; Dataverse metadata is cached per connection with a refresh control. Validation errors from the edge land on
 * the fields they name and the page scrolls to the first one.
 *
 * @event dc-job-saved - `detail: { job }` after a successful create or update (bubbles, composed).
 * @event dc-editor-close - the admin left the editor (Discard or Back). Bubbles, composed.
 * @csspart editor - the page. @csspart header @csspart section - each of the six sections. @csspart footer - the
 *   sticky Save / Discard bar. @csspart banner - error and notice banners. @csspart mapping-row @csspart preview-table
 * @csspart add-field-dialog - "Add a field to <Object>" (adds the field to the target object with PATCH addFields)
 * @cssproperty --dc-accent --dc-accent-text --dc-focus --dc-text --dc-text-muted --dc-bg --dc-border --dc-input-border
 *   --dc-input-bg --dc-danger --dc-danger-bg --dc-warning --dc-success --dc-skeleton --dc-radius --dc-space --dc-mono
 */
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
  @state() private _entities: EntityInfo[] | null = null;
  @state() private _entitiesAt = 0;
  @state() private _attrs = new Map<string, AttributeInfo[]>();
  @state() private _attrsLoading = new Set<string>();
  @state() private _objects: TargetObject[] | null = null;
  @state() private _errors = new Map<string, string[]>();
  @state() private _banner: Banner | null = null;
  @state() private _restored: { savedAt: number; stale: boolean } | null = null;
  @state() private _draftSavedAt: number | null = null;
  @state() private _saving = false;
  @state() private _refreshing = false;
  @state() private _showAll = new Set<string>();
  @state() private _conditions: FilterCondition[] | null = [];
  @state() private _create: CreateObjectState | null = null;
  @state() private _addField: AddFieldState | null = null;
  @state() private _preview: { rows: PreviewRow[]; at: number } | null = null;
  @state() private _previewBusy = false;
  @state() private _previewError: Banner | null = null;

  private _draftStore: DraftStore<EditorDraft> | null = null;
  private _meta: MetadataCache | null = null;
  private _loadSeq = 0;
  /** `connectionId/jobId` the editor was initialised for (a saved new job keeps its state: no re-init). */
  private _initedFor: string | null = null;
  private _itemsCache = new Map<string, ComboItem[]>();
  private _zones: ComboItem[] | null = null;

  private readonly _autosave = new AutosaveController(this, () => this._persistDraft());

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

  protected override willUpdate(changed: PropertyValues) {
    if (this.connection && this.client) {
      const k = `${this.connection.id}/${this.job?.id ?? "new"}`;
      if (k !== this._initedFor) {
        this._initedFor = k;
        void this._init();
      }
    }
    if (changed.has("_attrs") || changed.has("_objects") || changed.has("_entities") || changed.has("_showAll")) this._itemsCache.clear();
  }

  private get _key() {
    return { connectionId: this.connection.id, jobId: this.job?.id ?? null };
  }

  private async _init() {
    const seq = ++this._loadSeq;
    this._ready = false;
    this._errors = new Map();
    this._banner = null;
    this._restored = null;
    this._preview = null;
    const base = draftFromJob(this.job, browserTimeZone());
    this._baseline = base;
    let draft = base;
    const s = await stores();
    this._draftStore = new DraftStore(s.drafts);
    this._meta = new MetadataCache(s.metadata, {
      entities: async (connectionId, refresh) =>
        this.client.request<EntityInfo[]>("GET", `/connections/${encodeURIComponent(connectionId)}/entities${refresh ? "?refresh=1" : ""}`, { dynamicsToken: await this._token() }),
      attributes: async (connectionId, logicalName, refresh) =>
        this.client.request<AttributeInfo[]>(
          "GET",
          `/connections/${encodeURIComponent(connectionId)}/entities/${encodeURIComponent(logicalName)}/attributes${refresh ? "?refresh=1" : ""}`,
          { dynamicsToken: await this._token() },
        ),
    });
    try {
      const stored = await this._draftStore.load(this._key.connectionId, this._key.jobId);
      if (seq !== this._loadSeq) return;
      if (stored && !sameDraft(stored.draft, base)) {
        draft = { ...base, ...stored.draft };
        this._restored = { savedAt: stored.savedAt, stale: !!this.job && stored.baseUpdatedAt !== this.job.updatedAt };
        this._draftSavedAt = stored.savedAt;
      } else {
        this._draftSavedAt = null;
      }
    } catch {
      /* no draft store: start from the job */
    }
    this._draft = draft;
    this._conditions = parseFilter(draft.filter, this._attrMap(draft.entity));
    this._ready = true;
    void this._loadEntities(false);
    void this._loadObjects();
    if (draft.entity) void this._loadAttributes(draft.entity);
    for (const m of draft.mappings) if (m.via?.entity) void this._loadAttributes(m.via.entity);
  }

  private async _token(): Promise<string | undefined> {
    try {
      return await this.getDynamicsToken();
    } catch {
      return undefined;
    }
  }

  private async _loadEntities(refresh: boolean) {
    if (!this._meta) return;
    try {
      const r = await this._meta.entities(this.connection.id, { refresh });
      this._entities = r.value;
      this._entitiesAt = r.fetchedAt;
      void r.revalidated?.then((fresh) => {
        this._entities = fresh.value;
        this._entitiesAt = fresh.fetchedAt;
      }, () => undefined);
    } catch (e) {
      this._showError("Could not load the Dynamics tables", e, { label: "Retry", run: () => void this._loadEntities(refresh) });
    }
  }

  private async _loadAttributes(logicalName: string, refresh = false) {
    if (!this._meta || !logicalName) return;
    if (!refresh && (this._attrs.has(logicalName) || this._attrsLoading.has(logicalName))) return;
    this._attrsLoading = new Set(this._attrsLoading).add(logicalName);
    try {
      const r = await this._meta.attributes(this.connection.id, logicalName, { refresh });
      this._setAttrs(logicalName, r.value);
      void r.revalidated?.then((fresh) => this._setAttrs(logicalName, fresh.value), () => undefined);
    } catch (e) {
      this._showError(`Could not load the columns of ${this._entityLabel(logicalName)}`, e, { label: "Retry", run: () => void this._loadAttributes(logicalName, refresh) });
    } finally {
      const next = new Set(this._attrsLoading);
      next.delete(logicalName);
      this._attrsLoading = next;
    }
  }

  private _setAttrs(logicalName: string, attrs: AttributeInfo[]) {
    this._attrs = new Map(this._attrs).set(logicalName, attrs);
    // The text is the truth: read it again now that lookups' `_x_value` names can be resolved — unless the admin has
    // half-written builder rows the text does not hold yet.
    const complete = (c: FilterCondition) => !!c.attribute && (c.value !== "" || c.operator === "null" || c.operator === "notnull");
    if (logicalName === this._draft.entity && (this._conditions === null || this._conditions.every(complete))) {
      this._conditions = parseFilter(this._draft.filter, this._attrMap(logicalName));
    }
  }

  private async _loadObjects() {
    try {
      this._objects = await this.client.request<TargetObject[]>("GET", "/objects");
    } catch (e) {
      this._showError("Could not load the target objects", e, { label: "Retry", run: () => void this._loadObjects() });
    }
  }

  private async _refreshMetadata() {
    this._refreshing = true;
    try {
      await this._loadEntities(true);
      const entities = new Set([this._draft.entity, ...this._draft.mappings.map((m) => m.via?.entity ?? "")].filter(Boolean));
      await Promise.all([...entities].map((e) => this._loadAttributes(e, true)));
    } finally {
      this._refreshing = false;
    }
  }

  private _showError(title: string, e: unknown, action?: Banner["action"]) {
    const message = e instanceof Error || isEdgeError(e) ? (e as { message: string }).message : String(e);
    const requestId = isEdgeError(e) ? e.requestId : undefined;
    this._banner = { kind: "error", title, message, ...(requestId ? { requestId } : {}), ...(action ? { action } : {}) };
  }

  // ---------------------------------------------------------------- draft state

  private _update(patch: Partial<EditorDraft> | ((d: EditorDraft) => EditorDraft)) {
    this._draft = typeof patch === "function" ? patch(this._draft) : { ...this._draft, ...patch };
    this._autosave.schedule();
  }

  private get _dirty() {
    return !sameDraft(this._draft, this._baseline);
  }

  private async _persistDraft() {
    if (!this._draftStore || !this.connection) return;
    const { connectionId, jobId } = this._key;
    try {
      if (this._dirty) {
        this._draftSavedAt = await this._draftStore.save(connectionId, jobId, this._draft, this.job?.updatedAt ?? null);
      } else {
        await this._draftStore.discard(connectionId, jobId);
        this._draftSavedAt = null;
      }
    } catch {
      /* storage full or blocked: the editor still works, the draft just is not kept */
    }
  }

  private _clearError(...keys: string[]) {
    if (!keys.some((k) => this._errors.has(k))) return;
    const next = new Map(this._errors);
    for (const k of keys) next.delete(k);
    this._errors = next;
  }

  private _err(key: string): string {
    return (this._errors.get(key) ?? []).join(" ");
  }

  // ---------------------------------------------------------------- derived data

  private _attrMap(entity: string): Map<string, AttributeInfo> {
    return new Map((this._attrs.get(entity) ?? []).map((a) => [a.logicalName, a]));
  }

  private get _sourceAttrs(): AttributeInfo[] {
    return this._attrs.get(this._draft.entity) ?? [];
  }

  private get _entity(): EntityInfo | undefined {
    return this._entities?.find((e) => e.logicalName === this._draft.entity);
  }

  private _entityLabel(logicalName: string): string {
    return this._entities?.find((e) => e.logicalName === logicalName)?.displayName || logicalName;
  }

  private get _object(): TargetObject | undefined {
    return this._objects?.find((o) => o.name === this._draft.targetObject);
  }

  private _objectByName(name: string): TargetObject | undefined {
    return this._objects?.find((o) => o.name === name);
  }

  private _entityItems(): ComboItem[] {
    const k = "entities";
    const hit = this._itemsCache.get(k);
    if (hit) return hit;
    const items = [...(this._entities ?? [])]
      .sort((a, b) => (a.displayName || a.logicalName).localeCompare(b.displayName || b.logicalName))
      .map((e) => ({
        value: e.logicalName,
        label: e.displayName || e.logicalName,
        secondary: e.logicalName,
        badges: [...(e.isCustom ? ["Custom"] : []), ...(e.changeTracking ? ["Change tracking"] : [])],
      }));
    this._itemsCache.set(k, items);
    return items;
  }

  private _objectItems(): ComboItem[] {
    const k = "objects";
    const hit = this._itemsCache.get(k);
    if (hit) return hit;
    const items = (this._objects ?? []).map((o) => ({ value: o.name, label: o.label, secondary: o.name, badges: [o.standard ? "Standard" : "Custom"] }));
    this._itemsCache.set(k, items);
    return items;
  }

  private _attrItem(a: AttributeInfo, hint?: string): ComboItem {
    const badges = a.required === "required" ? ["Required"] : [];
    return { value: a.logicalName, label: a.displayName || a.logicalName, secondary: a.logicalName, icon: typeIcon(a.type), badges, ...(hint ? { hint } : {}) };
  }

  /** Source picker items for a target field: compatible first; the rest behind a "show all" action. */
  private _sourceItems(entity: string, field: ObjectField | null, rowKey: string): ComboItem[] {
    const showAll = this._showAll.has(rowKey);
    const k = `src|${entity}|${field?.type ?? "*"}|${showAll}`;
    const hit = this._itemsCache.get(k);
    if (hit) return hit;
    const attrs = (this._attrs.get(entity) ?? []).filter((a) => isMappable(a));
    const byName = (a: AttributeInfo, b: AttributeInfo) => (a.displayName || a.logicalName).localeCompare(b.displayName || b.logicalName);
    const fits = field ? attrs.filter((a) => isCompatibleAnyUse(a, field.type)).sort(byName) : [...attrs].sort(byName);
    const rest = field ? attrs.filter((a) => !isCompatibleAnyUse(a, field.type)).sort(byName) : [];
    const items = fits.map((a) => this._attrItem(a));
    if (rest.length) {
      if (showAll) {
        items.push(...rest.map((a) => this._attrItem(a, `${typeIcon(a.type).name} does not fit ${fieldTypeLabel(field!.type)}`)));
        items.push({ value: "__hide", label: `Hide the ${rest.length} columns that do not fit`, action: true });
      } else {
        items.push({ value: "__show", label: `Show all columns (${rest.length} more that do not fit ${fieldTypeLabel(field!.type)})`, action: true });
      }
    }
    this._itemsCache.set(k, items);
    return items;
  }

  private _zoneItems(): ComboItem[] {
    this._zones ??= timeZones().map((z) => ({ value: z, label: z.replace(/_/g, " "), secondary: z }));
    return this._zones;
  }

  // ---------------------------------------------------------------- section 1: source and target

  private _pickEntity(logicalName: string) {
    if (logicalName === this._draft.entity) return;
    const hadMappings = this._draft.mappings.length > 0;
    this._update((d) => ({
      ...d,
      entity: logicalName,
      // Columns of another table do not carry over; the filter names columns too.
      mappings: [],
      review: [],
      // An identifier fed by the old table's id column follows to the new table's id column.
      identifiers: d.identifiers.map((i) => ({ ...i, source: !i.source || i.source === this._entity?.primaryIdAttribute ? this._entities?.find((x) => x.logicalName === logicalName)?.primaryIdAttribute ?? "" : "" })),
      lookups: d.lookups.map((l) => ({ ...l, match: l.match.map((m) => ({ ...m, source: "" })) })),
      filter: "",
      name: this._autoName(d, logicalName, d.targetObject),
    }));
    this._conditions = [];
    this._clearError("source.entity");
    this._preview = null;
    if (hadMappings) this._banner = { kind: "info", title: "Source table changed", message: "Field mappings, identifiers' sources and the filter were cleared because they named columns of the previous table." };
    void this._loadAttributes(logicalName);
  }

  private _autoName(d: EditorDraft, entity: string, object: string): string {
    const prevAuto = d.entity && d.targetObject ? suggestJobName(this._entityLabel(d.entity), this._objectByName(d.targetObject)?.label ?? d.targetObject) : "";
    if (d.name && d.name !== prevAuto) return d.name;
    return entity && object ? suggestJobName(this._entityLabel(entity), this._objectByName(object)?.label ?? object) : d.name;
  }

  private _pickObject(name: string) {
    if (name === this._draft.targetObject) return;
    const obj = this._objectByName(name);
    const fields = new Set((obj?.fields ?? []).map((f) => f.name));
    this._update((d) => ({
      ...d,
      targetObject: name,
      mappings: d.mappings.filter((m) => fields.has(m.target)),
      review: d.review.filter((t) => fields.has(t)),
      identifiers: d.identifiers.length
        ? d.identifiers.map((i) => ({ ...i, target: fields.has(i.target) ? i.target : "" }))
        : this._defaultIdentifiers(obj),
      name: this._autoName(d, d.entity, name),
    }));
    this._clearError("target.object");
  }

  /** A unique id-typed field (DynamicsId on the standard objects) is the natural upsert key. */
  private _defaultIdentifiers(obj: TargetObject | undefined): EditorDraft["identifiers"] {
    const key = obj?.fields.find((f) => f.unique && (f.type === "id" || /dynamicsid/i.test(f.name)));
    const src = this._entity?.primaryIdAttribute ?? "";
    return key ? [{ source: src, target: key.name }] : [];
  }

  private _openCreate() {
    const e = this._entity;
    if (!e) return;
    const attrs = this._sourceAttrs;
    const name = deriveObject(e, [], new Set()).body.name;
    const taken = new Set((this._objects ?? []).map((o) => o.name.toLowerCase()));
    let unique = name;
    for (let i = 2; taken.has(unique.toLowerCase()); i++) unique = `${name}${i}`;
    this._create = { name: unique, label: e.displayName || e.logicalName, selected: new Set(defaultAttributeSelection(e, attrs)), filter: "", busy: false, error: "" };
    void this.updateComplete.then(() => (this.renderRoot.querySelector("#create-name") as HTMLInputElement | null)?.focus());
  }

  private async _createObject() {
    const c = this._create;
    const e = this._entity;
    if (!c || !e) return;
    const derived = deriveObject(e, this._sourceAttrs, c.selected, c.name.trim(), c.label.trim());
    this._create = { ...c, busy: true, error: "" };
    try {
      const created = await this.client.request<TargetObject>("POST", "/objects", { body: derived.body });
      this._objects = [...(this._objects ?? []).filter((o) => o.name !== created.name), created];
      this._update((d) => ({
        ...d,
        targetObject: created.name,
        mappings: derived.mappings,
        review: [],
        identifiers: derived.identifiers,
        mode: "upsert",
        name: this._autoName(d, d.entity, created.name),
      }));
      this._create = null;
      this._clearError("target.object");
      this._banner = { kind: "info", title: `Created ${created.label}`, message: `${derived.body.fields.length} fields, each mapped from its column.` };
    } catch (err) {
      const details = isEdgeError(err) && err.details?.length ? err.details.map((d) => `${d.path}: ${d.message}`).join("; ") : "";
      this._create = { ...c, busy: false, error: `${(err as Error).message}${details ? ` (${details})` : ""}` };
    }
  }

  // ---------------------------------------------------------------- section 2: mappings

  private _mappingFor(target: string): Mapping | undefined {
    return this._draft.mappings.find((m) => m.target === target);
  }

  private _setMapping(target: string, m: Mapping | null) {
    this._update((d) => {
      const rest = d.mappings.filter((x) => x.target !== target);
      const mappings = m ? [...d.mappings.map((x) => (x.target === target ? m : x)), ...(d.mappings.some((x) => x.target === target) ? [] : [m])] : rest;
      return { ...d, mappings, review: d.review.filter((t) => t !== target) };
    });
    this._clearError(mappingKey(target));
  }

  private _pickSource(field: ObjectField, source: string) {
    const a = this._attrMap(this._draft.entity).get(source);
    if (!a) return;
    this._setMapping(field.name, { source, target: field.name, use: preferredUse(a, field.type) });
  }

  private _toggleVia(field: ObjectField, a: AttributeInfo, on: boolean) {
    if (on) {
      const entity = a.targets?.[0] ?? "";
      this._setMapping(field.name, { source: a.logicalName, target: field.name, use: "value", via: { entity, attribute: "" } });
      if (entity) void this._loadAttributes(entity);
    } else {
      this._setMapping(field.name, { source: a.logicalName, target: field.name, use: preferredUse(a, field.type) });
    }
  }

  private _runAutoMap() {
    const obj = this._object;
    if (!obj || !this._sourceAttrs.length) return;
    const e = this._entity;
    const result = autoMap(obj.fields, this._sourceAttrs, this._draft.mappings, { primaryId: e?.primaryIdAttribute, primaryName: e?.primaryNameAttribute });
    this._update((d) => ({ ...d, mappings: result.mappings, review: [...new Set([...d.review, ...result.guessed])] }));
    this._banner = {
      kind: "info",
      title: result.guessed.length ? `Auto-map filled ${result.guessed.length} field${result.guessed.length === 1 ? "" : "s"}` : "Auto-map found nothing more to map",
      ...(result.guessed.length ? { message: "Rows marked “Review” are guesses: check each one, or accept them all." } : {}),
    };
  }

  // ---------------------------------------------------------------- add a field to the target object

  private async _openAddField() {
    if (!this._object) return;
    this._addField = {
      source: "", through: false, viaEntity: "", viaAttribute: "", name: "", label: "", type: "string",
      edited: { name: false, label: false, type: false }, busy: false, errors: {},
    };
    await this.updateComplete;
    const dialog = this.renderRoot.querySelector<HTMLDialogElement>("#add-field");
    openModal(dialog, dialog?.querySelector<HTMLElement>("dc-combobox") ?? null);
  }

  /** Applies a change and re-suggests name, label and type from the chosen column (keeping what the admin typed). */
  private _setAddField(patch: Partial<AddFieldState>) {
    const cur = this._addField;
    if (!cur) return;
    const next: AddFieldState = { ...cur, ...patch };
    const p = this._addFieldProposal(next);
    if (p && ("source" in patch || "through" in patch || "viaEntity" in patch || "viaAttribute" in patch)) {
      if (!next.edited.name) next.name = p.field.name;
      if (!next.edited.label) next.label = p.field.label;
      if (!next.edited.type) next.type = p.field.type;
    }
    this._addField = next;
  }

  private _addFieldProposal(st: AddFieldState) {
    const attr = st.source ? this._attrMap(this._draft.entity).get(st.source) : undefined;
    if (!attr) return null;
    let via: Parameters<typeof proposeField>[1] = null;
    if (st.through && LOOKUP_TYPES.has(attr.type)) {
      const va = this._attrMap(st.viaEntity).get(st.viaAttribute);
      if (!va) return null;
      via = { entity: st.viaEntity, attr: va, primaryName: this._entities?.find((e) => e.logicalName === st.viaEntity)?.primaryNameAttribute };
    }
    return proposeField(attr, via, this._object?.fields ?? []);
  }

  private async _submitAddField() {
    const st = this._addField;
    const obj = this._object;
    if (!st || !obj || st.busy) return;
    const field = { name: st.name.trim(), label: st.label.trim(), type: st.type, required: false };
    const local: AddFieldState["errors"] = {};
    if (!field.name) local.name = "Give the field a name.";
    if (!field.label) local.label = "Give the field a label.";
    if (local.name || local.label) {
      this._addField = { ...st, errors: local };
      void this._focusAddFieldError();
      return;
    }
    this._addField = { ...st, busy: true, errors: {} };
    try {
      const updated = await this.client.request<TargetObject>("PATCH", `/objects/${encodeURIComponent(obj.name)}`, { body: { addFields: [field] } });
      this._objects = (this._objects ?? []).map((o) => (o.name === updated.name ? updated : o));
      const added = updated.fields.find((f) => f.name.toLowerCase() === field.name.toLowerCase()) ?? field;
      // Map it from the column it was suggested from, when that column can fill the type the admin kept.
      const p = this._addFieldProposal(st);
      const read = p?.mapping.via ? this._attrMap(p.mapping.via.entity).get(p.mapping.via.attribute) : this._attrMap(this._draft.entity).get(st.source);
      const mapped = !!(p && read && isCompatibleAnyUse(read, added.type));
      if (p && read && mapped) this._setMapping(added.name, { ...p.mapping, target: added.name, use: preferredUse(read, added.type) });
      const from = p?.mapping.via ? `${this._attrLabel(this._draft.entity, st.source)} → ${read?.displayName ?? st.viaAttribute}` : this._attrLabel(this._draft.entity, st.source);
      this._banner = {
        kind: "info",
        title: `Added “${added.label}” to ${updated.label}`,
        message: mapped ? `Mapped from ${from}. Save the job to keep the mapping.` : st.source ? `${from} does not fit ${fieldTypeLabel(added.type)}: choose its column below.` : "Choose the column that fills it below.",
      };
      this._addField = { ...st, busy: false };
      const dialog = this.renderRoot.querySelector<HTMLDialogElement>("#add-field");
      dialog?.addEventListener("close", () => setTimeout(() => this._focusMappingRow(added.name)), { once: true });
      dialog?.close();
    } catch (e) {
      const errors: AddFieldState["errors"] = {};
      if (isEdgeError(e) && e.code === "validation_failed" && e.details?.length) {
        const other: string[] = [];
        for (const d of e.details) {
          const m = /^addFields\.\d+\.(name|label|type)$/.exec(d.path);
          if (m) errors[m[1] as AddFieldKey] = [errors[m[1] as AddFieldKey], d.message].filter(Boolean).join(" ");
          else other.push(d.message);
        }
        if (other.length) errors.form = other.join(" ");
      } else {
        errors.form = `The field was not added: ${(e as Error).message}`;
      }
      this._addField = { ...st, busy: false, errors, ...(isEdgeError(e) && e.requestId ? { requestId: e.requestId } : {}) };
      void this._focusAddFieldError();
    }
  }

  private async _focusAddFieldError() {
    await this.updateComplete;
    const el = this.renderRoot.querySelector<HTMLElement>('#add-field [aria-invalid="true"], #add-field [role="alert"]');
    el?.focus();
  }

  private async _focusMappingRow(target: string) {
    await this.updateComplete;
    const row = this.renderRoot.querySelector<HTMLElement>(`[part="mapping-row"][data-target="${CSS.escape(target)}"]`);
    row?.scrollIntoView({ block: "center" });
    row?.querySelector<HTMLElement>("dc-combobox")?.focus({ preventScroll: true });
  }

  private _attrLabel(entity: string, logicalName: string): string {
    return this._attrMap(entity).get(logicalName)?.displayName || logicalName;
  }

  // ---------------------------------------------------------------- filter

  private _setConditions(conds: FilterCondition[]) {
    this._conditions = conds;
    const text = buildFilter(conds, this._attrMap(this._draft.entity)) ?? "";
    this._update({ filter: text });
    this._clearError("source.filter");
  }

  private _onFilterText(text: string) {
    this._update({ filter: text });
    this._conditions = parseFilter(text, this._attrMap(this._draft.entity));
    this._clearError("source.filter");
  }

  // ---------------------------------------------------------------- save, discard, preview

  /** Checks the edge would make too, done here so the admin hears about them before a round-trip. */
  private _localErrors(input: JobInput): Array<{ path: string; message: string }> {
    const out: Array<{ path: string; message: string }> = [];
    if (!input.name) out.push({ path: "name", message: "Give the job a name." });
    if (!input.source.entity) out.push({ path: "source.entity", message: "Choose the Dynamics table to read." });
    if (!input.target.object) out.push({ path: "target.object", message: "Choose the object to fill." });
    if (input.source.entity && input.target.object && !input.mappings.length) out.push({ path: "mappings", message: "Map at least one field." });
    this._draft.mappings.forEach((m) => {
      if (m.via && !m.via.attribute) out.push({ path: `mappings.${input.mappings.findIndex((x) => x.target === m.target)}.via.attribute`, message: `Choose the column of ${this._entityLabel(m.via.entity)} to use.` });
    });
    if (this._draft.schedule.kind === "custom") {
      const problem = cronError(this._draft.schedule.cron);
      if (problem) out.push({ path: "schedule.cron", message: problem });
    }
    return out.filter((e) => !e.path.startsWith("mappings.-1"));
  }

  /** The draft as job JSON, or null (with the problems shown on their fields) when the local checks fail. */
  private _checkedInput(): JobInput | null {
    const input = draftToInput(this._draft, this.connection.id);
    // Rows whose via attribute is still missing are dropped by draftToInput; validate against what the admin sees.
    const sent = { ...input, mappings: this._draft.mappings.filter((m) => m.source && m.target) as Mapping[] };
    const local = this._localErrors(sent);
    if (local.length) {
      this._applyErrors(local, sent, "Some fields need your attention");
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
      const saved = this.job
        ? await this.client.request<Job>("PUT", `/jobs/${encodeURIComponent(this.job.id)}`, { body: input })
        : await this.client.request<Job>("POST", "/jobs", { body: input });
      const { warnings, ...job } = saved as Job & { warnings?: string[] };
      this._autosave.cancel();
      await this._draftStore?.discard(this.connection.id, this.job?.id ?? null).catch(() => undefined);
      this._draftSavedAt = null;
      this._restored = null;
      this._errors = new Map();
      // Editing continues on the saved job: it becomes the new baseline (and the draft key is now its id).
      this._loadSeq++;
      const next = draftFromJob(job, browserTimeZone());
      this._baseline = next;
      this._draft = { ...next, review: this._draft.review };
      this._initedFor = `${this.connection.id}/${job.id}`;
      this.job = job;
      this._banner = { kind: "info", title: "Job saved", ...(warnings?.length ? { message: warnings.join(" ") } : {}) };
      emit(this, "dc-job-saved", { job });
      return job;
    } catch (e) {
      if (isEdgeError(e) && e.code === "validation_failed" && e.details?.length) {
        this._applyErrors(e.details, input, e.message || "The job is not valid");
      } else {
        this._showError("The job was not saved", e, { label: "Try again", run: () => void this._save() });
        void this.updateComplete.then(() => this.renderRoot.querySelector(".banner")?.scrollIntoView({ block: "nearest" }));
      }
      return null;
    } finally {
      this._saving = false;
    }
  }

  private _applyErrors(details: ReadonlyArray<{ path: string; message: string }>, sent: Pick<JobInput, "mappings">, title: string) {
    this._errors = errorsByKey(details, sent);
    this._banner = { kind: "error", title, message: `${details.length} problem${details.length === 1 ? "" : "s"} to fix.` };
    void this.updateComplete.then(() => this._focusFirstError());
  }

  /** Scroll to (and focus) the first field in page order that carries an error. */
  private async _focusFirstError() {
    // Comboboxes render their error after their own update.
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
    this._autosave.cancel();
    await this._draftStore?.discard(this.connection.id, this.job?.id ?? null).catch(() => undefined);
    this._draftSavedAt = null;
    this._restored = null;
    this._draft = this._baseline;
    this._errors = new Map();
    emit(this, "dc-editor-close", {});
  }

  private async _back() {
    await this._autosave.flush();
    emit(this, "dc-editor-close", {});
  }

  private async _discardRestored() {
    this._autosave.cancel();
    await this._draftStore?.discard(this.connection.id, this.job?.id ?? null).catch(() => undefined);
    this._draft = this._baseline;
    this._conditions = parseFilter(this._draft.filter, this._attrMap(this._draft.entity));
    this._restored = null;
    this._draftSavedAt = null;
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
      if (draft && isEdgeError(e) && e.code === "validation_failed" && e.details?.length) {
        this._applyErrors(e.details, draft, e.message || "The job is not valid");
        return;
      }
      const needsSignIn = isEdgeError(e) && (e.code === "dynamics_token_missing" || e.status === 401);
      this._previewError = {
        kind: "error",
        title: "Could not fetch sample records",
        message: needsSignIn ? "Sign in to Microsoft again (Re-authorize the connection), then retry." : (e as Error).message,
        ...(isEdgeError(e) && e.requestId ? { requestId: e.requestId } : {}),
      };
    } finally {
      this._previewBusy = false;
    }
  }

  // ---------------------------------------------------------------- rendering

  override render() {
    if (!this.connection) return nothing;
    const title = this.job ? `Edit job: ${this.job.name}` : "New job";
    return html`
      <div class="editor" part="editor">
        <header part="header">
          <h2 id="editor-title">${title}</h2>
          <button class="link" @click=${() => void this._back()}>Back to jobs</button>
        </header>
        ${this._renderRestored()} ${this._renderBanner(this._banner, "banner")}
        ${this._ready ? html`
          ${this._renderSource()} ${this._renderMappings()} ${this._renderIdentifiers()} ${this._renderFilter()}
          ${this._renderSchedule()} ${this._renderPreview()}`
        : html`<div class="skeleton" aria-hidden="true"></div><div class="skeleton" aria-hidden="true"></div><p role="status">Loading the editor…</p>`}
        ${this._renderFooter()}
      </div>
    `;
  }

  private _renderBanner(b: Banner | null, id: string) {
    if (!b) return nothing;
    const list = b.kind === "error" && id === "banner" ? [...this._errors.entries()] : [];
    return html`
      <div class="banner ${b.kind}" part="banner" id=${id} role=${b.kind === "error" ? "alert" : "status"} tabindex="-1">
        <p><strong>${b.title}</strong>${b.message ? html` — ${b.message}` : nothing}</p>
        ${list.length ? html`<ul>${list.map(([k, msgs]) => html`<li><button class="link" @click=${() => this._goToError(k)}>${this._keyLabel(k)}</button>: ${msgs.join(" ")}</li>`)}</ul>` : nothing}
        ${b.action ? html`<button @click=${b.action.run}>${b.action.label}</button>` : nothing}
        ${b.kind === "info" || !b.action ? html`<button class="link" @click=${() => (id === "banner" ? (this._banner = null) : (this._previewError = null))}>Dismiss</button>` : nothing}
        ${b.requestId ? html`<details><summary>Details</summary>Request id: <code>${b.requestId}</code></details>` : nothing}
      </div>
    `;
  }

  /** Human name of a form key for the error summary. */
  private _keyLabel(k: string): string {
    if (k.startsWith("mapping:")) {
      const t = k.slice(8);
      return `Mapping of ${this._object?.fields.find((f) => f.name === t)?.label ?? t}`;
    }
    const names: Record<string, string> = {
      name: "Name", "source.entity": "Source table", "target.object": "Target object", mappings: "Field mappings",
      "source.filter": "Filter", "schedule.cron": "Schedule", "schedule.timezone": "Time zone", dependsOn: "Runs after",
      "notify.onSuccess": "E-mails on success", "notify.onPartial": "E-mails on partial success", "notify.onFailure": "E-mails on failure",
      "notify.webhook": "Webhook URL", identifiers: "Identifiers", mode: "Mode", deletes: "Deletes", connectionId: "Connection",
    };
    if (names[k]) return names[k]!;
    let m: RegExpExecArray | null;
    if ((m = /^identifiers\.(\d+)\.(source|target)$/.exec(k))) return `Identifier ${Number(m[1]) + 1} (${m[2] === "source" ? "column" : "field"})`;
    if ((m = /^lookups\.(\d+)\.match\.(\d+)\.(source|field)$/.exec(k))) return `Lookup ${Number(m[1]) + 1}, match ${Number(m[2]) + 1}`;
    if ((m = /^lookups\.(\d+)\.(\w+)$/.exec(k))) return `Lookup ${Number(m[1]) + 1} (${m[2]})`;
    return k;
  }

  private _renderRestored() {
    const r = this._restored;
    if (!r) return nothing;
    return html`
      <div class="banner info" part="banner" role="status">
        <p><strong>Restored your unsaved changes</strong> from ${relativeTime(r.savedAt)}.
          ${r.stale ? html`<span class="warning">The job was changed since; saving replaces those changes.</span>` : nothing}</p>
        <button @click=${() => void this._discardRestored()}>Discard my changes</button>
        <button class="link" @click=${() => (this._restored = null)}>Keep them</button>
      </div>
    `;
  }

  private _section(n: number, id: string, title: string, body: TemplateResult) {
    return html`<section part="section" id=${id} aria-labelledby="${id}-h">
      <h3 id="${id}-h"><span class="section-num" aria-hidden="true">${n}.</span>${title}</h3>
      ${body}
    </section>`;
  }

  private _input(key: string, label: string, value: string, onInput: (v: string) => void, opts: { type?: string; help?: string; placeholder?: string; required?: boolean; id?: string } = {}) {
    const id = opts.id ?? `f-${key.replace(/[^a-z0-9]/gi, "-")}`;
    const err = this._err(key);
    const described = [err ? `${id}-err` : "", opts.help ? `${id}-help` : ""].filter(Boolean).join(" ");
    return html`<div class="field">
      <label for=${id}>${label}${opts.required ? html`<span aria-hidden="true"> *</span>` : nothing}</label>
      <input id=${id} type=${opts.type ?? "text"} data-field-key=${key} .value=${live(value)} placeholder=${opts.placeholder ?? ""}
        aria-invalid=${err ? "true" : "false"} aria-required=${opts.required ? "true" : "false"} aria-describedby=${described || nothing}
        @input=${(e: Event) => { onInput((e.target as HTMLInputElement).value); this._clearError(key); }} />
      ${opts.help ? html`<p class="help" id="${id}-help">${opts.help}</p>` : nothing}
      ${err ? html`<p class="error" id="${id}-err">${err}</p>` : nothing}
    </div>`;
  }

  private _select<T extends string>(key: string, label: string, value: T, options: ReadonlyArray<{ value: T; label: string }>, onChange: (v: T) => void, opts: { id?: string; hideLabel?: boolean; help?: string } = {}) {
    const id = opts.id ?? `s-${key.replace(/[^a-z0-9]/gi, "-")}`;
    const err = this._err(key);
    const described = [err ? `${id}-err` : "", opts.help ? `${id}-help` : ""].filter(Boolean).join(" ");
    return html`<div class="field">
      <label for=${id} class=${opts.hideLabel ? "visually-hidden" : ""}>${label}</label>
      <select id=${id} data-field-key=${key} aria-invalid=${err ? "true" : "false"} aria-describedby=${described || nothing}
        @change=${(e: Event) => { onChange((e.target as HTMLSelectElement).value as T); this._clearError(key); }}>
        ${options.map((o) => html`<option value=${o.value} ?selected=${o.value === value}>${o.label}</option>`)}
      </select>
      ${opts.help ? html`<p class="help" id="${id}-help">${opts.help}</p>` : nothing}
      ${err ? html`<p class="error" id="${id}-err">${err}</p>` : nothing}
    </div>`;
  }

  // ---- 1
  private _renderSource() {
    const d = this._draft;
    const e = this._entity;
    const loadingEntities = this._entities === null;
    return this._section(1, "sec-source", "Source and target", html`
      <div class="grid two">
        ${this._input("name", "Job name", d.name, (v) => this._update({ name: v }), { required: true, placeholder: "Accounts → Companies" })}
        <div></div>
        <div class="field">
          <dc-combobox
            label="Dynamics table"
            required
            data-field-key="source.entity"
            placeholder=${loadingEntities ? "Loading tables…" : `Search ${this._entities?.length ?? 0} tables by name`}
            .items=${this._entityItems()}
            .value=${d.entity}
            .valueLabel=${d.entity}
            .error=${this._err("source.entity")}
            .description=${e ? `${e.changeTracking ? "Change tracking on: later runs read only what changed." : "No change tracking: runs compare modified dates."}` : ""}
            ?disabled=${loadingEntities}
            @dc-combobox-change=${(ev: CustomEvent<{ value: string }>) => this._pickEntity(ev.detail.value)}
          ></dc-combobox>
          <p class="help">
            ${this._entitiesAt ? html`Table list from ${relativeTime(this._entitiesAt)}.` : nothing}
            <button class="link" ?disabled=${this._refreshing} @click=${() => void this._refreshMetadata()}>${this._refreshing ? "Refreshing…" : "Refresh tables and columns"}</button>
          </p>
        </div>
        <div class="field">
          <dc-combobox
            label="Target object"
            required
            data-field-key="target.object"
            placeholder=${this._objects === null ? "Loading objects…" : "Choose an object"}
            .items=${this._objectItems()}
            .value=${d.targetObject}
            .valueLabel=${d.targetObject}
            .error=${this._err("target.object")}
            ?disabled=${this._objects === null}
            @dc-combobox-change=${(ev: CustomEvent<{ value: string }>) => this._pickObject(ev.detail.value)}
          ></dc-combobox>
          <p class="help">
            <button class="link" ?disabled=${!e || !this._attrs.has(d.entity)} @click=${() => this._openCreate()}
              aria-expanded=${this._create ? "true" : "false"} aria-controls="create-object">Create a custom object from this table</button>
          </p>
        </div>
      </div>
      ${this._renderCreateObject()}
    `);
  }

  private _renderCreateObject() {
    const c = this._create;
    if (!c) return html`<div id="create-object" hidden></div>`;
    const q = c.filter.trim().toLowerCase();
    const attrs = this._sourceAttrs.filter((a) => isMappable(a) && fieldTypeForAttribute(a) && a.logicalName !== this._entity?.primaryIdAttribute);
    const shown = q ? attrs.filter((a) => `${a.displayName} ${a.logicalName}`.toLowerCase().includes(q)) : attrs;
    const set = (patch: Partial<CreateObjectState>) => (this._create = { ...c, ...patch });
    return html`<div class="sub" id="create-object" role="group" aria-labelledby="create-h">
      <h4 id="create-h">New object from ${this._entity?.displayName}</h4>
      <div class="grid two">
        <div class="field"><label for="create-name">Object name</label>
          <input id="create-name" .value=${live(c.name)} @input=${(e: Event) => set({ name: (e.target as HTMLInputElement).value })} aria-describedby="create-name-help" />
          <p class="help" id="create-name-help">Letters, digits and _; starts with a letter.</p></div>
        <div class="field"><label for="create-label">Label</label>
          <input id="create-label" .value=${live(c.label)} @input=${(e: Event) => set({ label: (e.target as HTMLInputElement).value })} /></div>
      </div>
      <fieldset>
        <legend>Fields (${c.selected.size + 1} of ${attrs.length + 1}; Dynamics ID is always included)</legend>
        <div class="row">
          <div class="grow field"><label for="create-filter" class="visually-hidden">Filter columns</label>
            <input id="create-filter" placeholder="Filter columns" .value=${live(c.filter)} @input=${(e: Event) => set({ filter: (e.target as HTMLInputElement).value })} /></div>
          <button @click=${() => set({ selected: new Set([...c.selected, ...shown.map((a) => a.logicalName)]) })}>Select shown</button>
          <button @click=${() => { const s = new Set(c.selected); shown.forEach((a) => s.delete(a.logicalName)); set({ selected: s }); }}>Clear shown</button>
        </div>
        <div class="attr-list">
          ${shown.map((a) => {
            const t = fieldTypeForAttribute(a)!;
            return html`<label><input type="checkbox" .checked=${c.selected.has(a.logicalName)} @change=${(e: Event) => {
              const s = new Set(c.selected);
              if ((e.target as HTMLInputElement).checked) s.add(a.logicalName); else s.delete(a.logicalName);
              set({ selected: s });
            }} />${a.displayName || a.logicalName} <span class="grey">${a.logicalName} → ${fieldTypeLabel(t.type)}</span></label>`;
          })}
        </div>
      </fieldset>
      ${c.error ? html`<p class="error" role="alert">${c.error}</p>` : nothing}
      <div class="row actions">
        <button class="primary" ?disabled=${c.busy || !c.name.trim()} @click=${() => void this._createObject()}>${c.busy ? "Creating…" : "Create object and map its fields"}</button>
        <button @click=${() => (this._create = null)}>Cancel</button>
      </div>
    </div>`;
  }

  // ---- 2
  private _renderMappings() {
    const d = this._draft;
    const obj = this._object;
    let body: TemplateResult;
    if (!d.entity || !d.targetObject) {
      body = html`<p class="help">Choose a Dynamics table and a target object first.</p>`;
    } else if (!obj || (!this._attrs.has(d.entity) && this._attrsLoading.has(d.entity))) {
      body = html`<div class="skeleton" aria-hidden="true"></div><p role="status" class="help">Loading columns…</p>`;
    } else {
      const fields = orderFields(obj.fields);
      const reviewCount = d.review.length;
      body = html`
        <div class="toolbar">
          <button @click=${() => this._runAutoMap()} ?disabled=${!this._sourceAttrs.length}>Auto-map</button>
          <span class="help">Fills empty rows by name and type.</span>
          ${reviewCount ? html`<span class="badge guess" role="status">${reviewCount} to review</span>
            <button class="link" @click=${() => this._update({ review: [] })}>Accept all guesses</button>` : nothing}
          <button class="push" aria-haspopup="dialog" @click=${() => void this._openAddField()}>Add a field to ${obj.label}</button>
        </div>
        ${this._err("mappings") ? html`<p class="error" data-field-key="mappings" tabindex="-1">${this._err("mappings")}</p>` : nothing}
        <div class="mappings" role="list" aria-label="Field mappings">
          ${fields.map((f) => this._renderMappingRow(f))}
        </div>
        ${this._renderAddField(obj)}`;
    }
    return this._section(2, "sec-mappings", "Field mappings", body);
  }

  private _renderAddField(obj: TargetObject) {
    const st = this._addField;
    const body = () => {
      if (!st) return nothing;
      const d = this._draft;
      const attr = st.source ? this._attrMap(d.entity).get(st.source) : undefined;
      const isLookup = !!attr && LOOKUP_TYPES.has(attr.type);
      const targets = attr?.targets ?? [];
      const viaAttrs = st.through ? this._attrs.get(st.viaEntity) : undefined;
      const fieldErr = (k: AddFieldKey) => st.errors[k] ?? "";
      const described = (k: AddFieldKey, help?: boolean) => [fieldErr(k) ? `af-${k}-err` : "", help ? `af-${k}-help` : ""].filter(Boolean).join(" ") || nothing;
      const text = (k: "name" | "label", label: string, help?: string) => html`<div class="field">
        <label for="af-${k}">${label}</label>
        <input id="af-${k}" type="text" .value=${live(st[k])} aria-invalid=${fieldErr(k) ? "true" : "false"} aria-describedby=${described(k, !!help)}
          @input=${(e: Event) => this._setAddField({ [k]: (e.target as HTMLInputElement).value, edited: { ...st.edited, [k]: true }, errors: { ...st.errors, [k]: "" } })} />
        ${help ? html`<p class="help" id="af-${k}-help">${help}</p>` : nothing}
        ${fieldErr(k) ? html`<p class="error" id="af-${k}-err">${fieldErr(k)}</p>` : nothing}
      </div>`;
      return html`
        <h3 id="add-field-h">Add a field to ${obj.label}</h3>
        <p class="help">The field is added to ${obj.label} right away, for every job that fills it. Fields are never removed or retyped later.</p>
        <div class="stack">
          <dc-combobox label="Column to fill it from" placeholder="Optional" .items=${this._sourceItems(d.entity, null, "add-field")}
            .value=${st.source} .valueLabel=${st.source}
            .description=${"Suggests the name, label and type, and maps the new field to this column."}
            @dc-combobox-change=${(e: CustomEvent<{ value: string }>) => {
              const a = this._attrMap(d.entity).get(e.detail.value);
              const viaEntity = a?.targets?.[0] ?? "";
              this._setAddField({ source: e.detail.value, through: false, viaEntity, viaAttribute: "" });
            }}></dc-combobox>
          ${isLookup ? html`<label class="check"><input type="checkbox" .checked=${st.through} @change=${(e: Event) => {
              const on = (e.target as HTMLInputElement).checked;
              if (on && st.viaEntity) void this._loadAttributes(st.viaEntity);
              this._setAddField({ through: on, viaAttribute: "" });
            }} />Through lookup: use a column of the related record</label>` : nothing}
          ${isLookup && st.through ? html`<div class="grid two">
              ${targets.length > 1
                ? this._select("add-field.via.entity", "Related table", st.viaEntity, targets.map((t) => ({ value: t, label: this._entityLabel(t) })),
                    (v) => { void this._loadAttributes(v); this._setAddField({ viaEntity: v, viaAttribute: "" }); }, { id: "af-via-entity" })
                : html`<div class="field"><span class="label">Related table</span><span>${this._entityLabel(st.viaEntity)}</span></div>`}
              ${viaAttrs
                ? html`<dc-combobox label="Column of ${this._entityLabel(st.viaEntity)}" .items=${this._sourceItems(st.viaEntity, null, "add-field-via")}
                    .value=${st.viaAttribute} .valueLabel=${st.viaAttribute}
                    @dc-combobox-change=${(e: CustomEvent<{ value: string }>) => this._setAddField({ viaAttribute: e.detail.value })}></dc-combobox>`
                : html`<p class="help" role="status">Loading columns of ${this._entityLabel(st.viaEntity)}…</p>`}
            </div>` : nothing}
          <div class="grid two">
            ${text("label", "Label")}
            ${text("name", "Name", "Letters, digits and _; starts with a letter.")}
            <div class="field">
              <label for="af-type">Type</label>
              <select id="af-type" aria-invalid=${fieldErr("type") ? "true" : "false"} aria-describedby=${described("type")}
                @change=${(e: Event) => this._setAddField({ type: (e.target as HTMLSelectElement).value as FieldType, edited: { ...st.edited, type: true }, errors: { ...st.errors, type: "" } })}>
                ${NEW_FIELD_TYPES.map((t) => html`<option value=${t} ?selected=${t === st.type}>${fieldTypeLabel(t)}</option>`)}
              </select>
              ${fieldErr("type") ? html`<p class="error" id="af-type-err">${fieldErr("type")}</p>` : nothing}
            </div>
          </div>
          ${st.errors.form ? html`<div class="banner" role="alert" tabindex="-1"><p>${st.errors.form}</p>
            ${st.requestId ? html`<details><summary>Details</summary>Request id: <code>${st.requestId}</code></details>` : nothing}</div>` : nothing}
        </div>
        <div class="row actions">
          <button class="primary" ?disabled=${st.busy} @click=${() => void this._submitAddField()}>${st.busy ? "Adding…" : "Add field"}</button>
          <button @click=${() => this.renderRoot.querySelector<HTMLDialogElement>("#add-field")?.close()}>Cancel</button>
        </div>`;
    };
    return html`<dialog id="add-field" part="add-field-dialog" aria-labelledby="add-field-h" @close=${() => (this._addField = null)}>${body()}</dialog>`;
  }

  private _renderMappingRow(f: ObjectField) {
    const d = this._draft;
    const m = this._mappingFor(f.name);
    const attr = m ? this._attrMap(d.entity).get(m.source) : undefined;
    const key = mappingKey(f.name);
    const guess = d.review.includes(f.name);
    if (f.type === "reference") {
      return html`<div class="mapping" role="listitem" part="mapping-row">
        <div><div class="target-name">${f.label}</div><div class="target-meta">${f.name} · ${fieldTypeLabel(f.type)}${f.references ? ` to ${f.references}` : ""}</div></div>
        <p class="help">Filled by a lookup (section 3).</p><div></div>
      </div>`;
    }
    const via = m?.via;
    const isLookup = attr && LOOKUP_TYPES.has(attr.type);
    return html`<div class="mapping ${guess ? "guess" : ""}" role="listitem" part="mapping-row" data-target=${f.name}>
      <div>
        <div class="target-name">${f.label} ${f.required ? html`<span class="badge required">Required</span>` : nothing}
          ${guess ? html`<span class="badge guess">Review</span>` : nothing}</div>
        <div class="target-meta">${f.name} · ${fieldTypeLabel(f.type)}${f.unique ? " · unique" : ""}</div>
      </div>
      <div>
        <dc-combobox
          hide-label
          label="Column for ${f.label}"
          placeholder="Not mapped"
          data-field-key=${key}
          .items=${this._sourceItems(d.entity, f, key)}
          .value=${m?.source ?? ""}
          .valueLabel=${m?.source ?? ""}
          .error=${this._err(key)}
          @dc-combobox-change=${(e: CustomEvent<{ value: string }>) => this._pickSource(f, e.detail.value)}
          @dc-combobox-action=${(e: CustomEvent<{ value: string }>) => {
            const s = new Set(this._showAll);
            if (e.detail.value === "__show") s.add(key); else s.delete(key);
            this._showAll = s;
          }}
        ></dc-combobox>
        ${m && attr ? html`<div class="mapping-extra">
          ${attr && !via && !isCompatible(attr, f.type, m.use) ? html`<span class="warning" role="note">⚠ ${typeIcon(attr.type).name}${m.use === "label" ? " label" : ""} does not fit ${fieldTypeLabel(f.type)}.</span>` : nothing}
          ${isLookup ? html`<label class="check"><input type="checkbox" .checked=${!!via} @change=${(e: Event) => this._toggleVia(f, attr, (e.target as HTMLInputElement).checked)} />
            Through lookup: use a column of the related record</label>` : nothing}
          ${!via && hasLabel(attr.type) && (OPTION_TYPES.has(attr.type) || isLookup) ? this._renderUse(f, m, attr) : nothing}
        </div>` : nothing}
        ${m && via && attr ? this._renderVia(f, m, attr) : nothing}
      </div>
      <div class="mapping-actions">
        ${guess ? html`<button class="icon" aria-label="Accept the guess for ${f.label}" @click=${() => this._update((dd) => ({ ...dd, review: dd.review.filter((t) => t !== f.name) }))}>OK</button>` : nothing}
        ${m ? html`<button class="icon" aria-label="Clear the mapping of ${f.label}" @click=${() => this._setMapping(f.name, null)}>✕</button>` : nothing}
      </div>
    </div>`;
  }

  private _renderUse(f: ObjectField, m: Mapping, attr: AttributeInfo) {
    const name = `use-${f.name}`;
    const opts: Array<{ v: "value" | "label"; label: string }> = LOOKUP_TYPES.has(attr.type)
      ? [{ v: "value", label: "Record id" }, { v: "label", label: "Name" }]
      : [{ v: "value", label: "Value" }, { v: "label", label: "Label" }];
    return html`<fieldset class="choices" data-field-key="${mappingKey(f.name)}.use">
      <legend class="visually-hidden">Use the value or the label of ${attr.displayName}</legend>
      ${opts.map((o) => html`<label><input type="radio" name=${name} .checked=${m.use === o.v} ?disabled=${!isCompatible(attr, f.type, o.v)}
        @change=${() => this._setMapping(f.name, { ...m, use: o.v })} />${o.label}</label>`)}
    </fieldset>`;
  }

  private _renderVia(f: ObjectField, m: Mapping, attr: AttributeInfo) {
    const via = m.via!;
    const targets = attr.targets ?? [];
    const rowKey = `${mappingKey(f.name)}.via`;
    const attrs = this._attrs.get(via.entity);
    return html`<div class="sub">
      <div class="grid two">
        ${targets.length > 1
          ? this._select(`${rowKey}.entity`, `Related table (${attr.displayName} can point to ${targets.map((t) => this._entityLabel(t)).join(" or ")})`, via.entity,
              targets.map((t) => ({ value: t, label: this._entityLabel(t) })),
              (v) => { this._setMapping(f.name, { ...m, via: { entity: v, attribute: "" } }); void this._loadAttributes(v); }, { id: `via-entity-${f.name}` })
          : html`<div class="field"><span class="label">Related table</span><span>${this._entityLabel(via.entity || targets[0] || "")}</span></div>`}
        ${attrs
          ? html`<dc-combobox
              label="Column of ${this._entityLabel(via.entity)}"
              data-field-key=${rowKey}
              .items=${this._sourceItems(via.entity, f, rowKey)}
              .value=${via.attribute}
              .valueLabel=${via.attribute}
              @dc-combobox-change=${(e: CustomEvent<{ value: string }>) => {
                const va = attrs.find((a) => a.logicalName === e.detail.value);
                this._setMapping(f.name, { ...m, via: { ...via, attribute: e.detail.value }, use: va ? preferredUse(va, f.type) : "value" });
              }}
              @dc-combobox-action=${(e: CustomEvent<{ value: string }>) => {
                const s = new Set(this._showAll);
                if (e.detail.value === "__show") s.add(rowKey); else s.delete(rowKey);
                this._showAll = s;
              }}
            ></dc-combobox>`
          : html`<p class="help" role="status">Loading columns of ${this._entityLabel(via.entity)}…</p>`}
      </div>
    </div>`;
  }

  // ---- 3
  private _renderIdentifiers() {
    const d = this._draft;
    const obj = this._object;
    const fieldOpts = [{ value: "", label: "Choose a field" }, ...(obj?.fields ?? []).filter((f) => f.type !== "reference").map((f) => ({ value: f.name, label: `${f.label}${f.unique ? " (unique)" : ""}` }))];
    const srcItems = this._sourceItems(d.entity, null, "identifiers");
    const setIds = (ids: EditorDraft["identifiers"]) => { this._update({ identifiers: ids }); this._clearError("identifiers"); };
    return this._section(3, "sec-identifiers", "Identifiers and lookups", html`
      <div class="grid two">
        <fieldset data-field-key="mode">
          <legend>When a record arrives</legend>
          <div class="choices stacked">
            ${MODES.map((mo) => html`<label><input type="radio" name="mode" .checked=${d.mode === mo.value} @change=${() => this._update({ mode: mo.value })} />${mo.label}
              <span class="grey">${mo.help}</span></label>`)}
          </div>
        </fieldset>
        <fieldset data-field-key="deletes">
          <legend>When a record is deleted in Dynamics</legend>
          <div class="choices stacked">
            ${DELETES.map((o) => html`<label><input type="radio" name="deletes" .checked=${d.deletes === o.value} @change=${() => this._update({ deletes: o.value })} />${o.label}</label>`)}
          </div>
        </fieldset>
      </div>

      <h4>Identifier (upsert key)</h4>
      <p class="help">Which field recognises a record that was synced before. Usually Dynamics ID filled from the table's id column.</p>
      ${this._err("identifiers") ? html`<p class="error" data-field-key="identifiers" tabindex="-1">${this._err("identifiers")}</p>` : nothing}
      ${d.identifiers.map((id, i) => html`<div class="row">
        <div class="grow">${this._select(`identifiers.${i}.target`, `Identifier ${i + 1}: target field`, id.target, fieldOpts,
          (v) => setIds(d.identifiers.map((x, j) => (j === i ? { ...x, target: v } : x))), { id: `id-target-${i}` })}</div>
        <div class="grow"><dc-combobox label="Identifier ${i + 1}: column" data-field-key="identifiers.${i}.source" .items=${srcItems} .value=${id.source} .valueLabel=${id.source}
          .error=${this._err(`identifiers.${i}.source`)}
          @dc-combobox-change=${(e: CustomEvent<{ value: string }>) => { setIds(d.identifiers.map((x, j) => (j === i ? { ...x, source: e.detail.value } : x))); this._clearError(`identifiers.${i}.source`); }}></dc-combobox></div>
        <button class="icon" aria-label="Remove identifier ${i + 1}" @click=${() => setIds(d.identifiers.filter((_, j) => j !== i))}>✕</button>
      </div>`)}
      ${d.identifiers.length < 3 ? html`<button @click=${() => setIds([...d.identifiers, { target: "", source: d.identifiers.length ? "" : this._entity?.primaryIdAttribute ?? "" }])}>Add identifier</button>` : nothing}

      <h4>Lookups</h4>
      <p class="help">Link each record to a record of another object, found by matching fields (up to 6).</p>
      ${d.lookups.map((l, i) => this._renderLookup(l, i))}
      ${d.lookups.length < 20 ? html`<button @click=${() => this._update({ lookups: [...d.lookups, { target: "", object: "", match: [{ source: "", field: "" }], onMissing: "null" }] })}>Add lookup</button>` : nothing}
    `);
  }

  private _renderLookup(l: EditorDraft["lookups"][number], i: number) {
    const d = this._draft;
    const obj = this._object;
    const other = this._objectByName(l.object);
    const setL = (patch: Partial<typeof l>) => this._update({ lookups: d.lookups.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
    const targetFields = (obj?.fields ?? []).filter((f) => f.type === "reference" || f.type === "id" || f.type === "string");
    const srcItems = this._sourceItems(d.entity, null, "lookups");
    return html`<div class="sub" role="group" aria-label="Lookup ${i + 1}">
      <div class="grid two">
        ${this._select(`lookups.${i}.target`, "Field to fill", l.target,
          [{ value: "", label: "Choose a field" }, ...targetFields.map((f) => ({ value: f.name, label: `${f.label}${f.references ? ` (→ ${f.references})` : ""}` }))],
          (v) => {
            const f = obj?.fields.find((x) => x.name === v);
            setL({ target: v, ...(f?.references ? { object: f.references } : {}) });
          }, { id: `lk-target-${i}` })}
        ${this._select(`lookups.${i}.object`, "Find the record in", l.object,
          [{ value: "", label: "Choose an object" }, ...(this._objects ?? []).map((o) => ({ value: o.name, label: o.label }))],
          (v) => setL({ object: v, match: l.match.map((m) => ({ ...m, field: "" })) }), { id: `lk-object-${i}` })}
      </div>
      <fieldset>
        <legend>Match when</legend>
        ${l.match.map((m, k) => html`<div class="row">
          <div class="grow"><dc-combobox label="Column ${k + 1}" data-field-key="lookups.${i}.match.${k}.source" .items=${srcItems} .value=${m.source} .valueLabel=${m.source}
            .error=${this._err(`lookups.${i}.match.${k}.source`)}
            @dc-combobox-change=${(e: CustomEvent<{ value: string }>) => { setL({ match: l.match.map((x, q) => (q === k ? { ...x, source: e.detail.value } : x)) }); this._clearError(`lookups.${i}.match.${k}.source`); }}></dc-combobox></div>
          <div class="grow">${this._select(`lookups.${i}.match.${k}.field`, `equals field ${k + 1} of ${other?.label ?? "the object"}`, m.field,
            [{ value: "", label: "Choose a field" }, ...(other?.fields ?? []).map((f) => ({ value: f.name, label: f.label }))],
            (v) => setL({ match: l.match.map((x, q) => (q === k ? { ...x, field: v } : x)) }), { id: `lk-${i}-field-${k}` })}</div>
          ${l.match.length > 1 ? html`<button class="icon" aria-label="Remove match ${k + 1} of lookup ${i + 1}" @click=${() => setL({ match: l.match.filter((_, q) => q !== k) })}>✕</button>` : nothing}
        </div>`)}
        ${l.match.length < 6 ? html`<button @click=${() => setL({ match: [...l.match, { source: "", field: "" }] })}>Add match field</button>` : html`<p class="help">Up to 6 match fields.</p>`}
      </fieldset>
      <div class="row">
        <div class="grow">${this._select(`lookups.${i}.onMissing`, "When no record matches", l.onMissing, ON_MISSING, (v) => setL({ onMissing: v }), { id: `lk-missing-${i}` })}</div>
        <button @click=${() => this._update({ lookups: d.lookups.filter((_, j) => j !== i) })}>Remove lookup ${i + 1}</button>
      </div>
    </div>`;
  }

  // ---- 4
  private _renderFilter() {
    const d = this._draft;
    const attrs = this._attrMap(d.entity);
    const conds = this._conditions;
    const items = this._sourceItems(d.entity, null, "filter");
    const err = this._err("source.filter");
    return this._section(4, "sec-filter", "Filter", html`
      <p class="help">Only records that meet every condition are synced. Leave empty to sync all.</p>
      ${conds === null
        ? html`<p class="help" role="note">This filter was written by hand; edit the text below or <button class="link" @click=${() => this._setConditions([])}>start over with the builder</button>.</p>`
        : html`${conds.map((c, i) => {
            const a = attrs.get(c.attribute);
            const ops = operatorsFor(a?.type);
            const needsValue = OPERATORS.find((o) => o.op === c.operator)?.needsValue ?? true;
            const vErr = c.attribute && needsValue && c.value !== "" ? valueError(a?.type, c.value) : null;
            const set = (patch: Partial<FilterCondition>) => this._setConditions(conds.map((x, j) => (j === i ? { ...x, ...patch } : x)));
            return html`<div class="row" role="group" aria-label="Condition ${i + 1}">
              <div class="grow"><dc-combobox label="Condition ${i + 1}: column" .items=${items} .value=${c.attribute} .valueLabel=${c.attribute}
                @dc-combobox-change=${(e: CustomEvent<{ value: string }>) => {
                  const na = attrs.get(e.detail.value);
                  const nops = operatorsFor(na?.type);
                  set({ attribute: e.detail.value, operator: nops.includes(c.operator) ? c.operator : nops[0]! });
                }}></dc-combobox></div>
              <div class="grow">${this._select(`filter.${i}.op`, `Condition ${i + 1}: operator`, c.operator,
                ops.map((op) => ({ value: op, label: OPERATORS.find((o) => o.op === op)!.label })), (v) => set({ operator: v as FilterOperator }), { id: `flt-op-${i}` })}</div>
              ${needsValue ? html`<div class="grow field">
                ${a?.options?.length
                  ? html`<label for="flt-val-${i}">Condition ${i + 1}: value</label>
                    <select id="flt-val-${i}" @change=${(e: Event) => set({ value: (e.target as HTMLSelectElement).value })}>
                      <option value="" ?selected=${c.value === ""}>Choose</option>
                      ${a.options.map((o) => html`<option value=${String(o.value)} ?selected=${c.value === String(o.value)}>${o.label}</option>`)}
                    </select>`
                  : html`<label for="flt-val-${i}">Condition ${i + 1}: value</label>
                    <input id="flt-val-${i}" type=${a?.type === "DateTime" ? "date" : "text"} .value=${live(c.value)} aria-invalid=${vErr ? "true" : "false"}
                      aria-describedby=${vErr ? `flt-val-${i}-err` : nothing} @input=${(e: Event) => set({ value: (e.target as HTMLInputElement).value })} />`}
                ${vErr ? html`<p class="error" id="flt-val-${i}-err">${vErr}</p>` : nothing}
              </div>` : nothing}
              <button class="icon" aria-label="Remove condition ${i + 1}" @click=${() => this._setConditions(conds.filter((_, j) => j !== i))}>✕</button>
            </div>`;
          })}
          <button ?disabled=${!d.entity} @click=${() => this._setConditions([...conds, { attribute: "", operator: "eq", value: "" }])}>Add condition</button>`}
      <div class="field spaced">
        <label for="filter-text">OData filter</label>
        <textarea id="filter-text" data-field-key="source.filter" spellcheck="false" .value=${live(d.filter)} placeholder="statecode eq 0"
          aria-invalid=${err ? "true" : "false"} aria-describedby=${err ? "filter-text-err filter-text-help" : "filter-text-help"}
          @input=${(e: Event) => this._onFilterText((e.target as HTMLTextAreaElement).value)}></textarea>
        <p class="help" id="filter-text-help">The $filter sent to Dynamics. Editing it here updates the builder when it can.</p>
        ${err ? html`<p class="error" id="filter-text-err">${err}</p>` : nothing}
      </div>
    `);
  }

  // ---- 5
  private _renderSchedule() {
    const d = this._draft;
    const s = d.schedule;
    const cron = presetToCron(s);
    const cronErr = s.kind === "custom" ? cronError(s.cron) : null;
    const runs = cron && !cronErr ? nextRuns(cron, d.timezone, 3) : [];
    const words = cron && !cronErr ? describeSchedule(cron, d.timezone) : null;
    const setS = (patch: Partial<typeof s>) => { this._update({ schedule: { ...s, ...patch } }); this._clearError("schedule.cron"); };
    const sameConnJobs = this.jobs.filter((j) => j.id !== this.job?.id && j.connectionId === this.connection.id);
    const cronFieldErr = this._err("schedule.cron") || (cronErr ?? "");
    return this._section(5, "sec-schedule", "Schedule and notifications", html`
      <div class="grid two">
        ${this._select("schedule.kind", "Run", s.kind, SCHEDULE_KINDS.map((k) => ({ value: k.kind, label: k.label })), (v) => setS({ kind: v }), { id: "sch-kind" })}
        ${s.kind === "hourly" ? html`<div class="field"><label for="sch-minute">At minute</label>
            <input id="sch-minute" type="number" min="0" max="59" .value=${live(String(Number(s.time.split(":")[1] ?? 0)))}
              @input=${(e: Event) => setS({ time: `00:${String(Math.max(0, Math.min(59, Number((e.target as HTMLInputElement).value) || 0))).padStart(2, "0")}` })} /></div>` : nothing}
        ${["daily", "weekdays", "weekly", "monthly"].includes(s.kind) ? html`<div class="field"><label for="sch-time">Time</label>
            <input id="sch-time" type="time" .value=${live(s.time)} @input=${(e: Event) => setS({ time: (e.target as HTMLInputElement).value || "00:00" })} /></div>` : nothing}
        ${s.kind === "weekly" ? this._select("schedule.weekday", "Day of the week", String(s.weekday), WEEKDAYS.map((w, i) => ({ value: String(i), label: w })), (v) => setS({ weekday: Number(v) }), { id: "sch-weekday" }) : nothing}
        ${s.kind === "monthly" ? html`<div class="field"><label for="sch-dom">Day of the month</label>
            <input id="sch-dom" type="number" min="1" max="28" .value=${live(String(s.dayOfMonth))} aria-describedby="sch-dom-help"
              @input=${(e: Event) => setS({ dayOfMonth: Math.max(1, Math.min(28, Number((e.target as HTMLInputElement).value) || 1)) })} />
            <p class="help" id="sch-dom-help">1 to 28, so every month has it.</p></div>` : nothing}
        ${s.kind === "custom" ? html`<div class="field"><label for="sch-cron">Cron expression</label>
            <input id="sch-cron" data-field-key="schedule.cron" spellcheck="false" .value=${live(s.cron)} placeholder="0 2 * * 1-5"
              aria-invalid=${cronFieldErr ? "true" : "false"} aria-describedby=${cronFieldErr ? "sch-cron-err sch-cron-help" : "sch-cron-help"}
              @input=${(e: Event) => setS({ cron: (e.target as HTMLInputElement).value })} />
            <p class="help" id="sch-cron-help">minute hour day-of-month month day-of-week</p>
            ${cronFieldErr ? html`<p class="error" id="sch-cron-err">${cronFieldErr}</p>` : nothing}</div>` : nothing}
        ${s.kind !== "off" ? html`<dc-combobox label="Time zone" data-field-key="schedule.timezone" .items=${this._zoneItems()} .value=${d.timezone} .valueLabel=${d.timezone}
            .error=${this._err("schedule.timezone")}
            @dc-combobox-change=${(e: CustomEvent<{ value: string }>) => { this._update({ timezone: e.detail.value }); this._clearError("schedule.timezone"); }}></dc-combobox>` : nothing}
      </div>
      ${s.kind !== "off" && s.kind !== "custom" && this._err("schedule.cron") ? html`<p class="error" data-field-key="schedule.cron" tabindex="-1">${this._err("schedule.cron")}</p>` : nothing}
      ${words ? html`<p><strong>${words}</strong></p>` : nothing}
      ${runs.length ? html`<div><span class="label" id="next-runs">Next runs</span><ol class="runs" aria-labelledby="next-runs">
          ${runs.map((r) => html`<li><time datetime=${r.toISOString()}>${formatRun(r, d.timezone)}</time></li>`)}</ol></div>` : nothing}

      <div class="grid two spaced">
        ${this._select("dependsOn", "Runs after", d.dependsOn ?? "",
          [{ value: "", label: "No other job" }, ...sameConnJobs.map((j) => ({ value: j.id, label: j.name }))],
          (v) => this._update({ dependsOn: v || null }), { id: "depends-on", help: "Run this job each time the chosen job finishes (in addition to its own schedule)." })}
        <div class="field"><span class="label">Enabled</span><label class="check"><input type="checkbox" .checked=${d.enabled} @change=${(e: Event) => this._update({ enabled: (e.target as HTMLInputElement).checked })} />Run on schedule and in chains</label></div>
      </div>

      <h4>Notifications</h4>
      <div class="grid two">
        ${this._input("notify.onFailure", "E-mail when a run fails", d.notify.onFailure, (v) => this._update({ notify: { ...d.notify, onFailure: v } }), { type: "text", help: "Separate several addresses with commas.", placeholder: "ops@example.com" })}
        ${this._input("notify.onPartial", "E-mail when some records fail", d.notify.onPartial, (v) => this._update({ notify: { ...d.notify, onPartial: v } }))}
        ${this._input("notify.onSuccess", "E-mail when a run succeeds", d.notify.onSuccess, (v) => this._update({ notify: { ...d.notify, onSuccess: v } }))}
        ${this._input("notify.webhook", "Webhook URL", d.notify.webhook, (v) => this._update({ notify: { ...d.notify, webhook: v } }), { type: "url", placeholder: "https://example.com/hooks/dynamics", help: "Receives every run's outcome, signed with HMAC-SHA256." })}
      </div>
    `);
  }

  // ---- 6
  private _renderPreview() {
    const p = this._preview;
    const obj = this._object;
    const cols = this._draft.mappings.filter((m) => m.source).map((m) => m.target);
    const lookupCols = this._draft.lookups.map((l) => l.target).filter(Boolean);
    const allCols = [...new Set([...cols, ...lookupCols])];
    const label = (t: string) => obj?.fields.find((f) => f.name === t)?.label ?? t;
    return this._section(6, "sec-preview", "Preview", html`
      <div class="toolbar">
        <button ?disabled=${this._previewBusy || this._saving || !this._draft.entity || !this._draft.targetObject} @click=${() => void this._runPreview()}>
          ${this._previewBusy ? "Fetching…" : "Fetch 10 sample records"}</button>
        <span class="help">Reads live from Dynamics and maps what you see here, saved or not; nothing is written.</span>
      </div>
      ${this._renderBanner(this._previewError, "preview-error")}
      ${p ? html`
        <p role="status" class="help">${p.rows.length} record${p.rows.length === 1 ? "" : "s"}, ${p.rows.reduce((n, r) => n + r.errors.length, 0)} problem(s).</p>
        ${p.rows.length ? html`<div class="table-wrap" tabindex="0" role="region" aria-label="Sample records">
          <table part="preview-table">
            <caption>Mapped values of ${p.rows.length} sample records; cells with a problem say why.</caption>
            <thead><tr><th scope="col">Dynamics id</th>${allCols.map((c) => html`<th scope="col">${label(c)}</th>`)}</tr></thead>
            <tbody>${p.rows.map((r) => html`<tr>
              <th scope="row"><code>${r.sourceId}</code></th>
              ${allCols.map((c) => {
                const errs = r.errors.filter((e) => e.field === c);
                return html`<td class=${errs.length ? "cell-error" : ""}>
                  ${errs.length ? html`<span aria-hidden="true">⚠ </span>${displayValue(errs[0]!.value ?? r.fields[c])}${errs.map((e) => html`<span class="cell-reason">${e.reason}</span>`)}` : displayValue(r.fields[c])}
                </td>`;
              })}
            </tr>`)}</tbody>
          </table>
        </div>` : html`<p class="help">No records matched the filter.</p>`}
        ${p.rows.some((r) => r.errors.some((e) => !e.field || !allCols.includes(e.field))) ? html`<ul>
          ${p.rows.flatMap((r) => r.errors.filter((e) => !e.field || !allCols.includes(e.field)).map((e) => html`<li><code>${r.sourceId}</code>${e.field ? ` · ${label(e.field)}` : ""}: ${e.reason}</li>`))}
        </ul>` : nothing}` : nothing}
    `);
  }

  private _renderFooter() {
    const dirty = this._ready && this._dirty;
    const marker = this._draftSavedAt && dirty ? `Draft saved locally ${relativeTime(this._draftSavedAt)}` : dirty ? "Unsaved changes" : this.job ? "No unsaved changes" : "";
    return html`<div class="footer" part="footer" role="group" aria-label="Save or discard">
      <span class="marker">${marker}</span>
      <button @click=${() => void this._discard()} ?disabled=${this._saving}>Discard</button>
      <button class="primary" @click=${() => void this._save()} ?disabled=${this._saving || !this._ready}>${this._saving ? "Saving…" : "Save"}</button>
    </div>`;
  }
}
