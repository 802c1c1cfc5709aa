import type { StoredDraft } from "../cache/drafts";
import { openStore, type KvStore } from "../cache/kv-store";
import type { CachedMetadata } from "../cache/metadata-cache";
import type { EditorDraft } from "./job-model";

export interface EditorStores {
  drafts: KvStore<StoredDraft<EditorDraft>>;
  metadata: KvStore<CachedMetadata<unknown>>;
}

// Shared by every editor instance on the page (one IndexedDB connection).
let storesPromise: Promise<EditorStores> | null = null;

/** The editor's IndexedDB stores: autosaved drafts and cached Dataverse metadata. */
export function editorStores(): Promise<EditorStores> {
  storesPromise ??= Promise.all([openStore<StoredDraft<EditorDraft>>("drafts"), openStore<CachedMetadata<unknown>>("metadata")]).then(([drafts, metadata]) => ({
    drafts,
    metadata,
  }));
  return storesPromise;
}
