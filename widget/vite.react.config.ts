import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The element module is not bundled again: the wrapper imports the widget's own entry, so an app that uses both gets
 * one copy of the element (one `customElements.define`) and the widget's lazy chunks.
 */
function elementFromWidgetBuild(): Plugin {
  return {
    name: "dc-element-from-widget-build",
    enforce: "pre",
    resolveId(id, importer) {
      if (importer?.includes("/widget/src/react/") && id === "dynamics-connector") {
        return { id: "../widget/dynamics-connector.js", external: "relative" };
      }
      return null;
    },
  };
}

/** `dynamics-connector/react` (dist/react/dynamics-connector.js): the React wrapper, React and @lit/react left to the app. */
export default defineConfig({
  root: here("."),
  publicDir: false,
  logLevel: "warn",
  plugins: [elementFromWidgetBuild()],
  build: {
    outDir: here("../dist/react"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    minify: false,
    lib: { entry: here("src/react/dynamics-connector.ts"), formats: ["es"], fileName: () => "dynamics-connector.js" },
    rollupOptions: { external: ["react", "@lit/react"] },
  },
});
