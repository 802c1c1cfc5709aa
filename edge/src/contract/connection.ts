import { z } from "zod";

/** Connection lifecycle as the admin sees it. */
export const ConnectionStatus = z.enum(["not_authorized", "authorized", "needs_attention"]);
export type ConnectionStatus = z.infer<typeof ConnectionStatus>;

export const CreateConnectionBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  orgUrl: z.string().trim().min(1).max(300),
});
export const RenameConnectionBody = z.strictObject({ name: z.string().trim().min(1).max(100) });
export const AuthorizeConnectionBody = z.strictObject({ accessToken: z.string().min(20).max(16_384) });

/** One line of the readiness report: what was checked, whether it passed, and the exact fix when it did not. */
export interface ReadinessCheck {
  id: string; // e.g. "signed_in", "organization", "application_user", "read:contact", "change_tracking:account"
  ok: boolean;
  severity: "error" | "warning" | "info";
  label: string;
  fix?: string;
  /** Background sync needs this check to pass (application credential, application user, read per synced table). */
  required?: boolean;
  /**
   * The check could not be performed (e.g. the table definitions could not be read). Never ok; severity "warning";
   * `label` says what was not checked, `fix` says why and what to do. A required check that was not performed keeps
   * the connection from being `ready`.
   */
  notChecked?: boolean;
}

/** Service-protection headroom the most recent finished run of the connection's jobs saw (see Run.headroom). */
export interface ReadinessHeadroom {
  runId: string;
  jobId: string;
  finishedAt: string;
  requestsRemaining: number;
  timeRemainingMs?: number;
}

export interface Readiness {
  checkedAt: string;
  /** True only when every required check was performed and passed (background sync can run every enabled job). */
  ready: boolean;
  checks: ReadinessCheck[];
  /** Filled when the connection is read (GET /connections, GET /connections/:id), from run history. */
  headroom?: ReadinessHeadroom;
}

/** The most recent finished run of any of the connection's jobs. */
export interface LastSync {
  runId: string;
  jobId: string;
  status: "succeeded" | "partial" | "failed";
  finishedAt: string;
}

/** Dataverse's PrivilegeDepth names, plus "None" when no role of the user grants the privilege. */
export type PrivilegeDepth = "Basic" | "Local" | "Deep" | "Global" | "None";

/** A table's read privilege as a user holds it: its name as Dataverse spells it (e.g. prvReadContact) and the depth. */
export interface ReadGrant {
  privilege: string;
  depth: PrivilegeDepth;
}

/**
 * What the authorizing Dynamics user was proven to read, per table (logical name → read grant), when the connection
 * was authorized or a job was saved with their token. Background runs sync a table only when it is Global here and
 * still Global when the run re-checks it.
 */
export interface ReadScope {
  userId: string;
  checkedAt: string;
  tables: Record<string, ReadGrant>;
}

export interface Connection {
  id: string;
  name: string;
  orgUrl: string;
  status: ConnectionStatus;
  createdAt: string;
  updatedAt: string;
  authorizedAt?: string;
  authorizedBy?: { userId: string; upn?: string; name?: string };
  tenantId?: string; // Microsoft Entra tenant id of the org
  organizationId?: string;
  readScope?: ReadScope;
  readiness?: Readiness;
  /** How many jobs use this connection (enabled or not). */
  jobCount?: number;
  /** Absent until one of the connection's jobs has finished a run. */
  lastSync?: LastSync;
  /** Why the connection is `needs_attention` (set when background sync found a problem). */
  attentionReason?: string;
  /** Only on create / update responses: what normalisation changed in the input (e.g. a pasted path was removed). */
  notes?: string[];
}
