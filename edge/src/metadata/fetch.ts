/**
 * Fresh (uncached) metadata reads through the project's Dataverse client. The sync engine calls these directly;
 * the API routes go through cache.ts.
 */
import type { z } from "zod";
import type { AttributeInfo, EntityInfo } from "../contract/metadata";
import { dataverseJson } from "../dataverse/client";
import {
  AttributesResponse,
  DateTimesResponse,
  EntityDefinitionsResponse,
  LookupsResponse,
  normalizeAttributes,
  normalizeEntities,
  OptionSetsResponse,
} from "./normalize";

const TIMEOUT_MS = 20_000;
const LOGICAL_NAME = /^[a-z_][a-z0-9_]{0,99}$/;

function get<T>(orgUrl: string, token: string, path: string, schema: z.ZodType<T>): Promise<T> {
  return dataverseJson(orgUrl, path, { token, timeoutMs: TIMEOUT_MS }, schema);
}

export async function fetchEntities(orgUrl: string, token: string): Promise<EntityInfo[]> {
  const res = await get(
    orgUrl,
    token,
    "EntityDefinitions?$select=LogicalName,EntitySetName,DisplayName,PrimaryIdAttribute,PrimaryNameAttribute,IsCustomEntity,ChangeTrackingEnabled",
    EntityDefinitionsResponse,
  );
  return normalizeEntities(res.value);
}

/** One entity's attributes: the base list plus the casts for lookup targets, option sets and date formats. */
export async function fetchAttributes(orgUrl: string, token: string, entity: string): Promise<AttributeInfo[]> {
  if (!LOGICAL_NAME.test(entity)) throw new Error(`not a logical name: ${entity}`);
  const base = `EntityDefinitions(LogicalName='${entity}')/Attributes`;
  const cast = (type: string) => `${base}/Microsoft.Dynamics.CRM.${type}`;
  const optionCast = (type: string, expand = "OptionSet,GlobalOptionSet") => get(orgUrl, token, `${cast(type)}?$select=LogicalName&$expand=${expand}`, OptionSetsResponse);
  const [attributes, lookups, picklists, states, statuses, booleans, multi, dateTimes] = await Promise.all([
    get(orgUrl, token, `${base}?$select=LogicalName,AttributeType,AttributeTypeName,DisplayName,RequiredLevel,IsValidForRead,AttributeOf`, AttributesResponse),
    get(orgUrl, token, `${cast("LookupAttributeMetadata")}?$select=LogicalName,Targets`, LookupsResponse),
    optionCast("PicklistAttributeMetadata"),
    optionCast("StateAttributeMetadata", "OptionSet"),
    optionCast("StatusAttributeMetadata", "OptionSet"),
    optionCast("BooleanAttributeMetadata", "OptionSet,GlobalOptionSet"),
    optionCast("MultiSelectPicklistAttributeMetadata"),
    get(orgUrl, token, `${cast("DateTimeAttributeMetadata")}?$select=LogicalName,Format`, DateTimesResponse),
  ]);
  return normalizeAttributes({
    attributes: attributes.value,
    lookups: lookups.value,
    optionSets: [...picklists.value, ...states.value, ...statuses.value, ...booleans.value, ...multi.value],
    dateTimes: dateTimes.value,
  });
}
