/**
 * Structural check of a job's OData `$filter` text, used by job validation (a pure contract file, so the widget may use it too).
 * The engine wraps the filter as `(filter) and (keyset cursor)`, so a filter must be one closed expression: balanced
 * parentheses outside string literals and terminated strings — otherwise `a) or (b` escapes the wrapper and the keyset
 * never advances. Dataverse itself checks the grammar (names, operators) when the job is previewed or run.
 * Returns a message naming the problem, or null when the text is well-formed.
 */
export function filterStructureProblem(filter: string): string | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < filter.length; i++) {
    const ch = filter[i];
    if (inString) {
      if (ch === "'") {
        if (filter[i + 1] === "'")
          i++; // '' is an escaped quote inside a string literal
        else inString = false;
      }
      continue;
    }
    if (ch === "'") inString = true;
    else if (ch === "(") depth++;
    else if (ch === ")" && --depth < 0) return `unbalanced ")" at position ${i + 1}`;
    else if (ch === "\n" || ch === "\r") return "line breaks are not allowed";
  }
  if (inString) return "a string literal is not terminated (quote it as 'text', doubling quotes inside: 'O''Brien')";
  if (depth > 0) return `${depth} unclosed "("`;
  return null;
}
