/**
 * How a job reads its source (pure): the $select / $expand, the strategy (change tracking vs keyset) and the URLs.
 *
 * Change tracking (`Prefer: odata.track-changes`) forbids $filter / $orderby / $expand / $top, so a job with a
 * source filter, a through-lookup mapping, or an entity without change tracking reads with a keyset instead:
 * `$orderby=modifiedon asc,versionnumber asc` and `$filter=(job filter) and (modifiedon gt T or (modifiedon eq T and
 * versionnumber gt V))` with `$top`. versionnumber is a row version unique per table, so rows sharing a modifiedon
 * second are never skipped or repeated at a page boundary (tie-proof).
 */
import type { AttributeInfo, EntityInfo } from "#contract/metadata";
import type { JobDraft } from "#contract/job";
import { navigationProperty, rowKey } from "./mapper";

export interface ReadPlan {
  entity: string;
  entitySet: string;
  primaryId: string;
  strategy: "delta" | "keyset";
  select: string[];
  /** nav → selected attributes */
  expand: Record<string, string[]>;
  filter: string | null;
  pageSize: number;
  /** Identity of the read: a changed job (entity, filter, columns) invalidates stored delta links / cursors. */
  configHash: string;
}

export function planRead(job: JobDraft, entity: EntityInfo, attributes: AttributeInfo[], pageSize: number): ReadPlan {
  const byName = new Map(attributes.map((a) => [a.logicalName, a]));
  const select = new Set<string>([entity.primaryIdAttribute]);
  const expand: Record<string, Set<string>> = {};
  const addSource = (logical: string) => {
    if (logical.startsWith("_") && logical.endsWith("_value")) select.add(logical);
    else select.add(rowKey(byName.get(logical), logical));
  };
  for (const i of job.identifiers) addSource(i.source);
  for (const m of job.mappings) {
    if (m.via) {
      const nav = navigationProperty(byName.get(m.source), m);
      (expand[nav] ??= new Set()).add(m.via.attribute);
    } else addSource(m.source);
  }
  for (const l of job.lookups) for (const mm of l.match) addSource(mm.source);
  const hasExpand = Object.keys(expand).length > 0;
  const strategy: ReadPlan["strategy"] = entity.changeTracking && !job.source.filter && !hasExpand ? "delta" : "keyset";
  if (strategy === "keyset") {
    select.add("modifiedon");
    select.add("versionnumber");
  }
  const plan: Omit<ReadPlan, "configHash"> = {
    entity: entity.logicalName,
    entitySet: entity.entitySetName,
    primaryId: entity.primaryIdAttribute,
    strategy,
    select: [...select].sort(),
    expand: Object.fromEntries(Object.entries(expand).map(([k, v]) => [k, [...v].sort()])),
    filter: job.source.filter ?? null,
    pageSize: Math.max(1, Math.min(5000, pageSize)),
  };
  return { ...plan, configHash: hashString(JSON.stringify([plan.entity, plan.strategy, plan.select, plan.expand, plan.filter])) };
}

/** FNV-1a, hex — identity of a read configuration, not security. */
function hashString(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

function selectExpand(plan: ReadPlan): string[] {
  const parts = [`$select=${plan.select.join(",")}`];
  const exp = Object.entries(plan.expand).map(([nav, attrs]) => `${nav}($select=${attrs.join(",")})`);
  if (exp.length) parts.push(`$expand=${exp.join(",")}`);
  return parts;
}

/** First request of a change-tracking read (full sync with track-changes; its last page carries the deltaLink). */
export function deltaInitialPath(plan: ReadPlan): string {
  return `${plan.entitySet}?${selectExpand(plan).map(encodeQueryPart).join("&")}`;
}

export interface KeysetCursor {
  modifiedon: string;
  version: number;
}

/** Strict keyset order: (modifiedon, versionnumber) of `a` comes after `b`. */
export function cursorAfter(a: KeysetCursor, b: KeysetCursor): boolean {
  const ta = Date.parse(a.modifiedon);
  const tb = Date.parse(b.modifiedon);
  return ta > tb || (ta === tb && a.version > b.version);
}

/** The keyset filter after `cursor` (exclusive), combined with the job's own filter. */
export function keysetFilter(jobFilter: string | null, cursor: KeysetCursor | null): string | null {
  const parts: string[] = [];
  if (jobFilter) parts.push(`(${jobFilter})`);
  if (cursor) {
    const t = cursor.modifiedon;
    if (!/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(t)) throw new Error(`invariant: keyset cursor modifiedon is not an ISO UTC instant: ${t}`);
    if (!Number.isSafeInteger(cursor.version)) throw new Error(`invariant: keyset cursor version is not an integer: ${cursor.version}`);
    parts.push(`(modifiedon gt ${t} or (modifiedon eq ${t} and versionnumber gt ${cursor.version}))`);
  }
  return parts.length ? parts.join(" and ") : null;
}

export function keysetPath(plan: ReadPlan, cursor: KeysetCursor | null): string {
  const q = [...selectExpand(plan)];
  const f = keysetFilter(plan.filter, cursor);
  if (f) q.push(`$filter=${f}`);
  q.push("$orderby=modifiedon asc,versionnumber asc", `$top=${plan.pageSize}`);
  return `${plan.entitySet}?${q.map(encodeQueryPart).join("&")}`;
}

/** Encode an option's value (keep `$name=` readable, escape what URLs need). */
function encodeQueryPart(p: string): string {
  const i = p.indexOf("=");
  return `${p.slice(0, i)}=${encodeURIComponent(p.slice(i + 1))
    .replace(/%2C/g, ",")
    .replace(/%24/g, "$")
    .replace(/%3D/g, "=")
    .replace(/%28/g, "(")
    .replace(/%29/g, ")")}`;
}

/** The cursor after a keyset page: the last row's (modifiedon, versionnumber). */
export function cursorOf(row: Record<string, unknown>): KeysetCursor | null {
  const m = row.modifiedon;
  const v = row.versionnumber;
  const version = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
  if (typeof m !== "string" || !Number.isSafeInteger(version)) return null;
  const ms = Date.parse(m);
  if (!Number.isFinite(ms)) return null;
  return { modifiedon: new Date(ms).toISOString().replace(".000Z", "Z"), version };
}

const DELETED_ENTITY = /\$deletedEntity$/;

/** A change-tracking page's rows apart from its `$deletedEntity` entries (ids of rows deleted in Dataverse). */
export function splitDeleted(value: Array<Record<string, unknown>>): { rows: Array<Record<string, unknown>>; deletedIds: string[] } {
  const rows: Array<Record<string, unknown>> = [];
  const deletedIds: string[] = [];
  for (const r of value) {
    const ctxUrl = r["@odata.context"];
    if (typeof ctxUrl === "string" && DELETED_ENTITY.test(ctxUrl)) {
      if (typeof r.id === "string") deletedIds.push(r.id);
      continue;
    }
    rows.push(r);
  }
  return { rows, deletedIds };
}
