/**
 * Deterministic data of one org. Row i of an entity is generated from (seed, org, entity, i) on demand; only rows
 * created/updated/deleted through the control API are kept (the overlay), so 1,000,000 accounts cost no memory.
 */
import {
  ENTITY_PREFIX,
  rowGuid,
  rowIndex,
  SU_INDEX,
  APP_CONNECTOR_ID,
  OID_CONTOSO_ADMIN,
  OID_CONTOSO_BASIC,
  OID_CONTOSO_LIMITED,
  OID_FABRIKAM_ADMIN,
} from "./ids";
import { CANONICAL_INSTANT } from "./odata";
import { hash32, int, isoDate, isoSeconds, pick, rng, type Rand } from "./util";

export interface LookupRef {
  id: string;
  type: string;
}
export type Value = string | number | boolean | null | LookupRef;
export type Row = Record<string, Value>;

export function isRef(v: unknown): v is LookupRef {
  return typeof v === "object" && v !== null && "id" in v && "type" in v;
}

export interface OrgDataSpec {
  orgNumber: number; // 0 contoso, 1 fabrikam
  seed: number;
  counts: Record<string, number>;
  /** Fixed systemusers at index 0..n of the org (demo users, application user). */
  specialUsers: Array<{ first: string; last: string; domainname: string; aadOid?: string; applicationId?: string; title: string }>;
  domain: string;
}

const FIRST = [
  "Alex",
  "Maria",
  "James",
  "Yuki",
  "Olivia",
  "Noah",
  "Amara",
  "Liam",
  "Sofia",
  "Mateo",
  "Priya",
  "Chen",
  "Emma",
  "Lucas",
  "Fatima",
  "Jonas",
  "Ava",
  "Ethan",
  "Zara",
  "Omar",
  "Isabella",
  "Hiro",
  "Elena",
  "Kwame",
  "Chloe",
  "Diego",
  "Nina",
  "Sven",
  "Leila",
  "Tomás",
  "Ingrid",
  "Rafael",
  "Aisha",
  "Pierre",
  "Mia",
  "Arjun",
  "Greta",
  "Samuel",
  "Lina",
  "Kenji",
];
const LAST = [
  "Smith",
  "García",
  "Müller",
  "Tanaka",
  "Johnson",
  "Rossi",
  "Okafor",
  "Nguyen",
  "Silva",
  "Kowalski",
  "Patel",
  "Andersson",
  "Dubois",
  "Kim",
  "O'Brien",
  "Hernández",
  "Schmidt",
  "Ivanova",
  "Cohen",
  "Jensen",
  "Haddad",
  "Lopez",
  "Brown",
  "Novak",
  "Wilson",
  "Yamamoto",
  "Fischer",
  "Costa",
  "Martin",
  "Singh",
];
const CO_A = [
  "Northwind",
  "Contoso",
  "Fabrikam",
  "Adventure",
  "Litware",
  "Tailspin",
  "Wide World",
  "Proseware",
  "Alpine",
  "Blue Yonder",
  "Coho",
  "Fourth Coffee",
  "Graphic Design",
  "Humongous",
  "Lucerne",
  "Margie's",
  "Nod",
  "Southridge",
  "Trey",
  "Woodgrove",
  "Bellows",
  "Datum",
  "Relecloud",
  "VanArsdel",
  "Wingtip",
];
const CO_B = [
  "Traders",
  "Systems",
  "Works",
  "Logistics",
  "Partners",
  "Dynamics",
  "Labs",
  "Foods",
  "Energy",
  "Analytics",
  "Health",
  "Robotics",
  "Financial",
  "Airlines",
  "Media",
  "Motors",
  "Consulting",
  "Outfitters",
  "Studios",
  "Manufacturing",
];
const CO_C = ["Ltd", "Inc.", "GmbH", "S.A.", "LLC", "plc", "AG", "Group", "Corp.", "B.V."];
const CITIES: Array<[string, string]> = [
  ["Seattle", "United States"],
  ["Redmond", "United States"],
  ["Chicago", "United States"],
  ["Berlin", "Germany"],
  ["Munich", "Germany"],
  ["Paris", "France"],
  ["Lyon", "France"],
  ["London", "United Kingdom"],
  ["Madrid", "Spain"],
  ["Tokyo", "Japan"],
  ["Toronto", "Canada"],
  ["Sydney", "Australia"],
  ["São Paulo", "Brazil"],
  ["Amsterdam", "Netherlands"],
  ["Zürich", "Switzerland"],
  ["Stockholm", "Sweden"],
];
const TITLES = [
  "Purchasing Manager",
  "CEO",
  "CFO",
  "Sales Director",
  "IT Manager",
  "Operations Lead",
  "Buyer",
  "Office Manager",
  "Head of Procurement",
  "Marketing Director",
  "Project Manager",
  "Engineer",
];
const PROJECT_A = [
  "ERP Rollout",
  "Website Relaunch",
  "Cloud Migration",
  "Data Warehouse",
  "CRM Integration",
  "Security Audit",
  "Mobile App",
  "Supply Chain Review",
  "Office Move",
  "Training Program",
];

const T0 = Date.UTC(2019, 0, 1);
/** All generated modifiedon values are before this instant; rows changed through the control API use "now". */
export const BASE_END = Date.UTC(2025, 5, 1);
const HOUR = 3600_000;

/** Stable code per entity used to interleave base versionnumbers (version = 1000 + 8*i + code). */
const VCODE: Record<string, number> = { account: 0, contact: 1, systemuser: 2, transactioncurrency: 3, cr123_project: 4 };
export function baseVersion(entity: string, i: number): number {
  return 1000 + 8 * i + (VCODE[entity] ?? 7);
}

export const CURRENCIES = [
  { iso: "USD", name: "US Dollar", symbol: "$", rate: 1 },
  { iso: "EUR", name: "Euro", symbol: "€", rate: 0.92 },
];

function times(r: Rand, i: number, n: number): { createdon: string; modifiedon: string } {
  const span = BASE_END - T0 - 30 * 24 * HOUR;
  const created = T0 + Math.floor((span * i) / Math.max(1, n)) + int(r, 0, 20) * HOUR;
  const modified = created + Math.floor(r() * (BASE_END - created - HOUR));
  return { createdon: isoSeconds(created), modifiedon: isoSeconds(modified) };
}

export class OrgData {
  constructor(readonly spec: OrgDataSpec) {}
  count(entity: string): number {
    return this.spec.counts[entity] ?? 0;
  }
  id(entity: string, i: number): string {
    return rowGuid(entity, this.spec.orgNumber, i);
  }
  index(entity: string, id: string): number {
    const i = rowIndex(entity, this.spec.orgNumber, id);
    return i >= 0 && i < this.count(entity) ? i : -1;
  }
  private _r(entity: string, i: number): Rand {
    return rng(hash32(this.spec.seed, this.spec.orgNumber, entity, i));
  }
  private _user(r: Rand): LookupRef {
    return { id: this.id("systemuser", int(r, 0, this.count("systemuser") - 1)), type: "systemuser" };
  }
  private _currency(r: Rand): { ref: LookupRef; rate: number } {
    const c = r() < 0.7 ? 0 : 1;
    return { ref: { id: this.id("transactioncurrency", c), type: "transactioncurrency" }, rate: CURRENCIES[c]!.rate };
  }

  generate(entity: string, i: number): Row | null {
    if (i < 0 || i >= this.count(entity)) return null;
    switch (entity) {
      case "account":
        return this._account(i);
      case "contact":
        return this._contact(i);
      case "systemuser":
        return this._systemuser(i);
      case "transactioncurrency":
        return this._currencyRow(i);
      case "cr123_project":
        return this._project(i);
      default:
        return null;
    }
  }

  private _common(entity: string, i: number, r: Rand): Row {
    const t = times(r, i, this.count(entity));
    const inactive = r() < 0.1;
    return {
      createdon: t.createdon,
      modifiedon: t.modifiedon,
      versionnumber: baseVersion(entity, i),
      statecode: inactive ? 1 : 0,
      statuscode: inactive ? 2 : 1,
      ownerid: this._user(r),
      createdby: this._user(r),
      modifiedby: this._user(r),
    };
  }

  private _account(i: number): Row {
    const r = this._r("account", i);
    const name = `${pick(r, CO_A)} ${pick(r, CO_B)} ${pick(r, CO_C)}`;
    const [city, country] = pick(r, CITIES);
    const cur = this._currency(r);
    const revenue = Math.round(r() * 50_000_000_00) / 100;
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "");
    const row: Row = {
      accountid: this.id("account", i),
      name,
      accountnumber: `AC-${String(i + 1).padStart(7, "0")}`,
      industrycode: int(r, 1, 33),
      customertypecode: int(r, 1, 12),
      accountcategorycode: r() < 0.5 ? 1 : 2,
      revenue,
      revenue_base: Math.round((revenue / cur.rate) * 100) / 100,
      transactioncurrencyid: cur.ref,
      exchangerate: cur.rate,
      numberofemployees: int(r, 1, 50_000),
      address1_city: city,
      address1_country: country,
      telephone1: `+1 555 ${String(int(r, 0, 9999999)).padStart(7, "0")}`,
      emailaddress1: `info@${slug.slice(0, 20)}.example`,
      websiteurl: `https://www.${slug.slice(0, 20)}.example`,
      donotemail: r() < 0.2,
      creditonhold: r() < 0.05,
      lastusedincampaign: r() < 0.6 ? isoDate(T0 + Math.floor(r() * (BASE_END - T0))) : null,
      description: r() < 0.3 ? `${name} is a customer in ${city}.` : null,
      parentaccountid: i > 10 && r() < 0.1 ? { id: this.id("account", int(r, 0, i - 1)), type: "account" } : null,
      primarycontactid: r() < 0.6 && this.count("contact") > 0 ? { id: this.id("contact", int(r, 0, this.count("contact") - 1)), type: "contact" } : null,
    };
    return Object.assign(row, this._common("account", i, r));
  }

  private _contact(i: number): Row {
    const r = this._r("contact", i);
    const first = pick(r, FIRST);
    const last = pick(r, LAST);
    const nAcc = this.count("account");
    const p = r();
    let parent: LookupRef | null = null;
    if (p < 0.85 && nAcc > 0) parent = { id: this.id("account", int(r, 0, nAcc - 1)), type: "account" };
    else if (p < 0.95 && i > 0) parent = { id: this.id("contact", int(r, 0, i - 1)), type: "contact" };
    const cur = this._currency(r);
    const income = r() < 0.5 ? Math.round(r() * 250_000_00) / 100 : null;
    const [city, country] = pick(r, CITIES);
    const row: Row = {
      contactid: this.id("contact", i),
      firstname: first,
      lastname: last,
      fullname: `${first} ${last}`,
      emailaddress1: `${first}.${last}${i}@example.com`.toLowerCase().replace(/[^a-z0-9.@]/g, ""),
      jobtitle: pick(r, TITLES),
      telephone1: `+1 555 ${String(int(r, 0, 9999999)).padStart(7, "0")}`,
      gendercode: r() < 0.5 ? 1 : 2,
      familystatuscode: int(r, 1, 4),
      preferredcontactmethodcode: int(r, 1, 5),
      birthdate: r() < 0.7 ? isoDate(Date.UTC(1950, 0, 1) + Math.floor(r() * 50 * 365.25 * 24 * HOUR)) : null,
      parentcustomerid: parent,
      annualincome: income,
      transactioncurrencyid: cur.ref,
      exchangerate: cur.rate,
      address1_city: city,
      address1_country: country,
      donotemail: r() < 0.15,
      donotphone: r() < 0.1,
    };
    return Object.assign(row, this._common("contact", i, r));
  }

  private _systemuser(i: number): Row {
    const r = this._r("systemuser", i);
    const special = this.spec.specialUsers[i];
    const first = special?.first ?? pick(r, FIRST);
    const last = special?.last ?? pick(r, LAST);
    const domain = special?.domainname ?? `${first}.${last}${i}@${this.spec.domain}`.toLowerCase().replace(/[^a-z0-9.@]/g, "");
    const common = this._common("systemuser", i, r);
    const row: Row = {
      systemuserid: this.id("systemuser", i),
      firstname: first,
      lastname: last,
      fullname: `${first} ${last}`,
      domainname: domain,
      internalemailaddress: special?.applicationId ? null : domain,
      title: special?.title ?? pick(r, TITLES),
      jobtitle: special?.title ?? pick(r, TITLES),
      isdisabled: false,
      accessmode: special?.applicationId ? 4 : 0, // 4 = Non-interactive (application user)
      azureactivedirectoryobjectid:
        special?.aadOid ?? `a1a1a1a1-${(this.spec.orgNumber + 1).toString(16).padStart(4, "0")}-4000-8000-${(i + 1).toString(16).padStart(12, "0")}`,
      applicationid: special?.applicationId ?? null,
      createdon: common.createdon ?? null,
      modifiedon: common.modifiedon ?? null,
      versionnumber: common.versionnumber ?? null,
      createdby: common.createdby ?? null,
      modifiedby: common.modifiedby ?? null,
    };
    return row;
  }

  private _currencyRow(i: number): Row {
    const c = CURRENCIES[i]!;
    return {
      transactioncurrencyid: this.id("transactioncurrency", i),
      currencyname: c.name,
      currencysymbol: c.symbol,
      isocurrencycode: c.iso,
      exchangerate: c.rate,
      currencyprecision: 2,
      statecode: 0,
      statuscode: 1,
      createdon: "2019-01-01T00:00:00Z",
      modifiedon: "2019-01-01T00:00:00Z",
      versionnumber: baseVersion("transactioncurrency", i),
    };
  }

  private _project(i: number): Row {
    const r = this._r("cr123_project", i);
    const nAcc = this.count("account");
    const acc = nAcc > 0 && r() < 0.95 ? int(r, 0, nAcc - 1) : -1;
    const cur = this._currency(r);
    const tags = [100000000, 100000001, 100000002, 100000003].filter(() => r() < 0.35);
    const budget = Math.round(r() * 2_000_000_00) / 100;
    const row: Row = {
      cr123_projectid: this.id("cr123_project", i),
      cr123_name: `${pick(r, PROJECT_A)} ${String.fromCharCode(65 + (i % 26))}${Math.floor(i / 26) + 1}`,
      cr123_accountid: acc >= 0 ? { id: this.id("account", acc), type: "account" } : null,
      cr123_stage: 100000000 + int(r, 0, 4),
      cr123_tags: tags.length ? tags.join(",") : null,
      cr123_budget: budget,
      cr123_budget_base: Math.round((budget / cur.rate) * 100) / 100,
      cr123_duedate: isoDate(Date.UTC(2025, 0, 1) + int(r, 0, 730) * 24 * HOUR),
      cr123_billable: r() < 0.7,
      cr123_hours: int(r, 8, 4000),
      transactioncurrencyid: cur.ref,
      exchangerate: cur.rate,
    };
    return Object.assign(row, this._common("cr123_project", i, r));
  }
}

export function orgSpecs(rows: number, seed: number): OrgDataSpec[] {
  return [
    {
      orgNumber: 0,
      seed,
      domain: "contoso.example",
      counts: { account: rows, contact: Math.round(rows * 1.5), systemuser: 40, transactioncurrency: 2, cr123_project: Math.max(1, Math.round(rows / 5)) },
      specialUsers: [
        { first: "Avery", last: "Admin", domainname: "admin@contoso.example", aadOid: OID_CONTOSO_ADMIN, title: "System Administrator" },
        { first: "Lee", last: "Limited", domainname: "limited@contoso.example", aadOid: OID_CONTOSO_LIMITED, title: "Salesperson" },
        {
          first: "# Connector",
          last: "App",
          domainname: `${APP_CONNECTOR_ID}@contoso.example`,
          applicationId: APP_CONNECTOR_ID,
          aadOid: "5b5b5b5b-0000-4000-8000-00000000c001",
          title: "Application user",
        },
        { first: "Blair", last: "Basic", domainname: "basic@contoso.example", aadOid: OID_CONTOSO_BASIC, title: "Sales Representative" },
      ],
    },
    {
      orgNumber: 1,
      seed,
      domain: "fabrikam.example",
      counts: { account: 25, contact: 40, systemuser: 12, transactioncurrency: 2, cr123_project: 6 },
      specialUsers: [{ first: "Frankie", last: "Fabrikam", domainname: "admin@fabrikam.example", aadOid: OID_FABRIKAM_ADMIN, title: "System Administrator" }],
    },
  ];
}

/** Tables up to this many generated rows keep them for filtered / ordered scans (EntityStore.iterate). */
const SCAN_CACHE_MAX_ROWS = 250_000;

/** Per-entity store: generated base rows + overlay of changes, iterated in primary-key order. */
export class EntityStore {
  /** id (lower-case) → current row (null = deleted) and the org version of the change. */
  readonly overlay = new Map<string, { row: Row | null; version: number }>();
  /** Ids of rows created through the control API that are not in the base range, sorted. */
  readonly extras: string[] = [];
  nextIndex: number;
  constructor(
    readonly entity: string,
    readonly data: OrgData,
  ) {
    this.nextIndex = data.count(entity);
  }
  get hasData(): boolean {
    return this.entity in ENTITY_PREFIX;
  }
  get(id: string): Row | null {
    const low = id.toLowerCase();
    const o = this.overlay.get(low);
    if (o) return o.row;
    const i = this.data.index(this.entity, low);
    return i >= 0 ? this.data.generate(this.entity, i) : null;
  }
  /** Live rows: the generated range plus rows created through the control API, minus deleted ones. O(overlay). */
  count(): number {
    let deleted = 0;
    for (const o of this.overlay.values()) if (o.row === null) deleted++;
    return this.data.count(this.entity) + this.extras.length - deleted;
  }
  /**
   * Generated rows kept for scans (`iterate(undefined, { scan: true })`): a `$filter` / `$orderby` query reads every row,
   * where Dataverse would use an index; generating 100,000 rows again for each such request would make the sandbox,
   * not the client, what a benchmark of filtered reads measures. Kept for tables up to SCAN_CACHE_MAX_ROWS (~2.3 KB a
   * row). Generated rows are never changed in place (changes go to the overlay as copies), so sharing them is safe.
   */
  private _scanCache: Array<Row | null> | null = null;

  /** Rows in primary-key order, strictly after `afterId` when given. */
  *iterate(afterId?: string, opts: { scan?: boolean } = {}): Generator<Row> {
    const n0 = this.data.count(this.entity);
    const cache = opts.scan && n0 <= SCAN_CACHE_MAX_ROWS ? (this._scanCache ??= new Array<Row | null>(n0).fill(null)) : null;
    const after = afterId?.toLowerCase();
    const n = this.data.count(this.entity);
    // first base index whose id > after (ids are monotonic in the index)
    let lo = 0;
    if (after !== undefined) {
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.data.id(this.entity, mid) <= after) lo = mid + 1;
        else hi = mid;
      }
    }
    let x = 0;
    if (after !== undefined) while (x < this.extras.length && this.extras[x]! <= after) x++;
    let i = lo;
    while (i < n || x < this.extras.length) {
      const baseId = i < n ? this.data.id(this.entity, i) : undefined;
      const extraId = this.extras[x];
      let id: string;
      if (baseId !== undefined && (extraId === undefined || baseId < extraId)) {
        id = baseId;
        i++;
        const o = this.overlay.get(id);
        if (o) {
          if (o.row) yield o.row;
          continue;
        }
        const row = cache ? (cache[i - 1] ??= this.data.generate(this.entity, i - 1)) : this.data.generate(this.entity, i - 1);
        if (row) yield row;
      } else {
        id = extraId!;
        x++;
        const o = this.overlay.get(id);
        if (o?.row) yield o.row;
      }
    }
  }
  /** Base rows by createdon (built once, from the scan's kept rows): an index for createdon ranges, as Dataverse has. */
  private _createdOrder: { keys: string[]; idx: Int32Array; unordered: number[] } | null = null;

  /**
   * Candidates for a scan whose filter bounds createdon to [lo, hi] (inclusive, canonical instants): the base rows in
   * that range by the index, the base rows without a canonical createdon, and every changed or created row (the
   * overlay, whatever its createdon). The caller's filter still decides; the order is not the primary key's.
   */
  *iterateCreated(lo: string | null, hi: string | null): Generator<Row> {
    const n = this.data.count(this.entity);
    if (n > SCAN_CACHE_MAX_ROWS) return yield* this.iterate(undefined, { scan: true });
    const order = (this._createdOrder ??= this._buildCreatedOrder(n));
    let a = 0;
    let b = order.keys.length;
    if (lo !== null)
      for (let h = b; a < h;) {
        const m = (a + h) >>> 1;
        if (order.keys[m]! < lo) a = m + 1;
        else h = m;
      }
    if (hi !== null)
      for (let l = a; l < b;) {
        const m = (l + b) >>> 1;
        if (order.keys[m]! <= hi) l = m + 1;
        else b = m;
      }
    const base = (i: number): Row | null => (this.overlay.has(this.data.id(this.entity, i)) ? null : this._scanCache![i]!);
    for (let p = a; p < b; p++) {
      const row = base(order.idx[p]!);
      if (row) yield row;
    }
    for (const i of order.unordered) {
      const row = base(i);
      if (row) yield row;
    }
    for (const o of this.overlay.values()) if (o.row) yield o.row;
  }

  private _buildCreatedOrder(n: number): { keys: string[]; idx: Int32Array; unordered: number[] } {
    const cache = (this._scanCache ??= new Array<Row | null>(n).fill(null));
    const keyed: Array<[string, number]> = [];
    const unordered: number[] = [];
    for (let i = 0; i < n; i++) {
      const row = (cache[i] ??= this.data.generate(this.entity, i));
      const c = row?.createdon;
      if (typeof c === "string" && CANONICAL_INSTANT.test(c)) keyed.push([c, i]);
      else unordered.push(i);
    }
    keyed.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    return { keys: keyed.map((k) => k[0]), idx: Int32Array.from(keyed, (k) => k[1]), unordered };
  }

  addExtra(id: string): void {
    let lo = 0;
    let hi = this.extras.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.extras[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    if (this.extras[lo] !== id) this.extras.splice(lo, 0, id);
  }
}

export { SU_INDEX };
