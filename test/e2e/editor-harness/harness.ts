/**
 * Mounts <dc-job-editor> alone against an in-page fake of the edge API, so editor.spec.ts can drive every editor
 * behaviour deterministically (the full-stack tests in editor.spec.ts cover the real edge and sandbox).
 * The fake serves Microsoft's published account / contact / systemuser schema (demo/sandbox/schema) and 800+ tables.
 */
import "../../../widget/src/editor/job-editor";
import type { AttributeInfo, EntityInfo } from "#contract/metadata";
import type { Job } from "#contract/job";
import type { TargetObject } from "#contract/object";
import type { Connection } from "#contract/connection";
import entitiesRaw from "../../../demo/sandbox/schema/entities.json";
import accountRaw from "../../../demo/sandbox/schema/account.json";
import contactRaw from "../../../demo/sandbox/schema/contact.json";
import systemuserRaw from "../../../demo/sandbox/schema/systemuser.json";

interface RawAttr {
  logicalName: string;
  displayName?: string;
  type: string;
  requiredLevel?: string;
  isValidForRead?: boolean;
  format?: string;
  targets?: string[];
  options?: Array<{ value: number; label: string }>;
}
interface RawEntity {
  logicalName: string;
  displayName?: string;
  entitySetName?: string;
  primaryIdAttribute?: string;
  primaryNameAttribute?: string;
  attributes?: RawAttr[];
}

const KNOWN = new Set([
  "String",
  "Memo",
  "Integer",
  "BigInt",
  "Decimal",
  "Double",
  "Money",
  "Boolean",
  "DateTime",
  "Picklist",
  "State",
  "Status",
  "MultiSelectPicklist",
  "Uniqueidentifier",
  "Lookup",
  "Customer",
  "Owner",
  "EntityName",
  "PartyList",
  "Virtual",
]);
const attrsOf = (e: RawEntity): AttributeInfo[] =>
  (e.attributes ?? []).map((a) => ({
    logicalName: a.logicalName,
    displayName: a.displayName ?? a.logicalName,
    type: (KNOWN.has(a.type) ? a.type : "Other") as AttributeInfo["type"],
    required:
      a.requiredLevel === "SystemRequired" || a.requiredLevel === "ApplicationRequired"
        ? "required"
        : a.requiredLevel === "Recommended"
          ? "recommended"
          : "none",
    readable: a.isValidForRead !== false,
    ...(a.format ? { format: a.format } : {}),
    ...(a.targets ? { targets: a.targets } : {}),
    ...(a.options ? { options: a.options } : {}),
  }));

const DETAILED: Record<string, RawEntity> = { account: accountRaw as RawEntity, contact: contactRaw as RawEntity, systemuser: systemuserRaw as RawEntity };
const ENTITIES: EntityInfo[] = [
  ...(entitiesRaw as RawEntity[]).map((e) => ({
    logicalName: e.logicalName,
    displayName: e.displayName ?? e.logicalName,
    entitySetName: e.entitySetName ?? `${e.logicalName}s`,
    primaryIdAttribute: DETAILED[e.logicalName]?.primaryIdAttribute ?? `${e.logicalName}id`,
    primaryNameAttribute: DETAILED[e.logicalName]?.primaryNameAttribute ?? "name",
    isCustom: false,
    changeTracking: ["account", "contact", "systemuser"].includes(e.logicalName),
  })),
  // A real org has custom tables on top: 200 of them takes the list past 800.
  ...Array.from({ length: 200 }, (_, i) => ({
    logicalName: `cr123_custom${i}`,
    displayName: `Custom table ${i}`,
    entitySetName: `cr123_custom${i}s`,
    primaryIdAttribute: `cr123_custom${i}id`,
    primaryNameAttribute: "cr123_name",
    isCustom: true,
    changeTracking: i % 2 === 0,
  })),
];

const OBJECTS: TargetObject[] = [
  {
    name: "Company",
    label: "Company",
    standard: true,
    createdAt: "2026-01-01T00:00:00Z",
    fields: [
      { name: "DynamicsId", label: "Dynamics ID", type: "id", required: true, unique: true },
      { name: "Name", label: "Name", type: "string", required: true },
      { name: "Website", label: "Website", type: "url", required: false },
      { name: "Industry", label: "Industry", type: "string", required: false },
      { name: "Employees", label: "Employees", type: "integer", required: false },
      { name: "Revenue", label: "Revenue", type: "currency", required: false },
      { name: "ParentId", label: "Parent company", type: "reference", required: false, references: "Company" },
    ],
  },
  {
    name: "Person",
    label: "Person",
    standard: true,
    createdAt: "2026-01-01T00:00:00Z",
    fields: [
      { name: "DynamicsId", label: "Dynamics ID", type: "id", required: true, unique: true },
      { name: "FirstName", label: "First name", type: "string", required: false },
      { name: "LastName", label: "Last name", type: "string", required: true },
      { name: "Email", label: "Email", type: "email", required: false },
      { name: "CompanyName", label: "Company name", type: "string", required: false },
      { name: "Birthday", label: "Birthday", type: "date", required: false },
      { name: "CompanyId", label: "Company", type: "reference", required: false, references: "Company" },
    ],
  },
];

interface FakeState {
  requests: Array<{ method: string; path: string; body?: unknown; dynamicsToken?: string }>;
  /** Details to answer the next POST/PUT /jobs with (400 validation_failed). */
  failNextSave: Array<{ path: string; message: string }> | null;
  /** Another answer for failNextSave's details than 400 validation_failed (e.g. 422 quota_exceeded). */
  failNextSaveAs?: { status: number; code: "quota_exceeded"; message: string } | null;
  /** Details to answer the next POST /jobs/preview (an unsaved draft) with (400 validation_failed). */
  failNextPreview: Array<{ path: string; message: string }> | null;
  delayMs: number;
  jobs: Job[];
  objects: TargetObject[];
  events: Array<{ type: string; detail: unknown }>;
}

const state: FakeState = { requests: [], failNextSave: null, failNextPreview: null, delayMs: 0, jobs: [], objects: structuredClone(OBJECTS), events: [] };
(window as unknown as { __fake: FakeState }).__fake = state;

/** Ten rows mapped as "<source>-<i>"; row 2 carries a conversion error on the first mapping. Same shape as the edge's. */
function previewOf(job: Pick<Job, "source" | "target" | "mappings">, jobId: string | null) {
  const rows = Array.from({ length: 10 }, (_, i) => {
    const fields: Record<string, unknown> = {};
    for (const mp of job.mappings) fields[mp.target] = `${mp.source}-${i}`;
    const errors =
      i === 2 && job.mappings[0]
        ? [
            {
              sourceId: `id-${i}`,
              field: job.mappings[0].target,
              value: "=SUM(A1)",
              reason: `${job.mappings[0].source}: not an email address (target type email)`,
            },
          ]
        : [];
    return { sourceId: `00000000-0000-0000-0000-00000000000${i}`, fields, lookups: {}, errors };
  });
  return { jobId, entity: job.source.entity, object: job.target.object, rows, errorCount: 1 };
}

class EdgeError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public details?: Array<{ path: string; message: string }>,
    public requestId = "req-test-1",
  ) {
    super(message);
  }
}

const client = {
  async request<T>(method: string, path: string, opts: { body?: unknown; dynamicsToken?: string } = {}): Promise<T> {
    state.requests.push({
      method,
      path,
      ...(opts.body !== undefined ? { body: structuredClone(opts.body) } : {}),
      ...(opts.dynamicsToken ? { dynamicsToken: opts.dynamicsToken } : {}),
    });
    if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
    const p = path.replace(/\?.*$/, "");
    let m: RegExpExecArray | null;
    if (method === "GET" && /^\/connections\/[^/]+\/entities$/.test(p)) return structuredClone(ENTITIES) as T;
    if (method === "GET" && (m = /^\/connections\/[^/]+\/entities\/([^/]+)\/attributes$/.exec(p))) {
      const e = DETAILED[decodeURIComponent(m[1]!)];
      if (!e)
        return [
          { logicalName: `${m[1]}id`, displayName: "Id", type: "Uniqueidentifier", required: "none", readable: true },
          { logicalName: "cr123_name", displayName: "Name", type: "String", required: "required", readable: true },
        ] as T;
      return attrsOf(e) as T;
    }
    if (method === "GET" && p === "/objects") return structuredClone(state.objects) as T;
    if (method === "POST" && p === "/objects") {
      const body = opts.body as TargetObject;
      const obj = { ...body, standard: false, createdAt: new Date().toISOString() };
      state.objects.push(obj);
      return structuredClone(obj) as T;
    }
    if (method === "PATCH" && (m = /^\/objects\/([^/]+)$/.exec(p))) {
      // As the edge: new fields only, names unique case-insensitively (edge/src/stores/objects.ts checkFields).
      const obj = state.objects.find((o) => o.name === decodeURIComponent(m![1]!));
      if (!obj) throw new EdgeError(404, "not_found", "No such object");
      const add = (opts.body as { addFields?: TargetObject["fields"] }).addFields ?? [];
      const seen = new Set(obj.fields.map((f) => f.name.toLowerCase()));
      const details: Array<{ path: string; message: string }> = [];
      add.forEach((f, i) => {
        if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(f.name))
          details.push({ path: `addFields.${i}.name`, message: "must start with a letter and contain only letters, digits and _ (max 63)" });
        else if (seen.has(f.name.toLowerCase()))
          details.push({ path: `addFields.${i}.name`, message: `a field named ${f.name} already exists (names are case-insensitive)` });
        seen.add(f.name.toLowerCase());
      });
      if (details.length) throw new EdgeError(400, "validation_failed", "The request is not valid", details);
      obj.fields = [...obj.fields, ...add];
      return structuredClone(obj) as T;
    }
    if ((method === "POST" && p === "/jobs") || (method === "PUT" && /^\/jobs\/[^/]+$/.test(p))) {
      if (state.failNextSave) {
        const details = state.failNextSave;
        const as = state.failNextSaveAs ?? { status: 400, code: "validation_failed" as const, message: "The job is not valid" };
        state.failNextSave = null;
        state.failNextSaveAs = null;
        throw new EdgeError(as.status, as.code, as.message, details);
      }
      const now = new Date().toISOString();
      const id = method === "PUT" ? p.split("/")[2]! : `job_${state.jobs.length + 1}`;
      const job = { ...(opts.body as object), id, createdAt: now, updatedAt: now } as Job;
      state.jobs = [...state.jobs.filter((j) => j.id !== id), job];
      return structuredClone(job) as T;
    }
    if (method === "POST" && p === "/jobs/preview") {
      if (state.failNextPreview) {
        const details = state.failNextPreview;
        state.failNextPreview = null;
        throw new EdgeError(400, "validation_failed", "The job is not valid", details);
      }
      return previewOf(opts.body as Job, null) as T;
    }
    if (method === "POST" && (m = /^\/jobs\/([^/]+)\/preview$/.exec(p))) {
      const job = state.jobs.find((j) => j.id === m![1]);
      if (!job) throw new EdgeError(404, "not_found", "No such job");
      return previewOf(job, job.id) as T;
    }
    throw new EdgeError(404, "not_found", `fake edge has no ${method} ${p}`);
  },
};

const connection: Connection = {
  id: "conn_test",
  name: "Contoso Production",
  orgUrl: "https://contoso.crm4.dynamics.com",
  status: "authorized",
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
};

const params = new URLSearchParams(location.search);
const existing: Job | null =
  params.get("job") === "existing"
    ? {
        id: "job_existing",
        connectionId: connection.id,
        name: "Accounts → Companies",
        enabled: true,
        source: { entity: "account", filter: "statecode eq 0" },
        target: { object: "Company" },
        mode: "upsert",
        deletes: "soft",
        identifiers: [{ source: "accountid", target: "DynamicsId" }],
        mappings: [
          { source: "accountid", target: "DynamicsId", use: "value" },
          { source: "name", target: "Name", use: "value" },
          { source: "industrycode", target: "Industry", use: "label" },
        ],
        lookups: [],
        schedule: { cron: "0 2 * * *", timezone: "Europe/Berlin" },
        dependsOn: null,
        notify: { onSuccess: [], onPartial: [], onFailure: ["ops@example.com"], webhook: null },
        createdAt: "2026-01-01T00:00:00Z",
        updatedAt: "2026-01-02T00:00:00Z",
      }
    : null;
if (existing) state.jobs.push(existing);

const editor = document.createElement("dc-job-editor");
editor.client = client as never;
editor.connection = connection;
editor.job = existing;
editor.jobs = [...state.jobs, { ...(existing ?? ({} as Job)), id: "job_other", name: "Users → Users", connectionId: connection.id } as Job];
editor.getDynamicsToken = async () => "dyn-token-not-a-real-one";
for (const type of ["dc-job-saved", "dc-editor-close"]) {
  editor.addEventListener(type, (e) => state.events.push({ type, detail: structuredClone((e as CustomEvent).detail) }));
}
document.getElementById("mount")!.append(editor);
