/**
 * The partitions of a partitioned first load (table `run_partitions`, migration 0011; sync/partitioned-read.ts). A
 * partition's row is its checkpoint — keyset position, pages, rows read, done — and changes only in the batch that
 * writes its page, beside the run row's summed counts. Page guards (stores/run-pages.ts) stay one table: a partition's
 * page p is guarded as `(partition + 1) * PARTITION_GUARD_BASE + p`, a number no plain page (1, 2, …) or a
 * reconciliation's sweep (0) reaches.
 */
import type { RunCounts } from "#contract/run";

/** A keyset position (sync/query.ts KeysetCursor). */
interface KeysetPosition {
  modifiedon: string;
  version: number;
}

/** Pages per partition before its guard numbers would meet the next partition's (5,000-row pages: 5 billion rows). */
export const PARTITION_GUARD_BASE = 1_000_000;

export const partitionGuardPage = (partition: number, page: number): number => (partition + 1) * PARTITION_GUARD_BASE + page;

/** A half-open createdon range `[from, to)`; null = unbounded on that side. */
export interface CreatedRange {
  from: string | null;
  to: string | null;
}

export interface PartitionRow {
  partition: number;
  range: CreatedRange;
  keyset: KeysetPosition | null;
  pages: number;
  read: number;
  done: boolean;
}

const IN_INIT = "EXISTS (SELECT 1 FROM runs WHERE id = ?1 AND phase = 'init')";

/**
 * A run's partitions, written at its init in the batch that starts its read: any left by an init that crashed before
 * are replaced. Only while the run is still in init — a repeated init never resets partitions already being read.
 */
export function insertPartitionsStatements(db: D1Database, runId: string, ranges: CreatedRange[]): D1PreparedStatement[] {
  return [
    db.prepare(`DELETE FROM run_partitions WHERE run_id = ?1 AND ${IN_INIT}`).bind(runId),
    ...ranges.map((r, i) =>
      db
        .prepare(`INSERT INTO run_partitions (run_id, partition, created_from, created_to) SELECT ?1, ?2, ?3, ?4 WHERE ${IN_INIT}`)
        .bind(runId, i, r.from, r.to),
    ),
  ];
}

export async function listPartitions(db: D1Database, runId: string): Promise<PartitionRow[]> {
  const { results } = await db.prepare("SELECT * FROM run_partitions WHERE run_id = ? ORDER BY partition").bind(runId).all<{
    partition: number;
    created_from: string | null;
    created_to: string | null;
    keyset_modifiedon: string | null;
    keyset_version: number | null;
    pages: number;
    read_count: number;
    done: number;
  }>();
  return results.map((r) => ({
    partition: r.partition,
    range: { from: r.created_from, to: r.created_to },
    keyset: r.keyset_modifiedon && r.keyset_version !== null ? { modifiedon: r.keyset_modifiedon, version: r.keyset_version } : null,
    pages: r.pages,
    read: r.read_count,
    done: r.done === 1,
  }));
}

/** A partition's checkpoint after its page `page` (`WHERE pages = page - 1`: it only ever follows the one before). */
export function partitionCheckpointStatement(
  db: D1Database,
  runId: string,
  cp: { partition: number; page: number; keyset: KeysetPosition | null; read: number; done: boolean },
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE run_partitions SET pages = ?, keyset_modifiedon = ?, keyset_version = ?, read_count = read_count + ?, done = ?
       WHERE run_id = ? AND partition = ? AND pages = ?`,
    )
    .bind(cp.page, cp.keyset?.modifiedon ?? null, cp.keyset?.version ?? null, cp.read, cp.done ? 1 : 0, runId, cp.partition, cp.page - 1);
}

/** What a partition's page adds to the run: counts, a page, error rows, a renewed lease (progress resets the attempts). */
export function addToRunStatement(db: D1Database, runId: string, counts: RunCounts, errorRows: number, leaseUntil: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE runs SET pages = pages + 1, read_count = read_count + ?, inserted_count = inserted_count + ?, updated_count = updated_count + ?,
        deleted_count = deleted_count + ?, skipped_count = skipped_count + ?, failed_count = failed_count + ?, error_rows = error_rows + ?,
        lease_until = ?, attempts = 0
       WHERE id = ? AND status IN ('queued', 'running')`,
    )
    .bind(counts.read, counts.inserted, counts.updated, counts.deleted, counts.skipped, counts.failed, errorRows, leaseUntil, runId);
}

/** The load is over once every partition is: the run moves to `done` (only from `pages`, only while active). */
export function partitionsDoneStatement(db: D1Database, runId: string, leaseUntil: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE runs SET phase = 'done', lease_until = ?, attempts = 0
       WHERE id = ? AND phase = 'pages' AND status IN ('queued', 'running')
         AND NOT EXISTS (SELECT 1 FROM run_partitions WHERE run_id = ? AND done = 0)`,
    )
    .bind(leaseUntil, runId, runId);
}

export function forgetPartitionsStatement(db: D1Database, runId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM run_partitions WHERE run_id = ?").bind(runId);
}
