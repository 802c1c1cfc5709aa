/** State of one simulated Dataverse org: catalog (metadata), data, security roles, faults, stats. */
import { Catalog, LOOKUP_TYPES, type EntityModel, type RawAttr } from "./schema";
import { EntityStore, OrgData, baseVersion, isRef, type OrgDataSpec, type Row, type Value } from "./data";
import { ENTITY_PREFIX, rowGuid } from "./ids";
import { GUID_RE, hash32, isoSeconds, nameGuid, rng } from "./util";
import { ODataError } from "./odata";
import { DEFAULT_SETTINGS, type OrgSettings } from "./settings";
import { checkLevelFor, isReadLevel, makeRole, readLevelOf, roleSpec, type Principal, type ReadLevel, type Role, type RoleSpec } from "./security";

export interface FaultSpec {
  kind: "429" | "503" | "drop" | "slow" | "401";
  rate?: number;
  nth?: number;
  retryAfter?: number;
  delayMs?: number;
  path?: string;
  /** Stop after firing this many times (default unlimited for rate, 1 for nth). */
  times?: number;
}
interface FaultState extends FaultSpec {
  id: number;
  seen: number;
  fired: number;
  rand: () => number;
}

export interface OrgConfig {
  key: string;
  name: string;
  tenantId: string;
  organizationId: string;
  businessUnitId: string;
  spec: OrgDataSpec;
  /**
   * Security roles at reset, per principal (upn, application id, Entra object id or systemuserid — see
   * resolvePrincipal). Systemusers not listed hold no role.
   */
  roles: Record<string, RoleSpec[]>;
  /** For an org copy: the key of the org it was copied from. */
  copyOf?: string;
  /**
   * Key of the org whose records this org holds (the original of a copy, itself otherwise): record ids derived from a
   * key (security roles) are the same in a copy, like every other record id.
   */
  recordKey?: string;
  /** Latency and concurrency settings at start and after reset (default DEFAULT_SETTINGS). */
  settings?: OrgSettings;
}

export interface OrgStats {
  total: number;
  byStatus: Record<string, number>;
  faults: Record<string, number>;
  byPath: Record<string, number>;
  /** Web API requests admitted past authentication and still in flight, over all callers. */
  concurrent: number;
  /** The highest `concurrent` since start, reset or DELETE /_sandbox/stats. */
  maxConcurrent: number;
  /** The same per first path segment (`accounts`, `EntityDefinitions`): how many reads of one table overlapped. */
  maxConcurrentByPath: Record<string, number>;
}

/** A Web API path's first segment (`/api/data/v9.2/accounts(…)` → `accounts`): what the stats count by. */
function pathSegment(path: string): string {
  return path.replace(/^\/api\/data\/v9\.2\//, "").split(/[?(/]/)[0] || "/";
}

export class Org {
  url = "";
  catalog!: Catalog;
  data!: OrgData;
  stores = new Map<string, EntityStore>();
  version = 0;
  /** Delta tokens with a version below this are expired. */
  minDeltaVersion = 0;
  /** systemuserid → the roles the user holds (per-user copies: changing one affects no one else). */
  roles = new Map<string, Role[]>();
  faults: FaultState[] = [];
  private _faultSeq = 0;
  settings: OrgSettings = DEFAULT_SETTINGS;
  /** systemuserid → its requests in flight (Dataverse counts concurrency per user). */
  private _inFlight = new Map<string, number>();
  private _inFlightTotal = 0;
  private _inFlightByPath = new Map<string, number>();
  stats!: OrgStats;

  constructor(readonly cfg: OrgConfig) {
    this.reset();
  }
  get key(): string {
    return this.cfg.key;
  }
  /** Key that the ids of this org's records are derived from (a copy keeps its source's record ids). */
  get recordKey(): string {
    return this.cfg.recordKey ?? this.cfg.key;
  }
  get apiBase(): string {
    return `${this.url}/api/data/v9.2/`;
  }

  reset(): void {
    this.catalog = new Catalog();
    this.data = new OrgData(this.cfg.spec);
    this.stores = new Map(Object.keys(ENTITY_PREFIX).map((e) => [e, new EntityStore(e, this.data)]));
    let maxBase = 0;
    for (const e of Object.keys(ENTITY_PREFIX)) maxBase = Math.max(maxBase, baseVersion(e, this.data.count(e)));
    this.version = maxBase + 8;
    this.minDeltaVersion = 0;
    this.roles = new Map();
    for (const [ref, specs] of Object.entries(this.cfg.roles)) this.setRoles(ref, specs);
    this.clearFaults();
    this.settings = this.cfg.settings ?? DEFAULT_SETTINGS;
    this.resetStats();
  }
  resetStats(): void {
    // requests in flight stay counted: they are still running
    this.stats = {
      total: 0,
      byStatus: {},
      faults: {},
      byPath: {},
      concurrent: this._inFlightTotal,
      maxConcurrent: this._inFlightTotal,
      maxConcurrentByPath: Object.fromEntries(this._inFlightByPath),
    };
  }

  // ---------- concurrency (service protection) ----------
  /**
   * Admit a request of this caller if it has fewer than `concurrencyLimit` requests in flight: returns the function
   * that releases its slot (idempotent), or undefined when the caller is at the limit.
   */
  admit(systemUserId: string, path: string): (() => void) | undefined {
    const mine = this._inFlight.get(systemUserId) ?? 0;
    if (mine >= this.settings.concurrencyLimit) return undefined;
    this._inFlight.set(systemUserId, mine + 1);
    this._inFlightTotal++;
    const seg = pathSegment(path);
    const onPath = (this._inFlightByPath.get(seg) ?? 0) + 1;
    this._inFlightByPath.set(seg, onPath);
    this.stats.concurrent = this._inFlightTotal;
    this.stats.maxConcurrent = Math.max(this.stats.maxConcurrent, this._inFlightTotal);
    this.stats.maxConcurrentByPath[seg] = Math.max(this.stats.maxConcurrentByPath[seg] ?? 0, onPath);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this._inFlight.get(systemUserId) ?? 1) - 1;
      if (n > 0) this._inFlight.set(systemUserId, n);
      else this._inFlight.delete(systemUserId);
      this._inFlightTotal--;
      const p = (this._inFlightByPath.get(seg) ?? 1) - 1;
      if (p > 0) this._inFlightByPath.set(seg, p);
      else this._inFlightByPath.delete(seg);
      this.stats.concurrent = this._inFlightTotal;
    };
  }
  record(status: number, path: string): void {
    this.stats.total++;
    this.stats.byStatus[status] = (this.stats.byStatus[status] ?? 0) + 1;
    const seg = pathSegment(path);
    this.stats.byPath[seg] = (this.stats.byPath[seg] ?? 0) + 1;
  }

  entityBySet(set: string): EntityModel | undefined {
    return this.catalog.bySet.get(set);
  }
  entity(name: string): EntityModel | undefined {
    return this.catalog.byName.get(name);
  }
  store(entity: string): EntityStore | undefined {
    return this.stores.get(entity);
  }
  /** Which entity a GUID belongs to (generated ids carry the entity prefix; created ones are looked up). */
  entityOfId(id: string): string | undefined {
    const low = id.toLowerCase();
    for (const [e, s] of this.stores) if (s.get(low)) return e;
    return undefined;
  }
  getRow(entity: string, id: string): Row | null {
    return this.stores.get(entity)?.get(id) ?? null;
  }

  // ---------- principals & privileges ----------
  /** The systemuser behind a token, or undefined when the principal is not a member of the org. */
  principalFor(claims: { oid?: string; appid?: string; idtyp?: string }): Principal | undefined {
    const su = this.stores.get("systemuser")!;
    const app = claims.idtyp === "app";
    for (let i = 0; i < this.cfg.spec.specialUsers.length; i++) {
      const s = this.cfg.spec.specialUsers[i]!;
      const match = app ? s.applicationId !== undefined && s.applicationId === claims.appid : s.applicationId === undefined && s.aadOid === claims.oid;
      if (!match) continue;
      const id = this.data.id("systemuser", i);
      const row = su.get(id);
      if (!row) return undefined; // deleted through the control API
      return { kind: app ? "app" : "user", systemUserId: id, name: String(row.fullname ?? "") };
    }
    return undefined;
  }
  /** Resolve a principal reference of the control API: upn, client id, Entra object id or systemuserid. */
  resolvePrincipal(ref: string): string | undefined {
    const low = ref.toLowerCase();
    for (let i = 0; i < this.cfg.spec.specialUsers.length; i++) {
      const s = this.cfg.spec.specialUsers[i]!;
      const id = this.data.id("systemuser", i);
      if ([s.domainname, s.applicationId, s.aadOid, id].some((x) => x?.toLowerCase() === low)) return id;
    }
    if (GUID_RE.test(ref) && this.stores.get("systemuser")!.get(low)) return low;
    return undefined;
  }
  private _requirePrincipal(ref: string): string {
    const id = this.resolvePrincipal(ref);
    if (!id) throw new ODataError(`Unknown principal '${ref}'.`, "sandbox_unknown_principal", 404);
    return id;
  }
  private _requireEntity(entity: string): EntityModel {
    const m = this.entity(entity) ?? this.entityBySet(entity);
    if (!m) throw new ODataError(`Unknown entity '${entity}'.`, "sandbox_unknown_entity", 404);
    return m;
  }
  /** The roles a systemuser holds (empty for users without roles). */
  rolesOf(systemUserId: string): Role[] {
    return this.roles.get(systemUserId.toLowerCase()) ?? [];
  }
  /** Effective read depth of a principal on a table ("None" = no prvRead…). */
  readLevel(p: Principal | string, entity: string): ReadLevel {
    const m = this.entity(entity);
    if (!m) return "None";
    return readLevelOf(this.rolesOf(typeof p === "string" ? p : p.systemUserId), m);
  }
  canRead(p: Principal, entity: string): boolean {
    return this.readLevel(p, entity) !== "None";
  }
  /**
   * Row-level read check for a principal that holds the privilege: Basic reaches only rows the user owns (no teams or
   * sharing in the sandbox); Local, Deep and Global reach every row (one business unit per org).
   */
  rowFilter(p: Principal, model: EntityModel): ((row: Row) => boolean) | undefined {
    if (this.readLevel(p, model.logicalName) !== "Basic") return undefined;
    const me = p.systemUserId.toLowerCase();
    return (row) => {
      const o = row.ownerid;
      return isRef(o) && o.type === "systemuser" && o.id.toLowerCase() === me;
    };
  }
  /** Replace the roles of a principal (control API and reset). */
  setRoles(principal: string, specs: RoleSpec[]): void {
    const id = this._requirePrincipal(principal);
    if (!Array.isArray(specs)) throw new ODataError("roles must be an array of {name, allTables?, read?}.", "sandbox_bad_request");
    const roles = specs.map((spec, i) => {
      if (!spec || typeof spec.name !== "string") throw new ODataError("Every role needs a name.", "sandbox_bad_request");
      for (const [e, level] of Object.entries(spec.read ?? {})) if (e !== "*" && isReadLevel(level)) checkLevelFor(this._requireEntity(e), level);
      const role = makeRole(spec, nameGuid(`role:${this.recordKey}:${id}:${i}:${spec.name}`));
      // the control API takes entity set names too; roles store logical names
      for (const [e, level] of [...role.read]) {
        if (e === "*") continue;
        const m = this._requireEntity(e);
        if (m.logicalName !== e) {
          role.read.delete(e);
          role.read.set(m.logicalName, level);
        }
      }
      return role;
    });
    this.roles.set(id, roles);
  }
  /**
   * Set a principal's read level on one table: the first role grants exactly `level`, the others grant nothing on it
   * (a user without roles gets a role named "Sandbox role").
   */
  setReadLevel(principal: string, entity: string, level: ReadLevel): ReadLevel {
    const id = this._requirePrincipal(principal);
    const m = this._requireEntity(entity);
    if (!isReadLevel(level)) throw new ODataError(`depth must be None, Basic, Local, Deep or Global.`, "sandbox_bad_request");
    checkLevelFor(m, level);
    let roles = this.roles.get(id);
    if (!roles?.length) {
      roles = [makeRole({ name: "Sandbox role" }, nameGuid(`role:${this.recordKey}:${id}:0:Sandbox role`))];
      this.roles.set(id, roles);
    }
    roles.forEach((r, i) => r.read.set(m.logicalName, i === 0 ? level : "None"));
    return this.readLevel(id, m.logicalName);
  }
  /** Legacy form of the control API: read true = Global, false = None. */
  setPrivilege(principal: string, entity: string, read: boolean): void {
    this.setReadLevel(principal, entity, read ? "Global" : "None");
  }
  /** Control API view of a principal's roles and its effective read level on every table with data. */
  describePrivileges(principal: string): { systemuserid: string; roles: Array<RoleSpec & { roleId: string }>; read: Record<string, ReadLevel> } {
    const id = this._requirePrincipal(principal);
    const roles = this.rolesOf(id);
    const tables = new Set(Object.keys(ENTITY_PREFIX));
    for (const r of roles) for (const e of r.read.keys()) if (e !== "*") tables.add(e);
    return { systemuserid: id, roles: roles.map(roleSpec), read: Object.fromEntries([...tables].sort().map((e) => [e, this.readLevel(id, e)])) };
  }

  // ---------- rows (control API) ----------
  private _requireStore(entity: string): { model: EntityModel; store: EntityStore } {
    const model = this.entity(entity) ?? this.entityBySet(entity);
    const store = model && this.stores.get(model.logicalName);
    if (!model || !store)
      throw new ODataError(
        `Entity '${entity}' has no data in the sandbox (supported: ${Object.keys(ENTITY_PREFIX).join(", ")}).`,
        "sandbox_unknown_entity",
        404,
      );
    return { model, store };
  }
  /** Normalise control-API input values: lookups as `{id,type}`, a GUID, `_x_value`, or `x@odata.bind`. */
  private _normalise(model: EntityModel, input: Record<string, unknown>): Row {
    const out: Row = {};
    for (const [k, v] of Object.entries(input)) {
      let name = k;
      let val = v;
      const m1 = /^_(.+)_value$/.exec(k);
      const m2 = /^(.+)@odata\.bind$/.exec(k);
      if (m1) name = m1[1]!;
      if (m2) {
        name = m2[1]!;
        const c = /^(.+)_[a-z0-9]+$/.exec(name);
        if (!model.attrs.has(name) && c && model.attrs.get(c[1]!)?.type === "Customer") name = c[1]!;
        const b = /^\/?([a-z0-9_]+)\(([0-9a-fA-F-]{36})\)$/.exec(String(v));
        if (!b) throw new ODataError(`Bad @odata.bind value '${String(v)}'.`, "sandbox_bad_request");
        const t = this.entityBySet(b[1]!)?.logicalName ?? b[1]!;
        val = { id: b[2]!.toLowerCase(), type: t };
      }
      const attr = model.attrs.get(name);
      if (!attr) throw new ODataError(`Unknown attribute '${name}' on ${model.logicalName}.`, "sandbox_bad_request");
      if (LOOKUP_TYPES.has(attr.type) && val !== null) {
        if (typeof val === "string") {
          const t = this.entityOfId(val) ?? attr.targets?.[0] ?? "systemuser";
          val = { id: val.toLowerCase(), type: t };
        } else if (!isRef(val)) throw new ODataError(`Lookup '${name}' needs {id,type}, a GUID or @odata.bind.`, "sandbox_bad_request");
        else val = { id: val.id.toLowerCase(), type: val.type };
      }
      out[name] = val as Value;
    }
    return out;
  }
  private _stamp(row: Row): void {
    row.versionnumber = ++this.version;
    row.modifiedon = isoSeconds(Date.now());
  }
  createRow(entity: string, input: Record<string, unknown>): Row {
    const { model, store } = this._requireStore(entity);
    const values = this._normalise(model, input);
    let id = typeof values[model.primaryId] === "string" ? String(values[model.primaryId]).toLowerCase() : undefined;
    if (id && !GUID_RE.test(id)) throw new ODataError(`Bad id '${id}'.`, "sandbox_bad_request");
    if (id && store.get(id)) throw new ODataError(`A record with id ${id} already exists.`, "0x80040237", 412);
    if (!id) id = rowGuid(model.logicalName, this.cfg.spec.orgNumber, store.nextIndex++);
    const row: Row = {
      [model.primaryId]: id,
      statecode: 0,
      statuscode: 1,
      createdon: isoSeconds(Date.now()),
      ownerid: { id: this.data.id("systemuser", 0), type: "systemuser" },
    };
    Object.assign(row, values);
    row[model.primaryId] = id;
    this._stamp(row);
    store.overlay.set(id, { row, version: row.versionnumber as number });
    if (this.data.index(model.logicalName, id) < 0) store.addExtra(id);
    return row;
  }
  updateRow(entity: string, id: string, input: Record<string, unknown>): Row {
    const { model, store } = this._requireStore(entity);
    const cur = store.get(id);
    if (!cur) throw new ODataError(`${model.logicalName} With Id = ${id} Does Not Exist`, "0x80040217", 404);
    const row: Row = { ...cur, ...this._normalise(model, input) };
    row[model.primaryId] = id.toLowerCase();
    this._stamp(row);
    store.overlay.set(id.toLowerCase(), { row, version: row.versionnumber as number });
    return row;
  }
  deleteRow(entity: string, id: string): void {
    const { model, store } = this._requireStore(entity);
    if (!store.get(id)) throw new ODataError(`${model.logicalName} With Id = ${id} Does Not Exist`, "0x80040217", 404);
    store.overlay.set(id.toLowerCase(), { row: null, version: ++this.version });
  }

  // ---------- schema drift ----------
  removeAttribute(entity: string, attr: string): void {
    const model = this.entity(entity);
    if (!model?.attrs.has(attr)) throw new ODataError(`Unknown attribute '${entity}.${attr}'.`, "sandbox_unknown_attribute", 404);
    if (attr === model.primaryId) throw new ODataError(`The primary key can't be removed.`, "sandbox_bad_request");
    model.attrs.delete(attr);
  }
  retypeAttribute(entity: string, attr: string, type: string, extra: Partial<RawAttr> = {}): void {
    const model = this.entity(entity);
    const cur = model?.attrs.get(attr);
    if (!model || !cur) throw new ODataError(`Unknown attribute '${entity}.${attr}'.`, "sandbox_unknown_attribute", 404);
    const next: RawAttr = { ...cur, ...extra, type };
    if (!LOOKUP_TYPES.has(type)) delete next.targets;
    if (!["Picklist", "State", "Status", "Boolean", "MultiSelectPicklist"].includes(type)) delete next.options;
    model.attrs.set(attr, next);
  }

  // ---------- faults ----------
  addFault(spec: FaultSpec): number {
    if (!["429", "503", "drop", "slow", "401"].includes(spec.kind)) throw new ODataError(`Unknown fault kind '${String(spec.kind)}'.`, "sandbox_bad_request");
    const id = ++this._faultSeq;
    this.faults.push({ ...spec, id, seen: 0, fired: 0, rand: rng(hash32(this.cfg.spec.seed, "fault", id)) });
    return id;
  }
  /** Remove one fault (tests sharing an org remove only their own); false when there is no such fault. */
  removeFault(id: number): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }
  /** Remove all faults; ids (and so the seeded sequences) restart, which keeps runs reproducible. */
  clearFaults(): void {
    this.faults = [];
    this._faultSeq = 0;
  }
  listFaults(): Array<FaultSpec & { id: number; seen: number; fired: number }> {
    return this.faults.map(({ rand: _r, ...f }) => f);
  }
  /** The fault to apply to this request, if any (deterministic: seeded per fault, counted per matching request). */
  pickFault(path: string): FaultState | undefined {
    for (const f of this.faults) {
      if (f.path && !path.includes(f.path)) continue;
      f.seen++;
      const limit = f.times ?? (f.nth !== undefined ? 1 : Infinity);
      if (f.fired >= limit) continue;
      let fire: boolean;
      if (f.nth !== undefined) fire = f.seen === f.nth || (f.times !== undefined && f.seen > f.nth && f.fired < limit);
      else fire = f.rand() < (f.rate ?? 1);
      if (fire) {
        f.fired++;
        this.stats.faults[f.kind] = (this.stats.faults[f.kind] ?? 0) + 1;
        return f;
      }
    }
    return undefined;
  }
}
