/**
 * "Auto-map": fill unmapped target fields from source attributes by name and type. Every mapping it makes is a guess
 * the admin reviews (the editor marks those rows until they are confirmed or changed).
 */
import type { AttributeInfo } from "#contract/metadata";
import type { Mapping, ObjectField } from "./types";
import { isCompatible, isMappable } from "#contract/compatibility";
import { preferredUse } from "./compatibility";

const key = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

/** Target-field names (normalised) → source attributes that usually mean the same in Dataverse. */
const SYNONYMS: Record<string, string[]> = {
  name: ["name", "fullname"],
  fullname: ["fullname"],
  email: ["emailaddress1", "internalemailaddress"],
  emailaddress: ["emailaddress1", "internalemailaddress"],
  phone: ["telephone1", "mobilephone", "address1_telephone1"],
  phonenumber: ["telephone1", "mobilephone"],
  mobile: ["mobilephone"],
  website: ["websiteurl"],
  url: ["websiteurl"],
  domain: ["websiteurl"],
  city: ["address1_city"],
  country: ["address1_country"],
  street: ["address1_line1"],
  postalcode: ["address1_postalcode"],
  zip: ["address1_postalcode"],
  state: ["address1_stateorprovince"],
  employees: ["numberofemployees"],
  revenue: ["revenue"],
  industry: ["industrycode"],
  title: ["jobtitle"],
  jobtitle: ["jobtitle"],
  company: ["parentcustomerid"],
  owner: ["ownerid"],
  created: ["createdon"],
  createdat: ["createdon"],
  modified: ["modifiedon"],
  updatedat: ["modifiedon"],
  description: ["description"],
};

export interface AutoMapResult {
  mappings: Mapping[];
  /** Target field names that auto-map filled in this call. */
  guessed: string[];
}

/**
 * Score how well an attribute names a field (0 = not at all). Exact logical or display name beats a known synonym,
 * which beats one name containing the other.
 */
export function nameScore(field: Pick<ObjectField, "name" | "label">, attr: AttributeInfo, primaryId?: string, primaryName?: string | null): number {
  const fk = key(field.name);
  const fl = key(field.label);
  const al = key(attr.logicalName);
  const ad = key(attr.displayName);
  if (fk === "dynamicsid" || fk === "externalid" || fk === "sourceid") return attr.logicalName === primaryId ? 100 : 0;
  if (fk === al || fk === ad || fl === al || fl === ad) return 90;
  const syn = SYNONYMS[fk] ?? SYNONYMS[fl];
  if (syn) {
    const i = syn.indexOf(attr.logicalName);
    if (i >= 0) return 80 - i;
  }
  if ((fk === "name" || fl === "name") && attr.logicalName === primaryName) return 85;
  if (fk.length >= 4 && (ad.includes(fk) || al.includes(fk))) return 40;
  if (ad.length >= 4 && fk.includes(ad)) return 30;
  return 0;
}

/** Fill target fields that have no mapping yet; existing mappings are kept as they are. */
export function autoMap(
  fields: readonly ObjectField[],
  attrs: readonly AttributeInfo[],
  existing: readonly Mapping[],
  opts: { primaryId?: string; primaryName?: string | null } = {},
): AutoMapResult {
  const mapped = new Set(existing.map((m) => m.target));
  const used = new Set(existing.filter((m) => !m.via).map((m) => m.source));
  const mappings = [...existing];
  const guessed: string[] = [];
  const candidates = attrs.filter((a) => isMappable(a));
  for (const field of fields) {
    if (mapped.has(field.name) || field.type === "reference") continue;
    let best: AttributeInfo | null = null;
    let bestScore = 0;
    for (const a of candidates) {
      if (used.has(a.logicalName)) continue;
      const use = preferredUse(a, field.type);
      if (!isCompatible(a, field.type, use)) continue;
      const s = nameScore(field, a, opts.primaryId, opts.primaryName);
      if (s > bestScore) {
        best = a;
        bestScore = s;
      }
    }
    if (best) {
      mappings.push({ source: best.logicalName, target: field.name, use: preferredUse(best, field.type) });
      used.add(best.logicalName);
      guessed.push(field.name);
    }
  }
  return { mappings, guessed };
}
