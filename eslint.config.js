// @ts-check
/**
 * One lint for the whole repository, run by `npm test` (npm run lint). Besides typescript-eslint's recommended rules
 * it holds the layout rules of docs/architecture.md: the widget reaches the edge only through the contract
 * (`#contract/*`), contract modules that carry zod are type-only imports in the widget (its first paint stays small),
 * there are no import cycles, relative imports have no extension, and private members are `_named`.
 * Formatting is Prettier's (eslint-config-prettier turns off the rules it owns).
 */
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import lit from "eslint-plugin-lit";
import wc from "eslint-plugin-wc";
import globals from "globals";
import tseslint from "typescript-eslint";

/** Contract modules with runtime code the widget may import as values: pure, no zod. */
const CONTRACT_VALUES_FOR_WIDGET = ["compatibility", "errors", "org-url", "run", "odata-filter"];
const CONTRACT_WITH_ZOD = ["connection", "job", "object", "metadata"];

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "dist/**",
      ".wrangler/**",
      "test-results/**",
      "playwright-report/**",
      "**/*.d.ts",
      "test/bench/raw-pipe/worker.js",
      "widget/src/l10n/generated/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  importX.flatConfigs.typescript,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: ["tsconfig.json", "edge/tsconfig.json"], noWarnOnMultipleProjects: true })],
    },
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { prefer: "type-imports", fixStyle: "separate-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/no-unused-expressions": ["error", { allowShortCircuit: true, allowTernary: true }],
      // Refusing control characters in input (proxy paths, webhook URLs, names) is what those regexes are for.
      "no-control-regex": "off",
      "@typescript-eslint/naming-convention": ["error", { selector: "memberLike", modifiers: ["private"], format: null, leadingUnderscore: "require" }],
      "import-x/no-cycle": ["error", { maxDepth: Infinity }],
      "import-x/no-self-import": "error",
      "import-x/no-duplicates": ["error", { "prefer-inline": false }],
      "no-restricted-syntax": [
        "error",
        {
          selector:
            "ImportDeclaration[source.value=/^\\.{1,2}\\/.*\\.(js|ts)$/], ExportNamedDeclaration[source.value=/^\\.{1,2}\\/.*\\.(js|ts)$/], ImportExpression[source.value=/^\\.{1,2}\\/.*\\.(js|ts)$/]",
          message: "Relative imports have no extension (one specifier style; bundler resolution).",
        },
      ],
    },
  },
  {
    files: ["widget/**/*.ts"],
    ...lit.configs["flat/recommended"],
  },
  {
    files: ["widget/**/*.ts"],
    ...wc.configs["flat/recommended"],
  },
  {
    files: ["widget/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: "^(\\.\\./)+edge/", message: "The widget reaches the edge only through the contract: import from #contract/*." },
            {
              regex: `^#contract/(${CONTRACT_WITH_ZOD.join("|")})$`,
              allowTypeImports: true,
              message: `This contract module carries zod; the widget imports it type-only (value imports: ${CONTRACT_VALUES_FOR_WIDGET.join(", ")}).`,
            },
          ],
        },
      ],
    },
  },
  {
    files: ["edge/src/contract/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ regex: "^\\.\\./", message: "The contract imports nothing of the edge: both sides import it." }] }],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts", "edge/test/**/*.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off", "@typescript-eslint/no-explicit-any": "off" },
  },
  prettier,
);
