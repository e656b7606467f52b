// Syntax highlighting with highlight.js core; the core and each language are loaded on
// first use, so neither a first paint nor a reply without code carries them.
import type { HLJSApi, LanguageFn } from "highlight.js";

type Loader = () => Promise<{ default: LanguageFn }>;

const LOADERS: Record<string, Loader> = {
  bash: () => import("highlight.js/lib/languages/bash"),
  c: () => import("highlight.js/lib/languages/c"),
  cpp: () => import("highlight.js/lib/languages/cpp"),
  csharp: () => import("highlight.js/lib/languages/csharp"),
  css: () => import("highlight.js/lib/languages/css"),
  diff: () => import("highlight.js/lib/languages/diff"),
  go: () => import("highlight.js/lib/languages/go"),
  java: () => import("highlight.js/lib/languages/java"),
  javascript: () => import("highlight.js/lib/languages/javascript"),
  json: () => import("highlight.js/lib/languages/json"),
  kotlin: () => import("highlight.js/lib/languages/kotlin"),
  markdown: () => import("highlight.js/lib/languages/markdown"),
  php: () => import("highlight.js/lib/languages/php"),
  plaintext: () => import("highlight.js/lib/languages/plaintext"),
  python: () => import("highlight.js/lib/languages/python"),
  ruby: () => import("highlight.js/lib/languages/ruby"),
  rust: () => import("highlight.js/lib/languages/rust"),
  sql: () => import("highlight.js/lib/languages/sql"),
  swift: () => import("highlight.js/lib/languages/swift"),
  typescript: () => import("highlight.js/lib/languages/typescript"),
  xml: () => import("highlight.js/lib/languages/xml"),
  yaml: () => import("highlight.js/lib/languages/yaml"),
};

const ALIASES: Record<string, string> = {
  sh: "bash",
  shell: "bash",
  zsh: "bash",
  console: "bash",
  "c++": "cpp",
  cs: "csharp",
  "c#": "csharp",
  golang: "go",
  js: "javascript",
  jsx: "javascript",
  mjs: "javascript",
  kt: "kotlin",
  md: "markdown",
  py: "python",
  python3: "python",
  rb: "ruby",
  rs: "rust",
  ts: "typescript",
  tsx: "typescript",
  html: "xml",
  svg: "xml",
  yml: "yaml",
  text: "plaintext",
  txt: "plaintext",
};

const loading = new Map<string, Promise<void>>();
let hljs: HLJSApi | null = null;
let core: Promise<HLJSApi> | null = null;

function loadCore(): Promise<HLJSApi> {
  core ??= import("highlight.js/lib/core").then((mod) => (hljs = mod.default));
  return core;
}

/** The highlight.js name for a fence's language label, or null if we have none. */
export function languageOf(label: string): string | null {
  const name = label.toLowerCase();
  const resolved = ALIASES[name] ?? name;
  return resolved in LOADERS ? resolved : null;
}

/** Highlighted HTML for `code`, or null while (or if) the language is not loaded. */
export function highlight(code: string, language: string): string | null {
  if (!hljs?.getLanguage(language)) return null;
  return hljs.highlight(code, { language, ignoreIllegals: true }).value;
}

/** Load a language; resolves when `highlight` can use it. */
export function loadLanguage(language: string): Promise<void> {
  let pending = loading.get(language);
  if (!pending) {
    const loader = LOADERS[language];
    pending = loader
      ? Promise.all([loadCore(), loader()]).then(([api, mod]) =>
          api.registerLanguage(language, mod.default),
        )
      : Promise.resolve();
    loading.set(language, pending);
  }
  return pending;
}
