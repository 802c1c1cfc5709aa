/** EntityDefinitions and attribute metadata in Dataverse's shape (including the derived-type casts). */
import type { EntityModel, RawAttr, RawOption } from "./schema";
import { evalFilter, ODataError, parseExpand, parseFilter, parseSelect, type Scalar } from "./odata";
import type { Org } from "./org";
import { nameGuid } from "./util";
import { errorResponse, json, type ApiResponse } from "./response";

type Obj = Record<string, unknown>;

function label(text: string | undefined, id: string): Obj {
  if (!text) return { LocalizedLabels: [], UserLocalizedLabel: null };
  const l = { Label: text, LanguageCode: 1033, IsManaged: true, MetadataId: nameGuid("label:" + id), HasChanged: null };
  return { LocalizedLabels: [l], UserLocalizedLabel: l };
}

const TYPE_NAME: Record<string, string> = {
  Boolean: "BooleanType",
  Customer: "CustomerType",
  DateTime: "DateTimeType",
  Decimal: "DecimalType",
  Double: "DoubleType",
  Integer: "IntegerType",
  Lookup: "LookupType",
  Memo: "MemoType",
  Money: "MoneyType",
  Owner: "OwnerType",
  PartyList: "PartyListType",
  Picklist: "PicklistType",
  State: "StateType",
  Status: "StatusType",
  String: "StringType",
  Uniqueidentifier: "UniqueidentifierType",
  Virtual: "VirtualType",
  BigInt: "BigIntType",
  EntityName: "EntityNameType",
  Image: "ImageType",
  MultiSelectPicklist: "MultiSelectPicklistType",
  File: "FileType",
  ManagedProperty: "ManagedPropertyType",
  CalendarRules: "CalendarRulesType",
};
const ODATA_TYPE: Record<string, string> = {
  Boolean: "BooleanAttributeMetadata",
  Customer: "LookupAttributeMetadata",
  Lookup: "LookupAttributeMetadata",
  Owner: "LookupAttributeMetadata",
  DateTime: "DateTimeAttributeMetadata",
  Decimal: "DecimalAttributeMetadata",
  Double: "DoubleAttributeMetadata",
  Integer: "IntegerAttributeMetadata",
  Memo: "MemoAttributeMetadata",
  Money: "MoneyAttributeMetadata",
  Picklist: "PicklistAttributeMetadata",
  State: "StateAttributeMetadata",
  Status: "StatusAttributeMetadata",
  String: "StringAttributeMetadata",
  Uniqueidentifier: "UniqueIdentifierAttributeMetadata",
  BigInt: "BigIntAttributeMetadata",
  EntityName: "EntityNameAttributeMetadata",
  Image: "ImageAttributeMetadata",
  MultiSelectPicklist: "MultiSelectPicklistAttributeMetadata",
  Virtual: "AttributeMetadata",
  PartyList: "LookupAttributeMetadata",
};
const ENUM_TYPES = new Set(["Picklist", "MultiSelectPicklist", "State", "Status", "Boolean"]);

function attrType(a: RawAttr): string {
  return a.type === "MultiSelectPicklist" || a.type === "Image" ? "Virtual" : a.type;
}
export function odataTypeOf(a: RawAttr): string {
  return ODATA_TYPE[a.type] ?? "AttributeMetadata";
}

export function attributeMetadata(e: EntityModel, a: RawAttr, index: number): Obj {
  const id = `${e.logicalName}.${a.logicalName}`;
  const o: Obj = {
    "@odata.type": `#Microsoft.Dynamics.CRM.${odataTypeOf(a)}`,
    MetadataId: nameGuid("attr:" + id),
    LogicalName: a.logicalName,
    SchemaName: a.schemaName,
    EntityLogicalName: e.logicalName,
    AttributeType: attrType(a),
    AttributeTypeName: { Value: TYPE_NAME[a.type] ?? `${a.type}Type` },
    DisplayName: label(a.displayName, id + ":dn"),
    Description: label(a.description, id + ":desc"),
    RequiredLevel: {
      Value: a.requiredLevel ?? "None",
      CanBeChanged: a.requiredLevel !== "SystemRequired",
      ManagedPropertyLogicalName: "canmodifyrequirementlevelsettings",
    },
    IsValidForRead: a.isValidForRead !== false,
    IsValidForCreate: a.isValidForCreate !== false,
    IsValidForUpdate: a.isValidForUpdate !== false,
    IsCustomAttribute:
      a.logicalName.includes("_") && !/^(address\d|aging|adx_|msa_|msdyn_)/.test(a.logicalName) ? e.isCustom || a.logicalName.startsWith("cr123_") : false,
    IsPrimaryId: a.logicalName === e.primaryId,
    IsPrimaryName: a.logicalName === e.primaryName,
    IsLogical: false,
    AttributeOf: null,
    ColumnNumber: index + 1,
  };
  switch (a.type) {
    case "String":
    case "Memo":
      o.MaxLength = a.maxLength ?? null;
      o.Format = a.format ?? "Text";
      o.FormatName = { Value: a.format ?? "Text" };
      break;
    case "Lookup":
    case "Customer":
    case "Owner":
      o.Targets = a.targets ?? [];
      break;
    case "Money":
    case "Decimal":
    case "Double":
      o.Precision = a.precision ?? 2;
      o.MinValue = a.minValue ?? null;
      o.MaxValue = a.maxValue ?? null;
      break;
    case "Integer":
    case "BigInt":
      o.MinValue = a.minValue ?? null;
      o.MaxValue = a.maxValue ?? null;
      if (a.type === "Integer") o.Format = "None";
      break;
    case "DateTime":
      o.Format = a.format ?? "DateAndTime";
      o.DateTimeBehavior = { Value: a.format === "DateOnly" ? "DateOnly" : "UserLocal" };
      break;
    case "Picklist":
    case "MultiSelectPicklist":
      o.DefaultFormValue = -1;
      break;
  }
  return o;
}

function optionMeta(e: EntityModel, a: RawAttr, opt: RawOption): Obj {
  const o: Obj = {
    Value: opt.value,
    Color: null,
    IsManaged: !e.isCustom,
    ExternalValue: null,
    MetadataId: null,
    HasChanged: null,
    Label: label(opt.label, `${e.logicalName}.${a.logicalName}.${opt.value}`),
    Description: label("", ""),
  };
  if (a.type === "Status") o.State = opt.value <= 1 ? 0 : 1;
  if (a.type === "State") {
    o.DefaultStatus = opt.value + 1;
    o.InvariantName = opt.label;
  }
  return o;
}

function optionSet(e: EntityModel, a: RawAttr): Obj {
  const base: Obj = {
    MetadataId: nameGuid(`optionset:${e.logicalName}.${a.logicalName}`),
    Name: `${e.logicalName}_${a.logicalName}`,
    IsGlobal: false,
    IsCustomOptionSet: e.isCustom,
    OptionSetType: a.type === "MultiSelectPicklist" ? "Picklist" : a.type,
  };
  const opts = a.options ?? [];
  if (a.type === "Boolean") {
    const t = opts.find((o) => o.value === 1) ?? { value: 1, label: "Yes" };
    const f = opts.find((o) => o.value === 0) ?? { value: 0, label: "No" };
    base.TrueOption = optionMeta(e, a, t);
    base.FalseOption = optionMeta(e, a, f);
  } else base.Options = opts.map((o) => optionMeta(e, a, o));
  return base;
}

export function entityMetadata(e: EntityModel): Obj {
  return {
    MetadataId: e.metadataId,
    LogicalName: e.logicalName,
    SchemaName: e.schemaName,
    EntitySetName: e.entitySetName,
    LogicalCollectionName: e.entitySetName,
    CollectionSchemaName: e.schemaName + "s",
    DisplayName: label(e.displayName, e.logicalName + ":dn"),
    DisplayCollectionName: label(e.displayCollectionName, e.logicalName + ":dcn"),
    Description: label(e.description, e.logicalName + ":desc"),
    PrimaryIdAttribute: e.primaryId,
    PrimaryNameAttribute: e.primaryName,
    ObjectTypeCode: e.objectTypeCode,
    OwnershipType: e.ownershipType,
    IsCustomEntity: e.isCustom,
    IsManaged: !e.isCustom,
    IsActivity: false,
    IsIntersect: false,
    IsValidForAdvancedFind: true,
    ChangeTrackingEnabled: e.changeTracking,
  };
}

function getPath(o: Obj, path: string): Scalar {
  let cur: unknown = o;
  for (const seg of path.split("/")) {
    if (cur === null || typeof cur !== "object") return null;
    cur = (cur as Obj)[seg];
  }
  if (cur === undefined || (typeof cur === "object" && cur !== null)) {
    // Managed properties ({Value}) compare by their Value
    if (cur && typeof cur === "object" && "Value" in cur) return (cur as { Value: Scalar }).Value;
    return null;
  }
  return cur as Scalar;
}

function selectProps(o: Obj, select: string[] | undefined, keep: string[]): Obj {
  if (!select) return o;
  const out: Obj = {};
  for (const k of keep) if (k in o) out[k] = o[k];
  for (const k of select) if (k in o) out[k] = o[k];
  return out;
}

const LOGICAL_KEY = /^\(LogicalName='([^']+)'\)|^\(([0-9a-fA-F-]{36})\)/;

export function metadataRequest(org: Org, path: string, params: Map<string, string>): ApiResponse {
  for (const k of params.keys())
    if (!["$select", "$filter", "$expand"].includes(k)) throw new ODataError(`The query parameter ${k} is not supported on metadata.`);
  const select = params.has("$select") ? parseSelect(params.get("$select")!) : undefined;
  const filter = params.has("$filter") ? parseFilter(params.get("$filter")!) : undefined;
  const expand = params.has("$expand") ? parseExpand(params.get("$expand")!) : [];
  let rest = path.slice("EntityDefinitions".length);
  const ctxBase = `${org.apiBase}$metadata#EntityDefinitions`;

  if (rest === "") {
    const attrExpand = expand.find((x) => x.nav === "Attributes");
    for (const x of expand)
      if (x.nav !== "Attributes") throw new ODataError(`Could not find a property named '${x.nav}' on type 'Microsoft.Dynamics.CRM.EntityMetadata'.`);
    const value = org.catalog.entities
      .map((e) => ({ e, o: entityMetadata(e) }))
      .filter(({ o }) => !filter || evalFilter(filter, (n) => getPath(o, n)))
      .map(({ e, o }) => {
        const out = selectProps(o, select, ["MetadataId"]);
        if (attrExpand)
          out.Attributes = [...e.attrs.values()].map((a, i) => selectProps(attributeMetadata(e, a, i), attrExpand.select, ["@odata.type", "MetadataId"]));
        return out;
      });
    return json(200, { "@odata.context": `${ctxBase}${select ? `(${select.join(",")})` : ""}`, value });
  }

  const km = LOGICAL_KEY.exec(rest);
  if (!km) return errorResponse(404, "0x80060888", `Resource not found for the segment 'EntityDefinitions${rest.split("/")[0]}'.`);
  const e = km[1] ? org.entity(km[1]) : org.catalog.entities.find((x) => x.metadataId === km[2]!.toLowerCase());
  if (!e) return errorResponse(404, "0x80040217", `Could not find entity with ${km[1] ? `LogicalName = ${km[1]}` : `MetadataId = ${km[2]}`}.`);
  rest = rest.slice(km[0].length);
  if (rest === "") {
    const o = selectProps(entityMetadata(e), select, ["MetadataId"]);
    const ax = expand.find((x) => x.nav === "Attributes");
    if (ax) o.Attributes = [...e.attrs.values()].map((a, i) => selectProps(attributeMetadata(e, a, i), ax.select, ["@odata.type", "MetadataId"]));
    return json(200, { "@odata.context": `${ctxBase}${select ? `(${select.join(",")})` : ""}/$entity`, ...o });
  }
  const am = /^\/Attributes(?:\(LogicalName='([^']+)'\)|\(([0-9a-fA-F-]{36})\))?(?:\/Microsoft\.Dynamics\.CRM\.([A-Za-z]+))?$/.exec(rest);
  if (!am) return errorResponse(404, "0x80060888", `Resource not found for the segment '${rest.split("/")[1] ?? rest}'.`);
  const cast = am[3];
  if (cast && !Object.values(ODATA_TYPE).includes(cast) && cast !== "EnumAttributeMetadata")
    throw new ODataError(`The type 'Microsoft.Dynamics.CRM.${cast}' is not a known type.`);
  const all = [...e.attrs.values()].map((a, i) => ({ a, i }));
  const castOk = (a: RawAttr): boolean =>
    !cast || cast === "AttributeMetadata" || odataTypeOf(a) === cast || (cast === "EnumAttributeMetadata" && ENUM_TYPES.has(a.type));
  for (const x of expand) {
    if (x.nav !== "OptionSet" && x.nav !== "GlobalOptionSet")
      throw new ODataError(`Could not find a property named '${x.nav}' on type 'Microsoft.Dynamics.CRM.${cast ?? "AttributeMetadata"}'.`);
    if (
      !cast ||
      ![
        "PicklistAttributeMetadata",
        "MultiSelectPicklistAttributeMetadata",
        "StateAttributeMetadata",
        "StatusAttributeMetadata",
        "BooleanAttributeMetadata",
        "EnumAttributeMetadata",
      ].includes(cast)
    )
      throw new ODataError(`Could not find a property named '${x.nav}' on type 'Microsoft.Dynamics.CRM.${cast ?? "AttributeMetadata"}'.`);
  }
  const render = (a: RawAttr, i: number): Obj => {
    const full = attributeMetadata(e, a, i);
    const out = selectProps(full, select, ["@odata.type", "MetadataId"]);
    for (const x of expand) {
      const os = x.nav === "OptionSet" ? optionSet(e, a) : null; // every sandbox option set is local (GlobalOptionSet null)
      out[x.nav] = os ? selectProps(os, x.select, ["MetadataId"]) : null;
    }
    return out;
  };
  const ctx = `${ctxBase}('${e.logicalName}')/Attributes${cast ? `/Microsoft.Dynamics.CRM.${cast}` : ""}${select ? `(${select.join(",")})` : ""}`;
  if (am[1] || am[2]) {
    const hit = all.find(({ a }) => (am[1] ? a.logicalName === am[1] : nameGuid(`attr:${e.logicalName}.${a.logicalName}`) === am[2]!.toLowerCase()));
    if (!hit) return errorResponse(404, "0x80040217", `Could not find attribute ${am[1] ?? am[2]} on entity ${e.logicalName}.`);
    if (!castOk(hit.a)) return errorResponse(404, "0x80060888", `The attribute ${hit.a.logicalName} is not of type Microsoft.Dynamics.CRM.${cast}.`);
    return json(200, { "@odata.context": `${ctx}/$entity`, ...render(hit.a, hit.i) });
  }
  const value = all
    .filter(({ a }) => castOk(a))
    .map(({ a, i }) => ({ o: attributeMetadata(e, a, i), a, i }))
    .filter(({ o }) => !filter || evalFilter(filter, (n) => getPath(o, n)))
    .map(({ a, i }) => render(a, i));
  return json(200, { "@odata.context": ctx, value });
}
