/**
 * Environment URL checks as the admin types, mirroring the edge's rules (the edge has the last word).
 * Accepts every Dataverse cloud and region host, the `.api.` form (normalised away), and a pasted browser URL
 * whose path is trimmed. Loopback http hosts pass as "local" (development sandboxes; the edge allow-lists them).
 */
import { msg, str } from "@lit/localize";
import { environmentHost, isDataverseHost } from "#contract/org-url";

export type OrgUrlCheck = { ok: true; url: string; notes: string[]; local: boolean } | { ok: false; error: string };

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

export function checkOrgUrl(input: string): OrgUrlCheck {
  const raw = input.trim();
  if (!raw) return { ok: false, error: msg("Enter the address of your Dynamics 365 environment.") };
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    return { ok: false, error: msg("This is not a web address. Example: https://contoso.crm.dynamics.com") };
  }
  const notes: string[] = [];
  if (u.username || u.password) return { ok: false, error: msg("Remove the user name or password from the address.") };
  const host = u.hostname.toLowerCase();
  const local = LOOPBACK.test(host) || host.endsWith(".localhost");
  if (!local) {
    if (u.protocol !== "https:") return { ok: false, error: msg("Use an https:// address.") };
    if (u.port) return { ok: false, error: msg("Remove the port number: Dynamics 365 environments don't use one.") };
    if (/^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith("[")) {
      return { ok: false, error: msg("Use the environment's name, not an IP address.") };
    }
    if (!isDataverseHost(host)) {
      return {
        ok: false,
        error: msg("This is not a Dynamics 365 address. It looks like https://contoso.crm.dynamics.com (your region may use crm4, crm11…)."),
      };
    }
  } else if (u.protocol !== "http:" && u.protocol !== "https:") {
    return { ok: false, error: msg("Use an https:// address.") };
  }
  let finalHost = u.host.toLowerCase();
  if (environmentHost(finalHost) !== finalHost) {
    finalHost = environmentHost(finalHost);
    notes.push(msg(str`The Web API address (.api.) was changed to the environment address ${finalHost}.`));
  }
  const extra = `${u.pathname === "/" ? "" : u.pathname}${u.search}${u.hash}`;
  // A local sandbox may serve each org under a path prefix (/org/<key>): keep it there, trim only app paths.
  let keptPath = "";
  if (local) {
    const m = /^(\/(?:orgs?|o)\/[A-Za-z0-9_-]+)/.exec(u.pathname);
    if (m?.[1]) keptPath = m[1];
  }
  const trimmed = extra.slice(keptPath.length);
  if (trimmed && trimmed !== "/") {
    const shown = trimmed.length > 60 ? `${trimmed.slice(0, 57)}…` : trimmed;
    notes.push(msg(str`Only the environment address is needed, so “${shown}” was removed.`));
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) notes.push(msg("https:// was added."));
  if (local) notes.push(msg("This is a local address: it works only where the connector service allows it (development)."));
  return { ok: true, url: `${u.protocol}//${finalHost}${keptPath}`, notes, local };
}
