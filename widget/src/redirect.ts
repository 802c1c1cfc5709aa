/**
 * The msal-browser redirect page: the sign-in popup lands here with the authorization code and this hands it back to
 * the widget in the opener (BroadcastChannel), then closes. It loads only msal's small redirect bridge.
 */
import { broadcastResponseToMainFrame } from "@azure/msal-browser/redirect-bridge";

broadcastResponseToMainFrame().catch((e: unknown) => {
  const p = document.querySelector("p");
  if (p) p.textContent = `Sign-in could not be completed: ${(e as Error)?.message ?? e}. Close this window and try again.`;
});
