import { z } from "zod";

/** Field types of host-side target objects. */
export const FieldType = z.enum([
  "string",
  "text",
  "integer",
  "number",
  "currency",
  "boolean",
  "date",
  "datetime",
  "email",
  "url",
  "phone",
  "id",
  "reference",
  "string_list",
]);
export type FieldType = z.infer<typeof FieldType>;

const identifier = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, "must start with a letter and contain only letters, digits and _ (max 63)");

export const ObjectField = z.strictObject({
  name: identifier,
  label: z.string().trim().min(1).max(100),
  type: FieldType,
  required: z.boolean().default(false),
  unique: z.boolean().optional(),
  /** For `reference` fields: the object whose record id this field holds. */
  references: identifier.optional(),
});
export type ObjectField = z.infer<typeof ObjectField>;

/**
 * D1 allows 100 columns per table; every object table has 5 system columns (stores/object-tables.ts). More fields are
 * refused as 422 quota_exceeded (edge/src/quotas/tenant-quotas.ts), not by the body's shape.
 */
export const MAX_OBJECT_FIELDS = 95;

export const CreateObjectBody = z.strictObject({
  name: identifier,
  label: z.string().trim().min(1).max(100),
  fields: z.array(ObjectField).min(1),
});
export const UpdateObjectBody = z.strictObject({
  label: z.string().trim().min(1).max(100).optional(),
  /** New fields only: existing fields are never retyped or dropped (synced data would be lost). */
  addFields: z.array(ObjectField).optional(),
});

export interface TargetObject {
  name: string;
  label: string;
  standard: boolean;
  fields: ObjectField[];
  createdAt: string;
}

/** A synced record as the records API returns it. */
export interface TargetRecord {
  id: string;
  fields: Record<string, unknown>;
  deleted: boolean;
  /** The Dynamics OrganizationId the record was synced from; null for a record synced before records carried it. */
  organizationId: string | null;
  createdAt: string;
  updatedAt: string;
}
