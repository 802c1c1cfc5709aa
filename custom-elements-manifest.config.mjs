// custom-elements.json (the web-components convention IDEs, docs tools and Storybook read): the public element only,
// its attributes/properties (Lit decorators), events (@fires), CSS parts (@csspart) and custom properties (@cssprop).
// `npm run build` writes dist/custom-elements.json; package.json "customElements" points at it.

/** The element is analysed in its source file but shipped in the built entry: the manifest names what a host imports. */
function shippedModulePath() {
  return {
    name: "dc-shipped-module-path",
    packageLinkPhase({ customElementsManifest }) {
      for (const mod of customElementsManifest.modules) {
        mod.path = "dist/widget/dynamics-connector.js";
        for (const e of mod.exports ?? []) if (e.declaration) e.declaration.module = mod.path;
        mod.exports = [
          ...(mod.exports ?? []),
          { kind: "custom-element-definition", name: "dynamics-connector", declaration: { name: "DynamicsConnector", module: mod.path } },
        ];
      }
    },
  };
}

export default {
  globs: ["widget/src/dynamics-connector/dynamics-connector.component.ts"],
  outdir: "dist",
  litelement: true,
  dependencies: false,
  // package.json "customElements" is written by hand (the analyzer would rewrite package.json on every build).
  packagejson: false,
  plugins: [shippedModulePath()],
};
