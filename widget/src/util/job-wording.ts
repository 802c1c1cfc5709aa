import { msg } from "@lit/localize";

/**
 * How a job's choices read, shared by the editor and the read-only job summary (which must not load the editor's chunk).
 * Functions, not constants: the labels are read in the current language at render time.
 */
export const modeLabels = () => ({
  upsert: { label: msg("Insert and update"), help: msg("New records are added, existing ones (same identifier) updated.") },
  insert: { label: msg("Insert only"), help: msg("Only adds records; existing ones are left alone.") },
  update: { label: msg("Update only"), help: msg("Only changes records that already exist.") },
});

export const deleteLabels = () => ({
  ignore: msg("Keep the record"),
  soft: msg("Mark it as deleted"),
  delete: msg("Delete it"),
});

export const onMissingLabels = () => ({
  null: msg("Leave the field empty"),
  skip: msg("Skip the record"),
  error: msg("Report an error"),
});
