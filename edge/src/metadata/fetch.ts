/**
 * Fresh (uncached) metadata reads through the project's Dataverse client. The sync engine calls these directly;
 * the API routes go through cache.ts.
 */
import type { z } from "zod";
import type { AttributeInfo, EntityInfo } from "#contract/metadata";
import { dataverseJson, type DataverseRequestInit } from "../dataverse/client";
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

/** What a caller may add to the metadata requests (the sync engine observes service-protection headroom). */
type MetadataRequestOptions = Pick<DataverseRequestInit, "onHeadroom">;

function getMetadata<T>(orgUrl: string, token: string, path: string, schema: z.ZodType<T>, opts: MetadataRequestOptions): Promise<T> {
  return dataverseJson(orgUrl, path, { token, timeoutMs: TIMEOUT_MS, ...opts }, schema);
}

export async function fetchEntities(orgUrl: string, token: string, opts: MetadataRequestOptions = {}): Promise<EntityInfo[]> {
  const res = await getMetadata(
    orgUrl,
    token,
    "EntityDefinitions?$select=LogicalName,EntitySetName,DisplayName,PrimaryIdAttribute,PrimaryNameAttribute,IsCustomEntity,ChangeTrackingEnabled",
    EntityDefinitionsResponse,
    opts,
  );
  return normalizeEntities(res.value);
}

/** One entity's attributes: the base list plus the casts for lookup targets, option sets and date formats. */
export async function fetchAttributes(orgUrl: string, token: string, entity: string, opts: MetadataRequestOptions = {}): Promise<AttributeInfo[]> {
  if (!LOGICAL_NAME.test(entity)) throw new Error(`not a logical name: ${entity}`);
  const base = `EntityDefinitions(LogicalName='${entity}')/Attributes`;
  const cast = (type: string) => `${base}/Microsoft.Dynamics.CRM.${type}`;
  const optionCast = (type: string, expand = "OptionSet,GlobalOptionSet") =>
    getMetadata(orgUrl, token, `${cast(type)}?$select=LogicalName&$expand=${expand}`, OptionSetsResponse, opts);
  const [attributes, lookups, picklists, states, statuses, booleans, multi, dateTimes] = await Promise.all([
    getMetadata(
      orgUrl,
      token,
      `${base}?$select=LogicalName,AttributeType,AttributeTypeName,DisplayName,RequiredLevel,IsValidForRead,AttributeOf`,
      AttributesResponse,
      opts,
    ),
    getMetadata(orgUrl, token, `${cast("LookupAttributeMetadata")}?$select=LogicalName,Targets`, LookupsResponse, opts),
    optionCast("PicklistAttributeMetadata"),
    optionCast("StateAttributeMetadata", "OptionSet"),
    optionCast("StatusAttributeMetadata", "OptionSet"),
    optionCast("BooleanAttributeMetadata", "OptionSet,GlobalOptionSet"),
    optionCast("MultiSelectPicklistAttributeMetadata"),
    getMetadata(orgUrl, token, `${cast("DateTimeAttributeMetadata")}?$select=LogicalName,Format`, DateTimesResponse, opts),
  ]);
  return normalizeAttributes({
    attributes: attributes.value,
    lookups: lookups.value,
    optionSets: [...picklists.value, ...states.value, ...statuses.value, ...booleans.value, ...multi.value],
    dateTimes: dateTimes.value,
  });
}
