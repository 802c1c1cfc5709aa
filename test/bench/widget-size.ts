/**
 * First-paint weight of the widget: the host's one script tag loads dist/widget/dynamics-connector.js; the browser then
 * fetches its STATIC imports (transitively) before the module runs. Dynamic `import()` chunks (msal-browser, the job
 * editor, cronstrue …) load later, on demand. Sizes are gzip (zlib level 6, what typical servers/CDNs use) and brotli.
 * The graph comes from vite's manifest and is cross-checked by parsing the built files' import statements; what each
 * chunk contains comes from its source map.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

interface ManifestChunk {
  file: string;
  src?: string;
  isEntry?: boolean;
  isDynamicEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
}

export interface WidgetSize {
  entry: string;
  staticFiles: Array<{ file: string; raw: number; gzip: number; brotli: number }>;
  totalRaw: number;
  totalGzip: number;
  totalBrotli: number;
  lazyFiles: Array<{ file: string; gzip: number; contains: string[] }>;
  msalLazy: boolean;
  editorLazy: boolean;
  msalInStatic: boolean;
  editorInStatic: boolean;
  parsedMatchesManifest: boolean;
  notes: string[];
}

/**
 * The first paint's budget, gzip: issue 15 asked for ≤ 25 KB (it was 35 KB; measured 35.4 KB before the connection's
 * pages, the locale modules and the edge's error wording moved into lazy chunks).
 */
export const FIRST_PAINT_BUDGET_GZIP = 25 * 1024;

const sizes = (buf: Buffer) => ({
  raw: buf.length,
  gzip: gzipSync(buf, { level: 6 }).length,
  brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});

function sourcesOf(dist: string, file: string): string[] {
  const map = join(dist, `${file}.map`);
  if (!existsSync(map)) return [];
  return ((JSON.parse(readFileSync(map, "utf8")) as { sources?: string[] }).sources ?? []).map((s) => s.replace(/^(\.\.\/)+/, ""));
}

/**
 * Static relative imports of a built ES module (import … from "./x", import "../x", export … from "./x"), as paths
 * relative to the build folder (`file` is the module's own path there: chunks sit in chunks/, entries beside it).
 */
export function staticImportsOf(code: string, file = "entry.js"): string[] {
  const out = new Set<string>();
  const re = /(?:^|[;\n}\s])(?:import|export)\s*(?:[\w$*{}\s,]+?\s*from\s*)?["'](\.\.?\/[^"']+)["']/g;
  for (let m; (m = re.exec(code));) out.add(posix.join(posix.dirname(file), m[1]!));
  return [...out];
}

const isMsal = (s: string) => s.includes("@azure/msal-browser") || s.includes("@azure/msal-common");
const isEditor = (s: string) => /widget\/src\/editor\/job-editor/.test(s);

export function measureWidget(dist: string, entryName = "dynamics-connector"): WidgetSize {
  const manifest = JSON.parse(readFileSync(join(dist, ".vite", "manifest.json"), "utf8")) as Record<string, ManifestChunk>;
  const byFile = new Map(Object.entries(manifest).map(([k, v]) => [v.file, { key: k, ...v }]));
  const entryKey = Object.keys(manifest).find((k) => manifest[k]!.isEntry && manifest[k]!.file === `${entryName}.js`);
  if (!entryKey) throw new Error(`no entry ${entryName}.js in ${join(dist, ".vite", "manifest.json")}`);
  const notes: string[] = [];

  // Static closure by manifest keys.
  const seen = new Set<string>();
  const stack = [entryKey];
  while (stack.length) {
    const k = stack.pop()!;
    if (seen.has(k)) continue;
    seen.add(k);
    for (const i of manifest[k]?.imports ?? []) stack.push(i);
  }
  const staticFileList = [...seen].map((k) => manifest[k]!.file);
  const cssFiles = [...seen].flatMap((k) => manifest[k]!.css ?? []);
  if (cssFiles.length) notes.push(`CSS files in the static graph: ${cssFiles.join(", ")}`);

  // Cross-check: parse the built files.
  const parsed = new Set<string>();
  const pstack = [`${entryName}.js`];
  while (pstack.length) {
    const f = pstack.pop()!;
    if (parsed.has(f)) continue;
    parsed.add(f);
    for (const i of staticImportsOf(readFileSync(join(dist, f), "utf8"), f)) pstack.push(i);
  }
  const a = [...new Set([...staticFileList, ...cssFiles])].sort();
  const b = [...parsed].sort();
  const parsedMatchesManifest = JSON.stringify(a.filter((f) => f.endsWith(".js"))) === JSON.stringify(b);
  if (!parsedMatchesManifest) notes.push(`manifest static graph [${a.join(", ")}] ≠ parsed [${b.join(", ")}]`);
  const union = [...new Set([...a, ...b])];

  const staticFiles = union.map((file) => ({ file, ...sizes(readFileSync(join(dist, file))) }));
  const staticSources = union.flatMap((f) => sourcesOf(dist, f));
  const lazyFiles = [...byFile.keys()]
    .filter((f) => f.endsWith(".js") && !union.includes(f) && f !== "redirect.js")
    .map((file) => {
      const srcs = sourcesOf(dist, file);
      const contains = [
        ...(srcs.some(isMsal) ? ["msal-browser"] : []),
        ...(srcs.some(isEditor) ? ["job editor"] : []),
        ...(srcs.some((s) => s.includes("cronstrue")) ? ["cronstrue"] : []),
      ];
      return { file, gzip: sizes(readFileSync(join(dist, file))).gzip, contains };
    });
  return {
    entry: `${entryName}.js`,
    staticFiles,
    totalRaw: staticFiles.reduce((s, f) => s + f.raw, 0),
    totalGzip: staticFiles.reduce((s, f) => s + f.gzip, 0),
    totalBrotli: staticFiles.reduce((s, f) => s + f.brotli, 0),
    lazyFiles,
    msalInStatic: staticSources.some(isMsal),
    editorInStatic: staticSources.some(isEditor),
    msalLazy: lazyFiles.some((f) => f.contains.includes("msal-browser")),
    editorLazy: lazyFiles.some((f) => f.contains.includes("job editor")),
    parsedMatchesManifest,
    notes,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const w = measureWidget(join(process.cwd(), "dist", "widget"));
  // `npm run build` ends with the one-line summary; without --summary, everything as JSON.
  if (process.argv.includes("--summary")) {
    const kb = (n: number) => (n / 1024).toFixed(1);
    console.log(
      `first paint: ${w.staticFiles.length} files, ${kb(w.totalGzip)} KB gzip (${kb(w.totalBrotli)} KB brotli; budget ${kb(FIRST_PAINT_BUDGET_GZIP)} KB gzip); lazy: ${w.lazyFiles.length} chunks` +
        (w.totalGzip > FIRST_PAINT_BUDGET_GZIP ? " — WARNING: over budget" : "") +
        (w.msalInStatic || w.editorInStatic ? " — WARNING: msal-browser or the job editor is in the first paint" : ""),
    );
  } else console.log(JSON.stringify(w, null, 2));
}
