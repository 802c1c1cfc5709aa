import { msg, str } from "@lit/localize";
import type { ReactiveController, ReactiveControllerHost } from "lit";
import { MetadataCache } from "../cache/metadata-cache";
import { entityLabel } from "./metadata-views";
import { editorStores } from "./stores";
import type { AttributeInfo, EditorClient, EntityInfo, TargetObject } from "./types";

export interface MetadataControllerOptions {
  client: () => EditorClient;
  connectionId: () => string;
  /** The admin's delegated Dynamics token, or undefined (the edge then answers from its cache or says why not). */
  token: () => Promise<string | undefined>;
  /** A load failed: show it, with `retry` as the way out. */
  onError: (title: string, error: unknown, retry: () => void) => void;
  /** A table's columns arrived (or were refreshed). */
  onAttributes?: (logicalName: string) => void;
}

/**
 * The Dataverse metadata (tables, their columns) and the host's target objects the editor needs, with their loading
 * state. Tables and columns come through the per-connection IndexedDB cache (painted at once, refetched in the
 * background when stale). Every change is a new array / map, so elements given them re-render.
 *
 * A disconnected editor aborts its metadata requests; loads it interrupted run again when it is connected again.
 */
export class MetadataController implements ReactiveController {
  entities: EntityInfo[] | null = null;
  /** When the table list was fetched from Dynamics (0: not yet). */
  entitiesAt = 0;
  attrs: ReadonlyMap<string, AttributeInfo[]> = new Map();
  /** Tables whose columns are being fetched. */
  attrsLoading: ReadonlySet<string> = new Set();
  objects: TargetObject[] | null = null;
  /** "Refresh tables and columns" is running. */
  refreshing = false;

  private _cache: MetadataCache | null = null;
  private _abort = new AbortController();
  private _connected = false;
  private _interrupted: Array<() => void> = [];

  constructor(
    private readonly _host: ReactiveControllerHost,
    private readonly _opts: MetadataControllerOptions,
  ) {
    _host.addController(this);
  }

  hostConnected() {
    this._connected = true;
    const again = this._interrupted;
    this._interrupted = [];
    for (const load of again) load();
  }

  hostDisconnected() {
    this._connected = false;
    this._abort.abort();
    this._abort = new AbortController();
  }

  /** Opens the metadata cache for the connection (the data already loaded stays until new data replaces it). */
  async open(): Promise<void> {
    const s = await editorStores();
    const { client, token } = this._opts;
    const base = (id: string) => `/connections/${encodeURIComponent(id)}/entities`;
    this._cache = new MetadataCache(s.metadata, {
      entities: async (connectionId, refresh) =>
        client().request<EntityInfo[]>("GET", `${base(connectionId)}${refresh ? "?refresh=1" : ""}`, {
          dynamicsToken: await token(),
          signal: this._abort.signal,
        }),
      attributes: async (connectionId, logicalName, refresh) =>
        client().request<AttributeInfo[]>("GET", `${base(connectionId)}/${encodeURIComponent(logicalName)}/attributes${refresh ? "?refresh=1" : ""}`, {
          dynamicsToken: await token(),
          signal: this._abort.signal,
        }),
    });
  }

  entityLabel(logicalName: string): string {
    return entityLabel(this.entities, logicalName);
  }

  entity(logicalName: string): EntityInfo | undefined {
    return this.entities?.find((e) => e.logicalName === logicalName);
  }

  object(name: string): TargetObject | undefined {
    return this.objects?.find((o) => o.name === name);
  }

  async loadEntities(refresh: boolean): Promise<void> {
    if (!this._cache) return;
    const signal = this._abort.signal;
    try {
      const r = await this._cache.entities(this._opts.connectionId(), { refresh });
      this._setEntities(r.value, r.fetchedAt);
      void r.revalidated?.then(
        (fresh) => this._setEntities(fresh.value, fresh.fetchedAt),
        () => undefined,
      );
    } catch (e) {
      this._failed(signal, msg("Could not load the Dynamics tables"), e, () => void this.loadEntities(refresh));
    }
  }

  /** Loads a table's columns unless they are loaded or loading (`refresh`: again, from Dynamics). */
  async loadAttributes(logicalName: string, refresh = false): Promise<void> {
    if (!this._cache || !logicalName) return;
    if (!refresh && (this.attrs.has(logicalName) || this.attrsLoading.has(logicalName))) return;
    const signal = this._abort.signal;
    this._setLoading(logicalName, true);
    try {
      const r = await this._cache.attributes(this._opts.connectionId(), logicalName, { refresh });
      this._setAttrs(logicalName, r.value);
      void r.revalidated?.then(
        (fresh) => this._setAttrs(logicalName, fresh.value),
        () => undefined,
      );
    } catch (e) {
      this._failed(signal, msg(str`Could not load the columns of ${this.entityLabel(logicalName)}`), e, () => void this.loadAttributes(logicalName, refresh));
    } finally {
      this._setLoading(logicalName, false);
    }
  }

  async loadObjects(): Promise<void> {
    const signal = this._abort.signal;
    try {
      this.objects = await this._opts.client().request<TargetObject[]>("GET", "/objects", { signal });
      this._host.requestUpdate();
    } catch (e) {
      this._failed(signal, msg("Could not load the target objects"), e, () => void this.loadObjects());
    }
  }

  /** Reloads the table list, then the columns of `entities()` (read once the list is in), bypassing every cache. */
  async refresh(entities: () => Iterable<string>): Promise<void> {
    this.refreshing = true;
    this._host.requestUpdate();
    try {
      await this.loadEntities(true);
      const names = new Set([...entities()].filter(Boolean));
      await Promise.all([...names].map((e) => this.loadAttributes(e, true)));
    } finally {
      this.refreshing = false;
      this._host.requestUpdate();
    }
  }

  /** An object the edge just created (it replaces one of the same name). */
  addObject(created: TargetObject): void {
    this.objects = [...(this.objects ?? []).filter((o) => o.name !== created.name), created];
    this._host.requestUpdate();
  }

  /** An object the edge just changed (a field added). */
  updateObject(updated: TargetObject): void {
    this.objects = (this.objects ?? []).map((o) => (o.name === updated.name ? updated : o));
    this._host.requestUpdate();
  }

  private _failed(signal: AbortSignal, title: string, e: unknown, retry: () => void) {
    // Aborted because the editor left the page: nothing to report; load again if it comes back.
    if (signal.aborted) {
      // (Deferred: the interrupted load still holds its "loading" mark until its finally block has run.)
      if (this._connected) queueMicrotask(retry);
      else this._interrupted.push(retry);
      return;
    }
    this._opts.onError(title, e, retry);
  }

  private _setEntities(entities: EntityInfo[], at: number) {
    this.entities = entities;
    this.entitiesAt = at;
    this._host.requestUpdate();
  }

  private _setAttrs(logicalName: string, attrs: AttributeInfo[]) {
    this.attrs = new Map(this.attrs).set(logicalName, attrs);
    this._host.requestUpdate();
    this._opts.onAttributes?.(logicalName);
  }

  private _setLoading(logicalName: string, loading: boolean) {
    const next = new Set(this.attrsLoading);
    if (loading) next.add(logicalName);
    else next.delete(logicalName);
    this.attrsLoading = next;
    this._host.requestUpdate();
  }
}
