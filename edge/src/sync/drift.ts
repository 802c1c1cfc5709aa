/**
 * Schema drift, checked at init before anything is written: every mapped source attribute must still exist and have
 * the type the last run saw for this version of the job (stores/job-schema.ts); through-lookup attributes must still
 * exist on their entity. A drifted run fails naming the attribute.
 */
import type { AttributeInfo } from "#contract/metadata";
import type { Job } from "#contract/job";
import { fetchAttributes } from "../metadata/fetch";
import { getSchemaBaseline } from "../stores/job-schema";
import { RunFailure, withToken, type RunContext } from "./run-context";

/** Mapped source attributes → the attribute each depends on (for drift: removed or retyped). */
function mappedAttributes(job: Job): string[] {
  const names = new Set<string>();
  const add = (s: string) => names.add(s.startsWith("_") && s.endsWith("_value") ? s.slice(1, -6) : s);
  job.identifiers.forEach((i) => add(i.source));
  job.mappings.forEach((m) => add(m.source));
  job.lookups.forEach((l) => l.match.forEach((m) => add(m.source)));
  return [...names].sort();
}

/** Throws RunFailure("schema_drift") naming what was removed or retyped; else the mapped attributes' current types. */
export async function checkDrift(ctx: RunContext, attributes: AttributeInfo[]): Promise<Record<string, string>> {
  const byName = new Map(attributes.map((a) => [a.logicalName, a]));
  const current: Record<string, string> = {};
  const removed: string[] = [];
  for (const n of mappedAttributes(ctx.job)) {
    const a = byName.get(n);
    if (!a) removed.push(n);
    else current[n] = a.type;
  }
  if (removed.length) {
    throw new RunFailure(
      "schema_drift",
      `Schema drift: mapped attribute ${removed.map((r) => `${ctx.job.source.entity}.${r}`).join(", ")} no longer exists in Dataverse`,
    );
  }
  const base = await getSchemaBaseline(ctx.env, ctx.ref.tenant, ctx.ref.jobId);
  if (base && base.jobUpdatedAt === ctx.job.updatedAt) {
    const before = base.types;
    const retyped = Object.keys(current).filter((n) => before[n] !== undefined && before[n] !== current[n]);
    if (retyped.length) {
      throw new RunFailure(
        "schema_drift",
        `Schema drift: mapped attribute ${retyped.map((n) => `${ctx.job.source.entity}.${n} changed type from ${before[n]} to ${current[n]}`).join(", ")}`,
      );
    }
  }
  // via attributes live on other entities: check they still exist too
  const viaByEntity = new Map<string, Set<string>>();
  for (const m of ctx.job.mappings)
    if (m.via) (viaByEntity.get(m.via.entity) ?? viaByEntity.set(m.via.entity, new Set()).get(m.via.entity)!).add(m.via.attribute);
  for (const [entity, attrs] of viaByEntity) {
    const list = await withToken(ctx, (t) => fetchAttributes(ctx.conn.orgUrl, t, entity, ctx.observe));
    const have = new Set(list.map((a) => a.logicalName));
    const gone = [...attrs].filter((a) => !have.has(a));
    if (gone.length)
      throw new RunFailure("schema_drift", `Schema drift: attribute ${gone.map((g) => `${entity}.${g}`).join(", ")} (used through a lookup) no longer exists`);
  }
  return current;
}
