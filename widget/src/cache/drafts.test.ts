import { describe, expect, it } from "vitest";
import { assertNoSecrets, DraftStore, draftKey, type StoredDraft } from "./drafts";
import { MemoryStore } from "./kv-store";

describe("draft store", () => {
  const make = () => {
    let now = 1000;
    const store = new DraftStore<{ name: string }>(new MemoryStore<StoredDraft<{ name: string }>>(), () => now);
    return { store, tick: (ms: number) => (now += ms) };
  };

  it("keys drafts by connection and job, with 'new' for unsaved jobs", () => {
    expect(draftKey("conn_1", null)).toBe("conn_1/new");
    expect(draftKey("conn_1", "job_9")).toBe("conn_1/job_9");
  });

  it("saves, loads and discards a draft", async () => {
    const { store } = make();
    await store.save("c1", null, { name: "Accounts" }, null);
    expect(await store.load("c1", null)).toEqual({ draft: { name: "Accounts" }, savedAt: 1000, baseUpdatedAt: null });
    expect(await store.load("c2", null)).toBeUndefined();
    await store.discard("c1", null);
    expect(await store.load("c1", null)).toBeUndefined();
  });

  it("records when it was saved and which job version it started from", async () => {
    const { store, tick } = make();
    tick(5000);
    const at = await store.save("c1", "j1", { name: "x" }, "2026-01-02T00:00:00Z");
    expect(at).toBe(6000);
    expect((await store.load("c1", "j1"))?.baseUpdatedAt).toBe("2026-01-02T00:00:00Z");
  });

  it("lists the drafts of one connection only", async () => {
    const { store } = make();
    await store.save("c1", "j1", { name: "a" }, null);
    await store.save("c1", null, { name: "b" }, null);
    await store.save("c10", "j2", { name: "c" }, null);
    expect((await store.list("c1")).sort()).toEqual(["j1", "new"]);
  });

  it("refuses to store anything that looks like a token", async () => {
    const { store } = make();
    await expect(store.save("c1", null, { name: "x", accessToken: "abc" } as { name: string }, null)).rejects.toThrow(/credential/);
    await expect(store.save("c1", null, { name: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig" }, null)).rejects.toThrow(/token-like/);
    expect(await store.load("c1", null)).toBeUndefined();
    expect(() => assertNoSecrets({ notify: { webhook: "https://example.com/x" }, mappings: [{ source: "name" }] })).not.toThrow();
  });
});
