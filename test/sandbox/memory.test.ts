import { describe, expect, it } from "vitest";
import { checkMemory } from "../../demo/sandbox/check-memory";

describe("memory", () => {
  it("pages through 100,000 accounts at maxpagesize 5000 with bounded RSS growth", async () => {
    const r = await checkMemory(100_000, "name");
    expect(r.rows).toBe(100_000);
    expect(r.pages).toBe(20);
    // Rows are generated per page, so growth is O(page), not O(rows): ~140 MB observed (GC slack included).
    expect(r.growthMb).toBeLessThan(300);
  }, 60_000);
});
