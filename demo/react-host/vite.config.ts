import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The React demo host page, served by the demo host server at /react/. It imports the built package
 * (`dynamics-connector/react` → dist/react/ and dist/widget/), so `npm run build` comes first. JSX is compiled by
 * Vite's own transform (automatic runtime), no React plugin.
 */
export default defineConfig({
  root: here("."),
  base: "/react/",
  publicDir: false,
  logLevel: "warn",
  build: { outDir: here("../../dist/demo-react"), emptyOutDir: true, target: "es2022" },
});
