import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { define } from "./define";

/** The part of CustomElementRegistry define() uses, throwing on a second definition as browsers do. */
class FakeRegistry {
  readonly defined = new Map<string, CustomElementConstructor>();
  get(tag: string): CustomElementConstructor | undefined {
    return this.defined.get(tag);
  }
  define(tag: string, ctor: CustomElementConstructor): void {
    if (this.defined.has(tag)) throw new DOMException(`the name "${tag}" has already been used with this registry`, "NotSupportedError");
    this.defined.set(tag, ctor);
  }
}

const element = () => class {} as unknown as CustomElementConstructor;

describe("define", () => {
  let registry: FakeRegistry;
  beforeEach(() => {
    registry = new FakeRegistry();
    (globalThis as { customElements?: unknown }).customElements = registry;
  });
  afterEach(() => {
    delete (globalThis as { customElements?: unknown }).customElements;
  });

  it("defines a tag that is not defined yet", () => {
    const ctor = element();
    define("dc-test", ctor);
    expect(registry.get("dc-test")).toBe(ctor);
  });

  it("does not throw when a second copy defines the same tag, and the first definition stays", () => {
    const first = element();
    define("dc-test", first);
    expect(() => define("dc-test", element())).not.toThrow();
    expect(registry.get("dc-test")).toBe(first);
  });
});
