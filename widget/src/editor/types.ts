/** Types the editor shares with the edge (type-only, so nothing of zod reaches the widget bundle). */
export type { Job, JobInput, Mapping, Lookup } from "#contract/job";
export type { EntityInfo, AttributeInfo, AttributeType } from "#contract/metadata";
export type { TargetObject, ObjectField, FieldType } from "#contract/object";
export type { ErrorDetail } from "#contract/errors";
export type { Connection } from "#contract/connection";

/**
 * What the editor needs of the widget's API client (widget/src/api/edge-client.ts `EdgeClient` satisfies it).
 * `path` is relative to /api/v1.
 */
export interface EditorClient {
  request<T>(method: string, path: string, opts?: { body?: unknown; dynamicsToken?: string; signal?: AbortSignal }): Promise<T>;
}

/** The shape of `EdgeError` the editor reads (duck-typed so the editor does not depend on the client's module). */
export interface EdgeErrorLike {
  status: number;
  code: string;
  message: string;
  details?: Array<{ path: string; message: string }>;
  requestId?: string;
}

export function isEdgeError(e: unknown): e is EdgeErrorLike {
  return typeof e === "object" && e !== null && typeof (e as EdgeErrorLike).status === "number" && typeof (e as EdgeErrorLike).code === "string";
}

/** POST /jobs/:id/preview response. */
export interface PreviewResult {
  records: Array<{
    sourceId: string;
    fields: Record<string, unknown>;
    errors: Array<{ field: string; value: unknown; reason: string }>;
  }>;
}
