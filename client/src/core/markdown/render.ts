// Markdown to sanitized HTML, one top-level block at a time. Model output is untrusted:
// raw HTML is shown as text, links are checked, remote images are not loaded, and
// everything passes through DOMPurify before it reaches the DOM.
import DOMPurify from "dompurify";
import { Marked } from "marked";
import type { Token, Tokens } from "marked";
import { highlight, languageOf } from "./highlight";
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

function hostOf(url: string): string {
  try {
    return new URL(url).host || "inline data";
  } catch {
    return "unknown source";
  }
}

function codeBlock(text: string, label: string): string {
  const language = languageOf(label);
  const highlighted = language ? highlight(text, language) : null;
  const cls = language ? `hljs language-${language}` : "hljs";
  const pending = language && highlighted === null ? ` data-pending="${language}"` : "";
  return (
    `<div class="md-code"><div class="md-code-header">` +
    `<span class="md-code-lang">${escapeHtml(label || "text")}</span>` +
    `<button class="md-copy" type="button" aria-label="Copy code">Copy</button></div>` +
    `<pre><code class="${cls}"${pending}>${highlighted ?? escapeHtml(text)}</code></pre></div>`
  );
}

export const marked = new Marked({
  gfm: true,
  breaks: false,
  extensions: mathExtensions,
  renderer: {
    html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
    code: ({ text, lang }: Tokens.Code) =>
      codeBlock(text, (lang ?? "").trim().split(/\s+/)[0] ?? ""),
    link({ href, title, tokens }: Tokens.Link) {
      const inner = this.parser.parseInline(tokens);
      const safe = safeHref(href);
      if (safe === null) return `<span class="md-link-blocked">${inner}</span>`;
      const t = title ? ` title="${escapeHtml(title)}"` : "";
      return `<a href="${escapeHtml(safe)}"${t} target="_blank" rel="noopener noreferrer">${inner}</a>`;
    },
    image({ href, text }: Tokens.Image) {
      // Loading a remote image leaks the conversation to its host: show what it is instead.
      const src = escapeHtml(href);
      return (
        `<span class="md-image-blocked" data-src="${src}">` +
        `Image${text ? ` “${escapeHtml(text)}”` : ""} from ${escapeHtml(hostOf(href))}</span>`
      );
    },
  },
});

let hooked = false;
function purify(html: string): string {
  if (!hooked) {
    DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A") {
        const href = node.getAttribute("href");
        if (href === null || safeHref(href) === null) node.removeAttribute("href");
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
    hooked = true;
  }
  return DOMPurify.sanitize(html, { ADD_ATTR: ["target"], FORBID_TAGS: ["style", "form"] });
}

/** Top-level tokens of `src` (math included), for splitting into blocks. */
export function lex(src: string): Token[] {
  return marked.lexer(src);
}

/** Sanitized HTML of one top-level token. */
export function renderToken(token: Token): string {
  return purify(marked.parser([token]));
}
