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
}

export interface Readiness {
  checkedAt: string;
  ready: boolean; // true when background sync can run every enabled job
  checks: ReadinessCheck[];
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
  readiness?: Readiness;
  jobCount?: number;
  lastSync?: { runId: string; status: string; finishedAt: string | null };
  /** Why the connection is `needs_attention` (set when background sync found a problem). */
  attentionReason?: string;
  /** Only on create / update responses: what normalisation changed in the input (e.g. a pasted path was removed). */
  notes?: string[];
}
