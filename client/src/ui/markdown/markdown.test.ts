import { beforeAll, describe, expect, it } from "vitest";
import { StreamingMarkdown, loadRenderer, renderMarkdown, stats } from "./index";
import type { StreamingOptions } from "./index";

const CASES: Record<string, string> = {
  paragraphs: "One paragraph\nstill one.\n\nTwo.\n\n\nThree with *em* and **strong** and `code`.",
  headings: "# H1\n## H2\ntext\n### H3 ###\n",
  setext: "Title\n=====\n\nSub\n---\npara",
  lists: "- a\n- b\n  - nested\n    1. deep\n- c\n\n1. one\n2. two\n",
  looseList: "- a\n\n- b\n\n- c\n\nafter",
  tasks: "- [x] done\n- [ ] todo\n",
  table: "| a | b |\n|---|:-:|\n| 1 | 2 |\n| 3 | 4 |\n\nafter",
  quote: "> quoted\n> more\n>\n> > nested\n\nout",
  fence: "```python\ndef f(x):\n    return x * 2\n```\n\ntext",
  fenceNoLang: "```\nplain <b>code</b>\n```",
  unclosedFence: "text\n\n```js\nconst a = 1;\nconst b = 2;",
  tildeFence: "~~~ts\nlet x: number = 1\n~~~\n",
  indented: "para\n\n    indented code\n    more\n\nafter",
  math: "Inline $a^2 + b^2 = c^2$ and \\(x_1\\) here.\n\n$$\n\\int_0^1 x\\,dx\n$$\n\n\\[ E = mc^2 \\]\n\nend",
  dollars: "It costs $5 and $10, or $ 3 $ maybe.",
  links: '[site](https://example.com "t") <https://auto.link> www.example.org and mail@example.com',
  rawHtml: '<div onclick="x()">hi</div>\n\n<b>bold?</b> <img src=x onerror=alert(1)>',
  scriptTag: "before <script>alert(1)</script> after",
  jsLink:
    "[a](javascript:alert(1)) [b](data:text/html,hi) [c](vbscript:x) [d](JaVaScRiPt:alert(2))",
  images: "![cat](https://img.example.com/cat.png) ![x](data:image/png;base64,AAAA)",
  hr: "a\n\n---\n\nb\n\n***",
  emphasisAcrossLines: "*one\ntwo* and __three\nfour__",
  fenceLabel: '```"><img src=x onerror=alert(1)>\ncode\n```',
  strike: "~~gone~~ and ~~also~~",
  unicode: "Emoji 👩‍💻 and flags 🇫🇷, combining e\u0301.",
};

beforeAll(() => loadRenderer());

function mixedDocument(blocks: number): string {
  const parts: string[] = [];
  for (let i = 0; i < blocks; i++) {
    switch (i % 5) {
      case 0:
        parts.push(`Paragraph ${i} with **bold** and \`code\` and a [link](https://x.org/${i}).`);
        break;
      case 1:
        parts.push(`## Heading ${i}`);
        break;
      case 2:
        parts.push("```python\nfor i in range(3):\n    print(i)\n```");
        break;
      case 3:
        parts.push(`- item ${i}\n- item ${i + 1}\n  - nested`);
        break;
      default:
        parts.push(`| col | n |\n|---|---|\n| a | ${i} |\n| b | ${i + 1} |`);
    }
  }
  return parts.join("\n\n");
}
CASES["long"] = mixedDocument(40);

/** The DOM of rendering `text` once, highlighted and typeset. */
async function once(text: string): Promise<string> {
  const root = document.createElement("div");
  await renderMarkdown(root, text).whenIdle();
  return root.innerHTML;
}

/** The DOM at the end of streaming `text` in pieces of `sizes()`, highlighted and typeset. */
async function streamed(
  text: string,
  sizes: () => number,
  check?: (root: HTMLElement) => void,
  options: StreamingOptions = { budgetMs: Infinity },
): Promise<string> {
  const root = document.createElement("div");
  const md = new StreamingMarkdown(root, options);
  let end = 0;
  while (end < text.length) {
    end = Math.min(text.length, end + sizes());
    md.update(text.slice(0, end));
    check?.(root);
  }
  md.finish();
  md.flush();
  await md.whenIdle();
  md.destroy();
  return root.innerHTML;
}

/** A check that blocks, once followed by another block, never change again. */
function finishedBlocksUntouched(): (root: HTMLElement) => void {
  const frozen = new Map<Element, string>();
  return (root) => {
    for (const [el, html] of frozen) {
      expect(el.parentNode, "a finished block was removed").toBe(root);
      expect(el.innerHTML, "a finished block changed").toBe(html);
    }
    const blocks = [...root.children];
    // Every block but the last is final (the last may be the open one).
    for (const el of blocks.slice(0, -1)) if (!frozen.has(el)) frozen.set(el, el.innerHTML);
  };
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return 1 + (s % 17);
  };
}

function assertSafe(root: HTMLElement): void {
  expect(root.querySelector("script, iframe, object, embed, style")).toBeNull();
  // The only images that show unasked are inline data, which reach no host.
  for (const img of root.querySelectorAll("img")) {
    expect(img.getAttribute("src")).toMatch(/^data:image\/(png|svg\+xml);base64,/);
  }
  for (const el of root.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      expect(attr.name.startsWith("on"), `${el.tagName} ${attr.name}`).toBe(false);
    }
    const href = el.getAttribute("href");
    if (href !== null) expect(href).toMatch(/^(https?:|mailto:|#|\/)/i);
  }
}

describe("streamed rendering equals rendering the final text once", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(name, async () => {
      const expected = await once(text);
      expect(await streamed(text, () => text.length)).toBe(expected);
      expect(await streamed(text, () => 1)).toBe(expected);
      expect(await streamed(text, seeded(name.length))).toBe(expected);
    });
  }
});

describe("highlighted and typeset, a stream still equals rendering once", () => {
  // Rendering once leaves code to be highlighted when the page is idle; a stream that
  // finds the language loaded highlights each block as it finishes. Both end the same.
  for (const name of ["fence", "tildeFence", "long", "math"]) {
    it(name, async () => {
      const text = CASES[name]!;
      const expected = document.createElement("div");
      await renderMarkdown(expected, text).whenIdle(); // and loads the languages
      expect(expected.querySelector("[data-pending], .md-math:not([data-done])")).toBeNull();
      const root = document.createElement("div");
      const md = new StreamingMarkdown(root, { budgetMs: Infinity });
      for (let end = 1; end <= text.length; end++) md.update(text.slice(0, end));
      md.flush();
      expect(root.querySelector("code[data-pending]")).toBeNull(); // highlighted inline
      await md.whenIdle();
      expect(root.innerHTML).toBe(expected.innerHTML);
    });
  }
});

describe("rendering in budgeted steps ends with the same DOM", () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(name, async () => {
      const expected = await once(text);
      // A zero budget renders one block per call and queues the rest for later frames.
      expect(await streamed(text, () => text.length, undefined, { budgetMs: 0 })).toBe(expected);
      expect(await streamed(text, () => 1, undefined, { budgetMs: 0 })).toBe(expected);
      expect(await streamed(text, seeded(name.length + 3), undefined, { budgetMs: 0 })).toBe(
        expected,
      );
    });
  }
});

describe("finished blocks are never touched again", () => {
  for (const name of ["long", "paragraphs", "lists", "table", "fence", "math", "quote"]) {
    it(name, async () => {
      const text = CASES[name]!;
      await streamed(text, () => 1, finishedBlocksUntouched());
      await streamed(text, seeded(11), finishedBlocksUntouched(), { budgetMs: 0 });
    });
  }
});

describe("a burst is split into bounded steps", () => {
  it("renders part of a 100-block burst at once, the rest on later frames", async () => {
    const text = mixedDocument(100);
    const root = document.createElement("div");
    const md = new StreamingMarkdown(root, { budgetMs: 0 });
    md.update(text);
    expect(md.pending).toBe(true);
    expect(root.children.length).toBeGreaterThan(0); // the first blocks show at once
    expect(root.children.length).toBeLessThan(20);
    // jsdom runs animation frames at 60 Hz: one block per frame here, so give it time.
    const until = Date.now() + 8000;
    while (md.pending && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(md.pending).toBe(false);
    await md.whenIdle();
    expect(root.innerHTML).toBe(await once(text));
  }, 15_000);
  it("lexes a burst a window at a time, not all of it per block", async () => {
    const text = mixedDocument(400);
    const before = stats.lexedChars;
    const root = document.createElement("div");
    const md = new StreamingMarkdown(root, { budgetMs: 0 });
    md.update(text);
    md.flush();
    // Each character is lexed about once (plus the block cut at each window's end).
    expect(stats.lexedChars - before).toBeLessThan(text.length * 1.5);
    await md.whenIdle();
    expect(root.innerHTML).toBe(await once(text));
  });
});

describe("safety at every step", () => {
  for (const name of ["rawHtml", "scriptTag", "jsLink", "images", "fenceLabel"]) {
    it(name, async () => {
      const text = CASES[name]!;
      await streamed(text, () => 1, assertSafe);
    });
  }
  it("shows raw HTML as text", () => {
    const root = document.createElement("div");
    renderMarkdown(root, CASES["scriptTag"]!);
    expect(root.textContent).toContain("<script>alert(1)</script>");
  });
  it("makes links open in a new tab without a referrer", () => {
    const root = document.createElement("div");
    renderMarkdown(root, CASES["links"]!);
    const a = root.querySelector("a")!;
    expect(a.getAttribute("target")).toBe("_blank");
    expect(a.getAttribute("rel")).toBe("noopener noreferrer");
  });
  it("names the host of a blocked image", () => {
    const root = document.createElement("div");
    renderMarkdown(root, CASES["images"]!);
    expect(root.querySelector(".md-image-blocked")?.textContent).toContain("img.example.com");
  });
  it("shows inline data: images at once, but not data: of other types", () => {
    const root = document.createElement("div");
    const svg = "data:image/svg+xml;base64,PHN2Zy8+";
    renderMarkdown(root, `${CASES["images"]!} ![s](${svg}) ![h](data:text/html;base64,PGI+)`);
    const shown = [...root.querySelectorAll("img")].map((img) => img.getAttribute("src"));
    expect(shown).toEqual(["data:image/png;base64,AAAA", svg]);
    const blocked = [...root.querySelectorAll<HTMLElement>(".md-image-blocked")];
    expect(blocked.map((b) => b.dataset["alt"])).toEqual(["cat", "h"]);
  });
});

it("streams a 200-block document in random chunks to the same DOM", async () => {
  const text = mixedDocument(200);
  expect(await streamed(text, seeded(7))).toBe(await once(text));
});

describe("structure", () => {
  it("renders GFM tables, task lists, strikethrough and code blocks", () => {
    const root = document.createElement("div");
    renderMarkdown(
      root,
      [CASES["table"], CASES["tasks"], CASES["strike"], CASES["fence"]].join("\n\n"),
    );
    expect(root.querySelectorAll("table td")).toHaveLength(4);
    expect(root.querySelectorAll('input[type="checkbox"][disabled]')).toHaveLength(2);
    expect(root.querySelectorAll("del")).toHaveLength(2);
    expect(root.querySelector(".md-code-lang")?.textContent).toBe("python");
    expect(root.querySelector(".md-copy")).not.toBeNull();
  });
  it("keeps dollar amounts as text", () => {
    const root = document.createElement("div");
    renderMarkdown(root, CASES["dollars"]!);
    expect(root.querySelector(".md-math")).toBeNull();
  });
  it("finds math in all four syntaxes", () => {
    const root = document.createElement("div");
    renderMarkdown(root, CASES["math"]!);
    expect(root.querySelectorAll(".md-math")).toHaveLength(4);
  });
  it("renders an unclosed fence as code while it streams", () => {
    const root = document.createElement("div");
    new StreamingMarkdown(root).update(CASES["unclosedFence"]!);
    expect(root.querySelector("pre code")?.textContent).toContain("const b = 2;");
  });
  it("loads highlighting and KaTeX lazily, then applies them", async () => {
    const root = document.createElement("div");
    const md = renderMarkdown(root, `${CASES["fence"]}\n\n${CASES["math"]}`);
    await md.whenIdle();
    expect(root.querySelector("code .hljs-keyword")).not.toBeNull();
    expect(root.querySelectorAll(".katex")).toHaveLength(4);
  });
});

it("costs about the open block per update, not the whole message", async () => {
  const text = mixedDocument(120);
  const before = stats.lexedChars;
  await streamed(text, () => 1);
  const lexed = stats.lexedChars - before;
  // Re-lexing everything per character would be ~n²/2 (here ~1e9); we stay near n × block size.
  expect(lexed).toBeLessThan(text.length * 120);
  expect(lexed).toBeLessThan((text.length * text.length) / 50);
}, 20_000); // ~25,000 updates: a few seconds on a busy 2-core machine

it("highlights every code block of a burst once its language loads, a budget at a time", async () => {
  const block = '```ruby\ndef greet(name)\n  puts "hi #{name}"\nend\n```';
  const text = Array.from({ length: 30 }, (_, i) => `Step ${i}\n\n${block}`).join("\n\n");
  const root = document.createElement("div");
  const md = new StreamingMarkdown(root, { budgetMs: 0 });
  md.update(text);
  md.flush();
  expect(root.querySelectorAll("code[data-pending]").length).toBe(30);
  await md.whenIdle();
  expect(root.querySelectorAll("code[data-pending]")).toHaveLength(0);
  expect(root.querySelectorAll("code .hljs-keyword").length).toBeGreaterThanOrEqual(30);
});

it("loads the renderer on first use when nobody did", async () => {
  // Modules are shared between tests: this checks the path a stream takes, not the load.
  const root = document.createElement("div");
  const md = new StreamingMarkdown(root);
  md.update("# Title\n\ntext");
  await loadRenderer();
  for (let i = 0; i < 50 && md.pending; i++) await new Promise((r) => setTimeout(r, 10));
  expect(root.querySelector("h1")?.textContent).toBe("Title");
});
