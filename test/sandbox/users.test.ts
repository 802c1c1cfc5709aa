/**
 * Users as Dataverse has them (the reconciliation's case, docs/sync.md "Reconciliation"): systemuser has no change
 * tracking (ChangeTrackingEnabled false, `Prefer: odata.track-changes` refused), so a deletion shows nowhere but in the
 * set of ids; ids alone page with `$select=systemuserid` and `odata.maxpagesize`. Rows are deleted with the control API
 * (real Dataverse disables users rather than deleting them; the sandbox lets tests remove one).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type SandboxInfo } from "../../demo/sandbox/index";
import { API, appToken, control, odataGet } from "./helpers";

let sb: SandboxInfo;
let token: string;
const org = (): SandboxInfo["orgs"][number] => sb.orgs[0]!;
const get = (path: string, prefer?: string) => odataGet(path.startsWith("http") ? path : API(org()) + path, token, prefer);

/** Every systemuserid, page by page (`pageSize` per page), and the pages' row shapes. */
async function allIds(pageSize: number): Promise<{ ids: string[]; pages: number; keys: Set<string> }> {
  const ids: string[] = [];
  const keys = new Set<string>();
  let next: string | undefined = "systemusers?$select=systemuserid";
  let pages = 0;
  while (next) {
    const r = await get(next, `odata.maxpagesize=${pageSize}`);
    expect(r.status).toBe(200);
    pages++;
    for (const row of r.body.value) {
      for (const k of Object.keys(row)) keys.add(k);
      ids.push(row.systemuserid);
    }
    next = r.body["@odata.nextLink"];
  }
  return { ids, pages, keys };
}

beforeAll(async () => {
  sb = await startSandbox({ rows: 50, quiet: true });
  token = await appToken(sb);
});
afterAll(async () => {
  await sb?.stop();
});

describe("systemuser: no change tracking, deletions visible only in the ids", () => {
  it("says ChangeTrackingEnabled false and refuses a change-tracking read", async () => {
    const m = await get("EntityDefinitions(LogicalName='systemuser')?$select=ChangeTrackingEnabled");
    expect(m.status).toBe(200);
    expect(m.body.ChangeTrackingEnabled).toBe(false);
    const r = await get("systemusers?$select=systemuserid", "odata.track-changes");
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("0x80044353");
  });

  it("pages the ids alone, 5,000 at most per page, and a deleted user is gone from them", async () => {
    const created = (await control(org(), "POST", "rows/systemuser", { firstname: "Gone", lastname: "Soon", fullname: "Gone Soon" })).json;
    const before = await allIds(5000);
    expect(before.pages).toBe(1);
    expect(before.ids).toContain(created.systemuserid);
    expect([...before.keys].sort()).toEqual(["@odata.etag", "systemuserid"]);
    const paged = await allIds(7);
    expect(paged.ids).toEqual(before.ids); // the same ids in the same order, whatever the page size
    expect(paged.pages).toBe(Math.ceil(before.ids.length / 7));

    expect((await control(org(), "DELETE", `rows/systemuser/${created.systemuserid}`)).status).toBe(200);
    const after = await allIds(5000);
    expect(after.ids).toEqual(before.ids.filter((id) => id !== created.systemuserid));
    const one = await get(`systemusers(${created.systemuserid})?$select=systemuserid`);
    expect(one.status).toBe(404);
    expect(one.body.error.code).toBe("0x80040217");
  });
});
