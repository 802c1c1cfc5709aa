import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { nameGuid, pick, rng } from "./util";

export interface RawOption {
  value: number;
  label: string;
}
export interface RawAttr {
  logicalName: string;
  schemaName: string;
  displayName?: string;
  description?: string;
  type: string;
  requiredLevel?: string;
  isValidForRead?: boolean;
  isValidForCreate?: boolean;
  isValidForUpdate?: boolean;
  targets?: string[];
  options?: RawOption[];
  format?: string;
  maxLength?: number;
  minValue?: number;
  maxValue?: number;
  precision?: number;
}
interface RawEntity {
  logicalName: string;
  schemaName: string;
  displayName: string;
  displayCollectionName?: string;
  entitySetName: string;
  primaryIdAttribute: string;
  primaryNameAttribute: string;
  ownershipType?: string;
  description?: string;
  isCustomEntity?: boolean;
  attributes: RawAttr[];
}

export interface EntityModel {
  logicalName: string;
  schemaName: string;
  entitySetName: string;
  displayName: string;
  displayCollectionName: string;
  description: string;
  primaryId: string;
  primaryName: string;
  isCustom: boolean;
  changeTracking: boolean;
  objectTypeCode: number;
  ownershipType: string;
  metadataId: string;
  /** Attributes by logical name, in schema order. Mutable per org (schema drift via the control API). */
  attrs: Map<string, RawAttr>;
  /** true when documented attributes come from Microsoft's reference (or the custom table file). */
  fullSchema: boolean;
}

const SCHEMA_DIR = fileURLToPath(new URL("./schema/", import.meta.url));
const readJson = <T>(name: string): T => JSON.parse(readFileSync(SCHEMA_DIR + name, "utf8")) as T;

const FULL = ["account", "contact", "systemuser", "transactioncurrency", "lead", "opportunity", "incident", "cr123_project"];
const OTC: Record<string, number> = {
  account: 1,
  contact: 2,
  opportunity: 3,
  lead: 4,
  systemuser: 8,
  incident: 112,
  transactioncurrency: 9105,
  cr123_project: 10001,
};
const TRACKED = new Set(["account", "contact", "cr123_project", "lead", "opportunity", "incident"]);

/** Plural entity set name the way Dataverse derives it for most tables. */
export function pluralize(n: string): string {
  if (/[^aeiou]y$/.test(n)) return n.slice(0, -1) + "ies";
  if (/(s|x|z|ch|sh)$/.test(n)) return n + "es";
  return n + "s";
}

const GEN_PREFIX = ["msdyn_", "adx_", "mspp_", "msfp_", "cr123_", "new_", "msevtmgt_", "mscrm_"];
const GEN_NOUN = [
  "workorder",
  "resourcebooking",
  "inspection",
  "surveyresponse",
  "agreement",
  "warehouse",
  "shipment",
  "invoiceline",
  "timeentry",
  "expense",
  "milestone",
  "certification",
  "assetcategory",
  "customerasset",
  "incidenttype",
  "functionallocation",
  "servicetask",
  "skill",
  "journal",
  "vendorrating",
  "projecttask",
  "estimate",
  "bookingrule",
  "purchaseorder",
  "rma",
  "territorygroup",
  "playbook",
  "sequence",
  "segment",
  "journey",
  "eventsession",
  "sponsor",
  "venue",
  "registration",
  "webform",
  "sitemarker",
  "contentsnippet",
  "pagetemplate",
  "portalcomment",
  "supportplan",
];

function buildCatalogTemplate(): EntityModel[] {
  const list: Array<{ logicalName: string; displayName: string; entitySetName?: string }> = readJson("entities.json");
  const out = new Map<string, EntityModel>();
  for (const name of FULL) {
    const e = readJson<RawEntity>(`${name}.json`);
    out.set(name, fromRaw(e));
  }
  for (const e of list) {
    if (out.has(e.logicalName)) continue;
    out.set(e.logicalName, minimal(e.logicalName, e.displayName, false, e.entitySetName));
  }
  // Fabricated plausible tables so EntityDefinitions is as long as a real org's (800+). See schema/README.md.
  const r = rng(4242);
  for (let i = 0; out.size < 830 && i < 5000; i++) {
    const prefix = pick(r, GEN_PREFIX);
    const noun = pick(r, GEN_NOUN);
    const name = `${prefix}${noun}${i % 3 === 0 ? "" : i % 3 === 1 ? "detail" : "log"}`;
    if (out.has(name)) continue;
    const label = noun.replace(/^./, (c) => c.toUpperCase()) + (i % 3 === 1 ? " Detail" : i % 3 === 2 ? " Log" : "");
    out.set(name, minimal(name, label, true));
  }
  return [...out.values()].sort((a, b) => (a.logicalName < b.logicalName ? -1 : 1));
}

function fromRaw(e: RawEntity): EntityModel {
  return {
    logicalName: e.logicalName,
    schemaName: e.schemaName,
    entitySetName: e.entitySetName ?? pluralize(e.logicalName),
    displayName: e.displayName,
    displayCollectionName: e.displayCollectionName ?? e.displayName,
    description: e.description ?? "",
    primaryId: e.primaryIdAttribute,
    primaryName: e.primaryNameAttribute,
    isCustom: e.isCustomEntity === true,
    changeTracking: TRACKED.has(e.logicalName),
    objectTypeCode: OTC[e.logicalName] ?? 10000 + (parseInt(nameGuid(e.logicalName).slice(0, 4), 16) % 5000),
    ownershipType: e.ownershipType ?? "UserOwned",
    metadataId: nameGuid("entity:" + e.logicalName),
    attrs: new Map(e.attributes.map((a) => [a.logicalName, a])),
    fullSchema: true,
  };
}

function minimal(name: string, displayName: string, custom: boolean, entitySetName?: string): EntityModel {
  const schema = name.replace(/^([a-z0-9]+_)?(.)/, (_m, p: string | undefined, c: string) => (p ?? "") + c.toUpperCase());
  const a = (ln: string, type: string, dn: string, extra: Partial<RawAttr> = {}): RawAttr => ({
    logicalName: ln,
    schemaName: ln,
    displayName: dn,
    type,
    requiredLevel: "None",
    isValidForRead: true,
    ...extra,
  });
  const attrs: RawAttr[] = [
    a(`${name}id`, "Uniqueidentifier", displayName, { requiredLevel: "SystemRequired" }),
    a(custom ? `${name.split("_")[0]}_name` : "name", "String", "Name", { maxLength: 100, format: "Text" }),
    a("createdon", "DateTime", "Created On", { format: "DateAndTime" }),
    a("modifiedon", "DateTime", "Modified On", { format: "DateAndTime" }),
    a("versionnumber", "BigInt", "Version Number"),
    a("statecode", "State", "Status", {
      options: [
        { value: 0, label: "Active" },
        { value: 1, label: "Inactive" },
      ],
    }),
    a("statuscode", "Status", "Status Reason", {
      options: [
        { value: 1, label: "Active" },
        { value: 2, label: "Inactive" },
      ],
    }),
  ];
  return {
    logicalName: name,
    schemaName: schema,
    entitySetName: entitySetName ?? pluralize(name),
    displayName,
    displayCollectionName: displayName,
    description: "",
    primaryId: `${name}id`,
    primaryName: attrs[1]!.logicalName,
    isCustom: custom,
    changeTracking: false,
    objectTypeCode: 10000 + (parseInt(nameGuid(name).slice(0, 4), 16) % 9000),
    ownershipType: "UserOwned",
    metadataId: nameGuid("entity:" + name),
    attrs: new Map(attrs.map((x) => [x.logicalName, x])),
    fullSchema: false,
  };
}

let TEMPLATE: EntityModel[] | undefined;

/** A fresh, per-org mutable copy of the catalog (attribute maps are copied; attribute objects are shared read-only). */
export class Catalog {
  readonly entities: EntityModel[];
  readonly byName = new Map<string, EntityModel>();
  readonly bySet = new Map<string, EntityModel>();
  constructor() {
    TEMPLATE ??= buildCatalogTemplate();
    this.entities = TEMPLATE.map((e) => ({ ...e, attrs: new Map(e.attrs) }));
    for (const e of this.entities) {
      this.byName.set(e.logicalName, e);
      this.bySet.set(e.entitySetName, e);
    }
  }
}

/** Types whose value is a reference to another row. */
export const LOOKUP_TYPES = new Set(["Lookup", "Customer", "Owner"]);
/** Attribute types not returned as plain columns (Image data, EntityName helpers). */
export const HIDDEN_TYPES = new Set(["Image", "EntityName", "Virtual", "ManagedProperty", "CalendarRules", "PartyList"]);

export function primaryTarget(a: RawAttr): string {
  return a.targets?.[0] ?? "systemuser";
}

/** Navigation properties (single-valued) of an entity: name → { attr, target }. */
export function navigationProperties(e: EntityModel): Map<string, { attr: RawAttr; target: string }> {
  const m = new Map<string, { attr: RawAttr; target: string }>();
  for (const a of e.attrs.values()) {
    if (!LOOKUP_TYPES.has(a.type)) continue;
    if (a.type === "Customer") for (const t of a.targets ?? []) m.set(`${a.logicalName}_${t}`, { attr: a, target: t });
    else m.set(a.logicalName, { attr: a, target: primaryTarget(a) });
  }
  return m;
}

/** The lookup navigation property Dataverse names in `associatednavigationproperty`. */
export function associatedNav(a: RawAttr, target: string): string {
  return a.type === "Customer" ? `${a.logicalName}_${target}` : a.logicalName;
}
