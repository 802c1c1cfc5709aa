import type { ReactiveController, ReactiveControllerHost } from "lit";

/**
 * Calls `tick` every `intervalMs` while started; `tick` returns false to stop. Stops on disconnect and never runs
 * two ticks at once (a slow edge must not pile up requests).
 */
export class PollingController implements ReactiveController {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private connected = false;

  constructor(
    host: ReactiveControllerHost,
    private readonly tick: () => Promise<boolean>,
    private readonly intervalMs = 1500,
  ) {
    host.addController(this);
  }

  get active(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.connected) this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  hostConnected(): void {
    this.connected = true;
    if (this.running && this.timer === undefined) this.schedule();
  }

  hostDisconnected(): void {
    this.connected = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(async () => {
      this.timer = undefined;
      let again = false;
      try {
        again = await this.tick();
      } catch {
        again = true; // a transient failure: keep polling, the view shows the last known state
      }
      if (again && this.running && this.connected) this.schedule();
      else if (!again) this.running = false;
    }, this.intervalMs);
  }
}
