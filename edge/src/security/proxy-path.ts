/**
 * Validation of the path the widget asks the proxy to forward. The upstream URL is always built by the edge as
 * `{stored orgUrl}/api/data/v9.2/{path}?{query}`; this refuses anything that could make that URL mean another host
 * or another place on the org (traversal, encoded separators, userinfo, absolute URLs, control characters).
 */
type ProxyPathResult = { ok: true; path: string } | { ok: false; reason: string };

const SEGMENT = /^[A-Za-z0-9_.$()',=\-:{}[\]]+$/; // OData resource path characters: EntitySet(guid), Fn(Param='x'), $batch, $metadata …

export function validateProxyPath(rawPath: string): ProxyPathResult {
  if (rawPath.length === 0) return { ok: false, reason: "path is empty" };
  if (rawPath.length > 2048) return { ok: false, reason: "path is too long" };
  if (/[\x00-\x20\x7f\\]/.test(rawPath)) return { ok: false, reason: "path contains whitespace, control characters or backslashes" };
  if (/%(?:2f|5c|2e|40|3a|00|25|0d|0a|09|3f|23)/i.test(rawPath))
    return { ok: false, reason: "path contains an encoded separator, dot, @, colon or control character" };
  if (rawPath.includes("@")) return { ok: false, reason: "path contains @" };
  if (/^\/*[a-z][a-z0-9+.-]*:/i.test(rawPath) || rawPath.startsWith("//") || rawPath.includes("//"))
    return { ok: false, reason: "path must be relative to the Web API" };
  const path = rawPath.replace(/^\/+/, "");
  const segments = path.split("/");
  for (const seg of segments) {
    if (seg === "" || seg === "." || seg === "..") return { ok: false, reason: "path contains an empty, . or .. segment" };
    if (seg.includes("..")) return { ok: false, reason: "path contains .." };
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      return { ok: false, reason: "path is not valid percent-encoding" };
    }
    if (!SEGMENT.test(decoded)) return { ok: false, reason: `path segment "${seg.slice(0, 60)}" has characters a Web API path never needs` };
  }
  return { ok: true, path };
}

/** The query string is forwarded as-is but bounded and must not smuggle another URL layer. */
export function validateProxyQuery(search: string): ProxyPathResult {
  if (search.length > 16_384) return { ok: false, reason: "query is too long" };
  if (/[\x00-\x1f\x7f]/.test(search) || /%(?:0d|0a|00)/i.test(search)) return { ok: false, reason: "query contains control characters" };
  return { ok: true, path: search };
}
