/**
 * Search-as-you-type over entity (and attribute) lists. Pure and allocation-light so it can be timed on its own
 * (issue 7): haystacks are normalised once in `buildSearchIndex`; a keystroke only runs `filterIndex`.
 */
import type { EntityInfo } from "#contract/metadata";

export interface SearchEntry<T> {
  item: T;
  /** Normalised display name. */
  display: string;
  /** Normalised logical name. */
  logical: string;
  /** Start offsets of words in `display` (after spaces, punctuation and camel humps of the original). */
  wordStarts: Uint16Array;
}

export interface SearchIndex<T> {
  entries: SearchEntry<T>[];
}

/** Lower-case and strip diacritics so "Société" matches "societe". */
export function normalise(s: string): string {
  const lower = s.toLowerCase();
  // Fast path: pure ASCII needs no NFD pass.
  return /^[\x00-\x7f]*$/.test(lower) ? lower : lower.normalize("NFD").replace(/[\u0300-\u036f]/g, "");
}

function wordStartsOf(original: string, norm: string): Uint16Array {
  const starts: number[] = [0];
  for (let i = 1; i < norm.length && i < original.length; i++) {
    const prev = original.charCodeAt(i - 1);
    const cur = original.charCodeAt(i);
    const prevAlnum = (prev >= 48 && prev <= 57) || (prev >= 65 && prev <= 90) || (prev >= 97 && prev <= 122) || prev > 127;
    const hump = cur >= 65 && cur <= 90 && prev >= 97 && prev <= 122;
    if (!prevAlnum || hump) starts.push(i);
  }
  return Uint16Array.from(starts);
}

/** Build once per list (sorted by display name so equal ranks come out alphabetically). */
export function buildSearchIndex<T>(items: readonly T[], display: (t: T) => string, logical: (t: T) => string): SearchIndex<T> {
  const entries = items.map((item) => {
    const d = display(item) || logical(item);
    const nd = normalise(d);
    return { item, display: nd, logical: normalise(logical(item)), wordStarts: wordStartsOf(d, nd) };
  });
  entries.sort((a, b) => (a.display < b.display ? -1 : a.display > b.display ? 1 : a.logical < b.logical ? -1 : a.logical > b.logical ? 1 : 0));
  return { entries };
}

export function buildEntityIndex(entities: readonly EntityInfo[]): SearchIndex<EntityInfo> {
  return buildSearchIndex(
    entities,
    (e) => e.displayName,
    (e) => e.logicalName,
  );
}

/**
 * Rank of one entry for one (normalised, trimmed) query, lower is better; -1 = no match.
 * 0 exact name, 1 name starts with the query, 2 a word of the display name starts with it, 3 contains it.
 * Several words in the query must each match (display or logical name), ranked by the worst.
 */
function rankTerm<T>(e: SearchEntry<T>, term: string): number {
  if (e.display === term || e.logical === term) return 0;
  if (e.display.startsWith(term) || e.logical.startsWith(term)) return 1;
  const at = e.display.indexOf(term);
  if (at >= 0) {
    const ws = e.wordStarts;
    // A word-start match may sit after a first non-word-start occurrence ("Address 1: Address Type" / "type").
    for (let i = 0; i < ws.length; i++) if (e.display.startsWith(term, ws[i]!)) return 2;
    return 3;
  }
  return e.logical.includes(term) ? 3 : -1;
}

/**
 * Filter and rank. An empty query returns every item in display order. `limit` caps the result (the picker is
 * virtualised, so the default is no cap).
 */
export function filterIndex<T>(index: SearchIndex<T>, query: string, limit = Infinity): T[] {
  const q = normalise(query).trim();
  const entries = index.entries;
  if (!q) {
    const n = Math.min(entries.length, limit);
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = entries[i]!.item;
    return out;
  }
  const terms = q.split(/\s+/);
  // Buckets instead of a sort: entries are already alphabetical, so each bucket stays alphabetical.
  const buckets: T[][] = [[], [], [], []];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    let worst = 0;
    for (let t = 0; t < terms.length; t++) {
      const r = rankTerm(e, terms[t]!);
      if (r < 0) {
        worst = -1;
        break;
      }
      if (r > worst) worst = r;
    }
    if (worst >= 0) buckets[worst]!.push(e.item);
  }
  const out = buckets[0]!.concat(buckets[1]!, buckets[2]!, buckets[3]!);
  return out.length > limit ? out.slice(0, limit) : out;
}

/** Convenience for the benchmark: filter entities by a query with a prebuilt index. */
export function filterEntities(index: SearchIndex<EntityInfo>, query: string, limit?: number): EntityInfo[] {
  return filterIndex(index, query, limit);
}
