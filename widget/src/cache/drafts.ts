/**
 * Autosaved job drafts, keyed by connection id + job id (or "new"). Connection ids are unique across host tenants, so
 * the key needs no tenant. Drafts hold the job as edited — never a token; `assertNoSecrets` refuses anything that
 * looks like one so a future field cannot leak a credential into IndexedDB.
 */
import type { KvStore } from "./kv-store";

export interface StoredDraft<D> {
  draft: D;
  savedAt: number;
  /** `updatedAt` of the job the draft started from (null for a new job): tells whether the job changed meanwhile. */
  baseUpdatedAt: string | null;
}

export function draftKey(connectionId: string, jobId: string | null | undefined): string {
  return `${connectionId}/${jobId ?? "new"}`;
}

const SECRET_KEY = /(token|secret|password|authorization|bearer|credential)/i;
const JWT_LIKE = /^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./;

/** Throws when a value carries a property named like a credential or a string shaped like a JWT. */
export function assertNoSecrets(value: unknown, path = "draft"): void {
  if (typeof value === "string") {
    if (JWT_LIKE.test(value)) throw new Error(`refusing to store a token-like string at ${path}`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertNoSecrets(v, `${path}.${i}`));
    return;
  }
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEY.test(k)) throw new Error(`refusing to store a credential-like field ${path}.${k}`);
      assertNoSecrets(v, `${path}.${k}`);
    }
  }
}

export class DraftStore<D> {
  constructor(
    private readonly _store: KvStore<StoredDraft<D>>,
    private readonly _now: () => number = Date.now,
  ) {}

  async load(connectionId: string, jobId: string | null): Promise<StoredDraft<D> | undefined> {
    return this._store.get(draftKey(connectionId, jobId));
  }

  /** Save and return the time it was saved. */
  async save(connectionId: string, jobId: string | null, draft: D, baseUpdatedAt: string | null): Promise<number> {
    assertNoSecrets(draft);
    const savedAt = this._now();
    await this._store.put(draftKey(connectionId, jobId), { draft, savedAt, baseUpdatedAt });
    return savedAt;
  }

  async discard(connectionId: string, jobId: string | null): Promise<void> {
    await this._store.delete(draftKey(connectionId, jobId));
  }

  /** Job ids (or "new") with a draft for this connection — the jobs table may mark them. */
  async list(connectionId: string): Promise<string[]> {
    const prefix = `${connectionId}/`;
    return (await this._store.keys(prefix)).map((k) => k.slice(prefix.length));
  }
}
