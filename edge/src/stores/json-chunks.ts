/**
 * Set-based writes (docs/decisions/0004-set-based-page-writes.md): many rows travel as ONE bound JSON parameter per
 * statement, unpacked in SQL by json_each / json_extract — no 100-bound-parameter limit, a handful of statements per
 * page instead of one per record. A chunk stays below D1's 2 MB per value: at most this many UTF-16 code units
 * (≤ 3 UTF-8 bytes each).
 */
export const JSON_CHUNK_CHARS = 600_000;

interface JsonChunk {
  /** JSON array text of the chunk's items. */
  json: string;
  /** Index of the chunk's first item in the whole list. */
  offset: number;
  count: number;
}

/** JSON array texts of the given JSON item texts, each at most JSON_CHUNK_CHARS long (an oversized item alone). */
export function jsonChunks(items: string[]): JsonChunk[] {
  const out: JsonChunk[] = [];
  let start = 0;
  let size = 2;
  for (let i = 0; i < items.length; i++) {
    const len = items[i]!.length + 1;
    if (i > start && size + len > JSON_CHUNK_CHARS) {
      out.push({ json: `[${items.slice(start, i).join(",")}]`, offset: start, count: i - start });
      start = i;
      size = 2;
    }
    size += len;
  }
  if (items.length > start) out.push({ json: `[${items.slice(start).join(",")}]`, offset: start, count: items.length - start });
  return out;
}
