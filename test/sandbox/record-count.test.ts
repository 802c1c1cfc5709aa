/** RetrieveTotalRecordCount: the Web API function the sync engine asks for a full read's row count (progress). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type SandboxInfo } from "../../demo/sandbox/index";
import { API, appToken, control, mintToken, odataGet } from "./helpers";

let sb: SandboxInfo;
let token: string;
let api: string;
const ROWS = 1200;

const get = (path: string, bearer = token) => odataGet(api + path, bearer);
const alias = (names: string[]) => `RetrieveTotalRecordCount(EntityNames=@p)?@p=${encodeURIComponent(JSON.stringify(names))}`;

beforeAll(async () => {
  sb = await startSandbox({ rows: ROWS, quiet: true });
  api = API(sb.orgs[0]!);
  token = await appToken(sb);
});
afterAll(async () => {
  await sb?.stop();
});

describe("RetrieveTotalRecordCount", () => {
  it("answers with Microsoft's EntityRecordCountCollection shape, one value per key (parameter alias)", async () => {
    const r = await get(alias(["account", "contact"]));
    expect(r.status).toBe(200);
    expect(r.body["@odata.context"]).toMatch(/\$metadata#Microsoft\.Dynamics\.CRM\.RetrieveTotalRecordCountResponse$/);
    expect(r.body.EntityRecordCountCollection).toEqual({ Count: 2, IsReadOnly: false, Keys: ["account", "contact"], Values: [ROWS, ROWS * 1.5] });
  });

  it("accepts the inline collection form too", async () => {
    const r = await get(`RetrieveTotalRecordCount(EntityNames=${encodeURIComponent("['cr123_project']")})`);
    expect(r.status).toBe(200);
    expect(r.body.EntityRecordCountCollection).toMatchObject({ Keys: ["cr123_project"], Values: [ROWS / 5] });
  });

  it("counts rows created and deleted through the control API", async () => {
    const created = await control(sb.orgs[0]!, "POST", "rows/account", { name: "Counted" });
    await control(sb.orgs[0]!, "DELETE", `rows/account/${"a0000000-0001-4000-8000-000000000001"}`);
    await control(sb.orgs[0]!, "DELETE", `rows/account/${"a0000000-0001-4000-8000-000000000002"}`);
    expect(created.status).toBe(201);
    expect((await get(alias(["account"]))).body.EntityRecordCountCollection.Values).toEqual([ROWS - 1]);
    await control(sb.orgs[0]!, "POST", "reset");
    expect((await get(alias(["account"]))).body.EntityRecordCountCollection.Values).toEqual([ROWS]);
  });

  it("refuses an unknown table, a missing parameter, and a principal without read on the table", async () => {
    const unknown = await get(alias(["nosuchtable"]));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("0x80041102");
    expect((await get("RetrieveTotalRecordCount()")).status).toBe(400);
    const limited = await mintToken(sb, { upn: "limited@contoso.example", audience: sb.orgs[0]!.url });
    const denied = await get(alias(["contact"]), limited);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("0x80040220");
  });
});
