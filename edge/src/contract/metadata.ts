/** Normalised Dataverse metadata as the edge API returns it (built from EntityDefinitions with the casts Dataverse needs). */
export interface EntityInfo {
  logicalName: string;
  entitySetName: string;
  displayName: string;
  primaryIdAttribute: string;
  primaryNameAttribute: string | null;
  isCustom: boolean;
  changeTracking: boolean;
}

/** Dataverse AttributeType names (MultiSelect is Virtual + MultiSelectPicklistType in Dataverse; normalised here). */
export type AttributeType =
  | "Boolean"
  | "Customer"
  | "DateTime"
  | "Decimal"
  | "Double"
  | "Integer"
  | "Lookup"
  | "Memo"
  | "Money"
  | "Owner"
  | "PartyList"
  | "Picklist"
  | "State"
  | "Status"
  | "String"
  | "Uniqueidentifier"
  | "BigInt"
  | "EntityName"
  | "MultiSelectPicklist"
  | "Virtual"
  | "Other";

export interface AttributeInfo {
  logicalName: string;
  displayName: string;
  type: AttributeType;
  /** DateTime only: "DateOnly" | "DateAndTime". */
  format?: string;
  required: "none" | "recommended" | "required";
  readable: boolean;
  /** Lookup / Customer / Owner: the entities it may point to (Customer: account, contact). */
  targets?: string[];
  /** Picklist / State / Status / MultiSelectPicklist / Boolean: values with labels. */
  options?: Array<{ value: number; label: string }>;
}
