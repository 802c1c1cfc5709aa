import { z } from "zod";
import type { RunSummary } from "./run";

/**
 * A data sync job: one Dataverse entity → one host target object. This is the wire shape of
 * GET/POST/PUT /api/v1/jobs; the widget builds it, the edge validates it (shape here, cross-checks
 * against metadata and target objects in the jobs route), the sync engine executes it.
 */
const logicalName = z.string().regex(/^[a-z_][a-z0-9_]{0,99}$/, "must be a Dataverse logical name (lower-case letters, digits, _)");
const fieldName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, "must be a target field name");
const email = z.email().max(254);

export const JobMode = z.enum(["insert", "update", "upsert"]);
export const DeletePolicy = z.enum(["ignore", "soft", "delete"]);
export const OnMissing = z.enum(["null", "skip", "error"]);

export const Mapping = z.strictObject({
  /** Source attribute logical name. With `via`, the lookup attribute (e.g. parentcustomerid) to go through. */
  source: logicalName,
  target: fieldName,
  /** Option sets, booleans, lookups: the raw value or its label (Dataverse FormattedValue). */
  use: z.enum(["value", "label"]).default("value"),
  /** A field of the looked-up record (Customer lookups pick the target table here: account or contact). */
  via: z.strictObject({ entity: logicalName, attribute: logicalName }).optional(),
});
export type Mapping = z.infer<typeof Mapping>;

export const Identifier = z.strictObject({ source: logicalName, target: fieldName });

export const Lookup = z.strictObject({
  /** Target field on this job's object that receives the matched record's id. */
  target: fieldName,
  /** Object searched for the match (may be this job's own object: a self lookup). */
  object: fieldName,
  match: z
    .array(z.strictObject({ source: logicalName, field: fieldName }))
    .min(1)
    .max(6),
  /** The source has a value that matches no record of `object`. */
  onMissing: OnMissing.default("null"),
  /** The source is empty (e.g. a contact without parentcustomerid): nothing to match. */
  onEmpty: OnMissing.default("null"),
});
export type Lookup = z.infer<typeof Lookup>;

export const Schedule = z.strictObject({
  cron: z.string().trim().min(9).max(120),
  timezone: z.string().min(1).max(64),
});

export const Notify = z.strictObject({
  onSuccess: z.array(email).max(20).default([]),
  onPartial: z.array(email).max(20).default([]),
  onFailure: z.array(email).max(20).default([]),
  webhook: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable()
    .default(null),
});

export const JobInput = z.strictObject({
  connectionId: z.string().min(1).max(64),
  /** Goes into e-mail subjects and logs: no control characters (CR/LF would start a header of their own). */
  name: z
    .string()
    .trim()
    .min(1)
    .max(120)
    .regex(/^[^\p{Cc}\u2028\u2029]*$/u, "must not contain control characters (line breaks, tabs)"),
  enabled: z.boolean().default(true),
  source: z.strictObject({ entity: logicalName, filter: z.string().trim().max(2000).nullable().default(null) }),
  target: z.strictObject({ object: fieldName }),
  mode: JobMode.default("upsert"),
  deletes: DeletePolicy.default("ignore"),
  identifiers: z.array(Identifier).max(3).default([]),
  mappings: z.array(Mapping).min(1).max(300),
  lookups: z.array(Lookup).max(20).default([]),
  schedule: Schedule.nullable().default(null),
  dependsOn: z.string().min(1).max(64).nullable().default(null),
  notify: Notify.default({ onSuccess: [], onPartial: [], onFailure: [], webhook: null }),
});
export type JobInput = z.input<typeof JobInput>;

/** A job as create validates it, before it is stored (no id yet): what a draft preview maps. */
export type JobDraft = z.output<typeof JobInput>;

export type Job = JobDraft & {
  id: string;
  createdAt: string;
  updatedAt: string;
  /** Set on the out-of-the-box jobs created at first authorization. */
  builtIn?: "company" | "person" | "company_person" | "user";
};

/** A job as GET /jobs and GET /jobs/:id answer it: with its latest run (by creation, active or ended), null before any. */
export type JobWithLastRun = Job & { lastRun: RunSummary | null };
