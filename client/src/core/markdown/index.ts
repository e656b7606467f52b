// Streaming markdown: the text is split into top-level blocks; a block is rendered once
// when a later block has started (it can no longer change) and never touched again.
// Only the last, open block is re-lexed and re-rendered per update, so the cost of an
// update follows the size of that block, not of the message.
import { lex, renderToken } from "./render";
import { loadLanguage, highlight } from "./highlight";
import { renderMath } from "./math";

/** Characters handed to the lexer since load: lets tests check the cost stays linear. */
export const stats = { lexedChars: 0 };

export class StreamingMarkdown {
  private text = "";
  private committed = 0; // text before this index is in final blocks
  private open: HTMLElement | null = null;
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly root: HTMLElement) {
    root.classList.add("markdown");
    root.addEventListener("click", onCopyClick);
  }

  /** Render `text`, which extends the text given last time. Cost: the open block only. */
  update(text: string): void {
    const n = this.text.length;
    // O(1) check that `text` extends what we have; anything else starts over.
    if (text.length < n || (n > 0 && text.charCodeAt(n - 1) !== this.text.charCodeAt(n - 1))) {
      this.reset(text);
      return;
    }
    if (text.length === n) return;
    this.text += text.slice(n).replace(/\r\n?/g, "\n");
    this.render();
  }

  /** The stream ended. The last block is already rendered as it will stay. */
  finish(): void {
    this.open = null;
  }

  /** Forget everything and render `text` from scratch. */
  reset(text = ""): void {
    this.root.replaceChildren();
    this.text = "";
    this.committed = 0;
    this.open = null;
    if (text) this.update(text);
  }

  /** Resolves once lazily loaded highlighting and math have been applied. */
  whenIdle(): Promise<void> {
    return this.idle;
  }

  destroy(): void {
    this.root.removeEventListener("click", onCopyClick);
  }

  private render(): void {
    const tail = this.text.slice(this.committed);
    stats.lexedChars += tail.length;
    const tokens = lex(tail);
    let last = tokens.length - 1;
    while (last >= 0 && tokens[last]?.type === "space") last--;
    // Every block before the last one is final: a later block has started after it.
    for (const token of tokens.slice(0, Math.max(last, 0))) {
      this.committed += token.raw.length;
      if (token.type === "space") continue;
      const el = this.open ?? this.newBlock();
      this.open = null;
      el.innerHTML = renderToken(token);
    }
    const openToken = last >= 0 ? tokens[last] : undefined;
    if (openToken) {
      this.open ??= this.newBlock();
      this.open.innerHTML = renderToken(openToken);
    }
    this.scheduleLazyWork();
  }

  private newBlock(): HTMLElement {
    const el = document.createElement("div");
    el.className = "md-block";
    this.root.append(el);
    return el;
  }

  private scheduleLazyWork(): void {
    const root = this.root;
    const pending = root.querySelectorAll<HTMLElement>("code[data-pending]");
    const hasMath = root.querySelector(".md-math:not([data-done])") !== null;
    if (pending.length === 0 && !hasMath) return;
    const languages = new Set([...pending].map((el) => el.dataset["pending"] ?? ""));
    const work = Promise.all([...languages].map(loadLanguage)).then(async () => {
      for (const el of root.querySelectorAll<HTMLElement>("code[data-pending]")) {
        const html = highlight(el.textContent ?? "", el.dataset["pending"] ?? "");
        if (html !== null) {
          el.innerHTML = html; // highlight.js escapes the code it wraps
          el.removeAttribute("data-pending");
        }
      }
      await renderMath(root);
    });
    this.idle = this.idle.then(() => work);
  }
}

/** Render `text` once: the same DOM a stream of it ends with. */
export function renderMarkdown(root: HTMLElement, text: string): StreamingMarkdown {
  const md = new StreamingMarkdown(root);
  md.update(text);
  md.finish();
  return md;
}

function onCopyClick(event: Event): void {
  const button = (event.target as Element | null)?.closest?.(".md-copy");
  if (!(button instanceof HTMLElement)) return;
  const code = button.closest(".md-code")?.querySelector("code");
  if (!code) return;
  void navigator.clipboard?.writeText(code.textContent ?? "").then(() => {
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = "Copy"), 1500);
  });
}
