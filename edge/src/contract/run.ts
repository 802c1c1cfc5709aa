import type { RunErrorCode } from "./errors";

/** Run history as the edge API returns it (GET /jobs/:id/runs, GET /runs/:id). */
export type RunTrigger = "manual" | "schedule" | "chain";
export type RunStrategy = "full" | "delta" | "keyset" | "reconcile";
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
  /**
   * "full" on first runs and resyncs, "delta" (change tracking) or "keyset" (modifiedon + versionnumber) otherwise;
   * "reconcile" for a reconciliation (reads primary ids only and applies the delete policy to records gone from
   * Dynamics; POST /jobs/:id/runs { "reconcile": true }, or the daily one — docs/sync.md "Reconciliation").
   */
  strategy?: RunStrategy;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  counts: RunCounts;
  progress?: { pages: number; rowsSeen: number; totalEstimate?: number };
  notes?: string[]; // e.g. "delta token expired: full resync"
  error?: { code: RunErrorCode; message: string } | null;
  /**
   * Dataverse service-protection headroom: the lowest figures the org reported on any response of this run
   * (`x-ms-ratelimit-burst-remaining-xrm-requests`, `x-ms-ratelimit-time-remaining-xrm-requests`). Absent when the
   * run received none (e.g. it failed before reaching Dataverse).
   */
  headroom?: RunHeadroom;
}

/**
 * What a job list shows of a job's latest run (GET /jobs, GET /jobs/:id `lastRun`): status, times, counts and the
 * error code — not notes, progress or the error message (GET /runs/:id has those).
 */
export type RunSummary = Pick<Run, "id" | "trigger" | "status" | "createdAt" | "startedAt" | "finishedAt" | "counts"> & {
  error: { code: RunErrorCode } | null;
};

export interface RunHeadroom {
  /** Requests left in the 5-minute window (Dataverse allows 6,000 per user / application user). */
  requestsRemaining: number;
  /** Combined execution time left in the window, in ms (Dataverse allows 1,200 s). */
  timeRemainingMs?: number;
}

/**
 * The optional body of POST /jobs/:id/runs. `reconcile: true` starts a reconciliation instead of a sync;
 * `maxDeletePercent` (0–100, with reconcile only) is its delete threshold instead of the deployment's.
 */
export interface StartRunBody {
  reconcile?: boolean;
  maxDeletePercent?: number;
}

/** One record that could not be synced; the run goes on and ends Partial Success. */
export interface RunRecordError {
  sourceId: string;
  field: string | null;
  value: string | null;
  reason: string;
}

/** A run an admin cancelled: the edge ends it as `failed` with the error code `cancelled` (docs/sync.md). */
export function isCancelledRun(r: { status: RunStatus; error?: { code: RunErrorCode } | null } | null | undefined): boolean {
  return r?.status === "failed" && r.error?.code === "cancelled";
}

/** A run in this status has not ended yet. */
export function isActiveStatus(status: RunStatus | undefined): boolean {
  return status === "queued" || status === "running";
}
