import { createHash, randomBytes } from "node:crypto";

/** Deterministic 32-bit hash of a list of numbers/strings (FNV-1a then avalanche). */
export function hash32(...parts: Array<number | string>): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    const s = typeof p === "number" ? p.toString(36) : p;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0x7c; // separator
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: tiny deterministic PRNG, returns [0,1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = ReturnType<typeof rng>;
export function pick<T>(r: Rand, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)] as T;
}
export function int(r: Rand, min: number, max: number): number {
  return min + Math.floor(r() * (max - min + 1));
}

/** A stable GUID derived from a string (used for MetadataIds). */
export function nameGuid(name: string): string {
  const h = createHash("sha1").update(name).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString("base64url");
}

export const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Dataverse (SQL/.NET) date-time rendering: seconds precision, UTC "Z". */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** .NET HttpUtility.UrlEncode-like: everything but [A-Za-z0-9-_.] as lower-case %xx (UTF-8). */
export function dotnetEncode(s: string): string {
  let out = "";
  for (const ch of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(ch);
    if (/[A-Za-z0-9\-_.]/.test(c)) out += c;
    else out += "%" + ch.toString(16).padStart(2, "0");
  }
  return out;
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
export function xmlUnescape(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&gt;/g, ">")
    .replace(/&lt;/g, "<")
    .replace(/&amp;/g, "&");
}
export function htmlEscape(s: string): string {
  return xmlEscape(s).replace(/'/g, "&#39;");
}

const MONEY_FMT = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const INT_FMT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const DEC_FMT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 10 });
export function fmtMoney(v: number, symbol: string): string {
  return (v < 0 ? "-" : "") + symbol + MONEY_FMT.format(Math.abs(v));
}
export function fmtInt(v: number): string {
  return INT_FMT.format(v);
}
export function fmtDecimal(v: number): string {
  return DEC_FMT.format(v);
}
/** en-US user format, UTC time zone: "6/1/2025 10:15 AM" / "6/1/2025". */
export function fmtDateTime(iso: string, dateOnly: boolean): string {
  const d = new Date(dateOnly && iso.length === 10 ? iso + "T00:00:00Z" : iso);
  if (Number.isNaN(d.getTime())) return iso;
  const date = `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`;
  if (dateOnly) return date;
  const h = d.getUTCHours();
  const m = String(d.getUTCMinutes()).padStart(2, "0");
  return `${date} ${h % 12 === 0 ? 12 : h % 12}:${m} ${h < 12 ? "AM" : "PM"}`;
}
