import { describe, expect, it } from "vitest";
import type { Job } from "#contract/job";
import { chainOrder, toJobInput } from "./job-input";

const job = (id: string, name: string, dependsOn: string | null = null): Job => ({
  id,
  name,
  dependsOn,
  connectionId: "c",
  enabled: true,
  source: { entity: "account", filter: null },
  target: { object: "Company" },
  mode: "upsert",
  deletes: "ignore",
  identifiers: [],
  mappings: [{ source: "name", target: "Name", use: "value" }],
  lookups: [],
  schedule: null,
  notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
  createdAt: "t",
  updatedAt: "t",
});

describe("chainOrder", () => {
  it("puts each job right after the one it depends on, with its step", () => {
    const out = chainOrder([job("p", "People", "c"), job("u", "Users"), job("c", "Companies"), job("cp", "Company people", "p")]);
    expect(out.map((r) => `${r.job.id}:${r.step}:${r.after?.id ?? "-"}`)).toEqual(["c:1:-", "p:2:c", "cp:3:p", "u:1:-"]);
  });

  it("still lists every job of a cycle", () => {
    expect(chainOrder([job("a", "A", "b"), job("b", "B", "a")])).toHaveLength(2);
  });
});

describe("toJobInput", () => {
  it("strips the server-owned fields the strict schema refuses and applies the patch", () => {
    const input = toJobInput({ ...job("x", "X"), builtIn: "company", warnings: ["w"] } as Job, { enabled: false }) as Record<string, unknown>;
    expect(input).not.toHaveProperty("id");
    expect(input).not.toHaveProperty("createdAt");
    expect(input).not.toHaveProperty("builtIn");
    expect(input).not.toHaveProperty("warnings");
    expect(input.enabled).toBe(false);
  });
});
