/**
 * Filtered scans narrowed by createdon (demo/sandbox/data.ts iterateCreated, odata.ts columnRange): the index is an
 * implementation detail — a query answers the same rows, in the same order, whether its createdon range reaches the
 * index or not, including rows changed, created and deleted through the control API.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type SandboxInfo } from "../../demo/sandbox/index";
import { API, appToken, control, odataGet } from "./helpers";

let sb: SandboxInfo;
let token: string;
const org = (): SandboxInfo["orgs"][number] => sb.orgs[0]!;

beforeAll(async () => {
  sb = await startSandbox({ rows: 300, quiet: true });
  token = await appToken(sb);
});
afterAll(async () => {
  await sb?.stop();
});

async function ids(filter: string): Promise<string[]> {
  const q = `accounts?$select=accountid,createdon&$filter=${encodeURIComponent(filter)}&$orderby=modifiedon asc,versionnumber asc&$top=5000`;
  const r = await odataGet(API(org()) + q, token);
  expect(r.status).toBe(200);
  return (r.body.value as Array<{ accountid: string }>).map((x) => x.accountid);
}

describe("createdon ranges through the index", () => {
  it("answers exactly what a full scan answers, with changed, created and deleted rows", async () => {
    // Bounds from real rows: the 100th and the 200th createdon.
    const created = (
      (await odataGet(API(org()) + "accounts?$select=createdon&$orderby=createdon asc&$top=5000", token)).body.value as Array<{ createdon: string }>
    ).map((r) => r.createdon);
    const from = created[100]!;
    const to = created[200]!;
    const inRange = (await ids(`createdon ge ${from} and createdon lt ${to}`)).slice(0, 3);
    // A row in the range changed, one deleted, one created now (its createdon is after `to`: not in the range).
    await control(org(), "PATCH", `rows/account/${inRange[0]}`, { name: "changed in range" });
    await control(org(), "DELETE", `rows/account/${inRange[1]}`);
    await control(org(), "POST", "rows/account", { name: "created during the test" });
    // Indexed (top-level ranges) vs not (the same bounds through `not`, which the index leaves to the scan).
    const indexed = await ids(`createdon ge ${from} and createdon lt ${to}`);
    const scanned = await ids(`not (createdon lt ${from}) and not (createdon ge ${to})`);
    expect(indexed).toEqual(scanned);
    expect(indexed).toContain(inRange[0]);
    expect(indexed).not.toContain(inRange[1]);
    expect(indexed.length).toBeGreaterThan(90);
    const firstRange = await ids(`(createdon eq null or createdon lt ${from})`);
    expect(firstRange).toEqual(await ids(`not (createdon ge ${from})`));
    const lastRange = await ids(`createdon ge ${to}`);
    expect(lastRange).toEqual(await ids(`not (createdon lt ${to})`));
    expect(firstRange.length + indexed.length + lastRange.length).toBe((await ids("createdon ne null or createdon eq null")).length);
  });
});
