/** Run history as the edge API returns it (GET /jobs/:id/runs, GET /runs/:id). */
export type RunTrigger = "manual" | "schedule" | "chain";
export type RunStatus = "queued" | "running" | "succeeded" | "partial" | "failed";

export interface RunCounts {
  read: number;
  inserted: number;
  updated: number;
  deleted: number;
  skipped: number;
  failed: number;
}

export interface Run {
  id: string;
  jobId: string;
  trigger: RunTrigger;
  status: RunStatus;
  /** "full" on first runs and resyncs, "delta" (change tracking) or "keyset" (modifiedon + versionnumber) otherwise. */
  strategy?: "full" | "delta" | "keyset";
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  counts: RunCounts;
  progress?: { pages: number; rowsSeen: number; totalEstimate?: number };
  notes?: string[]; // e.g. "delta token expired: full resync"
  error?: { code: string; message: string } | null;
}

/** One record that could not be synced; the run goes on and ends Partial Success. */
export interface RunRecordError {
  sourceId: string;
  field: string | null;
  value: string | null;
  reason: string;
}
