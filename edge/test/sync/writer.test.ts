/**
 * The page writer (preparePage + commitPage) straight against D1, without Dataverse: every mode, delete policy and
 * lookup behaviour, exact inserted/updated counts, wide objects, records too large for one JSON chunk, error rows.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Job, Lookup } from "#contract/job";
import type { AttributeInfo } from "#contract/metadata";
import type { ObjectField, TargetObject } from "#contract/object";
import { ensureObjectTable } from "../../src/stores/objects";
import { fieldColumn, objectTable } from "../../src/stores/object-tables";
import { listRunErrors } from "../../src/stores/run-errors";
import { createRun, getRunRow } from "../../src/stores/runs";
import { withTenantShard } from "../../src/stores/shards";
import { commitPage, preparePage, type PreparedPage } from "../../src/sync/writer";

const ENTITY = "cr_thing";
/** The Dynamics organization the pages come from (records are scoped to it). */
const ORG = "00000000-0000-4000-8000-0000000000aa";
const attr = (logicalName: string, type: AttributeInfo["type"]): AttributeInfo => ({
  logicalName,
  displayName: logicalName,
  type,
  required: "none",
  readable: true,
});
const ATTRS: AttributeInfo[] = [
  attr("cr_thingid", "Uniqueidentifier"),
  attr("cr_name", "String"),
  attr("cr_code", "String"),
  attr("cr_region", "String"),
  attr("cr_count", "Integer"),
  attr("cr_parentid", "Lookup"),
  ...Array.from({ length: 95 }, (_, i) => attr(`cr_w${i}`, "String")),
];
const fld = (name: string, type: ObjectField["type"], extra: Partial<ObjectField> = {}): ObjectField => ({
  name,
  label: name,
  type,
  required: false,
  ...extra,
});
const THING_FIELDS = [
  fld("DynamicsId", "id", { required: true, unique: true }),
  fld("Name", "string"),
  fld("Count", "integer"),
  fld("ParentId", "reference", { references: "Thing" }),
  fld("RegionId", "reference", { references: "Region" }),
];
const REGION: TargetObject = {
  name: "Region",
  label: "Region",
  standard: false,
  createdAt: "",
  fields: [fld("Code", "string"), fld("Name", "string"), fld("Key", "string", { unique: true })],
};

/** A self lookup: a Thing's parent Thing by its Dynamics id. */
const PARENT: Lookup = {
  target: "ParentId",
  object: "Thing",
  match: [{ source: "_cr_parentid_value", field: "DynamicsId" }],
  onMissing: "null",
  onEmpty: "null",
};
const guid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const row = (n: number, extra: Record<string, unknown> = {}) => ({
  cr_thingid: guid(n),
  cr_name: `Thing ${n}`,
  cr_count: n,
  _cr_parentid_value: null,
  ...extra,
});

function jobOf(over: Partial<Job> = {}): Job {
  return {
    id: "job_w",
    connectionId: "c",
    name: "writer",
    enabled: true,
    source: { entity: ENTITY, filter: null },
    target: { object: "Thing" },
    mode: "upsert",
    deletes: "soft",
    identifiers: [{ source: "cr_thingid", target: "DynamicsId" }],
    mappings: [
      { source: "cr_name", target: "Name", use: "value" },
      { source: "cr_count", target: "Count", use: "value" },
    ],
    lookups: [],
    schedule: null,
    dependsOn: null,
    notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
    createdAt: "",
    updatedAt: "",
    ...over,
  };
}

/** `env` whose DATA counts its round trips to D1 (each statement run alone, each batch). */
function countingEnv(): { env: typeof env; roundTrips: () => number } {
  const db = env.DATA;
  let n = 0;
  const real = new WeakMap<object, D1PreparedStatement>();
  const wrap = (st: D1PreparedStatement): D1PreparedStatement => {
    const w = {
      bind: (...v: unknown[]) => wrap(st.bind(...v)),
      first: (...a: [string?]) => (n++, st.first(...(a as [string]))),
      all: () => (n++, st.all()),
      run: () => (n++, st.run()),
      raw: () => (n++, st.raw()),
    } as unknown as D1PreparedStatement;
    real.set(w, st);
    return w;
  };
  const counted = {
    prepare: (sql: string) => wrap(db.prepare(sql)),
    batch: (sts: D1PreparedStatement[]) => (n++, db.batch(sts.map((s) => real.get(s) ?? s))),
    exec: (sql: string) => (n++, db.exec(sql)),
  } as unknown as D1Database;
  return { env: { ...env, DATA: counted }, roundTrips: () => n };
}

async function setup(fields: ObjectField[] = THING_FIELDS) {
  const tenant = `t-${crypto.randomUUID()}`;
  const object: TargetObject = { name: "Thing", label: "Thing", standard: false, createdAt: "", fields };
  await ensureObjectTable(env, tenant, object);
  await ensureObjectTable(env, tenant, REGION);
  const lookupObjects = new Map([
    ["thing", object],
    ["region", REGION],
  ]);
  const write = async (job: Job, rows: Array<Record<string, unknown>>, deletedIds: string[] = []): Promise<PreparedPage> => {
    const p = await preparePage(env, { tenant, org: ORG, job, object, lookupObjects, attributes: ATTRS, rows, deletedIds });
    if (p.statements.length) await env.DATA.batch(p.statements);
    return p;
  };
  const all = async (cols = ["DynamicsId", "Name", "Count", "ParentId", "RegionId"]) => {
    const t = await objectTable(tenant, "Thing");
    const { results } = await env.DATA.prepare(
      `SELECT _id, _created_at, _updated_at, _deleted, ${cols.map((c) => `${fieldColumn(c)} AS "${c}"`).join(", ")} FROM ${t} ORDER BY f_DynamicsId`,
    ).all<Record<string, any>>();
    return results;
  };
  return { tenant, object, write, all };
}

describe("page writer (set-based)", () => {
  it("upsert: inserts new and updates existing records with exact counts, keeps _id/_created_at, revives soft-deleted rows", async () => {
    const s = await setup();
    const job = jobOf();
    const p1 = await s.write(job, [row(1), row(2), row(3)]);
    expect(p1.counts).toMatchObject({ read: 3, inserted: 3, updated: 0, skipped: 0, failed: 0 });
    expect(p1.statements.length).toBe(1);
    const before = await s.all();
    expect(before.map((r) => [r.DynamicsId, r.Name, r.Count, r._deleted])).toEqual([
      [guid(1), "Thing 1", 1, 0],
      [guid(2), "Thing 2", 2, 0],
      [guid(3), "Thing 3", 3, 0],
    ]);
    // soft-delete 2, then it reappears changed together with a new record 4
    const d = await s.write(job, [], [guid(2), guid(9)]);
    expect(d.counts).toMatchObject({ read: 2, deleted: 1, skipped: 1 });
    expect((await s.all()).find((r) => r.DynamicsId === guid(2))!._deleted).toBe(1);
    const p2 = await s.write(job, [row(2, { cr_name: "Two" }), row(4)]);
    expect(p2.counts).toMatchObject({ inserted: 1, updated: 1 });
    const after = await s.all();
    const two = after.find((r) => r.DynamicsId === guid(2))!;
    const twoBefore = before.find((r) => r.DynamicsId === guid(2))!;
    expect(two).toMatchObject({ _id: twoBefore._id, _created_at: twoBefore._created_at, Name: "Two", _deleted: 0 });
    expect(after).toHaveLength(4);
  });

  it("new records get time-ordered _ids (UUIDv7): in the order they were written, within a page (past a refill of its random bytes) and across pages", async () => {
    const s = await setup();
    const job = jobOf();
    const first = 4_200; // a page's ids draw random bytes 4,096 at a time
    await s.write(
      job,
      Array.from({ length: first }, (_, i) => row(i + 1)),
    );
    await s.write(
      job,
      Array.from({ length: 40 }, (_, i) => row(i + first + 1)),
    );
    const ids = (await s.all()).map((r) => r._id as string); // ordered by DynamicsId: the order they were written
    expect(ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
  });

  it("upsert: a record repeated within a page is one row (first inserted, then updated by the later occurrence)", async () => {
    const s = await setup();
    const p = await s.write(jobOf(), [row(1, { cr_name: "first" }), row(2), row(1, { cr_name: "second" })]);
    expect(p.counts).toMatchObject({ inserted: 2, updated: 1 });
    const rows = await s.all();
    expect(rows.map((r) => [r.DynamicsId, r.Name])).toEqual([
      [guid(1), "second"],
      [guid(2), "Thing 2"],
    ]);
  });

  it("insert mode skips existing records (also one repeated in the page); update mode skips missing ones", async () => {
    const s = await setup();
    await s.write(jobOf(), [row(1)]);
    const ins = await s.write(jobOf({ mode: "insert" }), [row(1, { cr_name: "changed" }), row(2), row(2, { cr_name: "again" })]);
    expect(ins.counts).toMatchObject({ inserted: 1, updated: 0, skipped: 2 });
    expect((await s.all()).map((r) => [r.DynamicsId, r.Name])).toEqual([
      [guid(1), "Thing 1"],
      [guid(2), "Thing 2"],
    ]);
    const upd = await s.write(jobOf({ mode: "update" }), [row(1, { cr_name: "u1" }), row(3), row(2, { cr_name: "u2a" }), row(2, { cr_name: "u2b" })]);
    expect(upd.counts).toMatchObject({ inserted: 0, updated: 3, skipped: 1 });
    expect((await s.all()).map((r) => [r.DynamicsId, r.Name])).toEqual([
      [guid(1), "u1"],
      [guid(2), "u2b"],
    ]);
  });

  it("insert mode without identifiers inserts every record", async () => {
    const s = await setup();
    const p = await s.write(
      jobOf({
        mode: "insert",
        identifiers: [],
        mappings: [
          { source: "cr_thingid", target: "DynamicsId", use: "value" },
          { source: "cr_name", target: "Name", use: "value" },
        ],
      }),
      [row(1), row(2)],
    );
    expect(p.counts).toMatchObject({ inserted: 2 });
    expect(await s.all()).toHaveLength(2);
  });

  it("hard deletes and ignored deletes", async () => {
    const s = await setup();
    await s.write(jobOf(), [row(1), row(2), row(3)]);
    const ign = await s.write(jobOf({ deletes: "ignore" }), [], [guid(1)]);
    expect(ign.counts).toMatchObject({ deleted: 0, skipped: 1 });
    const del = await s.write(jobOf({ deletes: "delete" }), [], [guid(1), guid(3).toUpperCase(), guid(7)]);
    expect(del.counts).toMatchObject({ deleted: 2, skipped: 1 });
    expect((await s.all()).map((r) => r.DynamicsId)).toEqual([guid(2)]);
  });

  it("wide objects (95 fields: more than 100 values per record) and records larger than one JSON chunk", async () => {
    const wide = Array.from({ length: 90 }, (_, i) => fld(`W${i}`, "string"));
    const s = await setup([fld("DynamicsId", "id", { required: true, unique: true }), fld("Name", "string"), ...wide]);
    const job = jobOf({
      mappings: [{ source: "cr_name", target: "Name", use: "value" }, ...wide.map((f, i) => ({ source: `cr_w${i}`, target: f.name, use: "value" as const }))],
    });
    const wideRow = (n: number, tag: string, big = "") =>
      row(n, Object.fromEntries(wide.map((_, i) => [`cr_w${i}`, i === 89 ? `${tag}${i}${big}` : `${tag}${i}`])));
    const huge = "é".repeat(700_000); // one record alone exceeds a chunk
    const p1 = await s.write(job, [wideRow(1, "a"), wideRow(2, "a", huge), wideRow(3, "a")]);
    expect(p1.counts).toMatchObject({ inserted: 3 });
    const cols = ["DynamicsId", ...wide.map((f) => f.name)];
    let rows = await s.all(cols);
    expect(rows).toHaveLength(3);
    expect(rows[0]!.W0).toBe("a0");
    expect(rows[0]!.W89).toBe("a89");
    expect(rows[1]!.W89).toBe(`a89${huge}`);
    expect(rows[1]!.W88).toBe("a88");
    const p2 = await s.write(job, [wideRow(1, "b"), wideRow(2, "b", huge), wideRow(4, "b")]);
    expect(p2.counts).toMatchObject({ inserted: 1, updated: 2 });
    rows = await s.all(cols);
    expect(rows.map((r) => [r.DynamicsId, r.W0, r.W88, String(r.W89).slice(0, 3)])).toEqual([
      [guid(1), "b0", "b88", "b89"],
      [guid(2), "b0", "b88", "b89"],
      [guid(3), "a0", "a88", "a89"],
      [guid(4), "b0", "b88", "b89"],
    ]);
  });

  it("resolves self lookups (earlier pages and the same page) and multi-field lookups; onMissing null / skip / error", async () => {
    const s = await setup();
    const rt = await objectTable(s.tenant, "Region");
    await env.DATA.batch([
      env.DATA.prepare(`INSERT INTO ${rt} (_id, _created_at, _updated_at, f_Code, f_Name, f_Key) VALUES ('r-eu', 'x', 'x', 'EU', 'Europe', 'k1')`),
      env.DATA.prepare(`INSERT INTO ${rt} (_id, _created_at, _updated_at, f_Code, f_Name, f_Key) VALUES ('r-us', 'x', 'x', 'US', 'America', 'k2')`),
    ]);
    const region = (onMissing: Lookup["onMissing"]): Lookup => ({
      target: "RegionId",
      object: "Region",
      match: [
        { source: "cr_code", field: "Code" },
        { source: "cr_region", field: "Name" },
      ],
      onMissing,
      onEmpty: "null",
    });
    await s.write(jobOf({ lookups: [PARENT] }), [row(1)]);
    const p = await s.write(jobOf({ lookups: [PARENT, region("null")] }), [
      row(2, { _cr_parentid_value: guid(1).toUpperCase(), cr_code: "EU", cr_region: "Europe" }),
      row(3, { _cr_parentid_value: guid(4), cr_code: "US", cr_region: "America" }),
      row(4, { _cr_parentid_value: guid(99), cr_code: "US", cr_region: "Europe" }),
    ]);
    expect(p.counts).toMatchObject({ inserted: 3, failed: 0 });
    const rows = await s.all();
    const id = (n: number) => rows.find((r) => r.DynamicsId === guid(n))!._id;
    expect(rows.map((r) => [r.DynamicsId, r.ParentId, r.RegionId])).toEqual([
      [guid(1), null, null],
      [guid(2), id(1), "r-eu"],
      [guid(3), id(4), "r-us"],
      [guid(4), null, null],
    ]);
    const skip = await s.write(jobOf({ lookups: [region("skip")] }), [
      row(5, { cr_code: "EU", cr_region: "Europe" }),
      row(6, { cr_code: "EU", cr_region: "Mars" }),
    ]);
    expect(skip.counts).toMatchObject({ inserted: 1, skipped: 1 });
    const err = await s.write(jobOf({ lookups: [region("error")] }), [row(7, { cr_code: "XX", cr_region: "Nowhere" }), row(8)]);
    expect(err.counts).toMatchObject({ inserted: 1, failed: 1 });
    expect(err.errors).toEqual([
      { sourceId: guid(7), field: "RegionId", value: JSON.stringify(["XX", "Nowhere"]), reason: "lookup: no Region record with Code + Name = XX + Nowhere" },
    ]);
    expect((await s.all()).map((r) => r.DynamicsId)).toEqual([1, 2, 3, 4, 5, 8].map(guid));
  });

  it("asks D1 once per page: existing records, every lookup's matches and the deleted ids in one round trip", async () => {
    const s = await setup();
    const rt = await objectTable(s.tenant, "Region");
    await env.DATA.prepare(`INSERT INTO ${rt} (_id, _created_at, _updated_at, _org, f_Code, f_Name, f_Key) VALUES ('r-eu', 'x', 'x', ?, 'EU', 'Europe', 'k1')`)
      .bind(ORG)
      .run();
    const region: Lookup = {
      target: "RegionId",
      object: "Region",
      match: [
        { source: "cr_code", field: "Code" },
        { source: "cr_region", field: "Name" },
      ],
      onMissing: "skip",
      onEmpty: "null",
    };
    const job = jobOf({ lookups: [PARENT, region] });
    await s.write(job, [row(1), row(2)]);
    const counting = countingEnv();
    const scoped = await withTenantShard(counting.env, s.tenant); // the runner resolves the tenant's shard once per slice
    const before = counting.roundTrips();
    const p = await preparePage(scoped, {
      tenant: s.tenant,
      org: ORG,
      job,
      object: s.object,
      lookupObjects: new Map([
        ["thing", s.object],
        ["region", REGION],
      ]),
      attributes: ATTRS,
      rows: [
        row(1, { cr_name: "One", _cr_parentid_value: guid(3) }),
        row(3, { _cr_parentid_value: guid(1), cr_code: "EU", cr_region: "Europe" }),
        row(4, { cr_code: "EU", cr_region: "Mars" }),
      ],
      deletedIds: [guid(2), guid(9)],
    });
    expect(counting.roundTrips() - before).toBe(1);
    expect(p.counts).toMatchObject({ read: 5, inserted: 1, updated: 1, skipped: 2, deleted: 1, failed: 0 });
    await scoped.DATA.batch(p.statements);
    const rows = await s.all();
    const id = (n: number) => rows.find((r) => r.DynamicsId === guid(n))!._id;
    expect(rows.map((r) => [r.DynamicsId, r.Name, r.ParentId, r.RegionId, r._deleted])).toEqual([
      [guid(1), "One", id(3), null, 0],
      [guid(2), "Thing 2", null, null, 1],
      [guid(3), "Thing 3", id(1), "r-eu", 0],
    ]);
  });

  it("commitPage: records, error rows (seq continues the run's), checkpoint and guard in one batch; a duplicate page writes nothing", async () => {
    const s = await setup();
    const run = await createRun(env, s.tenant, "job_w", "manual");
    await env.DATA.prepare("UPDATE runs SET status = 'running', phase = 'pages', error_rows = 2 WHERE id = ?").bind(run.id).run();
    const job = jobOf({
      mappings: [
        { source: "cr_name", target: "Name", use: "value" },
        { source: "cr_count", target: "Count", use: "value" },
      ],
    });
    const prepared = await preparePage(env, {
      tenant: s.tenant,
      org: ORG,
      job,
      object: { ...s.object },
      lookupObjects: new Map(),
      attributes: ATTRS,
      rows: [row(1), row(2, { cr_count: 1.5 }), row(3, { cr_count: "x" })],
      deletedIds: [],
    });
    const cp = {
      runId: run.id,
      tenant: s.tenant,
      page: 1,
      errorRowsBefore: 2,
      phase: "pages" as const,
      nextLink: "next",
      keyset: null,
      pendingDeltaLink: null,
      leaseUntil: 0,
    };
    expect(await commitPage(env, prepared, cp)).toBe("committed");
    expect(await commitPage(env, prepared, cp)).toBe("duplicate");
    const r = (await getRunRow(env, s.tenant, run.id))!;
    expect(r).toMatchObject({ pages: 1, inserted_count: 1, failed_count: 2, error_rows: 4, read_count: 3 });
    const errors = await env.DATA.prepare("SELECT seq, source_id, field, value FROM run_errors WHERE run_id = ? ORDER BY seq").bind(run.id).all();
    expect(errors.results).toEqual([
      { seq: 3, source_id: guid(2), field: "Count", value: "1.5" },
      { seq: 4, source_id: guid(3), field: "Count", value: "x" },
    ]);
    expect((await listRunErrors(env, s.tenant, run.id)).length).toBeGreaterThanOrEqual(2);
    expect(await s.all()).toHaveLength(1);
  });
});
