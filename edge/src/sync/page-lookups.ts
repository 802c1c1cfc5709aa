/**
 * 3. The lookups phase of a page (see page-plan.ts): each lookup sets a target field to the `_id` of the record of
 * its object that matches the row's match values. `readLookups` registers each lookup's read with the page's other
 * reads (one round trip for all of them; a single-field lookup on the job's own identifier shares the existence read's
 * statement), `resolveLookups` applies the answers. Self lookups also see this page's own records, which are written
 * in the same batch. An empty source (`onEmpty`) and a value without a match (`onMissing`) each leave the field null,
 * skip the record, or are its error.
 */
import type { AttributeInfo } from "#contract/metadata";
import type { Job, Lookup } from "#contract/job";
import type { TargetObject } from "#contract/object";
import { fieldColumn, objectTable } from "../stores/object-tables";
import type { Answer, PageReads } from "../stores/record-ids";
import { printable } from "./convert";
import { rowKey } from "./mapper";
import type { PageInput, PageOutcome, PageRecord } from "./page-plan";

const isGuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
/** GUIDs compare lower-case (Dataverse returns them lower-case; ids typed by hand may not be). */
const normalizeGuid = (v: unknown): unknown => (typeof v === "string" && isGuid(v) ? v.toLowerCase() : v);

/** A match tuple's key (values compared as text). */
const keyOf = (t: unknown[]) => JSON.stringify(t.map((v) => String(v)));

/** Match values of a lookup for a row (raw `_x_value` keys or logical names), or null when any part is empty. */
function matchTuple(lookup: Lookup, byAttr: Map<string, AttributeInfo>, row: Record<string, unknown>): unknown[] | null {
  const vals = lookup.match.map((m) => {
    const key = m.source.startsWith("_") && m.source.endsWith("_value") ? m.source : rowKey(byAttr.get(m.source), m.source);
    return normalizeGuid(row[key]);
  });
  return vals.some((v) => v === null || v === undefined || v === "") ? null : vals;
}

/** A lookup's read: the page's match tuples (by record, null when empty) and the matches' `_id`s by tuple key. */
export interface LookupRead {
  lookup: Lookup;
  lobj: TargetObject;
  tuples: Array<unknown[] | null>;
  found: Answer<Map<string, string>>;
}

/**
 * Registers every lookup's read (page-plan.ts runs them with the page's other reads). Only records of the same Dynamics
 * organization (or legacy ones) match: a sandbox copy's contact never links to production.
 */
export async function readLookups(input: PageInput, records: PageRecord[], reads: PageReads): Promise<LookupRead[]> {
  const byAttr = new Map(input.attributes.map((a) => [a.logicalName, a]));
  const out: LookupRead[] = [];
  for (const lookup of input.job.lookups) {
    const lobj = input.lookupObjects.get(lookup.object.toLowerCase());
    if (!lobj) throw new Error(`invariant: lookup object ${lookup.object} was not loaded`);
    const table = await objectTable(input.tenant, lobj.name);
    const tuples = records.map((p) => matchTuple(lookup, byAttr, p.row));
    out.push({ lookup, lobj, tuples, found: matchesRead(reads, table, lookup, tuples) });
  }
  return out;
}

/** Target records matching the tuples, by tuple key → `_id`: single-field matches by value, multi-field by tuple. */
function matchesRead(reads: PageReads, table: string, lookup: Lookup, tuples: Array<unknown[] | null>): Answer<Map<string, string>> {
  if (lookup.match.length === 1) {
    const values = tuples.filter((t): t is unknown[] => t !== null).map((t) => String(t[0]));
    const byValue = reads.byColumn(table, fieldColumn(lookup.match[0]!.field), values);
    // Only this lookup's values: the read may be shared with the existence read and answer every record of the page.
    return () => {
      const all = byValue();
      const found = new Map<string, string>();
      for (const v of values) {
        const hit = all.get(v);
        if (hit) found.set(JSON.stringify([v]), hit.id);
      }
      return found;
    };
  }
  const distinct = new Map<string, unknown[]>();
  for (const t of tuples) if (t) distinct.set(keyOf(t), t);
  const list = [...distinct.values()];
  const byIndex = reads.byTuple(
    table,
    lookup.match.map((x) => fieldColumn(x.field)),
    list,
  );
  return () => new Map([...byIndex()].map(([i, id]) => [keyOf(list[i]!), id]));
}

/** Resolves every lookup of the job into the records' fields (after the reads ran). Returns the records dropped (skipped or failed). */
export function resolveLookups(input: PageInput, records: PageRecord[], lookups: LookupRead[], outcome: PageOutcome): Set<PageRecord> {
  const { job, object } = input;
  const dropped = new Set<PageRecord>();
  for (const { lookup, lobj, tuples, found: answer } of lookups) {
    const found = answer();
    if (lobj.name.toLowerCase() === object.name.toLowerCase()) {
      for (const p of records) {
        // Only records that exist after this batch (an update-mode record without a target row is not written).
        if (!p.exists && job.mode === "update") continue;
        const t = lookup.match.map((m) => normalizeGuid(p.fields[m.field]));
        if (t.every((v) => v !== null && v !== undefined)) found.set(keyOf(t), p.id);
      }
    }
    records.forEach((p, i) => {
      if (!dropped.has(p)) applyMatch(p, job, lookup, lobj, tuples[i] ?? null, found, dropped, outcome);
    });
  }
  return dropped;
}

/**
 * A lookup stored before `onEmpty` existed has none: an empty source meant "null" then — except in the out-of-the-box
 * CompanyPerson job, whose definition always meant to skip contacts without a company (and which an admin who edits
 * it saves with an explicit `onEmpty`).
 */
function onEmptyOf(job: Pick<Job, "builtIn">, lookup: Lookup): Lookup["onEmpty"] {
  return lookup.onEmpty ?? (job.builtIn === "company_person" ? "skip" : "null");
}

/** Sets the lookup's field of one record, or drops the record as its `onEmpty` / `onMissing` says. */
function applyMatch(
  p: PageRecord,
  job: Pick<Job, "builtIn">,
  lookup: Lookup,
  lobj: TargetObject,
  t: unknown[] | null,
  found: Map<string, string>,
  dropped: Set<PageRecord>,
  outcome: PageOutcome,
): void {
  const id = t ? found.get(keyOf(t)) : undefined;
  if (id) {
    p.fields[lookup.target] = id;
    return;
  }
  // An empty source has nothing to match (`onEmpty`); a value that matches no record is `onMissing`.
  const rule = t ? lookup.onMissing : onEmptyOf(job, lookup);
  if (rule === "null") {
    p.fields[lookup.target] = null;
    return;
  }
  dropped.add(p);
  if (rule === "skip") {
    outcome.counts.skipped++;
    return;
  }
  outcome.counts.failed++;
  outcome.errors.push({
    sourceId: p.sourceId,
    field: lookup.target,
    value: t ? printable(t.length === 1 ? t[0] : t) : null,
    reason: t
      ? `lookup: no ${lobj.name} record with ${lookup.match.map((m) => m.field).join(" + ")} = ${t.map(String).join(" + ")}`
      : `lookup: ${lookup.match.map((m) => m.source).join(" + ")} is empty`,
  });
}
