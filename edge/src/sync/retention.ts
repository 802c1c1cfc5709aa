/**
 * Retention (docs/operations.md "Retention"): every cron tick deletes history older than the deployment keeps —
 * runs, their page log, audit entries and finished notifications after RETENTION_DAYS (default 90), per-record run
 * errors after RETENTION_RECORD_ERRORS_DAYS (default 30, never longer than their run) — at most RETENTION_BATCH rows
 * of each table (per D1 shard) per tick, so a tick stays well inside a Worker's limits however much is due; a backlog (a deployment
 * that ran without retention) drains over the following ticks. The rules of what is never deleted are in
 * stores/retention.ts.
 */
import type { Env } from "../env";
import { allShardDbs } from "../stores/shards";
import { deleteExpiredAuditEntries, deleteExpiredNotifications, deleteExpiredRunErrors, deleteExpiredRunPages, deleteExpiredRuns } from "../stores/retention";

/** Rows per table per tick: each delete is one indexed statement of a few milliseconds. */
export const RETENTION_BATCH = 1000;

const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  days: number;
  recordErrorDays: number;
}

/** A whole number of days ≥ 1, or the default when empty. Anything else is refused: a wrong value would delete history. */
function days(raw: string | undefined, name: string, fallback: number): number {
  const v = (raw ?? "").trim();
  if (v === "") return fallback;
  if (!/^[1-9]\d{0,5}$/.test(v)) throw new Error(`${name} must be a whole number of days of at least 1 (default ${fallback}); nothing was deleted`);
  return Number(v);
}

export function retentionPolicy(env: Env): RetentionPolicy {
  const runDays = days(env.RETENTION_DAYS, "RETENTION_DAYS", 90);
  return { days: runDays, recordErrorDays: Math.min(runDays, days(env.RETENTION_RECORD_ERRORS_DAYS, "RETENTION_RECORD_ERRORS_DAYS", 30)) };
}

export interface RetentionReport {
  runErrors: number;
  runPages: number;
  runs: number;
  auditEntries: number;
  notifications: number;
}

/** One bounded pass (the cron tick's): what expired by `now` (epoch ms), errors and pages before their runs. */
export async function sweepRetention(env: Env, now: number): Promise<RetentionReport> {
  const policy = retentionPolicy(env);
  const history = new Date(now - policy.days * DAY_MS).toISOString();
  const errors = new Date(now - policy.recordErrorDays * DAY_MS).toISOString();
  const report = { runErrors: 0, runPages: 0, runs: 0, auditEntries: 0, notifications: 0 };
  // Run history and audit entries live in each tenant's D1 shard: every shard gets its own bounded pass.
  for (const { db } of allShardDbs(env)) {
    report.runErrors += await deleteExpiredRunErrors(db, errors, RETENTION_BATCH);
    report.runPages += await deleteExpiredRunPages(db, history, RETENTION_BATCH);
    report.runs += await deleteExpiredRuns(db, history, RETENTION_BATCH);
    report.auditEntries += await deleteExpiredAuditEntries(db, history, RETENTION_BATCH);
  }
  report.notifications = await deleteExpiredNotifications(env, history, RETENTION_BATCH);
  if (Object.values(report).some((n) => n > 0)) console.log(JSON.stringify({ level: "info", msg: "retention sweep", ...report }));
  return report;
}
