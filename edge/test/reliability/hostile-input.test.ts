/**
 * Hostile input, property-based (fast-check): job configs, object definitions, filters and connection URLs.
 * Every invalid input is refused with the error envelope (4xx, never 500) and nothing is stored (the list endpoints
 * and KV are checked afterwards). The explicit tests at the end of each block pin bugs found by these properties.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { isDataverseHost } from "#contract/org-url";
import { objectTable } from "../../src/stores/object-tables";
import { actors, json, sandbox } from "../helpers";
import { call, createConnection } from "./helpers";
import { fixture, PROJECT_FIELDS } from "../sync/helpers";
import { runSlice } from "../../src/sync/engine";
import { createRun, getRunRow } from "../../src/stores/runs";

const RUNS = 60;
const ERROR_CODES = new Set(["validation_failed", "invalid_json", "payload_too_large", "not_found", "conflict", "quota_exceeded"]);

/** The response is a 4xx error envelope (never 2xx, never 5xx). */
async function expectRefused(res: Response, ctx: unknown): Promise<{ code: string; details?: Array<{ path: string; message: string }> }> {
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)} for ${JSON.stringify(ctx).slice(0, 300)}`);
  }
  if (
    res.status < 400 ||
    res.status >= 500 ||
    !body?.error ||
    typeof body.error.code !== "string" ||
    typeof body.error.message !== "string" ||
    !ERROR_CODES.has(body.error.code)
  ) {
    throw new Error(`expected a 4xx envelope, got ${res.status} ${text.slice(0, 300)} for ${JSON.stringify(ctx).slice(0, 500)}`);
  }
  return body.error;
}

async function kvKeys(prefix: string): Promise<string[]> {
  return (await env.CONFIG.list({ prefix })).keys.map((k) => k.name);
}

afterEach(() => vi.restoreAllMocks());

// ---------------------------------------------------------------------------------------------------------------
describe("job configs", () => {
  let admin: string;
  let tenant: string;
  let connId: string;
  let base: Record<string, any>;

  beforeAll(async () => {
    const a = await actors();
    admin = a.admin;
    tenant = a.tenant;
    connId = (await createConnection(admin)).id;
    const obj = await call("POST", "/api/v1/objects", {
      token: admin,
      body: {
        name: "Thing",
        label: "Thing",
        fields: [
          { name: "Key", label: "Key", type: "id", required: true, unique: true },
          { name: "Name", label: "Name", type: "string" },
          { name: "Count", label: "Count", type: "integer" },
          { name: "Parent", label: "Parent", type: "reference", references: "Thing" },
        ],
      },
    });
    expect(obj.status).toBe(201);
    base = {
      connectionId: connId,
      name: "valid job",
      enabled: true,
      source: { entity: "account", filter: null },
      target: { object: "Thing" },
      mode: "upsert",
      deletes: "soft",
      identifiers: [{ source: "accountid", target: "Key" }],
      mappings: [{ source: "name", target: "Name", use: "value" }],
      lookups: [],
      schedule: { cron: "0 * * * *", timezone: "Europe/Berlin" },
      dependsOn: null,
      notify: { onSuccess: [], onPartial: [], onFailure: ["ops@example.com"], webhook: null },
    };
    // The base is valid (in a throwaway tenant, so the hostile tenant stays empty).
    const v = await actors();
    const vc = await createConnection(v.admin);
    await call("POST", "/api/v1/objects", {
      token: v.admin,
      body: {
        name: "Thing",
        label: "Thing",
        fields: [
          { name: "Key", label: "Key", type: "id", required: true, unique: true },
          { name: "Name", label: "Name", type: "string" },
          { name: "Count", label: "Count", type: "integer" },
          { name: "Parent", label: "Parent", type: "reference", references: "Thing" },
        ],
      },
    });
    const ok = await call("POST", "/api/v1/jobs", { token: v.admin, body: { ...base, connectionId: vc.id } });
    expect(ok.status, await ok.clone().text()).toBe(201);
  });

  const notLogical = fc.string({ maxLength: 120 }).filter((s) => !/^[a-z_][a-z0-9_]{0,99}$/.test(s));
  const notField = fc.string({ maxLength: 80 }).filter((s) => !/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(s));
  const junk = fc.oneof(
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
    fc.constant(""),
  );
  const unknownKey = fc
    .string({ minLength: 1, maxLength: 20 })
    .filter(
      (k) =>
        ![
          "connectionId",
          "name",
          "enabled",
          "source",
          "target",
          "mode",
          "deletes",
          "identifiers",
          "mappings",
          "lookups",
          "schedule",
          "dependsOn",
          "notify",
          "entity",
          "filter",
          "object",
          "target",
          "use",
          "via",
          "onSuccess",
          "onPartial",
          "onFailure",
          "webhook",
          "__proto__",
          "constructor",
          "toString",
          "valueOf",
          "hasOwnProperty",
        ].includes(k),
    );
  const badEnum = fc
    .string({ maxLength: 12 })
    .filter((s) => !["insert", "update", "upsert", "ignore", "soft", "delete", "value", "label", "null", "skip", "error"].includes(s));
  const badCron = fc
    .tuple(
      fc.integer({ min: 60, max: 99 }),
      fc.integer({ min: 24, max: 99 }),
      fc.integer({ min: 32, max: 99 }),
      fc.integer({ min: 13, max: 99 }),
      fc.integer({ min: 8, max: 99 }),
    )
    .chain(([mi, h, d, mo, dow]) =>
      fc.constantFrom(`${mi} * * * *`, `0 ${h} * * *`, `0 0 ${d} * *`, `0 0 1 ${mo} *`, `0 0 * * ${dow}`, `*/0 * * * *`, `${mi}-${mi + 5} * * * *`),
    );
  const validTz = (tz: string) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  };
  const badTz = fc.string({ minLength: 1, maxLength: 64 }).filter((s) => !validTz(s));
  const badEmail = fc.string({ maxLength: 40 }).filter((s) => !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s));
  const badWebhook = fc.constantFrom(
    "javascript:alert(1)",
    "file:///etc/passwd",
    "ftp://example.com/x",
    "gopher://127.0.0.1:25/",
    "data:text/plain,hi",
    "not a url",
    "//example.com/x",
    "https://",
    "http://exa mple.com/",
  );
  const idLike = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);

  type Mutator = (j: Record<string, any>) => void;
  const mutators: fc.Arbitrary<[string, Mutator]> = fc.oneof(
    fc
      .tuple(fc.constantFrom("connectionId", "name", "source", "target", "mappings"), junk)
      .map(([k, v]) => [`${k} = ${JSON.stringify(v)}`, (j) => void (j[k] = v)] as [string, Mutator]),
    fc.constantFrom("connectionId", "name", "source", "target", "mappings").map((k) => [`delete ${k}`, (j) => void delete j[k]] as [string, Mutator]),
    fc.tuple(fc.constantFrom("", "source", "target", "mappings.0", "identifiers.0", "notify", "schedule"), unknownKey).map(
      ([at, k]) =>
        [
          `unknown key ${at}.${k}`,
          (j) => {
            const o = at ? at.split(".").reduce((x: any, p) => x[p], j) : j;
            o[k] = 1;
          },
        ] as [string, Mutator],
    ),
    notLogical.map((s) => [`source.entity = ${JSON.stringify(s)}`, (j) => void (j.source.entity = s)] as [string, Mutator]),
    notLogical.map((s) => [`mappings.0.source = ${JSON.stringify(s)}`, (j) => void (j.mappings[0].source = s)] as [string, Mutator]),
    notLogical.map((s) => [`identifiers.0.source = ${JSON.stringify(s)}`, (j) => void (j.identifiers[0].source = s)] as [string, Mutator]),
    notField.map((s) => [`target.object = ${JSON.stringify(s)}`, (j) => void (j.target.object = s)] as [string, Mutator]),
    notField.map((s) => [`mappings.0.target = ${JSON.stringify(s)}`, (j) => void (j.mappings[0].target = s)] as [string, Mutator]),
    fc
      .tuple(fc.constantFrom("mode", "deletes", "use"), badEnum)
      .map(([k, v]) => [`${k} = ${JSON.stringify(v)}`, (j) => void (k === "use" ? (j.mappings[0].use = v) : (j[k] = v))] as [string, Mutator]),
    idLike.map((s) => [`target.object = Zz${s} (missing)`, (j) => void (j.target.object = `Zz${s.replace(/-/g, "_")}`)] as [string, Mutator]),
    idLike.map((s) => [`connectionId = ${s} (missing)`, (j) => void (j.connectionId = `conn_missing_${s}`)] as [string, Mutator]),
    idLike.map((s) => [`dependsOn = ${s} (missing)`, (j) => void (j.dependsOn = `job_missing_${s}`)] as [string, Mutator]),
    idLike.map((s) => [`mappings.0.target = Missing${s}`, (j) => void (j.mappings[0].target = `Missing${s.replace(/-/g, "_")}`)] as [string, Mutator]),
    badCron.map((c) => [`schedule.cron = ${c}`, (j) => void (j.schedule.cron = c)] as [string, Mutator]),
    badTz.map((tz) => [`schedule.timezone = ${JSON.stringify(tz)}`, (j) => void (j.schedule.timezone = tz)] as [string, Mutator]),
    badEmail.map((e) => [`notify.onFailure = [${JSON.stringify(e)}]`, (j) => void (j.notify.onFailure = [e])] as [string, Mutator]),
    badWebhook.map((w) => [`notify.webhook = ${w}`, (j) => void (j.notify.webhook = w)] as [string, Mutator]),
    fc
      .integer({ min: 301, max: 400 })
      .map(
        (n) => [`${n} mappings`, (j) => void (j.mappings = Array.from({ length: n }, (_, i) => ({ source: `col${i}`, target: "Name" })))] as [string, Mutator],
      ),
    fc
      .integer({ min: 4, max: 10 })
      .map(
        (n) =>
          [`${n} identifiers`, (j) => void (j.identifiers = Array.from({ length: n }, () => ({ source: "accountid", target: "Key" })))] as [string, Mutator],
      ),
    fc.integer({ min: 21, max: 40 }).map(
      (n) =>
        [
          `${n} lookups`,
          (j) =>
            void (j.lookups = Array.from({ length: n }, () => ({
              target: "Parent",
              object: "Thing",
              match: [{ source: "_parentaccountid_value", field: "Key" }],
            }))),
        ] as [string, Mutator],
    ),
    fc.integer({ min: 121, max: 5000 }).map((n) => [`name of ${n} chars`, (j) => void (j.name = "n".repeat(n))] as [string, Mutator]),
    fc.integer({ min: 2001, max: 20000 }).map((n) => [`filter of ${n} chars`, (j) => void (j.source.filter = "x".repeat(n))] as [string, Mutator]),
    fc.constant(["whitespace name", (j: Record<string, any>) => void (j.name = "   \t ")] as [string, Mutator]),
    fc.constant(["no identifier in upsert", (j: Record<string, any>) => void (j.identifiers = [])] as [string, Mutator]),
    fc.constant([
      "identifier on a non-unique field",
      (j: Record<string, any>) => void ((j.identifiers = [{ source: "accountid", target: "Name" }]), (j.mappings = [{ source: "name", target: "Count" }])),
    ] as [string, Mutator]),
    fc.constant(["two mappings fill one field", (j: Record<string, any>) => void j.mappings.push({ source: "accountnumber", target: "Name" })] as [
      string,
      Mutator,
    ]),
    fc.constant(["mapping fills a reference field", (j: Record<string, any>) => void j.mappings.push({ source: "parentaccountid", target: "Parent" })] as [
      string,
      Mutator,
    ]),
    fc.constant([
      "lookup with 7 match fields",
      (j: Record<string, any>) =>
        void (j.lookups = [{ target: "Parent", object: "Thing", match: Array.from({ length: 7 }, (_, i) => ({ source: `a${i}`, field: "Key" })) }]),
    ] as [string, Mutator]),
  );

  it("refuses every mutated (invalid) job with the envelope, and stores nothing", async () => {
    const before = await kvKeys(`t/${tenant}/job/`);
    await fc.assert(
      fc.asyncProperty(fc.array(mutators, { minLength: 1, maxLength: 3 }), async (muts) => {
        const job = structuredClone(base);
        try {
          for (const [, m] of muts) m(job);
        } catch {
          return; // a combination that can't be applied (e.g. source replaced by a number, then source.entity set)
        }
        const res = await call("POST", "/api/v1/jobs", { token: admin, body: job });
        const e = await expectRefused(
          res,
          muts.map(([d]) => d),
        );
        expect(e.code).toBe("validation_failed");
        expect(e.details?.length ?? 0).toBeGreaterThan(0);
      }),
      { numRuns: RUNS * 2 },
    );
    expect(await kvKeys(`t/${tenant}/job/`)).toEqual(before);
    expect(await json(await call("GET", "/api/v1/jobs", { token: admin }))).toEqual([]);
  });

  it("refuses arbitrary JSON and non-JSON bodies (never 500), and stores nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.string({ maxLength: 200 }),
          fc.string({ maxLength: 200, unit: "binary" }),
        ),
        async (raw) => {
          const res = await call("POST", "/api/v1/jobs", { token: admin, rawBody: raw, headers: { "Content-Type": "application/json" } });
          await expectRefused(res, raw);
        },
      ),
      { numRuns: RUNS },
    );
    expect(await kvKeys(`t/${tenant}/job/`)).toEqual([]);
  });

  it("PUT with a mutated job leaves the stored job unchanged", async () => {
    const v = await actors();
    const vc = await createConnection(v.admin);
    await call("POST", "/api/v1/objects", {
      token: v.admin,
      body: {
        name: "Thing",
        label: "Thing",
        fields: [
          { name: "Key", label: "Key", type: "id", required: true, unique: true },
          { name: "Name", label: "Name", type: "string" },
          { name: "Count", label: "Count", type: "integer" },
          { name: "Parent", label: "Parent", type: "reference", references: "Thing" },
        ],
      },
    });
    const created = await json(await call("POST", "/api/v1/jobs", { token: v.admin, body: { ...base, connectionId: vc.id } }));
    const stored = await env.CONFIG.get(`t/${v.tenant}/job/${created.id}`);
    await fc.assert(
      fc.asyncProperty(mutators, async ([d, m]) => {
        const job = structuredClone({ ...base, connectionId: vc.id });
        m(job);
        await expectRefused(await call("PUT", `/api/v1/jobs/${created.id}`, { token: v.admin, body: job }), d);
      }),
      { numRuns: RUNS },
    );
    expect(await env.CONFIG.get(`t/${v.tenant}/job/${created.id}`)).toBe(stored);
  });

  it("never answers 500 to any source filter text (stored only when the whole job is valid)", async () => {
    const v = await actors();
    const vc = await createConnection(v.admin);
    await call("POST", "/api/v1/objects", {
      token: v.admin,
      body: {
        name: "Thing",
        label: "Thing",
        fields: [
          { name: "Key", label: "Key", type: "id", required: true, unique: true },
          { name: "Name", label: "Name", type: "string" },
        ],
      },
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ maxLength: 100, unit: "grapheme" }), fc.string({ minLength: 1995, maxLength: 2010 })),
        async (filter) => {
          const res = await call("POST", "/api/v1/jobs", {
            token: v.admin,
            body: { ...base, connectionId: vc.id, schedule: null, source: { entity: "account", filter } },
          });
          expect([201, 400], await res.clone().text()).toContain(res.status);
          if (res.status === 400) await expectRefused(res, filter);
        },
      ),
      { numRuns: RUNS },
    );
  });

  // BUG (jobs/validation.ts): the job filter is not checked at all, and query.ts wraps it as `(filter) and (cursor)`.
  // A filter that closes its own parenthesis escapes the wrapper, the keyset cursor then binds to one branch only,
  // and a run re-reads the same first page forever (see the next test). It must be refused when the job is saved.
  it("refuses a source filter whose parentheses or quotes do not balance", async () => {
    for (const filter of ["statecode eq 0) or (statecode eq 1", "name eq 'a') or (1 eq 1", "(statecode eq 0", "statecode eq 0)", "name eq 'unterminated"]) {
      const res = await call("POST", "/api/v1/jobs", { token: admin, body: { ...base, source: { entity: "account", filter } } });
      const e = await expectRefused(res, filter);
      expect(
        e.details?.some((d) => d.path === "source.filter"),
        `${filter}: ${JSON.stringify(e)}`,
      ).toBe(true);
    }
    expect(await kvKeys(`t/${tenant}/job/`)).toEqual([]);
  });

  it.skipIf(!sandbox())("a run with a parenthesis-escaping filter terminates instead of re-reading the same page forever", async () => {
    // 200 projects in the sandbox, pages of 50: a correct keyset read ends after 5 pages.
    const fx = await fixture("contoso", {
      source: { entity: "cr123_project", filter: "statecode eq 0) or (statecode eq 1" },
      object: { name: "Project", fields: PROJECT_FIELDS },
    });
    const run = await createRun(env, fx.tenant, fx.job.id, "manual");
    const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: run.id };
    for (let i = 0; i < 12; i++) if ((await runSlice(env, ref, { pageSize: 50, maxPages: 1 })).kind === "done") break;
    const row = (await getRunRow(env, fx.tenant, run.id))!;
    // Today: still running after 12 pages, read 600 rows of 200, "updated" 546 rows it had just inserted.
    expect(row.read_count, `read ${row.read_count} rows in ${row.pages} pages, updated ${row.updated_count}`).toBeLessThanOrEqual(200);
    expect(["succeeded", "partial", "failed"]).toContain(row.status);
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe("object definitions", () => {
  const FIELD_TYPES = [
    "string",
    "text",
    "integer",
    "number",
    "currency",
    "boolean",
    "date",
    "datetime",
    "email",
    "url",
    "phone",
    "id",
    "reference",
    "string_list",
  ];
  const goodName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,20}$/);
  const goodField = fc.record({ name: goodName, label: fc.constant("L"), type: fc.constantFrom(...FIELD_TYPES.filter((t) => t !== "reference")) });
  const badFieldName = fc.string({ maxLength: 80 }).filter((s) => !/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(s));
  const badField = fc.oneof(
    badFieldName.map((name) => ({ name, label: "L", type: "string" })),
    fc
      .string({ maxLength: 12 })
      .filter((t) => !FIELD_TYPES.includes(t))
      .map((type) => ({ name: "Ok", label: "L", type })),
    fc.constantFrom("", "   ", "x".repeat(101)).map((label) => ({ name: "Ok", label, type: "string" })),
    fc.constant({ name: "Ref", label: "L", type: "reference" }), // reference without references
    goodName.map((r) => ({ name: "Ref", label: "L", type: "reference", references: `Missing${r}` })),
    fc.constant({ name: "S", label: "L", type: "string", references: "Company" }), // references on a non-reference
    fc.constant({ name: "S", label: "L", type: "string", required: "yes" }),
    fc.constant({ name: "S", label: "L", type: "string", extra: 1 }),
  );
  /** An invalid create body: at least one problem somewhere. */
  const badObject = fc.oneof(
    fc.tuple(badFieldName, fc.array(goodField, { minLength: 1, maxLength: 3 })).map(([name, fields]) => ({ name, label: "X", fields })),
    fc.tuple(goodName, fc.array(goodField, { maxLength: 3 }), badField, fc.nat(3)).map(([name, fields, bad, at]) => {
      const all = fields.map((f, i) => ({ ...f, name: `${f.name}_${i}` }));
      all.splice(Math.min(at, all.length), 0, bad as any);
      return { name: `O${name}`, label: "X", fields: all };
    }),
    goodName.map((name) => ({ name: `O${name}`, label: "X", fields: [] })),
    goodName.map((name) => ({ name: `O${name}`, label: "", fields: [{ name: "A", label: "A", type: "string" }] })),
    goodName.map((name) => ({
      name: `O${name}`,
      label: "X",
      fields: [
        { name: "Dup", label: "A", type: "string" },
        { name: "dUP", label: "B", type: "integer" },
      ],
    })),
    goodName.map((name) => ({ name: `O${name}`, label: "X", fields: Array.from({ length: 201 }, (_, i) => ({ name: `f${i}`, label: "f", type: "string" })) })),
    goodName.map((name) => ({ name: `O${name}`, label: "X", fields: [{ name: "A", label: "A", type: "string" }], unknown: true })),
    fc.constantFrom("Company", "person", "USER", "CompanyPerson").map((name) => ({ name, label: "X", fields: [{ name: "A", label: "A", type: "string" }] })), // standard names: conflict
  );

  it("refuses every invalid object definition with the envelope, and creates nothing", async () => {
    const a = await actors();
    const before = await json<any[]>(await call("GET", "/api/v1/objects", { token: a.admin }));
    const tablesBefore = (await env.DATA.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").first<{ n: number }>())!.n;
    await fc.assert(
      fc.asyncProperty(badObject, async (body) => {
        await expectRefused(await call("POST", "/api/v1/objects", { token: a.admin, body }), body);
      }),
      { numRuns: RUNS * 2 },
    );
    expect(await json<any[]>(await call("GET", "/api/v1/objects", { token: a.admin }))).toEqual(before);
    expect((await env.DATA.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").first<{ n: number }>())!.n).toBe(tablesBefore);
  });

  it("refuses every invalid addFields patch, and the object is unchanged", async () => {
    const a = await actors();
    expect(
      (await call("POST", "/api/v1/objects", { token: a.admin, body: { name: "Target", label: "T", fields: [{ name: "A", label: "A", type: "string" }] } }))
        .status,
    ).toBe(201);
    const before = await json(await call("GET", "/api/v1/objects/Target", { token: a.admin }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          badField.map((f) => [f]),
          fc.constant([{ name: "a", label: "dup of A", type: "string" }]),
        ),
        async (addFields) => {
          await expectRefused(await call("PATCH", "/api/v1/objects/Target", { token: a.admin, body: { addFields } }), addFields);
        },
      ),
      { numRuns: RUNS },
    );
    expect(await json(await call("GET", "/api/v1/objects/Target", { token: a.admin }))).toEqual(before);
  });

  // BUG (contract/object.ts + stores/objects.ts): fields were allowed up to 200 per create and without any total on
  // PATCH, but D1 allows 100 columns per table and every object table has 5 system columns: 96+ fields was a 500.
  // Now the fields-per-object quota (422 quota_exceeded, edge/test/quotas.test.ts).
  it("refuses (4xx, not 500) an object with more fields than a D1 table can hold", async () => {
    const a = await actors();
    const fields = (n: number, p = "f") => Array.from({ length: n }, (_, i) => ({ name: `${p}${i}`, label: "f", type: "string" }));
    await expectRefused(await call("POST", "/api/v1/objects", { token: a.admin, body: { name: "Wide", label: "W", fields: fields(96) } }), "96 fields");
    expect((await call("POST", "/api/v1/objects", { token: a.admin, body: { name: "Full", label: "F", fields: fields(95) } })).status).toBe(201);
    await expectRefused(await call("PATCH", "/api/v1/objects/Full", { token: a.admin, body: { addFields: fields(1, "g") } }), "96th field by PATCH");
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe("record filters", () => {
  let admin: string;
  beforeAll(async () => {
    const a = await actors();
    admin = a.admin;
    await call("POST", "/api/v1/objects", {
      token: admin,
      body: {
        name: "Rec",
        label: "R",
        fields: [
          { name: "Name", label: "N", type: "string" },
          { name: "Count", label: "C", type: "integer" },
          { name: "Flag", label: "F", type: "boolean" },
          { name: "Tags", label: "T", type: "string_list" },
        ],
      },
    });
    // A few rows so every predicate is really evaluated by SQLite.
    const table = await objectTable(a.tenant, "Rec");
    for (let i = 0; i < 5; i++) {
      await env.DATA.prepare(`INSERT INTO ${table} (_id, _created_at, _updated_at, "f_Name", "f_Count", "f_Flag", "f_Tags") VALUES (?, 'x', 'x', ?, ?, ?, ?)`)
        .bind(`r${i}`, `name ${i} %_'`, i, i % 2, JSON.stringify([`t${i}`]))
        .run();
    }
  });

  const value = fc.oneof(
    // ≤ 12 code points: the LIKE pattern stays within D1's 50 bytes (longer values: the explicit test below)
    fc.string({ maxLength: 12 }).map((s) => `'${s.replace(/'/g, "''")}'`),
    fc.string({ maxLength: 12, unit: "grapheme" }).map((s) => `'${s.replace(/'/g, "''")}'`),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.integer().map(String),
    fc.constantFrom("true", "false", "null", "''", "'''", "'", "1e309", "-0", "0x10"),
  );
  const clause = fc
    .tuple(
      fc.constantFrom("Name", "count", "FLAG", "Tags", "Missing", "_id", "f_Name"),
      fc.constantFrom("eq", "ne", "gt", "lt", "ge", "le", "contains", "startswith", "like", "in", "EQ"),
      value,
    )
    .map(([f, o, v]) => `${f} ${o} ${v}`);
  const filter = fc.oneof(
    fc.array(clause, { minLength: 1, maxLength: 12 }).map((cs) => cs.join(" and ")),
    fc.array(clause, { minLength: 2, maxLength: 3 }).map((cs) => cs.join(" or ")),
    fc.string({ maxLength: 200 }),
    fc.string({ minLength: 990, maxLength: 1100 }),
  );

  it("answers 200 or a 400 envelope to any filter, cursor and limit (never 500)", async () => {
    await fc.assert(
      fc.asyncProperty(
        filter,
        fc.option(fc.string({ maxLength: 60 })),
        fc.option(fc.oneof(fc.integer().map(String), fc.string({ maxLength: 6 }))),
        async (f, cursor, limit) => {
          const q = new URLSearchParams({ filter: f });
          if (cursor !== null) q.set("cursor", cursor);
          if (limit !== null) q.set("limit", limit);
          const res = await call("GET", `/api/v1/objects/Rec/records?${q}`, { token: admin });
          if (res.status !== 200) await expectRefused(res, { f, cursor, limit });
          else expect(Array.isArray((await json(res)).items)).toBe(true);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  // BUG (stores/records.ts listRecords): contains/startswith become SQLite LIKE patterns, and D1 limits a LIKE
  // pattern to 50 bytes; a longer value (49+ characters for contains) makes D1 throw → 500 internal.
  it("refuses (or answers) a contains / startswith value longer than D1's LIKE pattern limit, never 500", async () => {
    for (const f of [
      `Name contains '${"x".repeat(49)}'`,
      `Name startswith '${"x".repeat(50)}'`,
      `Name contains '${"%".repeat(30)}'`,
      `Name contains '${"é".repeat(30)}'`,
    ]) {
      const res = await call("GET", `/api/v1/objects/Rec/records?filter=${encodeURIComponent(f)}`, { token: admin });
      if (res.status !== 200) await expectRefused(res, f);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe("connection URLs", () => {
  const label = fc.stringMatching(/^[a-z0-9]{1,12}$/);
  const octet = fc.integer({ min: 0, max: 255 });
  const ipv4 = fc.tuple(octet, octet, octet, octet);
  const hostileHost = fc.oneof(
    fc
      .tuple(
        label,
        fc.constantFrom(
          "com",
          "net",
          "example",
          "io",
          "dynamics.com",
          "crm.dynamics.co",
          "crm.dynamics.com.evil.com",
          "crm23.dynamics.com",
          "crm.microsoftdynamics.com",
          "dynamics.com.cn",
        ),
      )
      .map(([l, tld]) => `${l}.${tld}`),
    ipv4.map((o) => o.join(".")),
    ipv4.map((o) => String(((o[0] << 24) >>> 0) + (o[1] << 16) + (o[2] << 8) + o[3])), // decimal
    ipv4.map((o) => `0x${o.map((x) => x.toString(16).padStart(2, "0")).join("")}`), // hex
    ipv4.map((o) => o.map((x) => `0${x.toString(8)}`).join(".")), // octal
    ipv4.map((o) => `[::ffff:${o.join(".")}]`), // IPv6-mapped
    fc.constantFrom(
      "[::1]",
      "[::]",
      "[fd00::1]",
      "[fe80::1%25eth0]",
      "localhost",
      "LOCALHOST",
      "app.localhost",
      "metadata.google.internal",
      "169.254.169.254",
      "100.100.100.200",
      "instance-data",
      "printer.local",
      "0",
      "127.1",
      "2130706433",
      "0x7f000001",
      "017700000001",
    ),
    label.map((l) => `${l}.crm.dynamics.com.`), // trailing dot
    label.map((l) => `${l}.crm.dynamіcs.com`), // Cyrillic і
    label.map((l) => `${l}.xn--crm-dynamics-9z.com`),
    label.map((l) => `${l}.crm.dynamics.com%2f.evil.com`),
  );
  const dynHost = label.map((l) => `${l}.crm4.dynamics.com`);
  const path = fc.constantFrom("", "/", "/main.aspx", "/api/data/v9.2/", "/..%2f..%2f", "?x=1", "#frag");
  const hostileUrl = fc.oneof(
    fc
      .tuple(
        fc.constantFrom("https://", "http://", "", "ftp://", "file://", "gopher://", "//", "HTTPS://"),
        fc.option(fc.constantFrom("user@", "user:pass@", "a%40b@")),
        hostileHost,
        fc.option(fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`)),
        path,
      )
      .map(([s, u, h, p, pa]) => `${s}${u ?? ""}${h}${p ?? ""}${pa}`),
    // a genuine Dataverse host made invalid by scheme, userinfo or port
    fc.tuple(fc.constantFrom("http://", "ftp://", "ws://", "javascript://", "file://"), dynHost, path).map(([s, h, pa]) => `${s}${h}${pa}`),
    fc.tuple(fc.constantFrom("https://user@", "https://a:b@", "https://@"), dynHost, path).map(([s, h, pa]) => `${s}${h}${pa}`),
    fc
      .tuple(
        dynHost,
        fc.integer({ min: 1, max: 65535 }).filter((p) => p !== 443),
      )
      .map(([h, p]) => `https://${h}:${p}`),
    fc.tuple(label, fc.constantFrom("\\@evil.com", " .evil.com", "\t", "\\", "\n", "%00", "%2e")).map(([l, x]) => `https://${l}${x}.crm4.dynamics.com`),
  );

  it("refuses every hostile orgUrl with the envelope, stores nothing and calls nobody", async () => {
    const a = await actors();
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    await fc.assert(
      fc.asyncProperty(hostileUrl, async (orgUrl) => {
        const e = await expectRefused(await call("POST", "/api/v1/connections", { token: a.admin, body: { name: "x", orgUrl } }), orgUrl);
        expect(e.code).toBe("validation_failed");
        expect(e.details?.[0]?.path).toBe("orgUrl");
      }),
      { numRuns: RUNS * 3 },
    );
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(await json(await call("GET", "/api/v1/connections", { token: a.admin }))).toEqual([]);
    expect(await kvKeys(`t/${a.tenant}/`)).toEqual([]);
  });

  it("any string as orgUrl: 201 only for an https Dataverse host, else the envelope (never 500)", async () => {
    const a = await actors();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ maxLength: 60, unit: "grapheme" }), fc.webUrl({ withQueryParameters: true, withFragments: true })),
        async (orgUrl) => {
          const res = await call("POST", "/api/v1/connections", { token: a.admin, body: { name: "x", orgUrl } });
          if (res.status === 201) {
            const c = await json(res);
            const u = new URL(c.orgUrl);
            expect(u.protocol).toBe("https:");
            expect(isDataverseHost(u.hostname)).toBe(true);
            expect(c.orgUrl).toBe(`https://${u.hostname}`);
          } else await expectRefused(res, orgUrl);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});
