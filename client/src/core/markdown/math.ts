// Math in markdown: $...$, $$...$$, \(...\), \[...\] become placeholders holding the TeX
// as text; KaTeX (and its CSS) is loaded the first time a placeholder needs it.
import type { TokenizerAndRendererExtension, Tokens } from "marked";

interface MathToken extends Tokens.Generic {
  type: "math";
  text: string;
  display: boolean;
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function placeholder(tex: string, display: boolean): string {
  const tag = display ? "div" : "span";
  return `<${tag} class="md-math" data-display="${display ? 1 : 0}">${escapeHtml(tex)}</${tag}>`;
}

// A display block: $$...$$ or \[...\] starting a line; an unclosed one runs to the end
// of the text, like an unclosed code fence, so streaming shows it as math-in-progress.
const BLOCK =
  /^ {0,3}(?:\$\$([\s\S]*?)(?:\$\$[ \t]*(?:\n|$)|$)|\\\[([\s\S]*?)(?:\\\][ \t]*(?:\n|$)|$))/;
// Inline: $x$ with no space inside the dollars and no digit after (so $5 and $10 stay text),
// $$x$$ inside a line, and \(x\).
const INLINE =
  /^(?:\$\$(?!\$)([^\n]+?)\$\$|\$(?![\s$])((?:\\.|[^\\\n$])+?)(?<!\s)\$(?!\d)|\\\(([^\n]+?)\\\))/;

const blockMath: TokenizerAndRendererExtension = {
  name: "math",
  level: "block",
  start: (src) => src.match(/^ {0,3}(?:\$\$|\\\[)/m)?.index,
  tokenizer(src) {
    const m = BLOCK.exec(src);
    if (!m) return undefined;
    const token: MathToken = {
      type: "math",
      raw: m[0],
      text: (m[1] ?? m[2] ?? "").trim(),
      display: true,
    };
    return token;
  },
  renderer: (token) => placeholder(String(token["text"]), true),
};

const inlineMath: TokenizerAndRendererExtension = {
  name: "inlineMath",
  level: "inline",
  start: (src) => src.match(/\$|\\\(/)?.index,
  tokenizer(src) {
    const m = INLINE.exec(src);
    if (!m) return undefined;
    return { type: "inlineMath", raw: m[0], text: (m[1] ?? m[2] ?? m[3] ?? "").trim() };
  },
  renderer: (token) => placeholder(String(token["text"]), false),
};

export const mathExtensions = [blockMath, inlineMath];

type Katex = (typeof import("katex"))["default"];
let katexPromise: Promise<Katex> | null = null;

function loadKatex(): Promise<Katex> {
  katexPromise ??= Promise.all([import("katex"), import("katex/dist/katex.min.css")]).then(
    ([mod]) => mod.default,
  );
  return katexPromise;
}

/** Typeset the math placeholders under `root`; resolves when done (no-op without math). */
export async function renderMath(root: ParentNode): Promise<void> {
  if (!root.querySelector(".md-math:not([data-done])")) return;
  const katex = await loadKatex();
  for (const el of root.querySelectorAll<HTMLElement>(".md-math:not([data-done])")) {
    const tex = el.textContent ?? "";
    el.dataset["done"] = "1";
    el.dataset["tex"] = tex;
    try {
      katex.render(tex, el, { displayMode: el.dataset["display"] === "1", throwOnError: false });
    } catch {
      el.textContent = tex; // KaTeX could not typeset it at all: show the TeX itself
    }
  }
}
