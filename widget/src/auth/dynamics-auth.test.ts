import { describe, expect, it, vi } from "vitest";

/** A stand-in for msal's PublicClientApplication: the test decides when the popup is reported and how it ends. */
const fake = vi.hoisted(() => {
  const state = {
    callbacks: new Map<string, (msg: { eventType: string; payload: unknown }) => void>(),
    settle: null as null | { resolve: (r: unknown) => void; reject: (e: unknown) => void },
    emitPopupOpened(popupWindow: unknown) {
      for (const cb of state.callbacks.values()) cb({ eventType: "msal:popupOpened", payload: { popupWindow } });
    },
  };
  return state;
});

vi.mock("@azure/msal-browser", () => ({
  EventType: { POPUP_OPENED: "msal:popupOpened" },
  BrowserCacheLocation: { SessionStorage: "sessionStorage" },
  ProtocolMode: { OIDC: "OIDC" },
  createStandardPublicClientApplication: async () => ({
    addEventCallback: (cb: (msg: { eventType: string; payload: unknown }) => void) => {
      const id = `cb-${fake.callbacks.size + 1}`;
      fake.callbacks.set(id, cb);
      return id;
    },
    removeEventCallback: (id: string) => fake.callbacks.delete(id),
    // As msal does: the window is opened synchronously (user gesture), the request is built after.
    acquireTokenPopup: () => {
      (globalThis as { window?: { open(): unknown } }).window?.open();
      return new Promise((resolve, reject) => (fake.settle = { resolve, reject }));
    },
    setActiveAccount: () => {},
    getAccount: () => null,
    getActiveAccount: () => null,
    getAllAccounts: () => [],
  }),
}));

const { DynamicsAuth } = await import("./dynamics-auth");
const opts = () => ({ clientId: "spa", authority: "https://login.microsoftonline.com/organizations", redirectUri: "https://host.example/auth/redirect.html" });
const popupWindow = () => ({ closed: false, close: vi.fn() });

describe("DynamicsAuth cancel", () => {
  it("closes the sign-in window it was told about", async () => {
    fake.callbacks.clear();
    const auth = new DynamicsAuth(opts);
    const signIn = auth.signIn("https://contoso.crm.dynamics.com");
    await vi.waitFor(() => expect(fake.settle).not.toBeNull());
    const w = popupWindow();
    fake.emitPopupOpened(w);
    auth.cancel();
    await expect(signIn).rejects.toMatchObject({ reason: "cancelled" });
    expect(w.close).toHaveBeenCalled();
  });

  it("closes a window msal reports only after the admin cancelled, then lets go of msal's events", async () => {
    fake.callbacks.clear();
    fake.settle = null;
    const auth = new DynamicsAuth(opts);
    const signIn = auth.signIn("https://contoso.crm.dynamics.com");
    await vi.waitFor(() => expect(fake.settle).not.toBeNull());
    auth.cancel();
    await expect(signIn).rejects.toMatchObject({ reason: "cancelled" });
    const late = popupWindow();
    fake.emitPopupOpened(late);
    expect(late.close).toHaveBeenCalled();
    // msal ends its own attempt once the window is gone; then the callback is removed.
    fake.settle!.reject(Object.assign(new Error("closed"), { errorCode: "user_cancelled" }));
    await vi.waitFor(() => expect(fake.callbacks.size).toBe(0));
  });

  it("closes the window msal opened when the admin cancels before msal reports it (POPUP_OPENED comes after round trips)", async () => {
    fake.callbacks.clear();
    fake.settle = null;
    const opened = popupWindow();
    const page = { open: vi.fn(() => opened) };
    (globalThis as { window?: unknown }).window = page;
    try {
      const auth = new DynamicsAuth(opts);
      const signIn = auth.signIn("https://contoso.crm.dynamics.com");
      await vi.waitFor(() => expect(fake.settle).not.toBeNull());
      expect(page.open).toHaveBeenCalledTimes(1);
      auth.cancel();
      await expect(signIn).rejects.toMatchObject({ reason: "cancelled" });
      expect(opened.close).toHaveBeenCalled();
      fake.settle!.reject(Object.assign(new Error("closed"), { errorCode: "user_cancelled" }));
    } finally {
      delete (globalThis as { window?: unknown }).window;
    }
  });

  it("closes the window again after a close that was dropped (during a cross-origin navigation; `closed` already true)", async () => {
    vi.useFakeTimers();
    try {
      fake.callbacks.clear();
      fake.settle = null;
      const auth = new DynamicsAuth(opts);
      const signIn = auth.signIn("https://contoso.crm.dynamics.com");
      signIn.catch(() => {});
      await vi.waitFor(() => expect(fake.settle).not.toBeNull());
      // Chromium reports `closed` after the first close() even when it dropped it; only a later one closes the window.
      const w = { closed: false, gone: false, close: vi.fn(() => ((w.gone = w.closed), (w.closed = true))) };
      fake.emitPopupOpened(w);
      auth.cancel();
      await expect(signIn).rejects.toMatchObject({ reason: "cancelled" });
      await vi.advanceTimersByTimeAsync(5000);
      expect(w.gone).toBe(true);
      fake.settle!.reject(Object.assign(new Error("closed"), { errorCode: "user_cancelled" }));
    } finally {
      vi.useRealTimers();
    }
  });
});
