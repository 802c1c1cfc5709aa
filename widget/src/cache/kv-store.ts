/**
 * A tiny async key/value store. `openIdbStore` backs it with IndexedDB (one database, one object store per use);
 * `MemoryStore` is the fallback when IndexedDB is unavailable (private windows, blocked storage) and the unit tests'
 * stand-in.
 */
import { openDB, type IDBPDatabase } from "idb";

export interface KvStore<V> {
  get(key: string): Promise<V | undefined>;
  put(key: string, value: V): Promise<void>;
  delete(key: string): Promise<void>;
  /** Keys starting with `prefix`. */
  keys(prefix?: string): Promise<string[]>;
}

export class MemoryStore<V> implements KvStore<V> {
  private readonly _map = new Map<string, V>();
  async get(key: string) {
    const v = this._map.get(key);
    return v === undefined ? undefined : (structuredClone(v) as V);
  }
  async put(key: string, value: V) {
    this._map.set(key, structuredClone(value));
  }
  async delete(key: string) {
    this._map.delete(key);
  }
  async keys(prefix = "") {
    return [...this._map.keys()].filter((k) => k.startsWith(prefix));
  }
}

export const DB_NAME = "dynamics-connector";
export const DB_VERSION = 1;
export type StoreName = "metadata" | "drafts";

let dbPromise: Promise<IDBPDatabase> | null = null;

function db(): Promise<IDBPDatabase> {
  dbPromise ??= openDB(DB_NAME, DB_VERSION, {
    upgrade(database) {
      for (const name of ["metadata", "drafts"] as const) {
        if (!database.objectStoreNames.contains(name)) database.createObjectStore(name);
      }
    },
    // Another tab holds an older version open: let it go so ours can upgrade next time.
    blocking() {
      void dbPromise?.then((d) => d.close());
      dbPromise = null;
    },
  });
  return dbPromise;
}

class IdbStore<V> implements KvStore<V> {
  constructor(private readonly _store: StoreName) {}
  async get(key: string) {
    return (await (await db()).get(this._store, key)) as V | undefined;
  }
  async put(key: string, value: V) {
    await (await db()).put(this._store, value, key);
  }
  async delete(key: string) {
    await (await db()).delete(this._store, key);
  }
  async keys(prefix = "") {
    const range = prefix ? IDBKeyRange.bound(prefix, `${prefix}\uffff`) : undefined;
    return ((await (await db()).getAllKeys(this._store, range)) as IDBValidKey[]).map(String);
  }
}

/**
 * An IndexedDB-backed store, or an in-memory one when IndexedDB is missing or refuses to open (the editor keeps
 * working; drafts then only last for the page's life).
 */
export async function openStore<V>(name: StoreName): Promise<KvStore<V>> {
  if (typeof indexedDB === "undefined") return new MemoryStore<V>();
  try {
    await db();
    return new IdbStore<V>(name);
  } catch {
    dbPromise = null;
    return new MemoryStore<V>();
  }
}
