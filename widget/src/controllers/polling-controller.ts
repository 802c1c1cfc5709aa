import type { ReactiveController, ReactiveControllerHost } from "lit";

/**
 * Calls `tick` every `intervalMs` while started; `tick` returns false to stop. Stops on disconnect and never runs
 * two ticks at once (a slow edge must not pile up requests).
 */
export class PollingController implements ReactiveController {
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _running = false;
  private _connected = false;

  constructor(
    host: ReactiveControllerHost,
    private readonly _tick: () => Promise<boolean>,
    private readonly _intervalMs = 1500,
  ) {
    host.addController(this);
  }

  get active(): boolean {
    return this._running;
  }

  start(): void {
    if (this._running) return;
    this._running = true;
    if (this._connected) this._schedule();
  }

  stop(): void {
    this._running = false;
    if (this._timer !== undefined) clearTimeout(this._timer);
    this._timer = undefined;
  }

  hostConnected(): void {
    this._connected = true;
    if (this._running && this._timer === undefined) this._schedule();
  }

  hostDisconnected(): void {
    this._connected = false;
    if (this._timer !== undefined) clearTimeout(this._timer);
    this._timer = undefined;
  }

  private _schedule(): void {
    this._timer = setTimeout(async () => {
      this._timer = undefined;
      let again: boolean;
      try {
        again = await this._tick();
      } catch {
        again = true; // a transient failure: keep polling, the view shows the last known state
      }
      if (again && this._running && this._connected) this._schedule();
      else if (!again) this._running = false;
    }, this._intervalMs);
  }
}
