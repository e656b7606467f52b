import { beforeAll, describe, expect, it } from "vitest";
import { lex } from "../core/markdown/render";
import { loadRenderer, renderMarkdown } from "./markdown/index";
import { httpLink, sourcesOf, withMarkers } from "./citations";

const cite = (url: string, end: unknown, title?: string, start = 0) => ({
  type: "url_citation",
  url_citation: { url, start_index: start, end_index: end, ...(title ? { title } : {}) },
});

const PARIS = "https://example.com/paris";

function marked(text: string, annotations: unknown[]): string {
  return withMarkers(text, annotations, sourcesOf(annotations)).text;
}

describe("sourcesOf", () => {
  it("numbers sources in order of first citation, one per URL", () => {
    const sources = sourcesOf([
      cite(PARIS, 5, "Paris"),
      cite("https://other.org/x", 9),
      cite(PARIS, 12, "Paris again"),
    ]);
    expect(sources).toEqual([
      { n: 1, url: PARIS, href: PARIS, title: "Paris", host: "example.com" },
      {
        n: 2,
        url: "https://other.org/x",
        href: "https://other.org/x",
        title: "",
        host: "other.org",
      },
    ]);
  });
  it("takes the Responses API's flat shape too, and skips what is no citation", () => {
    const sources = sourcesOf([
      { type: "url_citation", url: PARIS, title: "P", end_index: 3 },
      { type: "file_citation", file_id: "f" },
      { type: "url_citation", url_citation: { url: "" } },
      "nonsense",
      null,
    ]);
    expect(sources.map((s) => s.url)).toEqual([PARIS]);
    expect(sourcesOf(undefined)).toEqual([]);
    expect(sourcesOf({ not: "a list" })).toEqual([]);
  });
  it("gives no link to what is not http(s)", () => {
    const [js, data] = sourcesOf([
      cite("javascript:alert(1)", 1, "x"),
      cite("data:text/html,hi", 1),
    ]);
    expect(js?.href).toBeNull();
    expect(data?.href).toBeNull();
    expect(httpLink("ftp://example.com")).toBeNull();
    expect(httpLink("not a url")).toBeNull();
    expect(httpLink(" HTTPS://Example.COM/a b ")).toEqual({
      href: "https://example.com/a%20b",
      host: "example.com",
    });
  });
});

describe("withMarkers", () => {
  it("puts a marker linking to the source where the cited span ends", () => {
    const text = "Paris is the capital of France.";
    expect(marked(text, [cite(PARIS, 5)])).toBe(
      `Paris[\\[1\\]](<${PARIS}>) is the capital of France.`,
    );
    const [paragraph] = lex(marked(text, [cite(PARIS, 5)]));
    const link = (paragraph as { tokens: { type: string; href?: string; text?: string }[] })
      .tokens[1];
    expect(link).toMatchObject({ type: "link", href: PARIS, text: "[1]" });
  });
  it("places several markers, one per source and place, in ascending order", () => {
    const text = "One. Two.";
    const annotations = [cite("https://b.org/", 9), cite(PARIS, 4), cite(PARIS, 9), cite(PARIS, 9)];
    const result = withMarkers(text, annotations, sourcesOf(annotations));
    expect(result.text).toBe(
      "One.[\\[2\\]](<https://example.com/paris>) Two.[\\[1\\]](<https://b.org/>)[\\[2\\]](<https://example.com/paris>)",
    );
    expect(result.placed).toBe("4:2 9:1 9:2");
  });
  it("skips offsets past the text (still streaming) and bad ones, keeping the sources", () => {
    const annotations = [cite(PARIS, 50), cite("https://b.org/", -1), cite("https://c.org/", 1.5)];
    const sources = sourcesOf(annotations);
    expect(sources).toHaveLength(3);
    expect(withMarkers("Paris is", annotations, sources)).toEqual({ text: "Paris is", placed: "" });
    expect(withMarkers("", annotations, sources).text).toBe("");
    const annotationsWithNoEnd = [cite(PARIS, undefined), cite(PARIS, "5")];
    expect(marked("Paris is", annotationsWithNoEnd)).toBe("Paris is");
  });
  it("counts offsets in code points, as Python does", () => {
    const text = "🇫🇷 Paris is nice.";
    // Python: "🇫🇷 Paris" is 8 code points (two flags' halves, a space, five letters).
    expect(marked(text, [cite(PARIS, 8)])).toBe(`🇫🇷 Paris[\\[1\\]](<${PARIS}>) is nice.`);
    expect(marked("é😀x", [cite(PARIS, 2)])).toBe(`é😀[\\[1\\]](<${PARIS}>)x`);
    expect(marked("😀", [cite(PARIS, 2)])).toBe("😀");
  });
  it("never puts a marker inside code, math or a link", () => {
    const code = "```\nx = 1\n```\nafter";
    expect(marked(code, [cite(PARIS, 7)])).toBe(code);
    expect(marked(code, [cite(PARIS, code.length)])).toBe(`${code}[\\[1\\]](<${PARIS}>)`);
    expect(marked("see `a b` here", [cite(PARIS, 6)])).toBe("see `a b` here");
    expect(marked("so $x + y$ holds", [cite(PARIS, 6)])).toBe("so $x + y$ holds");
    const link = "go [to the page](https://x.org/a) now";
    expect(marked(link, [cite(PARIS, 8)])).toBe(link);
    expect(marked(link, [cite(PARIS, 25)])).toBe(link);
    expect(marked(link, [cite(PARIS, 33)])).toBe(
      `go [to the page](https://x.org/a)[\\[1\\]](<${PARIS}>) now`,
    );
    expect(marked("a <https://x.org/a> b", [cite(PARIS, 10)])).toBe("a <https://x.org/a> b");
  });
  it("ends a span that ends its line before the line break, not on a fence or rule", () => {
    expect(marked("Paris.\n\n- next", [cite(PARIS, 8)])).toBe(
      `Paris.[\\[1\\]](<${PARIS}>)\n\n- next`,
    );
    const fenced = "```\ncode\n```\n";
    expect(marked(fenced, [cite(PARIS, fenced.length)])).toBe(fenced);
    expect(marked("Title\n---\n", [cite(PARIS, 10)])).toBe("Title\n---\n");
    expect(marked("x", [cite(PARIS, 0)])).toBe("x");
  });
  it("keeps a bare URL from taking the marker in, and a table row whole", () => {
    expect(marked("at https://x.org/a", [cite(PARIS, 18)])).toBe(
      `at https://x.org/a [\\[1\\]](<${PARIS}>)`,
    );
    const odd = "https://example.com/a|b<c>`d";
    const text = "| a | b |\n|---|---|\n| one | two |";
    const out = marked(text, [cite(odd, 26)]);
    expect(out).toBe(
      "| a | b |\n|---|---|\n| one[\\[1\\]](<https://example.com/a%7Cb%3Cc%3E%60d>) | two |",
    );
    const [table] = lex(out);
    expect(table?.type).toBe("table");
  });
});

describe("markers as the chat draws them", () => {
  beforeAll(() => loadRenderer());
  const render = (text: string): HTMLElement => {
    const root = document.createElement("div");
    renderMarkdown(root, text);
    return root;
  };

  it("are small raised pills with the source's number, linking to it", () => {
    const text = marked("Paris is big. Rome too.", [
      cite(PARIS, 13),
      cite("https://b.org/", 23),
      cite(PARIS, 23),
    ]);
    const root = render(text);
    const pills = [...root.querySelectorAll("sup.md-cite > a.md-cite-link")];
    expect(pills.map((a) => a.textContent)).toEqual(["1", "1", "2"]);
    expect(pills.map((a) => a.getAttribute("href"))).toEqual([PARIS, PARIS, "https://b.org/"]);
    expect(pills[0]?.getAttribute("aria-label")).toBe("Source 1");
    expect(pills[0]?.getAttribute("target")).toBe("_blank");
    expect(pills[0]?.getAttribute("rel")).toBe("noopener noreferrer");
    expect(root.textContent?.trim()).toBe("Paris is big.1 Rome too.12");
  });

  it("in a table cell and beside a bare URL too", () => {
    const given = "| a |\n|---|\n| one |\n\nat https://x.org/a";
    const text = marked(given, [cite(PARIS, 18), cite(PARIS, given.length)]);
    const root = render(text);
    expect(root.querySelectorAll("td sup.md-cite")).toHaveLength(1);
    expect(root.querySelectorAll("p sup.md-cite")).toHaveLength(1);
    expect(root.querySelector('p a[href="https://x.org/a"]')).not.toBeNull();
  });

  it("only for a link that reads [n] and may be followed; other links stay links", () => {
    const root = render(
      "See [\\[1\\]](javascript:alert(1)) [\\[x\\]](https://a.org/) [1](https://a.org/) [\\[12\\]](https://a.org/)",
    );
    expect(root.querySelector(".md-link-blocked")?.textContent).toBe("[1]");
    expect([...root.querySelectorAll("sup.md-cite a")].map((a) => a.textContent)).toEqual(["12"]);
    expect([...root.querySelectorAll("a:not(.md-cite-link)")].map((a) => a.textContent)).toEqual([
      "[x]",
      "1",
    ]);
    expect(root.querySelector("[onclick], script")).toBeNull();
  });
});
