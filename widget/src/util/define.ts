/**
 * Defines a custom element once. A second copy of the bundle on the same page (or a module evaluated twice) must not
 * throw "this name has already been used": the first definition wins and later ones are no-ops.
 */
export function define(tag: string, ctor: CustomElementConstructor): void {
  if (!customElements.get(tag)) customElements.define(tag, ctor);
}
