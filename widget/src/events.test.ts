import { describe, expect, it } from "vitest";
import { emit } from "./events";

/** The event `run` dispatches on a fresh target. */
function capture(name: string, run: (target: EventTarget) => void): Event | undefined {
  const target = new EventTarget();
  let event: Event | undefined;
  target.addEventListener(name, (e) => (event = e));
  run(target);
  return event;
}

describe("emit", () => {
  it("dispatches a public event bubbling and composed, with its detail", () => {
    const event = capture("dc-request-delete", (t) => emit(t, "dc-request-delete", { kind: "job", id: "j1", name: "Accounts" }));
    expect(event).toMatchObject({ bubbles: true, composed: true, cancelable: false, detail: { kind: "job", id: "j1", name: "Accounts" } });
  });

  it("keeps a local internal event on its target: neither bubbling nor composed", () => {
    const event = capture("dc-job-open", (t) => emit(t, "dc-job-open", { job: null }, { local: true }));
    expect(event).toMatchObject({ type: "dc-job-open", bubbles: false, composed: false, detail: { job: null } });
  });

  it("returns false when a listener vetoes a cancelable event", () => {
    const target = new EventTarget();
    target.addEventListener("dc-request-delete", (e) => e.preventDefault());
    expect(emit(target, "dc-request-delete", { kind: "connection", id: "c1", name: "Contoso" }, { cancelable: true })).toBe(false);
  });
});
