/**
 * The OpenAPI 3.1 document of the edge API, generated from the same zod schemas the routes validate with
 * (z.toJSONSchema). Every route is listed here, including the sync engine's run routes; a test checks that
 * every route registered on the app appears in this document. app.ts serves it at /api/v1/openapi.json.
 */
import { z } from "zod";
import { AuthorizeConnectionBody, CreateConnectionBody, RenameConnectionBody } from "#contract/connection";
import { ERROR_CODES } from "#contract/errors";
import { JobInput } from "#contract/job";
import { CreateObjectBody, UpdateObjectBody } from "#contract/object";
import { ActivityQuery } from "../routes/activity";
import { RecordsQuery } from "../routes/objects";

interface RouteDoc {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string; // OpenAPI form: /api/v1/jobs/{id}
  summary: string;
  tag: string;
  public?: boolean;
  admin?: boolean;
  dynamicsToken?: "required" | "optional";
  body?: z.ZodType;
  query?: z.ZodObject;
  ok?: number;
  response?: string; // description of the success body
  errors?: Array<keyof typeof ERROR_CODES>;
}

const RefreshQuery = z.strictObject({
  refresh: z.enum(["1"]).optional().describe("1 = ask Dynamics again and replace the cached answer (admins only: 403 forbidden for viewers)"),
});
const ErrorsQuery = z.strictObject({ format: z.enum(["json", "csv"]).optional() });

const ROUTES: RouteDoc[] = [
  { method: "get", path: "/api/v1/health", summary: "Liveness and version", tag: "meta", public: true, response: "{ ok: true, version }" },
  { method: "get", path: "/api/v1/openapi.json", summary: "This document", tag: "meta", public: true, response: "OpenAPI 3.1" },
  {
    method: "get",
    path: "/api/v1/connections",
    summary: "List connections (with jobCount, lastSync and the last run's service-protection headroom in readiness)",
    tag: "connections",
    response: "Connection[]",
  },
  {
    method: "post",
    path: "/api/v1/connections",
    summary: "Create a connection (orgUrl normalised and validated)",
    tag: "connections",
    admin: true,
    body: CreateConnectionBody,
    ok: 201,
    response: "Connection (+ notes when the orgUrl was changed)",
    errors: ["validation_failed", "quota_exceeded"],
  },
  {
    method: "get",
    path: "/api/v1/connections/{id}",
    summary: "Read a connection (with jobCount, lastSync and the last run's service-protection headroom in readiness)",
    tag: "connections",
    response: "Connection",
    errors: ["not_found"],
  },
  {
    method: "patch",
    path: "/api/v1/connections/{id}",
    summary: "Rename a connection",
    tag: "connections",
    admin: true,
    body: RenameConnectionBody,
    response: "Connection",
    errors: ["not_found", "validation_failed"],
  },
  {
    method: "delete",
    path: "/api/v1/connections/{id}",
    summary: "Delete a connection (its jobs are disabled)",
    tag: "connections",
    admin: true,
    response: "{ deleted, id, disabledJobs }",
    errors: ["not_found"],
  },
  {
    method: "post",
    path: "/api/v1/connections/{id}/authorize",
    summary: "Authorize with the admin's delegated token: WhoAmI, background credential check, readiness, out-of-the-box jobs",
    tag: "connections",
    admin: true,
    body: AuthorizeConnectionBody,
    response: "Connection with status and readiness",
    errors: ["not_found", "org_mismatch", "dynamics_token_invalid", "dynamics_error", "dynamics_unreachable"],
  },
  {
    method: "get",
    path: "/api/v1/connections/{id}/dynamics/{path}",
    summary: "Proxy a GET to {orgUrl}/api/data/v9.2/{path}",
    tag: "dynamics",
    dynamicsToken: "required",
    response: "Dataverse's response (errors in Dataverse's shape)",
    errors: ["not_found", "proxy_refused", "method_not_allowed", "dynamics_token_missing", "dynamics_unreachable", "payload_too_large"],
  },
  {
    method: "post",
    path: "/api/v1/connections/{id}/dynamics/$batch",
    summary: "Proxy a $batch (multipart/mixed) to the org",
    tag: "dynamics",
    admin: true,
    dynamicsToken: "required",
    response: "Dataverse's multipart response",
    errors: ["not_found", "proxy_refused", "dynamics_token_missing", "payload_too_large"],
  },
  {
    method: "get",
    path: "/api/v1/connections/{id}/entities",
    summary: "Normalised table list (cached per connection)",
    tag: "metadata",
    dynamicsToken: "optional",
    query: RefreshQuery,
    response: "EntityInfo[]",
    errors: ["not_found", "forbidden", "dynamics_token_missing", "dynamics_token_invalid"],
  },
  {
    method: "get",
    path: "/api/v1/connections/{id}/entities/{logicalName}/attributes",
    summary: "Normalised column list of one table (cached per connection)",
    tag: "metadata",
    dynamicsToken: "optional",
    query: RefreshQuery,
    response: "AttributeInfo[]",
    errors: ["not_found", "forbidden", "dynamics_token_missing", "dynamics_token_invalid"],
  },
  { method: "get", path: "/api/v1/objects", summary: "List target objects (standard and custom)", tag: "objects", response: "TargetObject[]" },
  {
    method: "post",
    path: "/api/v1/objects",
    summary: "Create a custom object (creates its table)",
    tag: "objects",
    admin: true,
    body: CreateObjectBody,
    ok: 201,
    response: "TargetObject",
    errors: ["validation_failed", "conflict", "quota_exceeded"],
  },
  { method: "get", path: "/api/v1/objects/{name}", summary: "Read a target object", tag: "objects", response: "TargetObject", errors: ["not_found"] },
  {
    method: "patch",
    path: "/api/v1/objects/{name}",
    summary: "Relabel an object or add fields",
    tag: "objects",
    admin: true,
    body: UpdateObjectBody,
    response: "TargetObject",
    errors: ["not_found", "validation_failed", "quota_exceeded"],
  },
  {
    method: "get",
    path: "/api/v1/objects/{name}/records",
    summary: "Synced records, keyset-paged (opaque cursor)",
    tag: "objects",
    query: RecordsQuery,
    response: "{ items: TargetRecord[], nextCursor }",
    errors: ["not_found", "validation_failed"],
  },
  {
    method: "get",
    path: "/api/v1/jobs",
    summary: "List jobs, each with its latest run (lastRun; all found in one query)",
    tag: "jobs",
    query: z.strictObject({ connectionId: z.string().optional() }),
    response: "Array<Job & { lastRun: { id, trigger, status, createdAt, startedAt, finishedAt, counts, error: { code } | null } | null }>",
  },
  {
    method: "post",
    path: "/api/v1/jobs",
    summary: "Create a job (shape and cross-validation)",
    tag: "jobs",
    admin: true,
    body: JobInput,
    ok: 201,
    response: "Job (+ warnings about what could not be checked)",
    errors: ["validation_failed", "quota_exceeded"],
  },
  {
    method: "post",
    path: "/api/v1/jobs/preview",
    summary: "Map up to 10 live source rows for an unsaved job (validated as create validates it); stores and writes nothing",
    tag: "jobs",
    admin: true,
    dynamicsToken: "required",
    body: JobInput,
    response: "{ jobId: null, entity, object, rows: [{ sourceId, fields, lookups, errors }], errorCount }",
    errors: ["validation_failed", "quota_exceeded", "dynamics_token_missing", "dynamics_token_invalid", "dynamics_error", "dynamics_unreachable"],
  },
  {
    method: "get",
    path: "/api/v1/jobs/{id}",
    summary: "Read a job, with its latest run (lastRun)",
    tag: "jobs",
    response: "Job & { lastRun: { id, trigger, status, createdAt, startedAt, finishedAt, counts, error: { code } | null } | null }",
    errors: ["not_found"],
  },
  {
    method: "put",
    path: "/api/v1/jobs/{id}",
    summary: "Replace a job",
    tag: "jobs",
    admin: true,
    body: JobInput,
    response: "Job",
    errors: ["not_found", "validation_failed", "quota_exceeded"],
  },
  {
    method: "delete",
    path: "/api/v1/jobs/{id}",
    summary: "Delete a job (refused while other jobs depend on it)",
    tag: "jobs",
    admin: true,
    response: "{ deleted, id }",
    errors: ["not_found", "validation_failed"],
  },
  {
    method: "post",
    path: "/api/v1/jobs/{id}/preview",
    summary: "Map up to 10 live source rows; writes nothing",
    tag: "jobs",
    admin: true,
    dynamicsToken: "required",
    response: "{ jobId, entity, object, rows: [{ sourceId, fields, lookups, errors }], errorCount }",
    errors: ["not_found", "dynamics_token_missing"],
  },
  {
    method: "post",
    path: "/api/v1/jobs/{id}/runs",
    summary: 'Run now; optional body { "reconcile": true, "maxDeletePercent"?: 0-100 } starts a reconciliation instead',
    tag: "runs",
    admin: true,
    ok: 202,
    response: "{ runId }",
    errors: ["not_found", "run_in_progress", "validation_failed", "invalid_json", "quota_exceeded"],
  },
  { method: "get", path: "/api/v1/jobs/{id}/runs", summary: "Run history of a job", tag: "runs", response: "Run[]", errors: ["not_found"] },
  {
    method: "get",
    path: "/api/v1/jobs/{id}/webhook-secret",
    summary: "The job's webhook signing secret (admin only, although a GET)",
    tag: "runs",
    admin: true,
    response: "{ secret, algorithm, signedPayload, header }",
    errors: ["not_found", "forbidden"],
  },
  { method: "get", path: "/api/v1/runs/{runId}", summary: "Read a run", tag: "runs", response: "Run", errors: ["not_found"] },
  {
    method: "post",
    path: "/api/v1/runs/{runId}/cancel",
    summary: "Cancel an active run (ends it as failed, error code cancelled)",
    tag: "runs",
    admin: true,
    response: "Run",
    errors: ["not_found", "conflict"],
  },
  {
    method: "get",
    path: "/api/v1/runs/{runId}/errors",
    summary: "Per-record errors of a run (JSON or CSV)",
    tag: "runs",
    query: ErrorsQuery,
    response: "RunRecordError[] or text/csv",
    errors: ["not_found"],
  },
  {
    method: "get",
    path: "/api/v1/activity",
    summary: "Audit log of configuration changes",
    tag: "activity",
    query: ActivityQuery,
    response: "{ items: ActivityEntry[], nextCursor }",
  },
];

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { io: "input", unrepresentable: "any", target: "draft-2020-12" }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

const ErrorEnvelopeSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", enum: Object.keys(ERROR_CODES) },
        message: { type: "string" },
        details: {
          type: "array",
          items: { type: "object", required: ["path", "message"], properties: { path: { type: "string" }, message: { type: "string" } } },
        },
        requestId: { type: "string" },
      },
    },
  },
};

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const params: unknown[] = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    if (r.query) {
      for (const [name, schema] of Object.entries(r.query.shape)) {
        params.push({ name, in: "query", required: false, schema: jsonSchema(schema as z.ZodType) });
      }
    }
    const write = ["post", "put", "patch", "delete"].includes(r.method) && !r.path.includes("/dynamics/") && !r.path.endsWith("/preview");
    if (write)
      params.push({
        name: "Idempotency-Key",
        in: "header",
        required: false,
        schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{8,128}$" },
        description:
          "Makes a retry safe: the same key and request within 24 h replays the first answer (Idempotent-Replayed: true) instead of doing the work again",
      });
    if (r.dynamicsToken)
      params.push({
        name: "X-Dynamics-Token",
        in: "header",
        required: r.dynamicsToken === "required",
        schema: { type: "string" },
        description: "The admin's delegated Dataverse access token (never stored)",
      });
    const responses: Record<string, unknown> = {
      [String(r.ok ?? 200)]: { description: r.response ?? "OK", content: { "application/json": { schema: {} } } },
    };
    const codes = new Set<keyof typeof ERROR_CODES>([
      ...(r.public ? [] : (["unauthorized"] as const)),
      ...(r.admin ? (["forbidden"] as const) : []),
      ...(write ? (["idempotency_in_progress", "idempotency_key_reused"] as const) : []),
      ...(r.errors ?? []),
    ]);
    for (const code of codes) {
      const status = String(ERROR_CODES[code]);
      const existing = responses[status] as { description: string } | undefined;
      responses[status] = {
        description: existing ? `${existing.description}, ${code}` : code,
        content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorEnvelope" } } },
      };
    }
    (paths[r.path] ??= {})[r.method] = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${r.path
        .replace(/^\/api\/v1/, "")
        .replace(/[{}$]/g, "")
        .replace(/\/(\w)/g, (_, ch: string) => ch.toUpperCase())}`,
      ...(r.public ? { security: [] } : {}),
      ...(r.admin ? { "x-required-role": "admin" } : { "x-required-role": r.public ? "none" : "viewer" }),
      ...(params.length ? { parameters: params } : {}),
      ...(r.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(r.body) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Dynamics connector edge API",
      version,
      description: "Host-authenticated API of the embeddable Dynamics 365 connector. Errors: { error: { code, message, details?, requestId } }.",
    },
    servers: [{ url: "/" }],
    components: {
      securitySchemes: {
        hostToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "Host-signed JWT (HS256, or RS256 via JWKS) with tenant, sub, role (admin|viewer), email, exp",
        },
      },
      schemas: { ErrorEnvelope: ErrorEnvelopeSchema },
    },
    security: [{ hostToken: [] }],
    paths,
  };
}
