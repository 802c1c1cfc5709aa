import { formatRelative } from "../util/format";
import type { ReactiveController, ReactiveControllerHost } from "lit";

/** Re-renders the host every `ms` while connected (relative times such as "saved 10 s ago"). */
export class TickController implements ReactiveController {
  private _timer: ReturnType<typeof setInterval> | undefined;
  constructor(
    private readonly _host: ReactiveControllerHost,
    private readonly _ms = 5000,
  ) {
    _host.addController(this);
  }
  hostConnected() {
    this._timer = setInterval(() => this._host.requestUpdate(), this._ms);
  }
  hostDisconnected() {
    clearInterval(this._timer);
    this._timer = undefined;
  }
}

/**
 * Debounced autosave: `schedule()` after each change; the save runs `delayMs` after the last one, and at once when
 * the host disconnects or the page is hidden (so a reload right after typing keeps the change).
 */
export class AutosaveController implements ReactiveController {
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _pending = false;
  private readonly _onHide = () => {
    if (document.visibilityState === "hidden") void this.flush();
  };
  private readonly _onPageHide = () => void this.flush();

  constructor(
    host: ReactiveControllerHost,
    private readonly _save: () => Promise<void>,
    private readonly _delayMs = 500,
  ) {
    host.addController(this);
  }
  schedule() {
    this._pending = true;
    clearTimeout(this._timer);
    this._timer = setTimeout(() => void this.flush(), this._delayMs);
  }
  cancel() {
    this._pending = false;
    clearTimeout(this._timer);
  }
  async flush() {
    clearTimeout(this._timer);
    if (!this._pending) return;
    this._pending = false;
    await this._save();
  }
  hostConnected() {
    document.addEventListener("visibilitychange", this._onHide);
    window.addEventListener("pagehide", this._onPageHide);
  }
  hostDisconnected() {
    document.removeEventListener("visibilitychange", this._onHide);
    window.removeEventListener("pagehide", this._onPageHide);
    void this.flush();
  }
}

/** "just now", "10 seconds ago", "3 minutes ago"… in the widget's language (Intl, util/format.ts). */
export function relativeTime(then: number, now = Date.now()): string {
  return formatRelative(new Date(Math.min(then, now)).toISOString(), now);
}
