import type { Connection, Readiness } from "#contract/connection";
import type { Job } from "#contract/job";
import type { Run } from "#contract/run";
import type { EdgeError } from "./api/edge-client";

/** What the host is asked to allow before something destructive happens. */
export interface RequestDeleteDetail {
  kind: "connection" | "job";
  id: string;
  name: string;
}

/** Every DOM event the widget emits, by name → `detail`. All bubble and cross the shadow boundary. */
export interface DcEventDetails {
  "dc-connection-created": { connection: Connection };
  "dc-connection-authorized": { connection: Connection; readiness: Readiness | undefined };
  "dc-job-saved": { job: Job };
  "dc-run-started": { jobId: string; runId: string };
  "dc-run-finished": { run: Run };
  "dc-error": { action: string; error: EdgeError | Error; code?: string; requestId?: string };
  "dc-request-delete": RequestDeleteDetail;
  /** Internal to the widget: the job editor asks to be closed. */
  "dc-editor-close": Record<string, never>;
}

export type DcEventName = keyof DcEventDetails;
export type DcEvent<K extends DcEventName> = CustomEvent<DcEventDetails[K]>;

declare global {
  interface GlobalEventHandlersEventMap {
    "dc-connection-created": DcEvent<"dc-connection-created">;
    "dc-connection-authorized": DcEvent<"dc-connection-authorized">;
    "dc-job-saved": DcEvent<"dc-job-saved">;
    "dc-run-started": DcEvent<"dc-run-started">;
    "dc-run-finished": DcEvent<"dc-run-finished">;
    "dc-error": DcEvent<"dc-error">;
    "dc-request-delete": DcEvent<"dc-request-delete">;
    "dc-editor-close": DcEvent<"dc-editor-close">;
  }
}

/**
 * The one way the widget emits events: bubbling, composed (they leave the shadow root), typed by name.
 * Returns false when a listener called `preventDefault()` on a cancelable event (the host vetoed it).
 */
export function emit<K extends DcEventName>(
  target: EventTarget,
  name: K,
  detail: DcEventDetails[K],
  opts: { cancelable?: boolean } = {},
): boolean {
  return target.dispatchEvent(
    new CustomEvent(name, { bubbles: true, composed: true, cancelable: opts.cancelable ?? false, detail }),
  );
}
