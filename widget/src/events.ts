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

/** Every public DOM event the widget emits, by name → `detail`. All bubble and cross the shadow boundary. */
export interface DcEventDetails {
  "dc-connection-created": { connection: Connection };
  "dc-connection-authorized": { connection: Connection; readiness: Readiness | undefined };
  "dc-job-saved": { job: Job };
  "dc-run-started": { jobId: string; runId: string };
  "dc-run-finished": { run: Run };
  "dc-error": { action: string; error: EdgeError | Error; code?: string; requestId?: string };
  "dc-request-delete": RequestDeleteDetail;
}

/**
 * Internal to the widget: events between its own elements, by name → `detail`. Not part of the public API (hosts must
 * not rely on them). Each is emitted with `{ local: true }` — on the child element only, where its parent listens —
 * except `dc-editor-close`, which bubbles and is composed like the public events.
 */
export interface DcInternalEventDetails {
  /** connection-form: the edge created the connection (after the public `dc-connection-created`). */
  "dc-connection-form-created": { connection: Connection };
  /** connection-form: the admin dismissed the form. */
  "dc-connection-form-cancel": Record<string, never>;
  /** connection-card (relayed by connections-view): the admin opens the connection. */
  "dc-connection-open": { id: string };
  /** connection-card (relayed by connections-view): renamed, or authorized (`authorized`: show the new jobs). */
  "dc-connection-changed": { connection: Connection; authorized?: boolean };
  /** connection-card (relayed by connections-view): the connection was deleted. */
  "dc-connection-deleted": { id: string };
  /** connections-view: load the connections again (Retry after a failed load). */
  "dc-connections-reload": Record<string, never>;
  /** jobs-table: the connection's jobs as just loaded from the edge. */
  "dc-jobs-loaded": { jobs: Job[] };
  /** jobs-table: open a job (`null`: a new one) — the editor, or for a viewer the read-only summary. */
  "dc-job-open": { job: Job | null };
  /** jobs-table, job-summary: show a job's runs (`runId`: the one "Run now" just started). */
  "dc-runs-open": { job: Job; runId?: string };
  /** runs-view: show the records the job synced. */
  "dc-records-open": { job: Job };
  /** job-summary: back to the jobs. */
  "dc-job-summary-close": Record<string, never>;
  /** The job editor asks to be closed (bubbles, composed: as the editor has always emitted it). */
  "dc-editor-close": Record<string, never>;
}

type AllEventDetails = DcEventDetails & DcInternalEventDetails;

/** A public event's name. */
export type DcEventName = keyof DcEventDetails;
/** An internal event's name. */
export type DcInternalEventName = keyof DcInternalEventDetails;
/** The event object of any widget event, public or internal: `DcEvent<"dc-job-saved">`. */
export type DcEvent<K extends keyof AllEventDetails> = CustomEvent<AllEventDetails[K]>;
/** The element's public events, name → event object (exported by the package for typed listeners and wrappers). */
export type DynamicsConnectorEventMap = { [K in DcEventName]: DcEvent<K> };
/** Name → event object, for `GlobalEventHandlersEventMap` (so `addEventListener("dc-…", e => e.detail)` is typed). */
export type DcEventMap = { [K in keyof AllEventDetails]: DcEvent<K> };

declare global {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- merges DcEventMap into the DOM's map; nothing of its own
  interface GlobalEventHandlersEventMap extends DcEventMap {}
}

export interface EmitOptions {
  /** A listener may veto it with `preventDefault()` (the `dc-request-*` events). */
  cancelable?: boolean;
  /**
   * Fires on `target` only: does not bubble and does not leave its shadow root. For internal events, which the parent
   * element listens for on the child itself.
   */
  local?: boolean;
}

/**
 * The one way the widget emits events, typed by name. By default they bubble and are composed (they leave the shadow
 * root, so the host sees them); `local` keeps an internal event on its target.
 * Returns false when a listener called `preventDefault()` on a cancelable event (the host vetoed it).
 */
export function emit<K extends keyof AllEventDetails>(target: EventTarget, name: K, detail: AllEventDetails[K], opts: EmitOptions = {}): boolean {
  const crosses = !opts.local;
  return target.dispatchEvent(new CustomEvent(name, { bubbles: crosses, composed: crosses, cancelable: opts.cancelable ?? false, detail }));
}
