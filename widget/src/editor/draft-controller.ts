import type { ReactiveControllerHost } from "lit";
import { DraftStore } from "../cache/drafts";
import { AutosaveController } from "./controllers";
import { sameDraft, type EditorDraft } from "./job-model";
import { editorStores } from "./stores";

/** What the draft controller reads of its host at the moment it saves. */
export interface DraftSource {
  /** Which draft: the connection and the job (null: a new job). */
  key(): { connectionId: string; jobId: string | null };
  draft(): EditorDraft;
  dirty(): boolean;
  /** `updatedAt` of the job being edited (null for a new job). */
  baseUpdatedAt(): string | null;
}

/**
 * The unsaved draft in IndexedDB: restored when the editor opens, autosaved (an AutosaveController: `schedule()`
 * after each change, flushed when the host disconnects or the page is hidden), deleted on save or discard. The draft
 * itself stays the host's; this keeps the store and what the page says about it.
 */
export class DraftController extends AutosaveController {
  /** When the draft on screen was last saved locally (null: not kept). */
  savedAt: number | null = null;
  /** The editor opened on a draft of an earlier visit; `stale`: the job changed since. */
  restored: { savedAt: number; stale: boolean } | null = null;

  private _store: DraftStore<EditorDraft> | null = null;

  constructor(
    private readonly _host: ReactiveControllerHost,
    private readonly _source: DraftSource,
  ) {
    super(_host, () => this._persist());
  }

  /**
   * Opens the store and returns the draft to edit: `base` (the job as saved), or the draft kept for it — then marked
   * restored (stale when `job` changed since). `isCurrent` false: the editor moved on meanwhile, touch nothing.
   */
  async restore(base: EditorDraft, job: { updatedAt: string } | null, isCurrent: () => boolean): Promise<EditorDraft> {
    this.restored = null;
    this._store = new DraftStore((await editorStores()).drafts);
    const { connectionId, jobId } = this._source.key();
    let draft = base;
    try {
      const stored = await this._store.load(connectionId, jobId);
      if (!isCurrent()) return base;
      if (stored && !sameDraft(stored.draft, base)) {
        draft = { ...base, ...stored.draft };
        this.restored = { savedAt: stored.savedAt, stale: !!job && stored.baseUpdatedAt !== job.updatedAt };
        this.savedAt = stored.savedAt;
      } else {
        this.savedAt = null;
      }
    } catch {
      /* no draft store: start from the job */
    }
    this._host.requestUpdate();
    return draft;
  }

  /** Forget the kept draft (saved or discarded): nothing pending, nothing in the store, nothing to say. */
  async discard(): Promise<void> {
    this.cancel();
    const { connectionId, jobId } = this._source.key();
    await this._store?.discard(connectionId, jobId).catch(() => undefined);
    this.savedAt = null;
    this.restored = null;
    this._host.requestUpdate();
  }

  /** "Keep them": the restored draft stays, the notice goes. */
  dismissRestored(): void {
    this.restored = null;
    this._host.requestUpdate();
  }

  private async _persist() {
    if (!this._store) return;
    const { connectionId, jobId } = this._source.key();
    try {
      if (this._source.dirty()) {
        this.savedAt = await this._store.save(connectionId, jobId, this._source.draft(), this._source.baseUpdatedAt());
      } else {
        await this._store.discard(connectionId, jobId);
        this.savedAt = null;
      }
      this._host.requestUpdate();
    } catch {
      /* storage full or blocked: the editor still works, the draft just is not kept */
    }
  }
}
