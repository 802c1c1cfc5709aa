import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The widget as a host ships it: `dist/dynamics-connector.js` (ES module, one script tag) plus lazy chunks —
 * msal-browser, the job editor and cronstrue are fetched only when needed — and `dist/redirect.html` for the
 * sign-in popup. All files are flat in dist/ so relative URLs (chunks, redirect page) resolve from the entry.
 */
export default defineConfig({
  root: here("."),
  base: "./",
  publicDir: false,
  logLevel: "warn",
  build: {
    outDir: here("../dist"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    // The browser tests read it to tell which chunk is msal-browser and which is the editor.
    manifest: true,
    rollupOptions: {
      input: {
        "dynamics-connector": here("src/dynamics-connector/dynamics-connector.ts"),
        redirect: here("redirect.html"),
      },
      preserveEntrySignatures: "exports-only",
      output: {
        entryFileNames: "[name].js",
        chunkFileNames: "[name]-[hash].js",
        assetFileNames: "[name]-[hash][extname]",
      },
    },
  },
});
