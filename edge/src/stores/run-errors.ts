/** Per-record errors of a run (table `run_errors`): kept up to a cap per run, numbered by `seq` in the run's order. */
import type { RunRecordError } from "#contract/run";
import type { Env } from "../env";
import { dbFor } from "./shards";
import { jsonChunks } from "./json-chunks";

/** Error rows stored per run; the run's counts stay exact beyond it. */
const MAX_ERROR_ROWS_PER_RUN = 5_000;

/** The errors a run with `storedBefore` error rows may still store (the rest are counted, not kept). */
export function errorsWithinCap(errors: RunRecordError[], storedBefore: number): RunRecordError[] {
  return errors.slice(0, Math.max(0, MAX_ERROR_ROWS_PER_RUN - storedBefore));
}

/** One INSERT per JSON chunk of [source_id, field, value, reason]; seq continues after the run's `storedBefore` rows. */
export function insertRunErrorsStatements(
  db: D1Database,
  runId: string,
  tenant: string,
  storedBefore: number,
  errors: RunRecordError[],
): D1PreparedStatement[] {
  return jsonChunks(errors.map((e) => [e.sourceId, e.field, e.value, e.reason.slice(0, 1000)])).map((c) =>
    db
      .prepare(
        `INSERT INTO run_errors (run_id, seq, tenant, source_id, field, value, reason)
         SELECT ?1, ?2 + key + 1, ?3, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?4)`,
      )
      .bind(runId, storedBefore + c.offset, tenant, c.json),
  );
}

export async function listRunErrors(env: Env, tenant: string, runId: string, limit = 10_000): Promise<RunRecordError[]> {
  const db = await dbFor(env, tenant);
  const { results } = await db
    .prepare("SELECT source_id, field, value, reason FROM run_errors WHERE run_id = ? AND tenant = ? ORDER BY seq LIMIT ?")
    .bind(runId, tenant, limit)
    .all<{ source_id: string; field: string | null; value: string | null; reason: string }>();
  return results.map((r) => ({ sourceId: r.source_id, field: r.field, value: r.value, reason: r.reason }));
}
