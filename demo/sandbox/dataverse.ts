/**
 * The Dataverse Web API v9.2 of one org, as a pure request → response function (so `$batch` can call it too).
 * Shapes follow /work/shared/design/dataverse.md (Microsoft's public docs).
 */
import { associatedNav, HIDDEN_TYPES, LOOKUP_TYPES, navigationProperties, type EntityModel, type RawAttr } from "./schema";
import { CURRENCIES, isRef, type Row, type Value } from "./data";
import {
  columnRange,
  evalFilter,
  filterProps,
  ODataError,
  parseExpand,
  parseFilter,
  parseOrderBy,
  parseSelect,
  compareScalar,
  type ExpandItem,
  type OrderKey,
  type Scalar,
} from "./odata";
import type { Org } from "./org";
import { dotnetEncode, fmtDateTime, fmtDecimal, fmtInt, fmtMoney, GUID_RE, xmlEscape, xmlUnescape } from "./util";
import { metadataRequest } from "./metadata";
import { errorResponse, json, type ApiResponse } from "./response";
import { accessError, privilegeError, type Principal } from "./security";
import { userPrivilegesRequest } from "./userprivileges";

export interface ApiRequest {
  method: string;
  /** Path after `/api/data/v9.2/`, still percent-encoded. */
  path: string;
  rawQuery: string;
  headers: Record<string, string | undefined>;
  body?: string;
}
const FV = "@OData.Community.Display.V1.FormattedValue";
const LLN = "@Microsoft.Dynamics.CRM.lookuplogicalname";
const ANP = "@Microsoft.Dynamics.CRM.associatednavigationproperty";
const MAX_PAGE = 5000;

function fromError(e: unknown): ApiResponse {
  if (e instanceof ODataError) return errorResponse(e.status, e.code, e.message);
  return errorResponse(500, "0x80040216", `An unexpected error occurred: ${e instanceof Error ? e.message : String(e)}`);
}

// ---------------------------------------------------------------- query string & Prefer

const SUPPORTED = new Set(["$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken", "$deltatoken"]);

export interface Query {
  params: Map<string, string>;
  /** Raw `k=v` pieces in request order (still encoded), to rebuild nextLink/deltaLink. */
  raw: Array<{ key: string; raw: string }>;
}
export function parseQuery(rawQuery: string): Query {
  const params = new Map<string, string>();
  const raw: Query["raw"] = [];
  if (!rawQuery) return { params, raw };
  for (const piece of rawQuery.split("&")) {
    if (!piece) continue;
    const eq = piece.indexOf("=");
    const kRaw = eq < 0 ? piece : piece.slice(0, eq);
    const vRaw = eq < 0 ? "" : piece.slice(eq + 1);
    let key: string;
    let val: string;
    try {
      key = decodeURIComponent(kRaw);
      val = decodeURIComponent(vRaw);
    } catch {
      throw new ODataError(`The query string '${rawQuery.slice(0, 200)}' is not correctly percent-encoded.`);
    }
    if (key.startsWith("$")) {
      if (!SUPPORTED.has(key)) {
        if (key === "$apply") throw new ODataError(`The query parameter $apply is not supported by the sandbox`);
        throw new ODataError(`The query parameter ${key} is not supported`);
      }
      if (params.has(key)) throw new ODataError(`Query option '${key}' was specified more than once, but it must be specified at most once.`);
      params.set(key, val);
    }
    raw.push({ key, raw: piece });
  }
  return { params, raw };
}

export interface Prefer {
  maxPageSize?: number;
  annotations?: string[];
  trackChanges: boolean;
}
export function parsePrefer(h: string | undefined): Prefer {
  const out: Prefer = { trackChanges: false };
  if (!h) return out;
  for (const part of h.split(",").map((s) => s.trim())) {
    const m = /^odata\.maxpagesize\s*=\s*(\d+)$/i.exec(part);
    if (m) out.maxPageSize = Number(m[1]);
    const a = /^odata\.include-annotations\s*=\s*"?([^"]*)"?$/i.exec(part);
    if (a) out.annotations = a[1]!.split(/[, ]+/).filter(Boolean);
    if (/^odata\.track-changes$/i.test(part)) out.trackChanges = true;
  }
  // include-annotations="A,B" is split by the outer comma split; re-join quoted lists
  const q = /odata\.include-annotations\s*=\s*"([^"]*)"/i.exec(h);
  if (q)
    out.annotations = q[1]!
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  return out;
}
function wants(ann: string[] | undefined, name: string): boolean {
  if (!ann) return false;
  return ann.some((a) => a === "*" || a === name || (a.endsWith(".*") && name.startsWith(a.slice(0, -1))));
}

// ---------------------------------------------------------------- values & rows

/** The value of an attribute as it goes on the wire (handles schema drift: a retyped attribute converts). */
export function wireValue(attr: RawAttr, v: Value | undefined): Value {
  if (v === undefined || v === null) return null;
  const t = attr.type;
  if (LOOKUP_TYPES.has(t)) return isRef(v) ? v : typeof v === "string" && GUID_RE.test(v) ? { id: v, type: attr.targets?.[0] ?? "systemuser" } : null;
  if (isRef(v)) return t === "String" || t === "Memo" || t === "Uniqueidentifier" ? v.id : null;
  switch (t) {
    case "String":
    case "Memo":
    case "MultiSelectPicklist":
      return String(v);
    case "Boolean":
      return v === true || v === 1 || v === "true" || v === "1";
    case "Integer":
    case "BigInt":
    case "Picklist":
    case "State":
    case "Status": {
      const n = typeof v === "boolean" ? (v ? 1 : 0) : Math.trunc(Number(v));
      return Number.isFinite(n) ? n : null;
    }
    case "Money":
    case "Decimal":
    case "Double": {
      const n = typeof v === "boolean" ? (v ? 1 : 0) : Number(v);
      return Number.isFinite(n) ? n : null;
    }
    default:
      return v;
  }
}

interface Ctx {
  org: Org;
  principal: Principal;
  ann?: string[];
  /** per-request caches: primary names of lookup targets, annotation switches, default columns */
  names?: Map<string, string | undefined>;
  wantFV?: boolean;
  wantANP?: boolean;
  wantLLN?: boolean;
  cols?: Map<string, RawAttr[]>;
}

function optionLabel(attr: RawAttr, v: number | boolean): string | undefined {
  const n = typeof v === "boolean" ? (v ? 1 : 0) : v;
  return attr.options?.find((o) => o.value === n)?.label;
}

function formatted(ctx: Ctx, attr: RawAttr, v: Value, row: Row): string | undefined {
  if (v === null) return undefined;
  switch (attr.type) {
    case "Picklist":
    case "State":
    case "Status":
    case "Boolean":
      return optionLabel(attr, v as number | boolean) ?? String(v);
    case "MultiSelectPicklist":
      return String(v)
        .split(",")
        .map((x) => optionLabel(attr, Number(x)) ?? x)
        .join("; ");
    case "Money": {
      const cur = row.transactioncurrencyid;
      const key = isRef(cur) ? `symbol:${cur.id}` : "";
      let symbol = ctx.names?.get(key);
      if (symbol === undefined) {
        const c = isRef(cur) ? ctx.org.getRow("transactioncurrency", cur.id) : null;
        symbol = c?.currencysymbol ? String(c.currencysymbol) : CURRENCIES[0]!.symbol;
        (ctx.names ??= new Map()).set(key, symbol);
      }
      return fmtMoney(v as number, symbol);
    }
    case "DateTime":
      return fmtDateTime(String(v), attr.format === "DateOnly");
    case "Integer":
      return fmtInt(v as number);
    case "Decimal":
    case "Double":
      return fmtDecimal(v as number);
    default:
      if (isRef(v)) {
        const key = `${v.type}:${v.id}`;
        if (ctx.names?.has(key)) return ctx.names.get(key);
        const target = ctx.org.entity(v.type);
        const r = target ? ctx.org.getRow(v.type, v.id) : null;
        const name = r && target ? String(r[target.primaryName] ?? "") : undefined;
        (ctx.names ??= new Map()).set(key, name);
        return name;
      }
      return undefined;
  }
}

/** Resolve a $select/$filter/$orderby name (`name` or `_x_value`) to an attribute. */
function resolveAttr(model: EntityModel, name: string): RawAttr {
  const m = /^_(.+)_value$/.exec(name);
  const a = m ? model.attrs.get(m[1]!) : model.attrs.get(name);
  if (!a || (m && !LOOKUP_TYPES.has(a.type)))
    throw new ODataError(`Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${model.logicalName}'.`);
  return a;
}

function scalarOf(attr: RawAttr, v: Value | undefined): Scalar {
  const w = wireValue(attr, v);
  return isRef(w) ? w.id : w;
}

function defaultColumns(model: EntityModel): RawAttr[] {
  return [...model.attrs.values()].filter((a) => a.isValidForRead !== false && !HIDDEN_TYPES.has(a.type) && a.type !== "Image");
}

function writeAttr(ctx: Ctx, out: Record<string, unknown>, attr: RawAttr, row: Row): void {
  if (ctx.wantFV === undefined) {
    ctx.wantFV = wants(ctx.ann, FV.slice(1));
    ctx.wantANP = wants(ctx.ann, ANP.slice(1));
    ctx.wantLLN = wants(ctx.ann, LLN.slice(1));
  }
  const v = wireValue(attr, row[attr.logicalName]);
  if (LOOKUP_TYPES.has(attr.type)) {
    const key = `_${attr.logicalName}_value`;
    if (isRef(v)) {
      if (ctx.wantFV) {
        const f = formatted(ctx, attr, v, row);
        if (f !== undefined) out[key + FV] = f;
      }
      if (ctx.wantANP) out[key + ANP] = associatedNav(attr, v.type);
      if (ctx.wantLLN) out[key + LLN] = v.type;
      out[key] = v.id;
    } else out[key] = null;
    return;
  }
  if (v !== null && ctx.wantFV) {
    const f = formatted(ctx, attr, v, row);
    if (f !== undefined) out[attr.logicalName + FV] = f;
  }
  out[attr.logicalName] = v;
}

interface ExpandPlan {
  item: ExpandItem;
  attr: RawAttr;
  target: EntityModel;
  select: RawAttr[] | null;
  /** Row-level read check of the target (Basic depth), when there is one. */
  visible?: (row: Row) => boolean;
}

function projectRow(ctx: Ctx, model: EntityModel, row: Row, select: RawAttr[] | null, expand: ExpandPlan[], etag: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (etag) out["@odata.etag"] = `W/"${String(row.versionnumber ?? 0)}"`;
  let cols = select;
  if (!cols) {
    ctx.cols ??= new Map();
    cols = ctx.cols.get(model.logicalName) ?? defaultColumns(model);
    ctx.cols.set(model.logicalName, cols);
  }
  const seen = new Set<string>();
  for (const a of cols) {
    if (seen.has(a.logicalName)) continue;
    seen.add(a.logicalName);
    writeAttr(ctx, out, a, row);
  }
  if (select) {
    // Money columns bring their currency; the primary key is always returned.
    const cur = model.attrs.get("transactioncurrencyid");
    if (cur && !seen.has(cur.logicalName) && select.some((a) => a.type === "Money")) {
      writeAttr(ctx, out, cur, row);
      seen.add(cur.logicalName);
    }
    const pk = model.attrs.get(model.primaryId);
    if (pk && !seen.has(pk.logicalName)) writeAttr(ctx, out, pk, row);
  }
  for (const x of expand) {
    const ref = row[x.attr.logicalName];
    let r = isRef(ref) && ref.type === x.target.logicalName ? ctx.org.getRow(ref.type, ref.id) : null;
    if (r && x.visible && !x.visible(r)) r = null; // a related row outside the caller's depth is not joined
    out[x.item.nav] = r ? projectRow(ctx, x.target, r, x.select, [], false) : null;
  }
  return out;
}

// ---------------------------------------------------------------- paging cookie

/** Outer URL encoding of the $skiptoken value, as Dataverse writes it (`=` and `/` left as they are). */
function encodeOuter(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~=/!*'(),:;@]/.test(c) ? c : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}
const braceGuid = (id: string): string => `{${id.toUpperCase()}}`;

interface Cursor {
  page: number;
  lastId?: string;
  keys: Map<string, string | null>;
  tracking: boolean;
  trackingVersion?: number;
}

function cookieValue(v: Scalar): string | null {
  if (v === null) return null;
  if (typeof v === "boolean") return v ? "1" : "0";
  return String(v);
}

function buildSkipToken(
  model: EntityModel,
  page: number,
  first: Row,
  last: Row,
  order: OrderKey[],
  attrOf: (n: string) => RawAttr,
  tracking: boolean,
  trackingVersion: number | undefined,
): string {
  let inner = `<cookie page="${page}"${trackingVersion !== undefined ? ` trackingversion="${trackingVersion}"` : ""}>`;
  for (const k of order) {
    if (k.name === model.primaryId) continue;
    const a = attrOf(k.name);
    const lv = cookieValue(scalarOf(a, last[a.logicalName]));
    const fv = cookieValue(scalarOf(a, first[a.logicalName]));
    inner += `<${k.name}${lv !== null ? ` last="${xmlEscape(lv)}"` : ""}${fv !== null ? ` first="${xmlEscape(fv)}"` : ""} />`;
  }
  inner += `<${model.primaryId} last="${braceGuid(String(last[model.primaryId]))}" first="${braceGuid(String(first[model.primaryId]))}" /></cookie>`;
  const outer = `<cookie pagenumber="${page + 1}" pagingcookie="${dotnetEncode(inner)}" istracking="${tracking ? "True" : "False"}" />`;
  return encodeOuter(outer);
}

function parseSkipToken(token: string, model: EntityModel): Cursor {
  const bad = (): never => {
    throw new ODataError("The $skiptoken is not a valid paging cookie.", "0x80040203");
  };
  const pn = /pagenumber="(\d+)"/.exec(token);
  const pc = /pagingcookie="([^"]*)"/.exec(token);
  if (!pn || !pc) bad();
  let inner: string;
  try {
    inner = decodeURIComponent(pc![1]!);
  } catch {
    return bad();
  }
  const head = /^<cookie page="(\d+)"(?: trackingversion="(\d+)")?>/.exec(inner);
  if (!head) bad();
  const keys = new Map<string, string | null>();
  let lastId: string | undefined;
  for (const m of inner.matchAll(/<([A-Za-z0-9_]+)((?:\s+[a-z]+="[^"]*")*)\s*\/>/g)) {
    const attrs = Object.fromEntries([...m[2]!.matchAll(/([a-z]+)="([^"]*)"/g)].map((x) => [x[1]!, xmlUnescape(x[2]!)]));
    if (m[1] === model.primaryId) lastId = attrs.last?.replace(/[{}]/g, "").toLowerCase();
    else keys.set(m[1]!, attrs.last ?? null);
  }
  if (!lastId) bad();
  return { page: Number(pn![1]), lastId, keys, tracking: /istracking="True"/.test(token), trackingVersion: head![2] ? Number(head![2]) : undefined };
}

// ---------------------------------------------------------------- delta tokens

function deltaToken(version: number): string {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${version}!${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

// ---------------------------------------------------------------- handler

export async function handleApi(org: Org, principal: Principal, req: ApiRequest, depth = 0): Promise<ApiResponse> {
  try {
    const path = req.path.replace(/^\/+/, "");
    const decoded = decodeURIComponent(path);
    if (req.method === "POST" && decoded === "$batch") {
      if (depth > 0) throw new ODataError("Nested $batch is not supported.");
      return await handleBatch(org, principal, req);
    }
    if (req.method !== "GET")
      return errorResponse(
        405,
        "0x80060888",
        `The sandbox's Web API is read-only: ${req.method} is not supported here (use the control API under /_sandbox/ to change data).`,
      );
    if (decoded === "") return serviceDocument(org);
    if (decoded === "WhoAmI" || decoded === "WhoAmI()") {
      const bu = org.cfg.businessUnitId;
      return json(200, {
        "@odata.context": `${org.apiBase}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
        BusinessUnitId: bu,
        UserId: principal.systemUserId,
        OrganizationId: org.cfg.organizationId,
      });
    }
    if (decoded === "$metadata") return errorResponse(501, "0x80060888", "The sandbox does not serve the CSDL $metadata document; use EntityDefinitions.");
    if (decoded.startsWith("EntityDefinitions")) return metadataRequest(org, decoded, parseQuery(req.rawQuery).params);
    const fn = /^RetrieveTotalRecordCount\((.*)\)$/s.exec(decoded);
    if (fn) return retrieveTotalRecordCount(org, principal, fn[1]!, req.rawQuery);
    const privileges = userPrivilegesRequest(org, principal, decoded, req.rawQuery);
    if (privileges) return privileges;
    return await entityRequest({ org, principal }, decoded, req);
  } catch (e) {
    return fromError(e);
  }
}

/**
 * `RetrieveTotalRecordCount(EntityNames=@p)?@p=["account"]` (or inline `EntityNames=['account']`) →
 * `{ EntityRecordCountCollection: { Count, IsReadOnly: false, Keys, Values } }`. Dataverse answers from a snapshot
 * taken within the last 24 hours; the sandbox counts live rows (control-API changes show at once).
 */
function retrieveTotalRecordCount(org: Org, principal: Principal, args: string, rawQuery: string): ApiResponse {
  const m = /^\s*EntityNames\s*=\s*(.+?)\s*$/s.exec(args);
  if (!m) throw new ODataError("The function RetrieveTotalRecordCount requires the parameter 'EntityNames'.");
  let src = m[1]!;
  if (src.startsWith("@")) {
    const alias = parseQuery(rawQuery).raw.find((r) => r.key === src);
    if (!alias) throw new ODataError(`The parameter alias '${src}' is not defined in the query string.`);
    src = decodeURIComponent(alias.raw.slice(alias.raw.indexOf("=") + 1));
  }
  const list = /^\[(.*)\]$/s.exec(src.trim());
  if (!list) throw new ODataError(`The value '${src}' for 'EntityNames' is not a collection of strings.`);
  const names = [...list[1]!.matchAll(/'((?:[^']|'')*)'|"((?:[^"\\]|\\.)*)"/g)].map((x) => (x[1] !== undefined ? x[1].replace(/''/g, "'") : x[2]!));
  if (!names.length) throw new ODataError("'EntityNames' must name at least one table.");
  const values = names.map((name) => {
    const model = org.entity(name);
    // message approximated
    if (!model) throw new ODataError(`The entity with a name = '${name}' with namemapping = 'Logical' was not found in the MetadataCache.`, "0x80041102", 404);
    if (!org.canRead(principal, model.logicalName)) throw privilegeError(principal, model);
    return org.store(model.logicalName)?.count() ?? 0;
  });
  return json(200, {
    "@odata.context": `${org.apiBase}$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse`,
    EntityRecordCountCollection: { Count: names.length, IsReadOnly: false, Keys: names, Values: values },
  });
}

function serviceDocument(org: Org): ApiResponse {
  return json(200, {
    "@odata.context": `${org.apiBase}$metadata`,
    value: org.catalog.entities.map((e) => ({ name: e.entitySetName, kind: "EntitySet", url: e.entitySetName })),
  });
}

/**
 * How a $filter reads a property of a row: a column (`name`, `_x_value`), or a column of the record a single-valued
 * navigation property points at (`parentcustomerid_account/modifiedon`, "filter using lookup column property values";
 * null when the lookup is empty, points at another table, or at a row the caller can't read).
 */
function filterValue(
  base: { org: Org; principal: Principal },
  model: EntityModel,
  navs: ReturnType<typeof navigationProperties>,
  name: string,
): (row: Row) => Scalar {
  const slash = name.indexOf("/");
  if (slash < 0) {
    const attr = resolveAttr(model, name);
    return (row) => scalarOf(attr, row[attr.logicalName]);
  }
  const navName = name.slice(0, slash);
  const nav = navs.get(navName);
  if (!nav) throw new ODataError(`Could not find a property named '${navName}' on type 'Microsoft.Dynamics.CRM.${model.logicalName}'.`);
  const target = base.org.entity(nav.target);
  if (!target) throw new ODataError(`Navigation property '${navName}' targets '${nav.target}', which the sandbox doesn't model.`);
  if (!base.org.canRead(base.principal, target.logicalName)) throw privilegeError(base.principal, target);
  const attr = resolveAttr(target, name.slice(slash + 1));
  const visible = base.org.rowFilter(base.principal, target);
  return (row) => {
    const ref = row[nav.attr.logicalName];
    const r = isRef(ref) && ref.type === target.logicalName ? base.org.getRow(ref.type, ref.id) : null;
    return r && (!visible || visible(r)) ? scalarOf(attr, r[attr.logicalName]) : null;
  };
}

async function entityRequest(base: { org: Org; principal: Principal }, path: string, req: ApiRequest): Promise<ApiResponse> {
  const { org } = base;
  const m = /^([A-Za-z0-9_]+)(?:\(([^)]*)\))?(\/\$count)?$/.exec(path);
  if (!m) return errorResponse(404, "0x80060888", `Resource not found for the segment '${path.split("/")[0]}'.`);
  const model = org.entityBySet(m[1]!);
  if (!model) return errorResponse(404, "0x80060888", `Resource not found for the segment '${m[1]}'.`);
  const q = parseQuery(req.rawQuery);
  const prefer = parsePrefer(req.headers["prefer"]);
  const ctx: Ctx = { ...base, ann: prefer.annotations };
  if (!org.canRead(base.principal, model.logicalName)) throw privilegeError(base.principal, model);
  const store = org.store(model.logicalName);
  // Basic depth: only the caller's own rows exist for this request (lists, counts, deltas, single records).
  const visible = org.rowFilter(base.principal, model);

  const attrOf = (n: string): RawAttr => resolveAttr(model, n);
  const select = q.params.has("$select") ? parseSelect(q.params.get("$select")!).map(attrOf) : null;
  const navs = navigationProperties(model);
  const expand: ExpandPlan[] = q.params.has("$expand")
    ? parseExpand(q.params.get("$expand")!).map((item) => {
        const nav = navs.get(item.nav);
        if (!nav) throw new ODataError(`Could not find a property named '${item.nav}' on type 'Microsoft.Dynamics.CRM.${model.logicalName}'.`);
        const target = org.entity(nav.target);
        if (!target) throw new ODataError(`Navigation property '${item.nav}' targets '${nav.target}', which the sandbox doesn't model.`);
        if (!org.canRead(base.principal, target.logicalName)) throw privilegeError(base.principal, target);
        const tsel = item.select ? item.select.map((n) => resolveAttr(target, n)) : null;
        return { item, attr: nav.attr, target, select: tsel, visible: org.rowFilter(base.principal, target) };
      })
    : [];

  // single record
  if (m[2] !== undefined && !m[3]) {
    const id = m[2].replace(/^guid'|'$/g, "");
    if (!GUID_RE.test(id)) throw new ODataError(`Bad key '${m[2]}': the sandbox supports GUID keys only.`);
    const row = store?.get(id);
    if (!row) return errorResponse(404, "0x80040217", `${model.logicalName} With Id = ${id.toLowerCase()} Does Not Exist`);
    if (visible && !visible(row)) throw accessError(base.principal, model, id.toLowerCase());
    const body = {
      "@odata.context": `${org.apiBase}$metadata#${model.entitySetName}${contextSelect(select, expand)}/$entity`,
      ...projectRow(ctx, model, row, select, expand, true),
    };
    return json(200, body, prefer.annotations ? { "Preference-Applied": `odata.include-annotations="${prefer.annotations.join(",")}"` } : {});
  }

  const filterSrc = q.params.get("$filter");
  const filter = filterSrc !== undefined ? parseFilter(filterSrc) : undefined;
  const filterValues = new Map<string, (row: Row) => Scalar>();
  if (filter) for (const n of filterProps(filter)) filterValues.set(n, filterValue(base, model, navs, n));
  // One getter for every row (not a closure per row: scans evaluate the filter on every row of the table).
  let current: Row = {};
  const get = (n: string): Scalar => filterValues.get(n)!(current);
  const matches = (row: Row): boolean => {
    current = row;
    return (!visible || visible(row)) && (!filter || evalFilter(filter, get));
  };

  if (m[3]) {
    let n = 0;
    if (store) for (const row of store.iterate()) if (matches(row) && ++n >= MAX_PAGE) break;
    return { status: 200, headers: { "Content-Type": "text/plain", "OData-Version": "4.0" }, body: String(n) };
  }

  const order = q.params.has("$orderby") ? parseOrderBy(q.params.get("$orderby")!) : [];
  for (const k of order) attrOf(k.name);
  const topSrc = q.params.get("$top");
  const top = topSrc !== undefined ? Number(topSrc) : undefined;
  if (top !== undefined && (!Number.isInteger(top) || top < 0))
    throw new ODataError(`Invalid value '${topSrc}' for $top query option found. The $top query option requires a non-negative integer value.`);
  const countSrc = q.params.get("$count");
  if (countSrc !== undefined && countSrc !== "true" && countSrc !== "false") throw new ODataError(`'${countSrc}' is not a valid count option.`);

  const skip = q.params.get("$skiptoken");
  const cursor = skip !== undefined ? parseSkipToken(skip, model) : undefined;
  const deltaSrc = q.params.get("$deltatoken");
  const tracking = prefer.trackChanges || cursor?.tracking === true || deltaSrc !== undefined;
  const headers: Record<string, string> = {};
  const applied: string[] = [];

  if (tracking) {
    if (!model.changeTracking)
      return errorResponse(
        400,
        "0x80044353",
        `Change tracking is not enabled for the entity '${model.logicalName}'. Enable it on the table (ChangeTrackingEnabled) or use a keyset on modifiedon and versionnumber.`,
      );
    const bad = ["$filter", "$orderby", "$expand", "$top"].filter((k) => q.params.has(k));
    if (bad.length)
      return errorResponse(
        400,
        "0x80060888",
        `The query options ${bad.join(", ")} are not supported with change tracking (Prefer: odata.track-changes / $deltatoken).`,
      );
    applied.push("odata.track-changes");
  }

  if (deltaSrc !== undefined) return deltaResponse(ctx, model, q, select, deltaSrc, prefer, applied, visible);

  let pageSize = MAX_PAGE;
  if (prefer.maxPageSize !== undefined) {
    pageSize = Math.min(MAX_PAGE, Math.max(1, prefer.maxPageSize));
    applied.push(`odata.maxpagesize=${pageSize}`);
  }
  let limit = pageSize;
  let pageable = true;
  if (top !== undefined && prefer.maxPageSize === undefined && !tracking) {
    // $top without maxpagesize: one page of at most $top rows, no nextLink (maxpagesize wins when both are sent).
    limit = Math.min(top, MAX_PAGE);
    pageable = false;
  }
  if (prefer.annotations) applied.push(`odata.include-annotations="${prefer.annotations.join(",")}"`);
  if (applied.length) headers["Preference-Applied"] = applied.join(",");

  const pk = model.primaryId;
  const customOrder = order.length > 0 && !(order.length === 1 && order[0]!.name === pk && !order[0]!.desc);
  let rows: Row[] = [];
  if (store && limit > 0) {
    if (!customOrder) {
      for (const row of store.iterate(cursor?.lastId, { scan: !!filter })) {
        if (!matches(row)) continue;
        rows.push(row);
        if (rows.length > limit) break;
      }
    } else {
      const keyAttrs = order.map((k) => attrOf(k.name));
      const keyOf = (row: Row): Scalar[] => keyAttrs.map((a) => scalarOf(a, row[a.logicalName]));
      const cmpKeys = (ka: Scalar[], ia: string, kb: Scalar[], ib: string): number => {
        for (let i = 0; i < order.length; i++) {
          const a = ka[i]!;
          const b = kb[i]!;
          let c: number;
          if (a === null || b === null)
            c = a === b ? 0 : a === null ? -1 : 1; // nulls first, like SQL Server
          else c = compareScalar(a, b, keyAttrs[i]!.type === "DateTime" ? "datetime" : undefined) ?? 0;
          if (c !== 0) return order[i]!.desc ? -c : c;
        }
        return ia < ib ? -1 : ia > ib ? 1 : 0;
      };
      let after: { keys: Scalar[]; id: string } | undefined;
      if (cursor?.lastId) {
        const keys = order.map((k, i) => {
          const raw = cursor.keys.get(k.name) ?? null;
          if (raw === null) return null;
          const t = keyAttrs[i]!.type;
          return ["String", "Memo", "DateTime", "Uniqueidentifier", "Lookup", "Customer", "Owner", "MultiSelectPicklist"].includes(t)
            ? raw
            : t === "Boolean"
              ? raw === "1"
              : Number(raw);
        });
        after = { keys, id: cursor.lastId };
      }
      // Bounded top-k: memory O(page size), not O(rows).
      let buf: Array<{ k: Scalar[]; id: string; row: Row }> = [];
      const sortBuf = (): void => {
        buf.sort((x, y) => cmpKeys(x.k, x.id, y.k, y.id));
        buf = buf.slice(0, limit + 1);
      };
      // A createdon range in the filter narrows the scan through the index (EntityStore.iterateCreated).
      const range = filter ? columnRange(filter, "createdon") : null;
      for (const row of range ? store.iterateCreated(range.lo, range.hi) : store.iterate(undefined, { scan: true })) {
        if (!matches(row)) continue;
        const k = keyOf(row);
        const id = String(row[pk]);
        if (after && cmpKeys(k, id, after.keys, after.id) <= 0) continue;
        buf.push({ k, id, row });
        if (buf.length > 4 * (limit + 1)) sortBuf();
      }
      sortBuf();
      rows = buf.map((x) => x.row);
    }
  }
  const more = pageable && rows.length > limit;
  if (rows.length > limit) rows = rows.slice(0, limit);

  const body: Record<string, unknown> = { "@odata.context": `${org.apiBase}$metadata#${model.entitySetName}${contextSelect(select, expand)}` };
  if (countSrc === "true") {
    let n = 0;
    if (store) for (const row of store.iterate()) if (matches(row) && ++n >= MAX_PAGE) break;
    if (wants(prefer.annotations, "Microsoft.Dynamics.CRM.totalrecordcount")) {
      body["@Microsoft.Dynamics.CRM.totalrecordcount"] = n >= MAX_PAGE ? -1 : n;
      body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = n >= MAX_PAGE;
    }
    body["@odata.count"] = n;
  }
  body.value = rows.map((r) => projectRow(ctx, model, r, select, expand, true));
  const page = cursor?.page ?? 1;
  const trackingVersion = tracking ? (cursor?.trackingVersion ?? org.version) : undefined;
  if (more) {
    const token = buildSkipToken(model, page, rows[0]!, rows[rows.length - 1]!, customOrder ? order : [], attrOf, tracking, trackingVersion);
    body["@odata.nextLink"] = `${org.apiBase}${model.entitySetName}?${rebuild(q, ["$skiptoken"], `$skiptoken=${token}`)}`;
  } else if (tracking) {
    body["@odata.deltaLink"] =
      `${org.apiBase}${model.entitySetName}?${rebuild(q, ["$skiptoken", "$deltatoken"], `$deltatoken=${dotnetEncode(deltaToken(trackingVersion!))}`)}`;
  }
  return { ...json(200, body, headers), rows: rows.length };
}

function rebuild(q: Query, drop: string[], add: string): string {
  return [...q.raw.filter((p) => !drop.includes(p.key)).map((p) => p.raw), add].join("&");
}

function contextSelect(select: RawAttr[] | null, expand: Array<{ item: ExpandItem; select: RawAttr[] | null }>): string {
  const parts: string[] = [];
  if (select) for (const a of select) parts.push(LOOKUP_TYPES.has(a.type) ? `_${a.logicalName}_value` : a.logicalName);
  for (const x of expand) parts.push(`${x.item.nav}(${x.select ? x.select.map((a) => a.logicalName).join(",") : ""})`);
  return parts.length ? `(${parts.join(",")})` : "";
}

function deltaResponse(
  ctx: Ctx,
  model: EntityModel,
  q: Query,
  select: RawAttr[] | null,
  tokenSrc: string,
  prefer: Prefer,
  applied: string[],
  visible?: (row: Row) => boolean,
): ApiResponse {
  const { org } = ctx;
  const version = Number(/^(\d+)!/.exec(tokenSrc)?.[1] ?? NaN);
  if (!Number.isFinite(version)) throw new ODataError("The $deltatoken is not valid.", "0x80044352");
  if (version < org.minDeltaVersion)
    return errorResponse(400, "0x80044352", "Version stamp associated with the client has expired. Please perform a full sync.");
  const store = org.store(model.logicalName);
  const changed: Array<{ v: number; row: Row }> = [];
  const deleted: Array<{ v: number; id: string }> = [];
  if (store)
    for (const [id, o] of store.overlay) {
      if (o.version <= version) continue;
      if (o.row) {
        if (!visible || visible(o.row)) changed.push({ v: o.version, row: o.row });
      } else deleted.push({ v: o.version, id });
    }
  changed.sort((a, b) => a.v - b.v);
  deleted.sort((a, b) => a.v - b.v);
  const value: unknown[] = changed.map((c) => projectRow(ctx, model, c.row, select, [], true));
  for (const d of deleted) value.push({ "@odata.context": `${org.apiBase}$metadata#${model.entitySetName}/$deletedEntity`, id: d.id, reason: "deleted" });
  if (prefer.annotations) applied.push(`odata.include-annotations="${prefer.annotations.join(",")}"`);
  const response = json(
    200,
    {
      "@odata.context": `${org.apiBase}$metadata#${model.entitySetName}${contextSelect(select, [])}/$delta`,
      value,
      "@odata.deltaLink": `${org.apiBase}${model.entitySetName}?${rebuild(q, ["$skiptoken", "$deltatoken"], `$deltatoken=${dotnetEncode(deltaToken(org.version))}`)}`,
    },
    applied.length ? { "Preference-Applied": applied.join(",") } : {},
  );
  return { ...response, rows: value.length };
}

// ---------------------------------------------------------------- $batch (GET parts only)

async function handleBatch(org: Org, principal: Principal, req: ApiRequest): Promise<ApiResponse> {
  const ct = req.headers["content-type"] ?? "";
  const bm = /boundary=("?)([^";]+)\1/i.exec(ct);
  if (!/^multipart\/mixed/i.test(ct) || !bm) throw new ODataError("The $batch request must have Content-Type multipart/mixed with a boundary.");
  const boundary = bm[2]!;
  const body = req.body ?? "";
  const parts = body.split(`--${boundary}`).slice(1);
  const responses: ApiResponse[] = [];
  for (const part of parts) {
    if (part.startsWith("--")) break;
    const text = part.replace(/^\r?\n/, "");
    const sep = /\r?\n\r?\n/.exec(text);
    if (!sep) continue;
    const mimeHeaders = text.slice(0, sep.index);
    if (/multipart\/mixed/i.test(mimeHeaders)) throw new ODataError("Change sets are not supported by the sandbox's $batch (GET requests only).");
    const lines = text.slice(sep.index + sep[0].length).split(/\r?\n/);
    const reqLine = /^(GET|POST|PATCH|PUT|DELETE)\s+(\S+)\s+HTTP\/1\.1$/.exec(lines[0] ?? "");
    if (!reqLine) throw new ODataError("Malformed $batch part: expected a request line like 'GET /api/data/v9.2/accounts HTTP/1.1'.");
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      if (!l.trim()) break;
      const i = l.indexOf(":");
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let url = reqLine[2]!;
    url = url.replace(/^https?:\/\/[^/]+/, "").replace(/^\/?api\/data\/v9\.2\//, "");
    const qi = url.indexOf("?");
    const path = qi < 0 ? url : url.slice(0, qi);
    const rawQuery = qi < 0 ? "" : url.slice(qi + 1);
    if (reqLine[1] !== "GET") responses.push(errorResponse(405, "0x80060888", "The sandbox's $batch accepts GET requests only."));
    else responses.push(await handleApi(org, principal, { method: "GET", path, rawQuery, headers: { prefer: headers.prefer } }, 1));
  }
  if (responses.length > 1000) throw new ODataError("The number of requests in a batch can't exceed 1000.");
  const rb = `batchresponse_${boundary.replace(/^batch_/, "")}`;
  let out = "";
  for (const r of responses) {
    out += `--${rb}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 ${r.status} ${STATUS_TEXT[r.status] ?? ""}\r\n`;
    for (const [k, v] of Object.entries(r.headers)) out += `${k}: ${v}\r\n`;
    out += `\r\n${r.body}\r\n`;
  }
  out += `--${rb}--\r\n`;
  return { status: 200, headers: { "Content-Type": `multipart/mixed; boundary=${rb}`, "OData-Version": "4.0" }, body: out };
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
};
