import type { ReactiveController, ReactiveControllerHost } from "lit";
// Type-only: the library itself is fetched on first use so the first paint never loads it (~78 KB gzip).
import type { AccountInfo, AuthenticationResult, IPublicClientApplication, PopupRequest } from "@azure/msal-browser";

export interface DynamicsAuthOptions {
  /** Entra application (SPA) id. */
  clientId: string;
  /** e.g. https://login.microsoftonline.com/organizations, or a sandbox authority such as https://localhost:8443/common/v2.0 */
  authority: string;
  /** The page msal's popup returns to (it runs the redirect bridge). */
  redirectUri: string;
}

/** Why an interactive sign-in did not produce a token; the UI words each one differently. */
export type SignInFailure = "popup_blocked" | "cancelled" | "timed_out" | "failed";

export class DynamicsAuthError extends Error {
  override name = "DynamicsAuthError";
  constructor(
    readonly reason: SignInFailure,
    message: string,
    readonly msalCode?: string,
  ) {
    super(message);
  }
}

const MICROSOFT_HOSTS =
  /(^|\.)(login\.microsoftonline\.(com|us)|login\.partner\.microsoftonline\.cn|login\.chinacloudapi\.cn|login\.microsoftonline\.de|login\.windows\.net|login\.live\.com)$/i;

/** `https://contoso.crm.dynamics.com` → `https://contoso.crm.dynamics.com/user_impersonation`. */
export function dynamicsScope(orgUrl: string): string {
  return `${orgUrl.replace(/\/+$/, "")}/user_impersonation`;
}

/**
 * Microsoft sign-in for the admin (authorization code + PKCE in a popup, msal-browser v5).
 * msal is imported lazily on first use; tokens live only in msal's own session cache.
 * As a ReactiveController it drops its pending popup watcher when the host element disconnects.
 */
export class DynamicsAuth implements ReactiveController {
  private _pca: Promise<IPublicClientApplication> | null = null;
  private _popup: Window | null = null;
  private _cancelPending: ((e: DynamicsAuthError) => void) | null = null;
  private _closedWatch: ReturnType<typeof setInterval> | undefined;
  /** Account used per org, so a later silent call picks the same identity. */
  private readonly _accountByOrg = new Map<string, string>();

  constructor(
    private readonly _opts: () => DynamicsAuthOptions,
    host?: ReactiveControllerHost,
  ) {
    host?.addController(this);
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this.cancel();
  }

  /** Starts loading msal in the background (e.g. when an Authorize button is hovered or focused). */
  warmUp(): void {
    void this._app().catch(() => {});
  }

  /** Interactive sign-in in a popup; resolves with the delegated access token for the org. */
  async signIn(orgUrl: string): Promise<string> {
    const result = await this._popupFor(orgUrl, "select_account");
    return result.accessToken;
  }

  /** A delegated token for the org: from msal's cache / refresh token silently, else through the popup. */
  async getDynamicsToken(orgUrl: string): Promise<string> {
    const pca = await this._app();
    const account = this._accountFor(pca, orgUrl);
    if (account) {
      try {
        const r = await pca.acquireTokenSilent({ scopes: [dynamicsScope(orgUrl)], account });
        if (r.accessToken) return r.accessToken;
      } catch {
        // Interaction required (expired session, consent, MFA…): fall through to the popup.
      }
    }
    return (await this._popupFor(orgUrl)).accessToken;
  }

  /** Abandons a pending popup sign-in (the Cancel button next to "Waiting for Microsoft sign-in…"). */
  cancel(): void {
    this._stopWatching();
    if (this._popup) closeWindow(this._popup);
    this._popup = null;
    this._cancelPending?.(new DynamicsAuthError("cancelled", "Sign-in was cancelled"));
    this._cancelPending = null;
  }

  private async _popupFor(orgUrl: string, prompt?: PopupRequest["prompt"]): Promise<AuthenticationResult> {
    const pca = await this._app();
    const msal = await import("@azure/msal-browser");
    const request: PopupRequest = {
      scopes: [dynamicsScope(orgUrl)],
      // A previous attempt the admin walked away from must not block this one (interaction_in_progress).
      overrideInteractionInProgress: true,
    };
    if (prompt) request.prompt = prompt;
    // Set once this attempt is given up (Cancel, or the host element went away). msal may report the popup only after
    // that (it opens the window, then prepares the request): such a late window is closed as soon as it is reported.
    let abandoned = false;
    const cancelled = new Promise<never>((_, reject) => {
      this._cancelPending = (e) => {
        abandoned = true;
        reject(e);
      };
    });
    // msal v5 waits on a BroadcastChannel and does not notice a popup the admin closed; watch for it ourselves.
    const callbackId = pca.addEventCallback((msg) => {
      if (msg.eventType === msal.EventType.POPUP_OPENED) {
        const w = (msg.payload as { popupWindow?: Window } | null)?.popupWindow ?? null;
        if (abandoned) {
          if (w) closeWindow(w);
          return;
        }
        this._popup = w;
        this._stopWatching();
        this._closedWatch = setInterval(() => {
          if (this._popup?.closed) {
            // Give the bridge a moment: a successful popup closes itself right after broadcasting.
            setTimeout(() => {
              if (this._cancelPending) this._cancelPending(new DynamicsAuthError("cancelled", "The sign-in window was closed"));
            }, 3000);
            this._stopWatching();
          }
        }, 400);
      }
    });
    // msal opens its window synchronously inside acquireTokenPopup (popup blockers allow only that), but reports it
    // (POPUP_OPENED) only after building the request, which takes network round trips; a Cancel in between must still
    // close it, so keep the handle of the window msal opens right now.
    const acquire = withOpenedWindow(
      () => pca.acquireTokenPopup(request),
      (w) => (this._popup ??= w),
    );
    // The callback outlives a cancelled attempt until msal settles it, so a late popup still gets closed.
    void acquire.catch(() => {}).finally(() => callbackId && pca.removeEventCallback(callbackId));
    try {
      const result = await Promise.race([acquire, cancelled]);
      if (result.account) {
        pca.setActiveAccount(result.account);
        this._accountByOrg.set(orgUrl, result.account.homeAccountId);
      }
      return result;
    } catch (e) {
      abandoned = true;
      throw toAuthError(e);
    } finally {
      this._cancelPending = null;
      this._popup = null;
      this._stopWatching();
    }
  }

  private _stopWatching(): void {
    if (this._closedWatch !== undefined) clearInterval(this._closedWatch);
    this._closedWatch = undefined;
  }

  private _accountFor(pca: IPublicClientApplication, orgUrl: string): AccountInfo | null {
    const id = this._accountByOrg.get(orgUrl);
    if (id) {
      const a = pca.getAccount({ homeAccountId: id });
      if (a) return a;
    }
    return pca.getActiveAccount() ?? pca.getAllAccounts()[0] ?? null;
  }

  private _app(): Promise<IPublicClientApplication> {
    if (!this._pca) {
      const { clientId, authority, redirectUri } = this._opts();
      if (!clientId) return Promise.reject(new DynamicsAuthError("failed", "The client-id attribute is not set, so Microsoft sign-in cannot start"));
      this._pca = (async () => {
        const msal = await import("@azure/msal-browser");
        const host = new URL(authority).host;
        const microsoft = MICROSOFT_HOSTS.test(new URL(authority).hostname);
        return msal.createStandardPublicClientApplication({
          auth: {
            clientId,
            authority,
            redirectUri,
            ...(microsoft ? {} : { knownAuthorities: [host] }),
          },
          cache: { cacheLocation: msal.BrowserCacheLocation.SessionStorage },
          system: {
            ...(microsoft ? {} : { protocolMode: msal.ProtocolMode.OIDC }),
            popupBridgeTimeout: 5 * 60_000,
          },
        });
      })();
      this._pca.catch(() => {
        this._pca = null;
      });
    }
    return this._pca;
  }
}

function toAuthError(e: unknown): DynamicsAuthError {
  if (e instanceof DynamicsAuthError) return e;
  const code = (e as { errorCode?: string })?.errorCode ?? "";
  const message = (e as Error)?.message ?? String(e);
  if (code === "popup_window_error" || code === "empty_window_error") {
    return new DynamicsAuthError("popup_blocked", "The browser blocked the Microsoft sign-in window", code);
  }
  if (code === "user_cancelled" || code === "interaction_in_progress_cancelled") {
    return new DynamicsAuthError("cancelled", "Sign-in was cancelled", code);
  }
  if (code === "timed_out" || code === "monitor_window_timeout") {
    return new DynamicsAuthError("timed_out", "Microsoft sign-in took too long", code);
  }
  if (code === "access_denied" || /AADSTS65004|consent/i.test(message)) {
    return new DynamicsAuthError("failed", "Microsoft sign-in was declined (consent not given)", code);
  }
  return new DynamicsAuthError("failed", `Microsoft sign-in failed: ${message}`, code || undefined);
}

/**
 * Closes a window this page opened, and again a few times over 10 s: Chromium drops a close() that arrives while the
 * window is committing a cross-origin navigation (msal's about:blank becoming the sign-in page), yet reports the window
 * `closed` at once, so its flag can't tell whether to try again; on a slow machine that navigation took over 3 s once
 * in ~25 clean runs. A close() of a closed window does nothing.
 */
function closeWindow(w: Window): void {
  const close = () => {
    try {
      w.close();
    } catch {
      /* not ours to close */
    }
  };
  close();
  for (const delay of [300, 1000, 3000, 6000, 10000]) setTimeout(close, delay);
}

/** Runs `call`, handing `opened` every window it opens synchronously through window.open (none where there is no window). */
function withOpenedWindow<T>(call: () => T, opened: (w: Window) => void): T {
  const page = globalThis.window;
  if (!page) return call();
  const open = page.open;
  page.open = (...args: Parameters<typeof window.open>) => {
    const w = open.apply(page, args);
    if (w) opened(w);
    return w;
  };
  try {
    return call();
  } finally {
    page.open = open;
  }
}
