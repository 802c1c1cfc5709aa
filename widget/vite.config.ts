import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const ENTRY = here("src/dynamics-connector/dynamics-connector.ts");

/** Module ids reachable from `from` through static imports. */
function staticClosure(from: string, importsOf: (id: string) => readonly string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...importsOf(id));
  }
  return seen;
}
let firstPaint: Set<string> | undefined;

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
        "dynamics-connector": ENTRY,
        redirect: here("redirect.html"),
      },
      preserveEntrySignatures: "exports-only",
      output: {
        entryFileNames: "[name].js",
        chunkFileNames: "chunks/[name]-[hash].js",
        assetFileNames: "chunks/[name]-[hash][extname]",
        // What the entry imports statically (transitively) goes into one chunk beside it: the handful of small shared
        // chunks rolldown would cut (lit, the connection form…) compress worse apart and cost a request each. The
        // element's own module stays in the entry: it resolves redirect.html against its import.meta.url.
        codeSplitting: {
          groups: [
            {
              debugName: "first-paint",
              name: (id, ctx) => {
                firstPaint ??= staticClosure(ENTRY, (m) => ctx.getModuleInfo(m)?.importedIds ?? []);
                return firstPaint.has(id) && !id.startsWith(here("src/dynamics-connector/")) ? "first-paint" : null;
              },
            },
          ],
        },
      },
    },
  },
});
