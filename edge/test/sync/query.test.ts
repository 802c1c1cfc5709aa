import { describe, expect, it } from "vitest";
import type { Job } from "#contract/job";
import type { AttributeInfo, EntityInfo } from "#contract/metadata";
import { cursorOf, deltaInitialPath, keysetFilter, planRead, refreshFilter, refreshPath, splitDeleted } from "../../src/sync/query";

const contact: EntityInfo = {
  logicalName: "contact",
  entitySetName: "contacts",
  displayName: "Contact",
  primaryIdAttribute: "contactid",
  primaryNameAttribute: "fullname",
  isCustom: false,
  changeTracking: true,
};
const attrs: AttributeInfo[] = [
  { logicalName: "contactid", displayName: "", type: "Uniqueidentifier", required: "none", readable: true },
  { logicalName: "fullname", displayName: "", type: "String", required: "none", readable: true },
  { logicalName: "parentcustomerid", displayName: "", type: "Customer", required: "none", readable: true, targets: ["account", "contact"] },
];
const job = (over: Partial<Job> = {}): Job =>
  ({
    id: "job_1",
    connectionId: "c",
    name: "n",
    enabled: true,
    source: { entity: "contact", filter: null },
    target: { object: "Person" },
    mode: "upsert",
    deletes: "soft",
    identifiers: [{ source: "contactid", target: "DynamicsId" }],
    mappings: [
      { source: "fullname", target: "FullName", use: "value" },
      { source: "parentcustomerid", target: "CompanyDynamicsId", use: "value" },
    ],
    lookups: [],
    schedule: null,
    dependsOn: null,
    notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
    createdAt: "",
    updatedAt: "",
    ...over,
  }) as Job;

describe("read planning", () => {
  it("uses change tracking for a tracked entity without filter or expand, selecting lookups as _x_value", () => {
    const p = planRead(job(), contact, attrs, 5000);
    expect(p.strategy).toBe("delta");
    expect(deltaInitialPath(p)).toBe("contacts?$select=_parentcustomerid_value,contactid,fullname");
  });

  it("switches to the keyset when the job has a $filter", () => {
    expect(planRead(job({ source: { entity: "contact", filter: "statecode eq 0" } }), contact, attrs, 5000).strategy).toBe("keyset");
  });

  it("keeps change tracking for a through-lookup field: selects the lookup and reads the looked-up fields from their own table", () => {
    const account: EntityInfo = { ...contact, logicalName: "account", entitySetName: "accounts", primaryIdAttribute: "accountid" };
    const p = planRead(
      job({ mappings: [{ source: "parentcustomerid", target: "CompanyName", use: "value", via: { entity: "account", attribute: "name" } }] }),
      contact,
      attrs,
      100,
      [contact, account],
    );
    expect(p.strategy).toBe("delta");
    expect(p.via).toEqual([
      {
        nav: "parentcustomerid_account",
        lookupKey: "_parentcustomerid_value",
        entity: "account",
        entitySet: "accounts",
        primaryId: "accountid",
        select: ["name"],
      },
    ]);
    expect(decodeURIComponent(deltaInitialPath(p))).toBe("contacts?$select=_parentcustomerid_value,contactid");
    expect(decodeURIComponent(refreshPath(p, { filter: refreshFilter(p.via, { account: 41 })!, since: { account: 41 } }))).toBe(
      "contacts?$select=_parentcustomerid_value,contactid&$filter=parentcustomerid_account/versionnumber gt 41",
    );
  });

  it("uses the keyset for an entity without change tracking", () => {
    expect(planRead(job(), { ...contact, changeTracking: false }, attrs, 5000).strategy).toBe("keyset");
  });

  it("builds a tie-proof keyset filter: later modifiedon, or same modifiedon and a higher versionnumber", () => {
    expect(keysetFilter("statecode eq 0", { modifiedon: "2025-01-02T03:04:05Z", version: 77 })).toBe(
      "(statecode eq 0) and (modifiedon gt 2025-01-02T03:04:05Z or (modifiedon eq 2025-01-02T03:04:05Z and versionnumber gt 77))",
    );
  });

  it("takes the cursor from the last row of a page", () => {
    expect(cursorOf({ modifiedon: "2025-01-02T03:04:05Z", versionnumber: "1234" })).toEqual({ modifiedon: "2025-01-02T03:04:05Z", version: 1234 });
  });

  it("changes the config hash when the filter changes (stored cursors are then not reused)", () => {
    const a = planRead(job({ source: { entity: "contact", filter: "statecode eq 0" } }), contact, attrs, 5000);
    const b = planRead(job({ source: { entity: "contact", filter: "statecode eq 1" } }), contact, attrs, 5000);
    expect(a.configHash).not.toBe(b.configHash);
  });
});

describe("splitDeleted", () => {
  it("separates a delta page's $deletedEntity entries (their ids) from its rows, keeping the rows' order", () => {
    const base = "https://org.crm.dynamics.com/api/data/v9.2/$metadata#contacts";
    const page = [
      { contactid: "a", fullname: "A" },
      { "@odata.context": `${base}/$deletedEntity`, id: "gone-1", reason: "deleted" },
      { contactid: "b", fullname: "B" },
      { "@odata.context": `${base}/$deletedEntity`, id: "gone-2", reason: "deleted" },
      { "@odata.context": `${base}/$entity`, contactid: "c" },
    ];
    expect(splitDeleted(page)).toEqual({ rows: [page[0], page[2], page[4]], deletedIds: ["gone-1", "gone-2"] });
  });
});
