import { describe, expect, it } from "vitest";
import { app } from "../src/app";
import { call, json } from "./helpers";

describe("OpenAPI", () => {
  it("serves an OpenAPI 3.1 document without a token", async () => {
    const res = await call("GET", "/api/v1/openapi.json");
    expect(res.status).toBe(200);
    expect((await json(res)).openapi).toBe("3.1.0");
  });

  it("lists every route registered on the app", async () => {
    const doc = await json(await call("GET", "/api/v1/openapi.json"));
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries<Record<string, unknown>>(doc.paths))
      for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${path}`);
    const registered = app.routes
      .filter((r) => r.method !== "ALL" || r.path.includes("/dynamics/"))
      .filter((r) => !r.path.startsWith("/ops/")) // the operator API is not the host API (docs/operations.md)
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}").replace(/\/\*$/, "/{path}")}`);
    const missing = [...new Set(registered)].filter((r) => {
      if (r.startsWith("ALL ")) return !documented.has(r.replace("ALL", "GET"));
      return !documented.has(r);
    });
    expect(missing).toEqual([]);
  });

  it("lists the sync engine's run routes", async () => {
    const doc = await json(await call("GET", "/api/v1/openapi.json"));
    expect(doc.paths["/api/v1/jobs/{id}/runs"]).toHaveProperty("post");
    expect(doc.paths["/api/v1/jobs/{id}/runs"]).toHaveProperty("get");
    expect(doc.paths["/api/v1/runs/{runId}"]).toHaveProperty("get");
    expect(doc.paths["/api/v1/runs/{runId}/errors"]).toHaveProperty("get");
  });

  it("derives request bodies from the zod schemas", async () => {
    const doc = await json(await call("GET", "/api/v1/openapi.json"));
    const schema = doc.paths["/api/v1/jobs"].post.requestBody.content["application/json"].schema;
    expect(schema.required).toEqual(expect.arrayContaining(["connectionId", "name", "source", "target", "mappings"]));
    expect(schema.additionalProperties).toBe(false);
  });
});
