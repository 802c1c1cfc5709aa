/** What the widget lets the signed-in host user do: `admin` changes things, `viewer` only reads. */
export type HostRole = "admin" | "viewer";

/**
 * The `role` claim of the host token, read without verifying the signature.
 *
 * A UI hint only — it decides which buttons the widget shows, nothing more. The edge verifies the token and
 * enforces the role on every request (a viewer's write gets 403 whatever the widget shows), so a forged or stale
 * claim here can at worst show a button the edge then refuses. A token that is not a JWT, or has no (known) role,
 * counts as `admin`: the widget then behaves as before and the edge still decides.
 */
export function hostRoleOf(token: string): HostRole {
  const payload = token.split(".")[1];
  if (!payload) return "admin";
  try {
    const b64 = payload
      .replace(/-/g, "+")
      .replace(/_/g, "/")
      .padEnd(Math.ceil(payload.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { role?: unknown } | null;
    return claims?.role === "viewer" ? "viewer" : "admin";
  } catch {
    return "admin";
  }
}
