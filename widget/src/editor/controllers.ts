import type { ReactiveController, ReactiveControllerHost } from "lit";

/** Re-renders the host every `ms` while connected (relative times such as "saved 10 s ago"). */
export class TickController implements ReactiveController {
  private timer: ReturnType<typeof setInterval> | undefined;
  constructor(private readonly host: ReactiveControllerHost, private readonly ms = 5000) {
    host.addController(this);
  }
  hostConnected() {
    this.timer = setInterval(() => this.host.requestUpdate(), this.ms);
  }
  hostDisconnected() {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Debounced autosave: `schedule()` after each change; the save runs `delayMs` after the last one, and at once when
 * the host disconnects or the page is hidden (so a reload right after typing keeps the change).
 */
export class AutosaveController implements ReactiveController {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending = false;
  private readonly onHide = () => {
    if (document.visibilityState === "hidden") void this.flush();
  };
  private readonly onPageHide = () => void this.flush();

  constructor(host: ReactiveControllerHost, private readonly save: () => Promise<void>, private readonly delayMs = 500) {
    host.addController(this);
  }
  schedule() {
    this.pending = true;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), this.delayMs);
  }
  cancel() {
    this.pending = false;
    clearTimeout(this.timer);
  }
  async flush() {
    clearTimeout(this.timer);
    if (!this.pending) return;
    this.pending = false;
    await this.save();
  }
  hostConnected() {
    document.addEventListener("visibilitychange", this.onHide);
    window.addEventListener("pagehide", this.onPageHide);
  }
  hostDisconnected() {
    document.removeEventListener("visibilitychange", this.onHide);
    window.removeEventListener("pagehide", this.onPageHide);
    void this.flush();
  }
}

/** "just now", "10 s ago", "3 min ago", "2 h ago", or a date. */
export function relativeTime(then: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return new Date(then).toLocaleDateString();
}
