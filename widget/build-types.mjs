/**
 * The package's types (dts-bundle-generator), one .d.ts per export, in dist/types/ (`npm run build`):
 * - dynamics-connector.d.ts: the element and its public types, the widget's own and #contract types inlined, npm
 *   packages (lit, zod) left as imports. The entry's `declare global` block (HTMLElementTagNameMap,
 *   GlobalEventHandlersEventMap) is copied in as written: dts-bundle-generator's inlineDeclareGlobals would also pull in
 *   every internal element's (and loses some of their lit imports).
 * - react.d.ts: the React wrapper, by TypeScript's own declaration emit: it imports the element by package name, which
 *   resolves through package.json "exports" to the file above, so one declaration of the element serves both.
 * Type-checked as source by `npm run typecheck`; test/e2e/package.spec.ts compiles a host's code against the output.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { generateDtsBundle } from "dts-bundle-generator";
import ts from "typescript";

const here = (p) => new URL(p, import.meta.url).pathname;
const options = { preferredConfigPath: here("tsconfig.package.json") };
const output = { exportReferencedTypes: false, noBanner: true };
const ENTRY = here("src/dynamics-connector/dynamics-connector.ts");

const globals = /^declare global \{[\s\S]*?^\}$/m.exec(readFileSync(ENTRY, "utf8"))?.[0];
if (!globals) throw new Error(`no declare global block in ${ENTRY}`);

mkdirSync(here("../dist/types"), { recursive: true });
const [element] = generateDtsBundle([{ filePath: ENTRY, output }], options);
writeFileSync(here("../dist/types/dynamics-connector.d.ts"), `${element}\n${globals}\n`);
// Emitted second, on its own: nothing of the widget but the file above is in this program.
const react = here("src/react/dynamics-connector.ts");
const { options: compilerOptions } = ts.parseJsonConfigFileContent(ts.readConfigFile(options.preferredConfigPath, ts.sys.readFile).config, ts.sys, here("."));
const program = ts.createProgram([react], { ...compilerOptions, declaration: true, emitDeclarationOnly: true, noEmit: false });
let emitted = "";
const result = program.emit(program.getSourceFile(react), (_name, text) => (emitted = text), undefined, true);
const problems = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
if (problems.length)
  throw new Error(ts.formatDiagnostics(problems, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => here("."), getNewLine: () => "\n" }));
writeFileSync(here("../dist/types/react.d.ts"), emitted);
