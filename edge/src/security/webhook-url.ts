/**
 * Webhook URL rules: where the Worker may POST a run's outcome. A webhook URL is chosen by a tenant admin, so it is
 * an SSRF vector: it must name a public https host, never a loopback, private, link-local (cloud metadata at
 * 169.254.169.254 / metadata.google.internal), CGNAT, unique-local, multicast or reserved address, in any notation.
 *
 * How: the URL is parsed by the WHATWG URL parser (`new URL`, the same parser `fetch` uses, so what is checked is what
 * is called). That parser already turns every IPv4 notation into dotted form (`0x7f000001`, `0177.0.0.1`, `127.1`,
 * `2130706433`, `127.0.0.%31`, full-width digits → `127.0.0.1`), maps Unicode host names to ASCII (`ⓛocalhost` →
 * `localhost`) and compresses IPv6 literals (`[::ffff:127.0.0.1]` → `[::ffff:7f00:1]`). The resulting host name is
 * then classified here: IPv4 by range, IPv6 parsed into its 8 groups (IPv4-mapped, IPv4-compatible, NAT64 and 6to4
 * forms are judged by the IPv4 address they carry), names by suffix. The IPv4 parser below also accepts the legacy
 * notations itself, so the rules hold even if a parser ever hands a host name over un-normalised.
 *
 * A URL check cannot see what a public name resolves to (DNS rebinding, `127.0.0.1.nip.io`): delivery must not follow
 * redirects and relies on the Workers runtime not routing to private networks.
 *
 * The dev escape hatch is kept: hosts listed in DEV_INSECURE_ORG_HOSTS (exact `host:port`, the offline sandbox's local
 * receivers) are allowed, over http too.
 */
import { devHosts } from "./org-url";

/**
 * Why `url` may not be used as a webhook, as a phrase that follows the field name ("must use https"), or null when it
 * is allowed. `devInsecureHosts` is the DEV_INSECURE_ORG_HOSTS setting (comma-separated `host:port`, dev only).
 */
export function webhookUrlProblem(url: string, devInsecureHosts?: string): string | null {
  // The URL parser would silently drop tabs/newlines and read "\" as "/": refuse instead of guessing what was meant.
  if (/[\s\\\u0000-\u001f\u007f]/.test(url)) return "must not contain spaces, control characters or backslashes";
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "is not a valid URL";
  }
  // Userinfo: `https://user:pw@host`, and also `https://@host` / `https://trusted.example@evil.example` look-alikes.
  if (u.username || u.password || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url)) return "must not contain a user name or password";
  if (u.protocol !== "https:" && u.protocol !== "http:") return "must use https";
  if (devHosts(devInsecureHosts).has(u.host.toLowerCase())) return null; // dev only: a listed local receiver
  if (u.protocol !== "https:") return "must use https";
  return hostProblem(u.hostname.toLowerCase());
}

/**
 * The origin of a webhook URL (`https://hooks.example.com:8443`): what viewers and the audit log may see. The path and
 * query often hold the receiver's own secret (e.g. Slack's `/services/T…/B…/…`), and userinfo is never shown.
 */
export function webhookOrigin(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol === "https:" || u.protocol === "http:") return u.origin;
  } catch {
    // fall through
  }
  return "(invalid URL)";
}

/**
 * A webhook URL as the audit log keeps it: its origin and "/…" (`https://hooks.slack.com/…`), so an entry says where
 * run events went without holding the path or query that may be the receiver's secret. Idempotent (a redacted value
 * redacts to itself); anything that is not an http(s) URL becomes "[redacted]".
 */
export function redactedWebhook(url: string): string {
  const origin = webhookOrigin(url);
  return origin === "(invalid URL)" ? "[redacted]" : `${origin}/…`;
}

// ---- host names

/**
 * Names that never lead to a public host: `localhost` (RFC 6761), mDNS `.local` (RFC 6762), `.internal` (ICANN's
 * private-use TLD; metadata.google.internal), `.home.arpa` (RFC 8375), and the private TLDs RFC 6762 Appendix G lists
 * as in common use and ICANN will not delegate (`intranet`, `private`, `corp`, `home`, `lan`).
 */
const LOCAL_SUFFIXES = ["localhost", "local", "internal", "home.arpa", "intranet", "private", "corp", "home", "lan"];

function hostProblem(hostname: string): string | null {
  if (hostname.startsWith("[")) {
    const groups = parseIPv6(hostname.slice(1, -1));
    if (!groups) return "is not a valid URL";
    const kind = ipv6Kind(groups);
    return kind ? `must not point at ${kind.what} address (${kind.shown ?? hostname})` : null;
  }
  const name = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname; // "localhost." is localhost
  const v4 = parseIPv4(name);
  if (v4 !== null) {
    const kind = ipv4Kind(v4);
    return kind ? `must not point at ${kind} address (${dotted(v4)})` : null;
  }
  // A last label that is a number but no valid IPv4 address (WHATWG parsing would have failed already).
  if (/(?:^|\.)(?:\d+|0x[0-9a-f]*)$/i.test(name)) return "must be a public host name or address";
  if (LOCAL_SUFFIXES.some((s) => name === s || name.endsWith(`.${s}`))) return "must not point at a local or internal host name";
  // A single label ("metadata", "intranet-server") only resolves through a private search domain.
  if (!name.includes(".")) return "must be a fully qualified public host name";
  return null;
}

// ---- IPv4

/**
 * An IPv4 host in any notation the WHATWG URL standard accepts, as a 32-bit number, or null when `host` is not one:
 * 1 to 4 dot-separated parts, each decimal, octal (leading 0) or hex (0x); the last part fills the remaining bytes
 * (`127.1` = 127.0.0.1, `2130706433` = 127.0.0.1). Dotted-decimal is the common case and gives the same result.
 */
export function parseIPv4(host: string): number | null {
  const parts = host.split(".");
  if (parts.length > 1 && parts.at(-1) === "") parts.pop(); // "127.0.0.1." is 127.0.0.1
  if (parts.length < 1 || parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(p)) n = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]+$/.test(p)) n = parseInt(p, 8);
    else if (/^(?:0|[1-9]\d*)$/.test(p)) n = parseInt(p, 10);
    else return null;
    if (!Number.isSafeInteger(n)) return null;
    nums.push(n);
  }
  const last = nums.pop()!;
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) return null;
  return nums.reduce((acc, n, i) => acc + n * 256 ** (3 - i), 0) + last;
}

const dotted = (ip: number): string => [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join(".");

/** [first address, prefix length, what it is] — every IPv4 block a webhook may not point at. */
const IPV4_REFUSED: Array<[string, number, string]> = [
  ["0.0.0.0", 8, "a reserved (this-network)"],
  ["10.0.0.0", 8, "a private network"],
  ["100.64.0.0", 10, "a shared (CGNAT)"],
  ["127.0.0.0", 8, "a loopback"],
  ["169.254.0.0", 16, "a link-local"],
  ["172.16.0.0", 12, "a private network"],
  ["192.0.0.0", 24, "a reserved (IETF protocol)"],
  ["192.0.2.0", 24, "a documentation"],
  ["192.88.99.0", 24, "a reserved (6to4 relay)"],
  ["192.168.0.0", 16, "a private network"],
  ["198.18.0.0", 15, "a reserved (benchmarking)"],
  ["198.51.100.0", 24, "a documentation"],
  ["203.0.113.0", 24, "a documentation"],
  ["224.0.0.0", 4, "a multicast"],
  ["240.0.0.0", 4, "a reserved"], // includes the broadcast address 255.255.255.255
];
const IPV4_BLOCKS = IPV4_REFUSED.map(([base, bits, what]) => ({ base: parseIPv4(base)!, size: 2 ** (32 - bits), what }));

/** What kind of non-public address `ip` is (a phrase such as "a loopback"), or null for a public unicast address. */
function ipv4Kind(ip: number): string | null {
  // Blocks are aligned on their size, so "in block" is a floor division.
  return IPV4_BLOCKS.find((b) => Math.floor(ip / b.size) === b.base / b.size)?.what ?? null;
}

// ---- IPv6

/**
 * An IPv6 literal (without brackets) as its 8 16-bit groups, or null. Accepts `::` compression (once) and a trailing
 * dotted IPv4 part (`::ffff:127.0.0.1`); zone ids (`%eth0`) are not valid in URLs and are refused.
 */
export function parseIPv6(literal: string): number[] | null {
  let s = literal.toLowerCase();
  const v4 = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (v4) {
    const octets = v4[2]!.split(".").map(Number);
    if (octets.some((o) => o > 255)) return null;
    s = `${v4[1]}${((octets[0]! << 8) | octets[1]!).toString(16)}:${((octets[2]! << 8) | octets[3]!).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const group = (part: string): number[] | null => {
    if (part === "") return [];
    const gs = part.split(":");
    return gs.every((g) => /^[0-9a-f]{1,4}$/.test(g)) ? gs.map((g) => parseInt(g, 16)) : null;
  };
  const head = group(halves[0]!);
  const tail = halves.length === 2 ? group(halves[1]!) : [];
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  if (head.length + tail.length > 7) return null; // "::" stands for at least one zero group
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** The IPv4 address in groups 6 and 7 (`::ffff:a.b.c.d`, `::a.b.c.d`, `64:ff9b::a.b.c.d`). */
const embeddedV4 = (g: number[]): number => g[6]! * 65536 + g[7]!;

/** What kind of non-public address the groups are, or null for a public (global unicast) address. */
function ipv6Kind(g: number[]): { what: string; shown?: string } | null {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const viaV4 = (v4: number) => {
    const what = ipv4Kind(v4);
    return what ? { what, shown: dotted(v4) } : null;
  };
  if (zeros(0, 8)) return { what: "an unspecified" }; // ::
  if (zeros(0, 7) && g[7] === 1) return { what: "a loopback" }; // ::1
  if (zeros(0, 5) && g[5] === 0xffff) return viaV4(embeddedV4(g)); // ::ffff:0:0/96 IPv4-mapped
  if (zeros(0, 6)) return viaV4(embeddedV4(g)); // ::/96 IPv4-compatible (deprecated)
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return viaV4(embeddedV4(g)); // 64:ff9b::/96 NAT64
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return { what: "a private network" }; // 64:ff9b:1::/48 local NAT64
  if (g[0] === 0x2002) return viaV4(g[1]! * 65536 + g[2]!); // 2002::/16 6to4 carries an IPv4 address
  if (g[0] === 0x100 && zeros(1, 4)) return { what: "a reserved (discard)" }; // 100::/64
  if ((g[0]! & 0xfe00) === 0xfc00) return { what: "a unique-local" }; // fc00::/7
  if ((g[0]! & 0xffc0) === 0xfe80) return { what: "a link-local" }; // fe80::/10
  if ((g[0]! & 0xffc0) === 0xfec0) return { what: "a site-local" }; // fec0::/10 (deprecated)
  if ((g[0]! & 0xff00) === 0xff00) return { what: "a multicast" }; // ff00::/8
  if (g[0] === 0x2001 && g[1]! < 0x200) return { what: "a reserved (IETF protocol, incl. Teredo)" }; // 2001::/23
  if (g[0] === 0x2001 && g[1] === 0xdb8) return { what: "a documentation" }; // 2001:db8::/32
  if (g[0] === 0x3fff && g[1]! < 0x1000) return { what: "a documentation" }; // 3fff::/20
  if ((g[0]! & 0xe000) !== 0x2000) return { what: "a reserved" }; // only 2000::/3 is global unicast
  return null;
}
