/**
 * orgUrl normalisation and validation. The stored orgUrl is the only host the Worker ever calls on a connection's
 * behalf (proxy, metadata, sync), so it is held to an allow-list of Dataverse domains: https, no userinfo, no port,
 * no IP literal, no path. Loopback/private hosts pass only when named in DEV_INSECURE_ORG_HOSTS (the offline sandbox).
 */
import { DATAVERSE_HOST_EXAMPLE, isDataverseHost } from "#contract/org-url";

type OrgUrlResult = { ok: true; orgUrl: string; notes: string[] } | { ok: false; reason: string };

/** `DEV_INSECURE_ORG_HOSTS` → set of exact `host:port` (lower-case). */
export function devHosts(setting: string | undefined): Set<string> {
  return new Set(
    (setting ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

export function normalizeOrgUrl(input: string, devInsecureHosts: string | undefined): OrgUrlResult {
  const raw = input.trim();
  if (/[\s\\]/.test(raw)) return { ok: false, reason: "must not contain spaces or backslashes" };
  // A bare host ("contoso.crm.dynamics.com") is accepted and given https.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : /^[a-z][a-z0-9+.-]*:/i.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { ok: false, reason: "is not a URL" };
  }
  if (url.username || url.password || /^[a-z]+:\/\/[^/]*@/i.test(withScheme)) return { ok: false, reason: "must not contain a user name or password" };
  const host = url.hostname.toLowerCase();
  const hostPort = url.port ? `${host}:${url.port}` : host;
  const notes: string[] = [];
  const path = url.pathname + url.search + url.hash;
  if (path !== "/" && path !== "") notes.push(`The path "${url.pathname}${url.search}${url.hash}" was removed: a connection points at the organization root.`);

  const dev = devHosts(devInsecureHosts);
  if (dev.has(hostPort)) {
    if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, reason: "must use https" };
    return { ok: true, orgUrl: `${url.protocol}//${hostPort}`, notes };
  }
  if (url.protocol !== "https:") return { ok: false, reason: "must use https" };
  if (url.port) return { ok: false, reason: "must not name a port" };
  if (host.startsWith("[") || IPV4.test(host) || /^\d+$/.test(host) || /^0x/i.test(host))
    return { ok: false, reason: "must be a host name, not an IP address" };
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) {
    return { ok: false, reason: "must not be a local or private host" };
  }
  if (!isDataverseHost(host)) {
    return {
      ok: false,
      reason: `must be a Dataverse organization URL such as ${DATAVERSE_HOST_EXAMPLE}`,
    };
  }
  return { ok: true, orgUrl: `https://${host}`, notes };
}

/** True when `orgUrl` (already normalised, stored) may be called now — re-checked before every outbound call. */
export function isAllowedOrgUrl(orgUrl: string, devInsecureHosts: string | undefined): boolean {
  const r = normalizeOrgUrl(orgUrl, devInsecureHosts);
  return r.ok && r.orgUrl === orgUrl;
}
