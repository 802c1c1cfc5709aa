/**
 * Dataverse metadata (entity list, attributes per entity) cached per connection in IndexedDB. Metadata changes
 * rarely and the entity list is large (800+), so the editor paints from the cache at once; entries older than
 * `maxAgeMs` are refetched in the background, and `refresh` goes to the edge with `?refresh=1` (bypassing its cache
 * too).
 */
import type { AttributeInfo, EntityInfo } from "#contract/metadata";
import type { KvStore } from "./kv-store";

export interface CachedMetadata<T> {
  value: T;
  fetchedAt: number;
}

export type MetadataFetcher = {
  entities(connectionId: string, refresh: boolean): Promise<EntityInfo[]>;
  attributes(connectionId: string, logicalName: string, refresh: boolean): Promise<AttributeInfo[]>;
};

export interface MetadataResult<T> {
  value: T;
  fetchedAt: number;
  /** True when served from the cache (possibly while a background refetch runs). */
  cached: boolean;
  /** Resolves with fresh data when a background refetch was started (stale entry), else undefined. */
  revalidated?: Promise<CachedMetadata<T>>;
}

export const DAY_MS = 24 * 60 * 60 * 1000;

export function entitiesKey(connectionId: string): string {
  return `${connectionId}/entities`;
}
export function attributesKey(connectionId: string, logicalName: string): string {
  return `${connectionId}/attributes/${logicalName}`;
}

export class MetadataCache {
  /** Coalesces concurrent loads of one key (thirty mapping rows asking for the same lookup target's attributes). */
  private readonly _inflight = new Map<string, Promise<CachedMetadata<unknown>>>();

  constructor(
    private readonly _store: KvStore<CachedMetadata<unknown>>,
    private readonly _fetcher: MetadataFetcher,
    private readonly _opts: { maxAgeMs?: number; now?: () => number } = {},
  ) {}

  entities(connectionId: string, opts: { refresh?: boolean } = {}): Promise<MetadataResult<EntityInfo[]>> {
    return this._get(entitiesKey(connectionId), (refresh) => this._fetcher.entities(connectionId, refresh), opts.refresh ?? false);
  }

  attributes(connectionId: string, logicalName: string, opts: { refresh?: boolean } = {}): Promise<MetadataResult<AttributeInfo[]>> {
    return this._get(
      attributesKey(connectionId, logicalName),
      (refresh) => this._fetcher.attributes(connectionId, logicalName, refresh),
      opts.refresh ?? false,
    );
  }

  /** Forget everything cached for a connection (e.g. after it was deleted or re-pointed). */
  async clear(connectionId: string): Promise<void> {
    for (const k of await this._store.keys(`${connectionId}/`)) await this._store.delete(k);
  }

  private _now() {
    return (this._opts.now ?? Date.now)();
  }

  private _fetchAndStore<T>(key: string, load: (refresh: boolean) => Promise<T>, refresh: boolean): Promise<CachedMetadata<T>> {
    const running = this._inflight.get(key);
    if (running && !refresh) return running as Promise<CachedMetadata<T>>;
    const p = (async () => {
      const value = await load(refresh);
      const entry = { value, fetchedAt: this._now() };
      try {
        await this._store.put(key, entry);
      } catch {
        // A full or blocked IndexedDB must not break the editor: the data is still returned.
      }
      return entry;
    })().finally(() => {
      if (this._inflight.get(key) === p) this._inflight.delete(key);
    });
    this._inflight.set(key, p as Promise<CachedMetadata<unknown>>);
    return p;
  }

  private async _get<T>(key: string, load: (refresh: boolean) => Promise<T>, refresh: boolean): Promise<MetadataResult<T>> {
    if (!refresh) {
      let hit: CachedMetadata<T> | undefined;
      try {
        hit = (await this._store.get(key)) as CachedMetadata<T> | undefined;
      } catch {
        hit = undefined;
      }
      if (hit) {
        const stale = this._now() - hit.fetchedAt > (this._opts.maxAgeMs ?? DAY_MS);
        const revalidated = stale ? this._fetchAndStore(key, load, false) : undefined;
        // A failed background refetch is not the caller's problem unless it awaits `revalidated`.
        revalidated?.catch(() => undefined);
        return { value: hit.value, fetchedAt: hit.fetchedAt, cached: true, ...(revalidated ? { revalidated } : {}) };
      }
    }
    const fresh = await this._fetchAndStore(key, load, refresh);
    return { value: fresh.value, fetchedAt: fresh.fetchedAt, cached: false };
  }
}
