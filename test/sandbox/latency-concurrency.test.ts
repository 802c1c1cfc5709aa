/**
 * Simulated page latency and Dataverse's service-protection limit on concurrent requests per user
 * (docs/sandbox.md, "Latency and concurrency"). Latency is checked as a lower bound only: correctness, not speed.
 */
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxInfo } from "../../demo/sandbox/index";
import { API, appToken, control, mintToken, odataGet } from "./helpers";

let sb: SandboxInfo;
let token: string;
const org = (): SandboxInfo["orgs"][number] => sb.orgs[0]!;
const PAGE = "accounts?$select=name&$top=1";

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await work();
  return { ms: performance.now() - t0, result };
}

async function settings(body: Record<string, unknown>): Promise<void> {
  const r = await control(org(), "PUT", "settings", body);
  expect(r.status).toBe(200);
}

async function stats(): Promise<{ concurrent: number; maxConcurrent: number; maxConcurrentByPath: Record<string, number>; byStatus: Record<string, number> }> {
  return (await control(org(), "GET", "stats")).json;
}

/** Wait until the org has no request in flight (the server sees a client's abort a moment after it happens). */
async function idle(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await stats()).concurrent === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`requests still in flight: ${JSON.stringify(await stats())}`);
}

/** `n` GETs sent at once with the given bearer; resolves to their responses. */
function burst(n: number, bearer = token, path = PAGE): Promise<Array<Awaited<ReturnType<typeof odataGet>>>> {
  return Promise.all(Array.from({ length: n }, () => odataGet(API(org()) + path, bearer)));
}

beforeAll(async () => {
  sb = await startSandbox({ rows: 300, quiet: true });
  token = await appToken(sb);
});
beforeEach(async () => {
  await control(org(), "POST", "reset");
});
afterAll(async () => {
  await sb?.stop();
});

describe("page latency", () => {
  it("makes every Web API request take at least pageLatencyMs", async () => {
    await settings({ pageLatencyMs: 200 });
    const { ms, result } = await timed(() => odataGet(API(org()) + PAGE, token));
    expect(result.status).toBe(200);
    expect(result.body.value).toHaveLength(1);
    expect(ms).toBeGreaterThanOrEqual(190);
  });

  it("adds latencyPer1000RowsMs for the rows a page returns", async () => {
    await settings({ latencyPer1000RowsMs: 1000 });
    const { ms, result } = await timed(() => odataGet(API(org()) + "accounts?$select=name", token, "odata.maxpagesize=250"));
    expect(result.status).toBe(200);
    expect(result.body.value).toHaveLength(250);
    expect(ms).toBeGreaterThanOrEqual(240); // 250 rows × 1 ms
  });

  it("applies start options to every org, and reset returns to them", async () => {
    const other = await startSandbox({ rows: 10, quiet: true, pageLatencyMs: 150, concurrencyLimit: 7 });
    try {
      const fab = other.orgs[1]!;
      expect((await control(fab, "GET", "settings")).json).toEqual({ pageLatencyMs: 150, latencyPer1000RowsMs: 0, concurrencyLimit: 7 });
      await control(fab, "PUT", "settings", { pageLatencyMs: 0 });
      await control(fab, "POST", "reset");
      expect((await control(fab, "GET", "settings")).json.pageLatencyMs).toBe(150);
      const t = await mintToken(other, { upn: "admin@fabrikam.example", audience: fab.url });
      const { ms, result } = await timed(() => odataGet(`${fab.url}/api/data/v9.2/WhoAmI`, t));
      expect(result.status).toBe(200);
      expect(ms).toBeGreaterThanOrEqual(140);
    } finally {
      await other.stop();
    }
    await expect(startSandbox({ quiet: true, concurrencyLimit: 0 })).rejects.toThrow(/concurrencyLimit must be an integer from 1/);
  });

  it("settings: GET shows them, PUT sets the fields given, bad input is refused naming the field, reset restores", async () => {
    expect((await control(org(), "GET", "settings")).json).toEqual({ pageLatencyMs: 0, latencyPer1000RowsMs: 0, concurrencyLimit: 52 });
    expect((await control(org(), "PUT", "settings", { pageLatencyMs: 2000 })).json).toEqual({
      pageLatencyMs: 2000,
      latencyPer1000RowsMs: 0,
      concurrencyLimit: 52,
    });
    const neg = await control(org(), "PUT", "settings", { pageLatencyMs: -1 });
    expect(neg.status).toBe(400);
    expect(neg.json.error.message).toMatch(/^pageLatencyMs must be an integer/);
    const unknown = await control(org(), "PUT", "settings", { latency: 5 });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toMatch(/Unknown setting 'latency'/);
    expect((await control(org(), "PUT", "settings", { concurrencyLimit: 1.5 })).status).toBe(400);
    expect((await control(org(), "GET", "settings")).json.pageLatencyMs).toBe(2000); // refused input changed nothing
    await control(org(), "POST", "reset");
    expect((await control(org(), "GET", "settings")).json).toEqual({ pageLatencyMs: 0, latencyPer1000RowsMs: 0, concurrencyLimit: 52 });
  });
});

describe("concurrent request limit", () => {
  it("answers requests above the limit with 429 0x80072326 and Retry-After; those within it succeed", async () => {
    await settings({ pageLatencyMs: 1000, concurrencyLimit: 3 }); // long enough that all five overlap on a busy machine
    await control(org(), "DELETE", "stats");
    const rs = await burst(5);
    const ok = rs.filter((r) => r.status === 200);
    const refused = rs.filter((r) => r.status === 429);
    expect(ok).toHaveLength(3);
    expect(refused).toHaveLength(2);
    for (const r of ok) expect(r.body.value).toHaveLength(1);
    for (const r of refused) {
      expect(r.body.error).toEqual({ code: "0x80072326", message: "Number of concurrent requests exceeded the limit of 3." });
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    const s = await stats();
    expect(s.maxConcurrent).toBe(3); // the three admitted requests overlapped: latency does not block others
    expect(s.concurrent).toBe(0);
    expect(s.byStatus).toMatchObject({ "200": 3, "429": 2 });
  });

  it("counts per user: another caller's requests are not refused because of the app's", async () => {
    await settings({ pageLatencyMs: 1000, concurrencyLimit: 2 });
    const user = await mintToken(sb, { upn: "admin@contoso.example", audience: org().url });
    const [app, admin] = await Promise.all([burst(3, token), burst(2, user)]);
    expect(app.map((r) => r.status).sort()).toEqual([200, 200, 429]);
    expect(admin.map((r) => r.status)).toEqual([200, 200]);
    expect((await stats()).maxConcurrent).toBe(4);
  });

  it("releases a slot when the response ends, after error answers too", async () => {
    await settings({ pageLatencyMs: 200, concurrencyLimit: 2 });
    expect((await burst(2)).map((r) => r.status)).toEqual([200, 200]);
    const errors = await burst(2, token, "accounts?$filter=nonsense eq 1");
    expect(errors.map((r) => r.status)).toEqual([400, 400]);
    expect((await stats()).concurrent).toBe(0);
    expect((await burst(2)).map((r) => r.status)).toEqual([200, 200]);
  });

  it("releases a slot when the client drops the connection mid-request", async () => {
    await settings({ pageLatencyMs: 2000, concurrencyLimit: 2 });
    const aborts = [new AbortController(), new AbortController()];
    const pending = aborts.map((a) =>
      fetch(API(org()) + PAGE, { headers: { Authorization: `Bearer ${token}` }, signal: a.signal }).then(
        () => "answered",
        () => "aborted",
      ),
    );
    // both are in flight (waiting out the latency) before the clients give up
    for (let i = 0; i < 100 && (await stats()).concurrent < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await stats()).concurrent).toBe(2);
    expect((await burst(1))[0]!.status).toBe(429);
    for (const a of aborts) a.abort();
    expect(await Promise.all(pending)).toEqual(["aborted", "aborted"]);
    await idle();
    await settings({ pageLatencyMs: 100 });
    expect((await burst(2)).map((r) => r.status)).toEqual([200, 200]);
  });

  it("keeps the highest concurrency seen in stats until DELETE /_sandbox/stats", async () => {
    await settings({ pageLatencyMs: 800 });
    expect((await stats()).maxConcurrent).toBe(0);
    await burst(4);
    expect(await stats()).toMatchObject({ concurrent: 0, maxConcurrent: 4 });
    await burst(1);
    expect((await stats()).maxConcurrent).toBe(4);
    await control(org(), "DELETE", "stats");
    expect(await stats()).toMatchObject({ concurrent: 0, maxConcurrent: 0 });
  });

  it("keeps the highest concurrency per table path too (how many reads of one table overlapped)", async () => {
    await settings({ pageLatencyMs: 800 });
    await control(org(), "DELETE", "stats");
    await Promise.all([burst(3), burst(2, token, "contacts?$select=fullname&$top=1")]);
    expect(await stats()).toMatchObject({ maxConcurrent: 5, maxConcurrentByPath: { accounts: 3, contacts: 2 } });
  });

  it("admits 52 concurrent requests of one user by default and refuses the 53rd", async () => {
    await settings({ pageLatencyMs: 1500 });
    const rs = await burst(53);
    expect(rs.filter((r) => r.status === 200)).toHaveLength(52);
    const refused = rs.filter((r) => r.status === 429);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.body.error).toEqual({ code: "0x80072326", message: "Number of concurrent requests exceeded the limit of 52." });
    expect((await stats()).maxConcurrent).toBe(52);
  });
});
