/**
 * The wire view of connections: the stored connection plus what other stores know about it — how many jobs use it
 * (jobs from KV), its last finished run and the service-protection headroom that run saw (one D1 query for all the
 * tenant's jobs). Every route that answers with a connection goes through here.
 */
import type { Connection, Readiness, ReadinessCheck, ReadinessHeadroom } from "#contract/connection";
import type { Job } from "#contract/job";
import { headroomFraction, LOW_HEADROOM, SERVICE_PROTECTION } from "../dataverse/client";
import type { Env } from "../env";
import { emailReadinessCheck } from "../mail/sender";
import { toWire, type StoredConnection } from "../stores/connections";
import { listJobs } from "../stores/jobs";
import { latestFinishedRuns, type FinishedRunSummary } from "../stores/runs";

export async function presentConnections(env: Env, tenant: string, conns: StoredConnection[]): Promise<Connection[]> {
  if (!conns.length) return [];
  const jobs = await listJobs(env, tenant);
  const lastRuns = await latestFinishedRuns(
    env,
    tenant,
    jobs.map((j) => j.id),
  );
  return conns.map((conn) => {
    const own = jobs.filter((j) => j.connectionId === conn.id);
    return withEmailCheck(present(conn, own, lastRuns), emailReadinessCheck(env, emailRecipients(own)));
  });
}

const emailRecipients = (jobs: Job[]) => jobs.reduce((n, j) => n + j.notify.onSuccess.length + j.notify.onPartial.length + j.notify.onFailure.length, 0);

/** Adds the e-mail line (informational: never required, never blocks `ready`) when the jobs send e-mails. */
function withEmailCheck(wire: Connection, check: ReadinessCheck | null): Connection {
  if (!wire.readiness || !check) return wire;
  return { ...wire, readiness: { ...wire.readiness, checks: [...wire.readiness.checks.filter((c) => c.id !== "email_delivery"), check] } };
}

export async function presentConnection(env: Env, tenant: string, conn: StoredConnection): Promise<Connection> {
  return (await presentConnections(env, tenant, [conn]))[0]!;
}

const newestFirst = (a: FinishedRunSummary, b: FinishedRunSummary) => b.finishedAt.localeCompare(a.finishedAt) || b.runId.localeCompare(a.runId);

function present(conn: StoredConnection, jobs: Job[], lastRuns: Map<string, FinishedRunSummary>): Connection {
  const runs = jobs
    .map((j) => lastRuns.get(j.id))
    .filter((r): r is FinishedRunSummary => !!r)
    .sort(newestFirst);
  const last = runs[0];
  const wire: Connection = {
    ...toWire(conn),
    jobCount: jobs.length,
    ...(last ? { lastSync: { runId: last.runId, jobId: last.jobId, status: last.status, finishedAt: last.finishedAt } } : {}),
  };
  const withFigure = runs.find((r) => r.headroom);
  if (wire.readiness && withFigure?.headroom) {
    const job = jobs.find((j) => j.id === withFigure.jobId);
    wire.readiness = withHeadroom(
      wire.readiness,
      { runId: withFigure.runId, jobId: withFigure.jobId, finishedAt: withFigure.finishedAt, ...withFigure.headroom },
      job?.name ?? withFigure.jobId,
    );
  }
  return wire;
}

/** Adds the headroom figure and its `service_protection` line (informational: never required, never blocks `ready`). */
function withHeadroom(readiness: Readiness, h: ReadinessHeadroom, jobName: string): Readiness {
  const low = headroomFraction(h) < LOW_HEADROOM;
  const time =
    h.timeRemainingMs !== undefined
      ? ` and ${Math.round(h.timeRemainingMs / 1000).toLocaleString("en-US")} s of ${SERVICE_PROTECTION.executionTimeMs / 1000} s execution time`
      : "";
  const label = `Service-protection headroom in the last run (${jobName}, finished ${h.finishedAt}): at least ${h.requestsRemaining.toLocaleString("en-US")} of ${SERVICE_PROTECTION.requests.toLocaleString("en-US")} requests${time} were left in Dataverse's 5-minute window`;
  const check: ReadinessCheck = low
    ? {
        id: "service_protection",
        ok: false,
        severity: "warning",
        label,
        fix: "The background credential came close to Dataverse's service-protection limits (the engine waits on 429 Retry-After, so runs slow down rather than fail). Spread the schedules of this connection's jobs, run them less often, or narrow their filters.",
      }
    : { id: "service_protection", ok: true, severity: "info", label };
  return { ...readiness, headroom: h, checks: [...readiness.checks.filter((c) => c.id !== "service_protection"), check] };
}
