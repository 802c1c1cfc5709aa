/**
 * How a job reads its source (pure): the $select, the strategy (change tracking vs keyset), the looked-up fields and
 * the URLs.
 *
 * Change tracking (`Prefer: odata.track-changes`) forbids $filter / $orderby / $expand / $top, so a job with a
 * source filter or an entity without change tracking reads with a keyset instead: `$orderby=modifiedon
 * asc,versionnumber asc` and `$filter=(job filter) and (modifiedon gt T or (modifiedon eq T and versionnumber gt V))`
 * with `$top`. versionnumber is a row version unique per table, so rows sharing a modifiedon second are never skipped
 * or repeated at a page boundary (tie-proof). Through-lookup mappings (`via`) don't change the strategy: the read
 * selects the lookup's `_x_value` and the looked-up fields are fetched per page from their own table (via-fields.ts),
 * so such a job keeps change tracking — and sees deletes.
 */
import type { AttributeInfo, EntityInfo } from "#contract/metadata";
import type { JobDraft } from "#contract/job";
import type { CreatedRange } from "../stores/run-partitions";
import { navigationProperty, rowKey } from "./mapper";

/** The looked-up fields of one navigation property, read from their own table (via-fields.ts). */
export interface ViaRead {
  /** Single-valued navigation property (`parentcustomerid_account`): where the mapper finds the fields in a row. */
  nav: string;
  /** The row key holding the looked-up record's id (`_parentcustomerid_value`). */
  lookupKey: string;
  entity: string;
  entitySet: string;
  primaryId: string;
  select: string[];
}

/** Re-read rows whose looked-up records changed since the job's last run (see sync-state.ts lookup watermarks). */
export interface RefreshPlan {
  /** `nav/versionnumber gt V` per looked-up table that changed, or-ed. */
  filter: string;
  /** Looked-up tables that changed → the watermark (versionnumber) the refresh reads after. */
  since: Record<string, number>;
}

export interface ReadPlan {
  entity: string;
  entitySet: string;
  primaryId: string;
  strategy: "delta" | "keyset";
  select: string[];
  /** nav → selected attributes of through-lookup mappings (the preview $expands them; a run reads them as `via`). */
  expand: Record<string, string[]>;
  via: ViaRead[];
  /** Set at init when looked-up tables changed since the last run: the rows to re-read after the main read. */
  refresh?: RefreshPlan | null;
  /** Each looked-up table's highest versionnumber at init: stored when the run ends, the next run's `since`. */
  watermarks?: Record<string, number>;
  filter: string | null;
  pageSize: number;
  /** Set at init for a partitioned first load (sync/partitions.ts): the createdon ranges read side by side. */
  partitions?: PartitionPlan | null;
  /** Identity of the read: a changed job (entity, filter, columns) invalidates stored delta links / cursors. */
  configHash: string;
}

/**
 * `entities` (the org's tables) name the looked-up tables of through-lookup mappings; without them (the preview) the
 * plan has no `via` reads.
 */
export function planRead(job: JobDraft, entity: EntityInfo, attributes: AttributeInfo[], pageSize: number, entities: EntityInfo[] = []): ReadPlan {
  const byName = new Map(attributes.map((a) => [a.logicalName, a]));
  const select = new Set<string>([entity.primaryIdAttribute]);
  const expand: Record<string, Set<string>> = {};
  const via = new Map<string, ViaRead>();
  const addSource = (logical: string) => {
    if (logical.startsWith("_") && logical.endsWith("_value")) select.add(logical);
    else select.add(rowKey(byName.get(logical), logical));
  };
  for (const i of job.identifiers) addSource(i.source);
  for (const m of job.mappings) {
    if (m.via) {
      const nav = navigationProperty(byName.get(m.source), m);
      (expand[nav] ??= new Set()).add(m.via.attribute);
      const target = entities.find((e) => e.logicalName === m.via!.entity);
      if (!target) continue;
      const lookupKey = `_${m.source}_value`;
      select.add(lookupKey);
      const v = via.get(nav) ?? {
        nav,
        lookupKey,
        entity: target.logicalName,
        entitySet: target.entitySetName,
        primaryId: target.primaryIdAttribute,
        select: [],
      };
      if (!v.select.includes(m.via.attribute)) v.select.push(m.via.attribute);
      via.set(nav, v);
    } else addSource(m.source);
  }
  for (const l of job.lookups) for (const mm of l.match) addSource(mm.source);
  const strategy: ReadPlan["strategy"] = entity.changeTracking && !job.source.filter ? "delta" : "keyset";
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
    via: [...via.values()].map((v) => ({ ...v, select: [...v.select].sort() })),
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

/** First request of a change-tracking read (full sync with track-changes; its last page carries the deltaLink). */
export function deltaInitialPath(plan: ReadPlan): string {
  return `${plan.entitySet}?${encodeQueryPart(`$select=${plan.select.join(",")}`)}`;
}

/**
 * Rows whose looked-up record changed after `since` (per looked-up table), filtered on the single-valued navigation
 * property (`parentcustomerid_account/versionnumber gt V`, Dataverse's "filter using lookup column property values");
 * paged with nextLinks. versionnumber, not modifiedon: a row version grows with every change, so a change in the same
 * second as the watermark is neither missed nor re-read forever.
 */
export function refreshFilter(via: ViaRead[], since: Record<string, number>): string | null {
  const parts = via.filter((v) => since[v.entity] !== undefined).map((v) => `${v.nav}/versionnumber gt ${safeInteger(since[v.entity]!)}`);
  return parts.length ? parts.join(" or ") : null;
}

export function refreshPath(plan: ReadPlan, refresh: RefreshPlan): string {
  const f = plan.filter ? `(${plan.filter}) and (${refresh.filter})` : refresh.filter;
  return `${plan.entitySet}?${[`$select=${plan.select.join(",")}`, `$filter=${f}`].map(encodeQueryPart).join("&")}`;
}

/** A refresh read's position is stored in runs.next_link with this prefix (no Dataverse link starts so). */
const REFRESH = "refresh:";
export const asRefreshLink = (path: string): string => REFRESH + path;
export const refreshLinkPath = (link: string | null): string | null => (link?.startsWith(REFRESH) ? link.slice(REFRESH.length) : null);

function safeInteger(n: number): number {
  if (!Number.isSafeInteger(n)) throw new Error(`invariant: a lookup watermark is not an integer: ${n}`);
  return n;
}

/** A partitioned first load: its createdon ranges, and the keyset position the job continues from afterwards. */
export interface PartitionPlan {
  ranges: CreatedRange[];
  /**
   * Rows per page of a partition: the plan's page size shared by the streams, so the pages a load holds in memory
   * (each stream's page and the one fetched ahead) are no more than one stream's — the isolate's heap does not grow
   * with the number of streams.
   */
  pageSize: number;
  /** Just before the newest change Dataverse had when the load began: later runs read the changes after it. */
  since: KeysetCursor;
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
  const q = [`$select=${plan.select.join(",")}`];
  const f = keysetFilter(plan.filter, cursor);
  if (f) q.push(`$filter=${f}`);
  q.push("$orderby=modifiedon asc,versionnumber asc", `$top=${plan.pageSize}`);
  return `${plan.entitySet}?${q.map(encodeQueryPart).join("&")}`;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/**
 * A partition's read: the keyset read (modifiedon, versionnumber order, `$top`) of the rows created in its range, with
 * the job's filter. createdon never changes, so every row is in exactly one partition, and a row modified while its
 * partition is read moves to that partition's end and is read again (an upsert: nothing doubles). The first range
 * also takes rows without a createdon.
 */
export function partitionPath(plan: ReadPlan, range: CreatedRange, cursor: KeysetCursor | null): string {
  for (const t of [range.from, range.to]) {
    if (t !== null && !ISO_INSTANT.test(t)) throw new Error(`invariant: a partition bound is not an ISO UTC instant in seconds: ${t}`);
  }
  const bounds = [
    range.from && `createdon ge ${range.from}`,
    range.to && (range.from ? `createdon lt ${range.to}` : `(createdon eq null or createdon lt ${range.to})`),
  ];
  const parts = [plan.filter && `(${plan.filter})`, ...bounds].filter((p): p is string => !!p);
  const select = [...new Set([...plan.select, "modifiedon", "versionnumber"])].sort();
  const pageSize = plan.partitions?.pageSize ?? plan.pageSize;
  return keysetPath({ ...plan, select, pageSize, filter: parts.length ? parts.join(" and ") : null }, cursor);
}

/** The first row of the job's rows by `column` (`createdon` / `modifiedon`), ascending or descending: `$top=1`. */
export function firstRowPath(plan: ReadPlan, column: "createdon" | "modifiedon", dir: "asc" | "desc"): string {
  const filter = [`${column} ne null`, plan.filter && `(${plan.filter})`].filter((p): p is string => !!p).join(" and ");
  const q = [`$select=${column === "createdon" ? "createdon" : "modifiedon,versionnumber"}`, `$filter=${filter}`, `$orderby=${column} ${dir}`, "$top=1"];
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
