// Streaming markdown: the text is split into top-level blocks; a block is rendered once
// when a later block has started (it can no longer change) and never touched again.
// Only the last, open block is re-lexed and re-rendered per update, so the cost of an
// update follows the size of that block, not of the message.
//
// Work per call is bounded too: new text is lexed a window at a time, and finished blocks
// wait in a queue that is drained within a time budget, the rest in the next slice (a new
// task, so input, socket events and frames run in between). A burst of a thousand blocks
// (a flood, or a long saved message) then becomes a few short tasks instead of one long
// task that freezes the page. While such a backlog is being worked through, its blocks
// reach the page in steps (SHOW_EVERY_MS) and its code is highlighted once the page is
// idle: text first, and not a style, layout and paint pass per frame.
//
// The libraries (marked, DOMPurify, highlight.js) are a chunk of their own, loaded when
// the first reply needs them (or earlier, see `loadRenderer`): a first paint needs none.
import type { Token } from "marked";
import { renderMath } from "../../core/markdown/math";

type Renderer = typeof import("../../core/markdown/render");
let renderer: Renderer | null = null;
let rendererLoading: Promise<void> | null = null;

/** Load the markdown libraries; resolves when rendering can start. Safe to call often. */
export function loadRenderer(): Promise<void> {
  // Fetched together, each library is evaluated in a task of its own as it arrives, so
  // none of those tasks is long; then the small module that ties them together.
  rendererLoading ??= Promise.all([import("dompurify"), import("marked")])
    .then(() => import("../../core/markdown/render"))
    .then(async (mod) => {
      // The first use of the libraries is slow (their code and expressions compile): get
      // it over with now, a task per sample, rather than in one long task of the first reply.
      for (const step of mod.warmUpSteps()) {
        await new Promise<void>((resolve) => slice(resolve));
        step();
      }
      renderer = mod;
    })
    .catch((error: unknown) => {
      // A dropped connection or a restarting server: let a later call try again.
      rendererLoading = null;
      throw error;
    });
  return rendererLoading;
}

function lib(): Renderer {
  if (!renderer) throw new Error("gptchat: the markdown renderer is not loaded yet");
  return renderer;
}

/** Characters handed to the lexer since load: lets tests check the cost stays linear. */
export const stats = { lexedChars: 0 };

export interface StreamingOptions {
  /** Milliseconds of rendering per task before the rest waits for the next one. */
  budgetMs?: number;
}

/** Wait before fetching the markdown libraries again after a failed fetch. */
const LOAD_RETRY_MS = 1000;

/**
 * Characters lexed at a time, at least (and at first: the lexer is slow until the JIT
 * has warmed it up). Later windows are as large as the time left allows at the speed
 * lexing has gone so far, up to LEX_MAX.
 */
const LEX_WINDOW = 1024;
const LEX_MAX = 65536;
/** Finished blocks rendered (and sanitized) together at first between looks at the clock. */
const BATCH = 4;
// Far under the 50 ms of a long task, and leaves most of a frame to the browser. (Longer
// slices while far behind were tried: more long tasks, and no sooner done.)
const DEFAULT_BUDGET_MS = 10;
/** Calls closer together than this share one budget: they are in the same task or frame. */
const SAME_FRAME_MS = 8;
/**
 * While behind a flood, finished blocks wait off the page and are shown together at most
 * this often: every showing costs the browser a style, layout and paint pass of its own.
 */
const SHOW_EVERY_MS = 50;
/** The longest highlighting and math wait for an idle moment. */
const IDLE_WAIT_MS = 1000;

const now = (): number => performance.now();
// A new task as soon as possible: not the next animation frame, which would leave the
// rest of the current frame idle; not setTimeout, which browsers clamp to 4 ms.
const slice = (() => {
  if (typeof MessageChannel !== "function") return (fn: () => void) => void setTimeout(fn, 0);
  const channel = new MessageChannel();
  const queue: (() => void)[] = [];
  channel.port1.onmessage = () => queue.shift()?.();
  return (fn: () => void) => {
    queue.push(fn);
    channel.port2.postMessage(null);
  };
})();

/** Resolves when the page is idle (or after IDLE_WAIT_MS at most, a busy page too). */
function idle(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof requestIdleCallback === "function") {
      requestIdleCallback(() => resolve(), { timeout: IDLE_WAIT_MS });
    } else slice(resolve);
  });
}

export class StreamingMarkdown {
  private text = "";
  private committed = 0; // text before this index is lexed into final blocks
  private lexedTo = 0; // text before this index has been seen by the lexer
  private queue: Token[] = []; // final blocks not rendered yet, in order
  private openToken: Token | null = null; // the last block, rendered when the queue is empty
  private openDirty = false;
  private open: HTMLElement | null = null;
  private window = LEX_WINDOW; // the least window: grows while one block is larger
  private lexRate = 0; // characters lexed per millisecond, last time
  private scheduled = false;
  private destroyed = false;
  private lazy: HTMLElement[] = []; // blocks waiting for a language or KaTeX
  private held: DocumentFragment | null = null; // finished blocks not on the page yet
  private shownAt = -Infinity;
  private idle: Promise<void> = Promise.resolve();
  private readonly budget: number;
  private frameStart = -Infinity;
  private frameDeadline = -Infinity;

  constructor(
    private readonly root: HTMLElement,
    options: StreamingOptions = {},
  ) {
    this.budget = options.budgetMs ?? DEFAULT_BUDGET_MS;
    root.classList.add("markdown");
    root.addEventListener("click", onClick);
    root.addEventListener("pointerdown", onPress);
  }

  /** Render `text`, which extends the text given last time. Cost: bounded per call. */
  update(text: string): void {
    const n = this.text.length;
    // O(1) check that `text` extends what we have; anything else starts over.
    if (text.length < n || (n > 0 && text.charCodeAt(n - 1) !== this.text.charCodeAt(n - 1))) {
      this.reset(text);
      return;
    }
    if (text.length === n) return;
    this.text += text.slice(n).replace(/\r\n?/g, "\n");
    // A slice is already booked to continue: it will see the new text.
    if (!this.scheduled) this.render(this.deadline());
  }

  /** The stream ended. Blocks still queued are rendered in the coming slices. */
  finish(): void {
    // Nothing to do: the last block is rendered as it will stay once the queue drains.
  }

  /** Render everything now, whatever it costs. Needs `await loadRenderer()` first. */
  flush(): void {
    lib();
    this.render(Infinity);
  }

  /** Forget everything and render `text` from scratch. */
  reset(text = ""): void {
    this.root.replaceChildren();
    this.text = "";
    this.committed = 0;
    this.lexedTo = 0;
    this.queue = [];
    this.openToken = null;
    this.openDirty = false;
    this.open = null;
    this.window = LEX_WINDOW;
    this.lazy = [];
    this.held = null;
    if (text) this.update(text);
  }

  /** Resolves once lazily loaded highlighting and math have been applied. */
  whenIdle(): Promise<void> {
    return this.idle;
  }

  /** Whether text given to `update` is still waiting to be rendered. */
  get pending(): boolean {
    return this.scheduled || this.queue.length > 0;
  }

  destroy(): void {
    this.destroyed = true;
    this.root.removeEventListener("click", onClick);
    this.root.removeEventListener("pointerdown", onPress);
  }

  private render(deadline: number): void {
    if (!renderer) {
      // First use: fetch the libraries, then continue as if a slice had been booked.
      if (!this.scheduled) {
        this.scheduled = true;
        // In a task of its own: evaluating the libraries took this one.
        const resume = () => {
          this.scheduled = false;
          if (!this.destroyed) this.render(this.deadline());
        };
        void loadRenderer().then(
          () => slice(resume),
          () => setTimeout(resume, LOAD_RETRY_MS), // the text waits, nothing is lost
        );
      }
      return;
    }
    const fresh: HTMLElement[] = [];
    let batchSize = BATCH; // grows while the budget allows: one sanitizer pass per batch
    for (;;) {
      const started = now();
      if (this.queue.length === 0 && !this.lexMore(deadline)) break;
      if (this.open) {
        // The first finished block is the one the open element shows: finish it there.
        const token = this.queue.shift();
        if (token && token.type !== "space") fresh.push(this.renderBlock(token));
      } else {
        const batch = this.queue.splice(0, batchSize).filter((t) => t.type !== "space");
        if (batch.length > 0) fresh.push(...this.appendBlocks(batch));
        if (deadline - now() > 4 * (now() - started)) batchSize *= 2;
      }
      if (now() >= deadline && (this.queue.length > 0 || this.unlexed())) break;
    }
    const behind = this.queue.length > 0 || this.unlexed();
    if (this.held && (!behind || now() - this.shownAt >= SHOW_EVERY_MS)) this.show(this.held);
    if (!behind && this.openDirty && this.openToken) {
      fresh.push(this.renderOpen(this.openToken));
    }
    this.scheduleLazyWork(fresh);
    if (behind && !this.scheduled && !this.destroyed) {
      this.scheduled = true;
      slice(() => {
        this.scheduled = false;
        if (!this.destroyed) this.render(this.deadline());
      });
    }
  }

  /** When to stop rendering: calls in quick succession share one budget. */
  private deadline(): number {
    const t = now();
    if (t - this.frameStart < SAME_FRAME_MS) return this.frameDeadline;
    this.frameStart = t;
    this.frameDeadline = t + this.budget;
    return this.frameDeadline;
  }

  /** Whether some text has not been through the lexer yet. */
  private unlexed(): boolean {
    return this.lexedTo < this.text.length;
  }

  /**
   * Lex the open block plus the next window of text; queue the blocks that are now final.
   * Returns false when there was nothing new to lex.
   */
  private lexMore(deadline: number): boolean {
    if (!this.unlexed()) return false;
    // Half the time left, at the last speed: the blocks lexed still have to be rendered.
    const fits = this.lexRate > 0 ? Math.floor((this.lexRate * (deadline - now())) / 2) : 0;
    let window = Math.max(this.window, Math.min(LEX_MAX, fits));
    for (;;) {
      const end = Math.min(this.text.length, this.committed + window);
      const tail = this.text.slice(this.committed, end);
      stats.lexedChars += tail.length;
      const started = now();
      const tokens = lib().lex(tail);
      // Timers are coarse (0.1 ms): only a long enough call tells the speed.
      if (tail.length >= 512) this.lexRate = tail.length / Math.max(now() - started, 0.1);
      let last = tokens.length - 1;
      while (last >= 0 && tokens[last]?.type === "space") last--;
      // Every block before the last one is final: a later block has started after it.
      const final = tokens.slice(0, Math.max(last, 0));
      if (final.length === 0 && end < this.text.length) {
        window = this.window = window * 2; // one block larger than the window: look further
        continue;
      }
      for (const token of final) {
        this.committed += token.raw.length;
        this.queue.push(token);
      }
      // Once a block got final, windows start small again; a long open block keeps its
      // larger window, so it is not lexed in ever larger pieces on each update.
      if (final.length > 0) this.window = LEX_WINDOW;
      if (end < this.text.length) {
        // The last block of a window that stops short of the text is not known yet:
        // lex it again from its start, together with the next window.
        this.lexedTo = this.committed;
        return true;
      }
      this.lexedTo = end;
      this.openToken = last >= 0 ? (tokens[last] ?? null) : null;
      this.openDirty = true;
      return true;
    }
  }

  private renderBlock(token: Token): HTMLElement {
    const el = this.open ?? this.newBlock();
    this.open = null;
    el.replaceChildren(lib().renderToken(token));
    return el;
  }

  private appendBlocks(tokens: Token[]): HTMLElement[] {
    // A backlog (blocks never shown open): its code is highlighted once the page is idle.
    const fragment = lib().renderBlocks(tokens, true);
    const blocks = [...fragment.children] as HTMLElement[];
    if (this.held) this.held.append(fragment);
    else this.held = fragment;
    return blocks;
  }

  /** Put the finished blocks held back on the page. */
  private show(held: DocumentFragment): void {
    this.root.append(held);
    this.held = null;
    this.shownAt = now();
  }

  private renderOpen(token: Token): HTMLElement {
    this.open ??= this.newBlock();
    this.open.replaceChildren(lib().renderToken(token));
    this.openDirty = false;
    return this.open;
  }

  private newBlock(): HTMLElement {
    const el = document.createElement("div");
    el.className = "md-block";
    this.root.append(el);
    return el;
  }

  /** Highlight code and typeset math in the blocks just rendered, once loaded. */
  private scheduleLazyWork(blocks: HTMLElement[]): void {
    const languages = new Set<string>();
    let added = false;
    for (const block of blocks) {
      const pending = block.querySelectorAll<HTMLElement>("code[data-pending]");
      const hasMath = block.querySelector(".md-math:not([data-done])") !== null;
      if (pending.length === 0 && !hasMath) continue;
      for (const el of pending) languages.add(el.dataset["pending"] ?? "");
      if (!this.lazy.includes(block)) this.lazy.push(block);
      added = true;
    }
    if (!added) return;
    const { loadLanguage } = lib();
    const work = Promise.all([...languages].map(loadLanguage)).then(() => this.drainLazy());
    this.idle = this.idle.then(() => work);
  }

  /**
   * Apply highlighting and math to the waiting blocks, a budget at a time: a burst may
   * have left dozens of code blocks waiting for their language.
   */
  private async drainLazy(retry = true): Promise<void> {
    const { highlight, loadLanguage } = lib();
    const blocks = this.lazy;
    this.lazy = [];
    const waiting: HTMLElement[] = []; // a language still loading: its own load retries
    let deadline = -Infinity;
    for (const block of blocks) {
      if (block.parentNode !== this.root && block.parentNode !== this.held) continue; // reset
      if (now() >= deadline) {
        // Colour comes after text: while a flood is rendering, this waits for it to end.
        await idle();
        deadline = now() + this.budget;
      }
      for (const el of block.querySelectorAll<HTMLElement>("code[data-pending]")) {
        const html = highlight(el.textContent ?? "", el.dataset["pending"] ?? "");
        if (html === null) {
          if (!waiting.includes(block)) waiting.push(block);
          continue;
        }
        el.innerHTML = html; // highlight.js escapes the code it wraps
        el.removeAttribute("data-pending");
      }
      await renderMath(block);
    }
    if (waiting.length === 0) return;
    const languages = new Set<string>();
    for (const block of waiting) {
      for (const el of block.querySelectorAll<HTMLElement>("code[data-pending]")) {
        languages.add(el.dataset["pending"] ?? "");
      }
      if (!this.lazy.includes(block)) this.lazy.push(block);
    }
    // Once their languages are in, go again (once: a language that failed stays plain).
    await Promise.all([...languages].map(loadLanguage));
    if (retry) await this.drainLazy(false);
  }
}

/**
 * Render `text` once: the same DOM a stream of it ends with. Needs `await loadRenderer()`
 * first (a stream loads the renderer itself).
 */
export function renderMarkdown(root: HTMLElement, text: string): StreamingMarkdown {
  const md = new StreamingMarkdown(root);
  md.update(text);
  md.flush();
  md.finish();
  return md;
}

// The buttons the renderer writes: copy a code block; load a blocked remote image.
function onClick(event: Event): void {
  const target = event.target instanceof Element ? event.target : null;
  const copy = target?.closest(".md-copy");
  if (copy instanceof HTMLElement) copyCode(copy);
  const image = target?.closest(".md-image-blocked");
  if (image instanceof HTMLElement) loadImage(image);
}

// The block still streaming is rendered anew on every update, its copy button with it. A
// mouse press that outlasts an update goes down on one button and up on its successor, and
// the browser sends no click at all (the button pressed has left the page): the release
// on the button that took its place is the reader's click.
function onPress(event: PointerEvent): void {
  const pressed = event.target instanceof Element ? event.target.closest(".md-copy") : null;
  if (!pressed || event.pointerType === "touch") return; // a tap's click finds the new button
  const root = event.currentTarget as HTMLElement;
  // Wherever the press ends: a release elsewhere ends it too.
  document.addEventListener(
    "pointerup",
    (up: PointerEvent) => {
      if (pressed.isConnected || !(up.target instanceof Element)) return; // a click follows
      const successor = up.target.closest(".md-copy");
      if (successor instanceof HTMLElement && root.contains(successor)) copyCode(successor);
    },
    { once: true, capture: true },
  );
}

function copyCode(button: HTMLElement): void {
  const code = button.closest(".md-code")?.querySelector("code");
  if (!code) return;
  // The code as shown: highlighting only wraps it in spans, the label and button sit outside.
  void copyText(code.textContent ?? "").then((ok) => {
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => (button.textContent = "Copy"), 1500);
  });
}

/**
 * Put `text` on the clipboard; resolves to whether it got there. Call it from a click:
 * browsers allow writing the clipboard only in response to the reader.
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No Clipboard API on a page served over plain http to another device (a phone on the
    // LAN: not a secure context), or a write the browser refused: the older copy command
    // still works there. Without the API this runs in the click's own task.
    return copyBySelection(text);
  }
}

function copyBySelection(text: string): boolean {
  const focused = document.activeElement;
  const area = document.createElement("textarea");
  area.value = text;
  area.readOnly = true; // no on-screen keyboard on a phone
  area.setAttribute("aria-hidden", "true");
  area.style.cssText = "position:fixed;top:0;left:0;width:1px;height:1px;opacity:0";
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  if (focused instanceof HTMLElement) focused.focus({ preventScroll: true });
  return ok;
}

// A click is the reader's consent to load the image (with no referrer).
function loadImage(button: HTMLElement): void {
  const src = button.dataset["src"];
  if (!src || !/^https?:\/\//i.test(src)) return;
  const img = document.createElement("img");
  img.src = src;
  img.alt = button.dataset["alt"] ?? "";
  img.referrerPolicy = "no-referrer";
  button.replaceWith(img);
}
