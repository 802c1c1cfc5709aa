import { describe, expect, it } from "vitest";
import { JSON_CHUNK_CHARS, jsonChunks } from "../../src/stores/json-chunks";

/** The chunks joined back: every value once, in order, each chunk's offset and count matching. */
function rejoined(chunks: ReturnType<typeof jsonChunks>): unknown[] {
  const out: unknown[] = [];
  for (const c of chunks) {
    const values = JSON.parse(c.json) as unknown[];
    expect(c.offset).toBe(out.length);
    expect(values).toHaveLength(c.count);
    out.push(...values);
  }
  return out;
}

describe("jsonChunks", () => {
  it("nothing → no chunk; a few small values → one chunk", () => {
    expect(jsonChunks([])).toEqual([]);
    expect(jsonChunks(["a", 1, null, [2, "b"]])).toEqual([{ json: '["a",1,null,[2,"b"]]', offset: 0, count: 4 }]);
  });

  it("splits many values into chunks under the limit, every value once and in order", () => {
    const values = Array.from({ length: 20_000 }, (_, i) => [`00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, `name ${i}`, i]);
    const chunks = jsonChunks(values);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.json.length).toBeLessThanOrEqual(JSON_CHUNK_CHARS);
    expect(rejoined(chunks)).toEqual(values);
  });

  it("values far longer than the first ones: chunks still stay under the limit", () => {
    const small = Array.from({ length: 100 }, (_, i) => i);
    const large = Array.from({ length: 40 }, (_, i) => "x".repeat(50_000) + i);
    const values = [...small, ...large];
    const chunks = jsonChunks(values);
    for (const c of chunks) expect(c.json.length).toBeLessThanOrEqual(JSON_CHUNK_CHARS);
    expect(rejoined(chunks)).toEqual(values);
  });

  it("a value too long on its own is alone in its chunk", () => {
    const huge = "y".repeat(JSON_CHUNK_CHARS);
    const chunks = jsonChunks(["a", huge, "b"]);
    expect(rejoined(chunks)).toEqual(["a", huge, "b"]);
    const alone = chunks.find((c) => c.json.length > JSON_CHUNK_CHARS)!;
    expect(alone).toMatchObject({ offset: 1, count: 1 });
  });
});
