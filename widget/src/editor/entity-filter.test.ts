import { describe, expect, it } from "vitest";
import type { EntityInfo } from "#contract/metadata";
import { buildEntityIndex, filterEntities, normalise } from "./entity-filter";

const e = (logicalName: string, displayName: string): EntityInfo => ({
  logicalName,
  displayName,
  entitySetName: `${logicalName}s`,
  primaryIdAttribute: `${logicalName}id`,
  primaryNameAttribute: "name",
  isCustom: logicalName.includes("_"),
  changeTracking: false,
});

const ENTITIES = [
  e("account", "Account"),
  e("contact", "Contact"),
  e("accountleads", "AccountLeads"),
  e("cr123_project", "Project"),
  e("msdyn_accountkpiitem", "Account KPI Item"),
  e("bulkoperation", "Quick Campaign"),
  e("systemuser", "User"),
  e("new_société", "Société"),
  e("opportunity", "Opportunity"),
  e("contactinvoices", "Contact Invoices"),
];

describe("entity filter", () => {
  const index = buildEntityIndex(ENTITIES);
  const names = (q: string) => filterEntities(index, q).map((x) => x.logicalName);

  it("lists everything alphabetically by display name for an empty query", () => {
    expect(filterEntities(index, "  ").map((x) => x.displayName)).toEqual(
      [...ENTITIES].map((x) => x.displayName).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())),
    );
  });

  it("ranks an exact name before prefixes, word starts and substrings", () => {
    const r = names("account");
    expect(r[0]).toBe("account");
    // "AccountLeads" starts with it (rank 1) — before "Account KPI Item"? Both start with "account": alphabetical.
    expect(r.slice(1)).toEqual(["msdyn_accountkpiitem", "accountleads"]);
  });

  it("matches the logical name as well as the display name", () => {
    expect(names("cr123")).toEqual(["cr123_project"]);
    expect(names("systemuser")).toEqual(["systemuser"]);
    expect(names("bulkop")).toEqual(["bulkoperation"]);
  });

  it("puts word-start matches before mid-word matches", () => {
    const r = names("invoice");
    expect(r).toEqual(["contactinvoices"]);
    expect(names("item")).toEqual(["msdyn_accountkpiitem"]);
    expect(names("leads")).toEqual(["accountleads"]); // camel hump "Leads" is a word start
  });

  it("needs every word of the query to match", () => {
    expect(names("account kpi")).toEqual(["msdyn_accountkpiitem"]);
    expect(names("account zzz")).toEqual([]);
  });

  it("ignores case and accents", () => {
    expect(normalise("Société")).toBe("societe");
    expect(names("SOCIETE")).toEqual(["new_société"]);
  });

  it("caps the result with a limit", () => {
    expect(filterEntities(index, "", 3)).toHaveLength(3);
    expect(filterEntities(index, "c", 2)).toHaveLength(2);
  });

  it("filters 1,000 entities per keystroke without rebuilding the index", () => {
    const many = Array.from({ length: 1000 }, (_, i) => e(`new_table${i}`, `Table number ${i}`));
    const big = buildEntityIndex([...ENTITIES, ...many]);
    const r = filterEntities(big, "table number 99").map((x) => x.logicalName);
    expect(r.slice(0, 11)).toEqual(["new_table99", ...Array.from({ length: 10 }, (_, i) => `new_table${990 + i}`)]);
    // Then the mid-word matches (199, 299, …, 899).
    expect(r.slice(11)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => `new_table${n}99`));
  });
});
