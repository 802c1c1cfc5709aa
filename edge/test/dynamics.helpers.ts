import { sandbox } from "./helpers";

/** A delegated (user) access token for `orgUrl` from the sandbox identity's test-only mint endpoint. */
export async function userToken(upn: string, orgUrl: string): Promise<string> {
  const sb = sandbox()!;
  const res = await fetch(`${sb.identity.httpUrl}/_sandbox/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ upn, audience: orgUrl }),
  });
  if (!res.ok) throw new Error(`sandbox token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export function org(key: "contoso" | "fabrikam") {
  const o = sandbox()!.orgs.find((x) => x.key === key);
  if (!o) throw new Error(`sandbox org ${key} missing`);
  return o;
}

export async function setPrivilege(orgUrl: string, principal: string, entity: string, read: boolean): Promise<void> {
  const res = await fetch(`${orgUrl}/_sandbox/privileges`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ principal, entity, read }),
  });
  if (!res.ok) throw new Error(`sandbox privileges: ${res.status} ${await res.text()}`);
}
