/**
 * Cross-validation of a job beyond its zod shape: everything it names must exist (connection, object, fields,
 * attributes, the job it depends on), types must convert, and the chain must not loop. Every problem is reported
 * at once as `{ path, message }` naming the field of the request body.
 */
import { filterStructureProblem } from "#contract/odata-filter";
import { hasLabel, isCompatible, LOOKUP_TYPES } from "#contract/compatibility";
import type { Job, JobDraft } from "#contract/job";
import type { AttributeInfo } from "#contract/metadata";
import type { TargetObject } from "#contract/object";
import type { ErrorDetail } from "#contract/errors";
import type { Env } from "../env";
import { webhookUrlProblem } from "../security/webhook-url";
import { peekAttributes, peekEntities } from "../metadata/cache";
import { getConnection } from "../stores/connections";
import { getObject } from "../stores/objects";
import { getJob } from "../stores/jobs";
import { cronExpressionProblem, validTimezone } from "../sync/cron";

/** `_parentcustomerid_value` (the lookup's value property) → `parentcustomerid`. */
function attributeFor(source: string, attrs: AttributeInfo[]): AttributeInfo | undefined {
  const direct = attrs.find((a) => a.logicalName === source);
  if (direct) return direct;
  const m = /^_(.+)_value$/.exec(source);
  if (m) {
    const a = attrs.find((x) => x.logicalName === m[1]);
    if (a && LOOKUP_TYPES.has(a.type)) return a;
  }
  return undefined;
}

interface ValidationOutcome {
  details: ErrorDetail[];
  /** What could not be checked (e.g. no cached metadata for the connection yet). */
  warnings: string[];
}

export async function validateJob(env: Env, tenant: string, job: JobDraft, selfId: string | null): Promise<ValidationOutcome> {
  const details: ErrorDetail[] = [];
  const warnings: string[] = [];
  const add = (path: string, message: string) => details.push({ path, message });

  if (job.source.filter) {
    const problem = filterStructureProblem(job.source.filter);
    if (problem) add("source.filter", problem);
  }

  // Connection
  const conn = await getConnection(env, tenant, job.connectionId);
  if (!conn) add("connectionId", "no such connection");

  // Target object and its fields
  const obj: TargetObject | null = await getObject(env, tenant, job.target.object);
  if (!obj) add("target.object", `no object named ${job.target.object}`);
  const field = (name: string) => obj?.fields.find((f) => f.name === name);

  // Source metadata (cache only: validation never calls Dynamics)
  let attrs: AttributeInfo[] | null = null;
  if (conn) {
    const entities = await peekEntities(env, tenant, conn.id);
    if (entities && !entities.some((e) => e.logicalName === job.source.entity))
      add("source.entity", `table ${job.source.entity} does not exist in the connection's organization`);
    attrs = await peekAttributes(env, tenant, conn.id, job.source.entity);
    if (!attrs)
      warnings.push(
        `The columns of ${job.source.entity} are not known yet (open the table in the editor or re-authorize); source columns and types were not checked.`,
      );
  }
  const checkSource = (path: string, source: string): AttributeInfo | undefined => {
    if (!attrs) return undefined;
    const a = attributeFor(source, attrs);
    if (!a) add(path, `${job.source.entity} has no column ${source}`);
    else if (!a.readable) add(path, `${job.source.entity}.${source} cannot be read`);
    return a;
  };

  const targetsUsed = new Map<string, string>();
  const claim = (name: string, path: string) => {
    const prev = targetsUsed.get(name.toLowerCase());
    if (prev) add(path, `field ${name} is already filled by ${prev}`);
    else targetsUsed.set(name.toLowerCase(), path);
  };

  // Mappings
  for (const [i, m] of job.mappings.entries()) {
    const p = `mappings.${i}`;
    const f = obj ? field(m.target) : undefined;
    if (obj && !f) add(`${p}.target`, `${obj.name} has no field ${m.target}`);
    if (f?.type === "reference") add(`${p}.target`, `${m.target} is a reference: fill it with a lookup, not a mapping`);
    claim(m.target, `${p}.target`);
    const a = checkSource(`${p}.source`, m.source);
    if (m.via) {
      if (a && !LOOKUP_TYPES.has(a.type)) add(`${p}.via`, `${m.source} is not a lookup; via needs a lookup column`);
      else if (a?.targets && !a.targets.includes(m.via.entity)) add(`${p}.via.entity`, `${m.source} points to ${a.targets.join(" or ")}, not ${m.via.entity}`);
      if (conn) {
        const viaAttrs = await peekAttributes(env, tenant, conn.id, m.via.entity);
        const va = viaAttrs?.find((x) => x.logicalName === m.via!.attribute);
        if (viaAttrs && !va) add(`${p}.via.attribute`, `${m.via.entity} has no column ${m.via.attribute}`);
        if (va && f && !isCompatible(va, f.type, m.use))
          add(`${p}.target`, `${m.via.entity}.${va.logicalName} (${va.type}, ${m.use}) cannot fill ${f.name} (${f.type})`);
      }
    } else if (a && f && f.type !== "reference") {
      if (m.use === "label" && !hasLabel(a.type)) add(`${p}.use`, `${a.type} columns have no label; use "value"`);
      else if (!isCompatible(a, f.type, m.use))
        add(`${p}.target`, `${job.source.entity}.${a.logicalName} (${a.type}${m.use === "label" ? ", label" : ""}) cannot fill ${f.name} (${f.type})`);
    }
  }

  // Identifiers
  if ((job.mode === "update" || job.mode === "upsert") && job.identifiers.length === 0)
    add("identifiers", `mode ${job.mode} needs at least one identifier (e.g. { source: "${job.source.entity}id", target: "DynamicsId" })`);
  for (const [i, id] of job.identifiers.entries()) {
    const p = `identifiers.${i}`;
    const f = obj ? field(id.target) : undefined;
    if (obj && !f) add(`${p}.target`, `${obj.name} has no field ${id.target}`);
    else if (f && !f.unique) add(`${p}.target`, `${id.target} is not unique; an identifier must be a unique field`);
    if (!job.mappings.some((m) => m.target === id.target)) claim(id.target, `${p}.target`);
    const a = checkSource(`${p}.source`, id.source);
    if (a && f && !isCompatible(a, f.type)) add(`${p}.target`, `${a.logicalName} (${a.type}) cannot fill ${f.name} (${f.type})`);
  }

  // Lookups
  for (const [i, l] of job.lookups.entries()) {
    const p = `lookups.${i}`;
    const f = obj ? field(l.target) : undefined;
    if (obj && !f) add(`${p}.target`, `${obj.name} has no field ${l.target}`);
    else if (f && f.type !== "reference" && f.type !== "id" && f.type !== "string") add(`${p}.target`, `${l.target} (${f.type}) cannot hold a record id`);
    else if (f?.references && f.references.toLowerCase() !== l.object.toLowerCase())
      add(`${p}.object`, `${l.target} references ${f.references}, not ${l.object}`);
    claim(l.target, `${p}.target`);
    const other = l.object.toLowerCase() === job.target.object.toLowerCase() ? obj : await getObject(env, tenant, l.object);
    if (!other) add(`${p}.object`, `no object named ${l.object}`);
    const seen = new Set<string>();
    for (const [k, m] of l.match.entries()) {
      if (other && !other.fields.some((x) => x.name === m.field)) add(`${p}.match.${k}.field`, `${other.name} has no field ${m.field}`);
      if (seen.has(m.field)) add(`${p}.match.${k}.field`, `${m.field} is matched twice`);
      seen.add(m.field);
      checkSource(`${p}.match.${k}.source`, m.source);
    }
  }

  // Required target fields must be filled on insert/upsert.
  if (obj && job.mode !== "update") {
    for (const f of obj.fields)
      if (f.required && !targetsUsed.has(f.name.toLowerCase())) add("mappings", `${obj.name}.${f.name} is required: map a column to it`);
  }

  // Schedule
  if (job.schedule) {
    if (!validTimezone(job.schedule.timezone)) add("schedule.timezone", `${job.schedule.timezone} is not an IANA time zone (e.g. Europe/Berlin)`);
    const problem = cronExpressionProblem(job.schedule);
    if (problem) add("schedule.cron", `not a valid cron expression: ${problem}`);
  }

  // Webhook: the Worker POSTs to it, so it must be a public https URL (the SSRF rules of security/webhook-url.ts; checked
  // again at delivery).
  if (job.notify.webhook) {
    const problem = webhookUrlProblem(job.notify.webhook, env.DEV_INSECURE_ORG_HOSTS);
    if (problem) add("notify.webhook", `the webhook URL ${problem}`);
  }

  // Chain (a friendly first check on the stored jobs; the atomic one is the schedule index's, when the job is stored)
  if (job.dependsOn) {
    if (selfId && job.dependsOn === selfId) add("dependsOn", "a job cannot depend on itself");
    else {
      const seen = new Set<string>(selfId ? [selfId] : []);
      let cursor: string | null = job.dependsOn;
      let first = true;
      while (cursor) {
        if (seen.has(cursor)) {
          add("dependsOn", `the chain loops back to ${cursor}`);
          break;
        }
        seen.add(cursor);
        const dep: Job | null = await getJob(env, tenant, cursor);
        if (!dep) {
          if (first) add("dependsOn", `no job ${cursor}`);
          break;
        }
        first = false;
        cursor = dep.dependsOn;
        if (seen.size > 50) {
          add("dependsOn", "the chain is longer than 50 jobs");
          break;
        }
      }
    }
  }
  return { details, warnings };
}
