import type { Job, JobInput } from "#contract/job";

/** A stored job → the strict input shape PUT /jobs/:id accepts (server-owned fields stripped). */
export function toJobInput(job: Job, patch: Partial<JobInput> = {}): JobInput {
  const { id: _id, createdAt: _c, updatedAt: _u, builtIn: _b, ...rest } = job as Job & Record<string, unknown>;
  // Anything else the edge added for display (e.g. lastRun) must not go back: the schema is strict.
  const input: Record<string, unknown> = {};
  for (const key of [
    "connectionId",
    "name",
    "enabled",
    "source",
    "target",
    "mode",
    "deletes",
    "identifiers",
    "mappings",
    "lookups",
    "schedule",
    "dependsOn",
    "notify",
  ]) {
    if (key in rest) input[key] = (rest as Record<string, unknown>)[key];
  }
  return { ...(input as unknown as JobInput), ...patch };
}

/** Jobs in chain order: each job right after the one it depends on; `step` is its position in its chain (1-based). */
export function chainOrder(jobs: Job[]): Array<{ job: Job; step: number; after: Job | null }> {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const children = new Map<string, Job[]>();
  const roots: Job[] = [];
  for (const j of jobs) {
    if (j.dependsOn && byId.has(j.dependsOn) && j.dependsOn !== j.id) {
      const list = children.get(j.dependsOn) ?? [];
      list.push(j);
      children.set(j.dependsOn, list);
    } else roots.push(j);
  }
  const byName = (a: Job, b: Job) => a.name.localeCompare(b.name);
  const out: Array<{ job: Job; step: number; after: Job | null }> = [];
  const seen = new Set<string>();
  const visit = (j: Job, step: number, after: Job | null) => {
    if (seen.has(j.id)) return;
    seen.add(j.id);
    out.push({ job: j, step, after });
    for (const c of (children.get(j.id) ?? []).sort(byName)) visit(c, step + 1, j);
  };
  for (const r of roots.sort(byName)) visit(r, 1, null);
  // A cycle (should not pass the edge's validation) still lists every job.
  for (const j of jobs) if (!seen.has(j.id)) visit(j, 1, null);
  return out;
}
