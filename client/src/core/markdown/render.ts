// Markdown to sanitized HTML, one top-level block at a time. Model output is untrusted:
// raw HTML is shown as text, links are checked, remote images are not loaded, and
// everything passes through DOMPurify before it reaches the DOM.
import DOMPurify from "dompurify";
import { Marked, Renderer } from "marked";
import type { Token, Tokens } from "marked";
import { highlight, languageOf } from "./highlight";
import { hostOf, imageAllowed } from "./images";
import { mathExtensions } from "./math";

const escapeHtml = (s: string): string =>
  s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");

const SAFE_HREF = /^(?:https?:|mailto:|#|\/(?!\/)|\.{0,2}\/)/i;

/** An href we let the browser follow: http(s), mailto, or relative; never javascript:/data:. */
export function safeHref(href: string): string | null {
  const trimmed = href.trim();
  return SAFE_HREF.test(trimmed) ? trimmed : null;
}

// Image hosts live apart (./images) so that setting them does not load this module.
export { imageAllowed, setImageHosts } from "./images";

// Set while rendering a backlog: its code blocks are highlighted later, when the page is
// idle (the renderer's lazy work), so the text of a flood reaches the screen first.
let deferHighlight = false;

function codeBlock(text: string, label: string): string {
  const language = languageOf(label);
  const highlighted = language && !deferHighlight ? highlight(text, language) : null;
  const cls = language ? `hljs language-${language}` : "hljs";
  const pending = language && highlighted === null ? ` data-pending="${language}"` : "";
  return (
    `<div class="md-code"><div class="md-code-header">` +
    `<span class="md-code-lang">${escapeHtml(label || "text")}</span>` +
    `<button class="md-copy" type="button" aria-label="Copy code">Copy</button></div>` +
    `<pre><code class="${cls}"${pending}>${highlighted ?? escapeHtml(text)}</code></pre></div>`
  );
}

/** The rendered text of a citation marker's link: "[n]". */
const CITATION = /^\[(\d{1,3})\]$/;

export const marked = new Marked({
  gfm: true,
  breaks: false,
  extensions: mathExtensions,
  renderer: {
    html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
    code: ({ text, lang }: Tokens.Code) =>
      codeBlock(text, (lang ?? "").trim().split(/\s+/)[0] ?? ""),
    // In a box of its own that scrolls sideways, so that the table can keep readable
    // columns (as wide as their words, up to a cap) on a screen narrower than it.
    table(token: Tokens.Table) {
      return `<div class="md-table">${Renderer.prototype.table.call(this, token)}</div>`;
    },
    link({ href, title, tokens }: Tokens.Link) {
      const inner = this.parser.parseInline(tokens);
      const safe = safeHref(href);
      if (safe === null) return `<span class="md-link-blocked">${inner}</span>`;
      // The tooltip names the real destination, whatever the link text claims.
      const t = ` title="${escapeHtml(title ? `${title} (${safe})` : safe)}"`;
      const attrs = `href="${escapeHtml(safe)}"${t} target="_blank" rel="noopener noreferrer"`;
      // A citation marker, "[n]" (ui/citations.ts puts them after cited spans): a small
      // raised pill with its number, as ChatGPT shows them.
      const cite = CITATION.exec(inner);
      if (cite) {
        const n = cite[1] ?? "";
        return `<sup class="md-cite"><a class="md-cite-link" ${attrs} aria-label="Source ${n}">${n}</a></sup>`;
      }
      return `<a ${attrs}>${inner}</a>`;
    },
    image({ href, text }: Tokens.Image) {
      // Loading a remote image leaks the conversation to its host: unless the host is
      // allowed, show what it is instead, as a button that loads it (ui/markdown/index.ts).
      const src = escapeHtml(href);
      const alt = escapeHtml(text);
      if (imageAllowed(href)) {
        return `<img src="${src}" alt="${alt}" loading="lazy" referrerpolicy="no-referrer">`;
      }
      return (
        `<button type="button" class="md-image-blocked" data-src="${src}" data-alt="${alt}"` +
        ` title="Load this image from ${escapeHtml(hostOf(href))}">` +
        `Image${text ? ` “${alt}”` : ""} from ${escapeHtml(hostOf(href))} · load</button>`
      );
    },
  },
});

let configured = false;
function configure(): void {
  if (configured) return;
  // Set once: a config passed per call is parsed again on every call.
  DOMPurify.setConfig({
    ADD_ATTR: ["target", "referrerpolicy", "loading"],
    FORBID_TAGS: ["style", "form"],
    RETURN_DOM_FRAGMENT: true,
  });
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A") {
      const href = node.getAttribute("href");
      if (href === null || safeHref(href) === null) node.removeAttribute("href");
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });
  configured = true;
}

function purify(html: string): DocumentFragment {
  configure();
  // setConfig() above makes it return a fragment; its types only know the per-call config.
  return DOMPurify.sanitize(html) as unknown as DocumentFragment;
}

// What the streaming renderer (./index) needs from the lazily loaded libraries.
export { highlight, loadLanguage } from "./highlight";

// One sample per kind of block, with the common inline markup: the first run of the lexer,
// the parser and the sanitizer compiles their code and regular expressions, tens of
// milliseconds that should not land in the middle of the first reply.
const WARM_UP = [
  "x",
  "# Title\n\nText with *em*, **strong**, `code`, $x$ and a [link](https://example.com).",
  "- one\n- two\n\n1. first\n\n> quote",
  "| a | b |\n|---|:-:|\n| 1 | 2 |\n\n---",
  "```python\nx = 1\n```\n\n<b>x</b>",
];

/** Run the pipeline once on small samples, a step per call, for callers to spread out. */
export function warmUpSteps(): (() => void)[] {
  return WARM_UP.map((sample) => () => void renderBlocks(lex(sample), true));
}

/** Top-level tokens of `src` (math included), for splitting into blocks. */
export function lex(src: string): Token[] {
  return marked.lexer(src);
}

/** Sanitized DOM of one top-level token. */
export function renderToken(token: Token): DocumentFragment {
  return purify(marked.parser([token]));
}

/**
 * Sanitized blocks for several tokens, one `div.md-block` each, ready to append. One
 * parse and one sanitizer pass for the lot: the fixed cost of a pass is paid per batch.
 * With `lateHighlight`, code is left for the renderer's lazy work to highlight.
 */
export function renderBlocks(tokens: Token[], lateHighlight = false): DocumentFragment {
  let html = "";
  deferHighlight = lateHighlight;
  try {
    for (const token of tokens) html += `<div class="md-block">${marked.parser([token])}</div>`;
  } finally {
    deferHighlight = false;
  }
  return purify(html);
}
