import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The widget as a host ships it: `dist/widget/dynamics-connector.js` (ES module, one script tag) plus lazy chunks in
 * `dist/widget/chunks/` — msal-browser, the job editor, cronstrue and the locale modules are fetched only when needed —
 * and `dist/widget/redirect.html` (+ `redirect.js`) for the sign-in popup. dist/ is the edge's static assets folder
 * (wrangler.toml [assets]; its committed dist/_headers and dist/.assetsignore are left alone), so this is served at
 * /widget/. Entries keep their names (short-cached); chunk names carry a content hash (cached for good).
 */
export default defineConfig({
  root: here("."),
  base: "./",
  publicDir: false,
  logLevel: "warn",
  build: {
    outDir: here("../dist/widget"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    // The browser tests and the bench read it to tell which chunk is msal-browser and which is the editor.
    manifest: true,
    rollupOptions: {
      input: {
        "dynamics-connector": here("src/dynamics-connector/dynamics-connector.ts"),
        redirect: here("redirect.html"),
      },
      preserveEntrySignatures: "exports-only",
      output: {
        entryFileNames: "[name].js",
        chunkFileNames: "chunks/[name]-[hash].js",
        assetFileNames: "chunks/[name]-[hash][extname]",
      },
    },
  },
});
