/**
 * The closed set of error codes the edge API returns, and the one envelope they travel in:
 * `{ "error": { "code", "message", "details"? } }`. Widget and tests switch on `code`, never on `message`.
 */
export const ERROR_CODES = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  validation_failed: 400,
  invalid_json: 400,
  payload_too_large: 413,
  conflict: 409,
  run_in_progress: 409,
  org_mismatch: 409,
  /** Another host account already connected this Dynamics organization (an org belongs to one host tenant). */
  org_claimed: 409,
  not_authorized: 409,
  /** The same Idempotency-Key is still being processed (retry after Retry-After). */
  idempotency_in_progress: 409,
  /** The Idempotency-Key was already used for a different request (method, path or body). */
  idempotency_key_reused: 422,
  /**
   * Over a limit of the deployment for this tenant (connections, jobs, objects, fields per object, schedule interval,
   * runs started by hand per hour); the detail's message names the limit, its value and its variable.
   */
  quota_exceeded: 422,
  dynamics_token_missing: 401,
  /** Dataverse (or the identity platform) rejected the delegated token the widget sent. */
  dynamics_token_invalid: 401,
  dynamics_error: 502,
  dynamics_unreachable: 504,
  proxy_refused: 400,
  rate_limited: 429,
  internal: 500,
  /** The edge's own configuration is invalid (the message names the variable, never its value); fix the deployment. */
  misconfigured: 500,
  /** The operator is moving this tenant's data between D1 shards (docs/operations.md); retry after Retry-After. */
  tenant_moving: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem with one input field; `path` is the field's location in the request body (e.g. `mappings.2.source`). */
export interface ErrorDetail {
  path: string;
  message: string;
}

export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; details?: ErrorDetail[]; requestId?: string };
}

/**
 * The closed set of codes a failed run carries in `Run.error.code` (docs/sync.md). `cancelled` is an admin's cancel;
 * the others name why the engine ended the run.
 */
export const RUN_ERROR_CODES = [
  "org_claimed",
  "org_url_refused",
  "insufficient_privilege",
  "cancelled",
  "not_authorized",
  "dynamics_unauthorized",
  "dynamics_forbidden",
  "dynamics_error",
  "job_not_found",
  "connection_not_found",
  "object_not_found",
  "invalid_job",
  /** A chained run more than MAX_CHAIN_DEPTH hops below the run that started the chain (sync/engine.ts). */
  "chain_too_deep",
  /**
   * A reconciliation found more records gone from Dynamics than its threshold allows (default 50% of the job's known
   * records) and deleted none (sync/reconcile.ts).
   */
  "reconcile_too_many_deletes",
  "schema_drift",
  /** A scheduled run whose start kept failing until the run queue dead-lettered it (queues/run-starts.ts). */
  "start_failed",
  "internal",
] as const;

export type RunErrorCode = (typeof RUN_ERROR_CODES)[number];
