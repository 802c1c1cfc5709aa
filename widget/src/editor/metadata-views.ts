/**
 * What the editor's sections derive from the loaded metadata: labels, attribute maps and the pickers' items.
 * Memoised on the arrays they read (and the language their badges are in), so a picker's items keep their identity
 * until its metadata or the language changes (the combobox rebuilds its search index whenever `items` is a new array —
 * 800+ tables).
 */
import { msg, str } from "@lit/localize";
import { isCompatibleAnyUse, isMappable } from "#contract/compatibility";
import { getLocale } from "../l10n/localization";
import type { ComboItem } from "./combobox";
import { fieldTypeLabel, typeIcon } from "./compatibility";
import { timeZones } from "./schedule";
import type { AttributeInfo, EntityInfo, FieldType, TargetObject } from "./types";

const NO_ITEMS: ComboItem[] = [];
const NO_ATTRS: ReadonlyMap<string, AttributeInfo> = new Map();

/** An entity's display name, or its logical name until the list is loaded. */
export function entityLabel(entities: readonly EntityInfo[] | null, logicalName: string): string {
  return entities?.find((e) => e.logicalName === logicalName)?.displayName || logicalName;
}

const attrMaps = new WeakMap<readonly AttributeInfo[], ReadonlyMap<string, AttributeInfo>>();
/** A table's columns by logical name. */
export function attrMap(attrs: readonly AttributeInfo[] | undefined): ReadonlyMap<string, AttributeInfo> {
  if (!attrs) return NO_ATTRS;
  let m = attrMaps.get(attrs);
  if (!m) attrMaps.set(attrs, (m = new Map(attrs.map((a) => [a.logicalName, a]))));
  return m;
}

/** A column's display name, or its logical name. */
export function attrLabel(attrs: readonly AttributeInfo[] | undefined, logicalName: string): string {
  return attrMap(attrs).get(logicalName)?.displayName || logicalName;
}

const entityItemsCache = new WeakMap<readonly EntityInfo[], { locale: string; items: ComboItem[] }>();
/** The "Dynamics table" picker: by display name, with Custom and Change tracking badges. */
export function entityItems(entities: readonly EntityInfo[] | null): ComboItem[] {
  if (!entities) return NO_ITEMS;
  const locale = getLocale();
  let items = entityItemsCache.get(entities)?.locale === locale ? entityItemsCache.get(entities)!.items : undefined;
  if (!items) {
    items = [...entities]
      .sort((a, b) => (a.displayName || a.logicalName).localeCompare(b.displayName || b.logicalName))
      .map((e) => ({
        value: e.logicalName,
        label: e.displayName || e.logicalName,
        secondary: e.logicalName,
        badges: [...(e.isCustom ? [msg("Custom")] : []), ...(e.changeTracking ? [msg("Change tracking")] : [])],
      }));
    entityItemsCache.set(entities, { locale, items });
  }
  return items;
}

const objectItemsCache = new WeakMap<readonly TargetObject[], { locale: string; items: ComboItem[] }>();
/** The "Target object" picker. */
export function objectItems(objects: readonly TargetObject[] | null): ComboItem[] {
  if (!objects) return NO_ITEMS;
  const locale = getLocale();
  let items = objectItemsCache.get(objects)?.locale === locale ? objectItemsCache.get(objects)!.items : undefined;
  if (!items) {
    items = objects.map((o) => ({ value: o.name, label: o.label, secondary: o.name, badges: [o.standard ? msg("Standard") : msg("Custom")] }));
    objectItemsCache.set(objects, { locale, items });
  }
  return items;
}

function attrItem(a: AttributeInfo, hint?: string): ComboItem {
  const badges = a.required === "required" ? [msg("Required")] : [];
  return { value: a.logicalName, label: a.displayName || a.logicalName, secondary: a.logicalName, icon: typeIcon(a.type), badges, ...(hint ? { hint } : {}) };
}

const sourceItemsCache = new WeakMap<readonly AttributeInfo[], Map<string, ComboItem[]>>();
/**
 * A column picker's items. For a target field of type `fieldType`: the columns that fit first, the rest behind a
 * "Show all columns" action (`showAll` lists them, with why they do not fit, and a "Hide" action).
 */
export function sourceItems(attrs: readonly AttributeInfo[] | undefined, fieldType: FieldType | null, showAll = false): ComboItem[] {
  if (!attrs) return NO_ITEMS;
  let byKey = sourceItemsCache.get(attrs);
  if (!byKey) sourceItemsCache.set(attrs, (byKey = new Map()));
  const key = `${fieldType ?? "*"}|${showAll}|${getLocale()}`;
  const hit = byKey.get(key);
  if (hit) return hit;
  const mappable = attrs.filter((a) => isMappable(a));
  const byName = (a: AttributeInfo, b: AttributeInfo) => (a.displayName || a.logicalName).localeCompare(b.displayName || b.logicalName);
  const fits = fieldType ? mappable.filter((a) => isCompatibleAnyUse(a, fieldType)).sort(byName) : [...mappable].sort(byName);
  const rest = fieldType ? mappable.filter((a) => !isCompatibleAnyUse(a, fieldType)).sort(byName) : [];
  const items = fits.map((a) => attrItem(a));
  if (fieldType && rest.length) {
    if (showAll) {
      items.push(...rest.map((a) => attrItem(a, msg(str`${typeIcon(a.type).name} does not fit ${fieldTypeLabel(fieldType)}`))));
      items.push({ value: "__hide", label: msg(str`Hide the ${rest.length} columns that do not fit`), action: true });
    } else {
      items.push({ value: "__show", label: msg(str`Show all columns (${rest.length} more that do not fit ${fieldTypeLabel(fieldType)})`), action: true });
    }
  }
  byKey.set(key, items);
  return items;
}

let zones: ComboItem[] | null = null;
/** The "Time zone" picker: every IANA zone the browser knows. */
export function zoneItems(): ComboItem[] {
  zones ??= timeZones().map((z) => ({ value: z, label: z.replace(/_/g, " "), secondary: z }));
  return zones;
}
