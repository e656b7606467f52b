import { beforeAll, describe, expect, it } from "vitest";
import { StreamingMarkdown, loadRenderer, renderMarkdown } from "./markdown/index";
import { imageKind, partsText, resultText, segments, withoutUnfinishedTable } from "./content";

beforeAll(() => loadRenderer());

// A model's reply, as the demo streams it: prose, a table, code, math and a list.
const REPLY = `You said: *What's the weather in Paris?*

## The weather in Paris

| | Now | Tonight |
|---|---|---|
| Temperature | 18 °C | 12 °C |
| Sky | partly cloudy | clear |

## Some code

\`\`\`python
print("a | b")
\`\`\`

The Pythagorean theorem: $a^2 + b^2 = c^2$.

| Unit | Symbol |
|:--|--:|
| Celsius | °C |

1. Markdown with **bold** and [links](https://example.com)
2. The end`;

describe("content parts", () => {
  const png = "data:image/png;base64,iVBORw0KGgo=";
  it("joins consecutive text parts as markdown and keeps the order of the rest", () => {
    expect(
      segments([
        { type: "text", text: "## Title" },
        { type: "text", text: "| a | b |\n|---|---|\n| 1 | 2 |" },
        { type: "image_url", image_url: { url: png } },
        { type: "text", text: "After the image." },
        { type: "refusal", refusal: "I can't help with that." },
        { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
        { type: "computer_screenshot", image_url: png },
        { type: "image_url" },
        "stray",
      ]),
    ).toEqual([
      { kind: "markdown", text: "## Title\n\n| a | b |\n|---|---|\n| 1 | 2 |" },
      { kind: "image", url: png },
      { kind: "markdown", text: "After the image." },
      { kind: "refusal", text: "I can't help with that." },
      { kind: "audio", data: "UklGRg==", format: "wav" },
      { kind: "unsupported", type: "computer_screenshot" },
      { kind: "unsupported", type: "image_url" },
      { kind: "unsupported", type: "string" },
    ]);
  });
  it("copies the text of the text parts, joined as they render", () => {
    const parts = [
      { type: "text", text: "One." },
      { type: "image_url", image_url: { url: png } },
      { type: "text", text: "Two." },
    ];
    expect(partsText(parts)).toBe("One.\n\nTwo.");
    expect(partsText([])).toBe("");
  });
  it("shows a tool result's text parts as text, naming what is not text", () => {
    expect(resultText('{"ok": true}')).toBe('{"ok": true}');
    expect(
      resultText([
        { type: "text", text: "Forecast:" },
        { type: "text", text: '{"high": 20}' },
        { type: "file", file: { file_id: "f1" } },
        { type: "input_text", text: "?" },
      ]),
    ).toBe('Forecast:\n\n{"high": 20}\n\n[File: f1]\n\n[Unsupported content: input_text]');
    expect(resultText(null)).toBe("");
  });
  it("tells inline images from remote ones and refuses other sources", () => {
    expect(imageKind(png)).toBe("inline");
    expect(imageKind("data:image/svg+xml;utf8,<svg/>")).toBe("inline");
    expect(imageKind("https://img.example.com/cat.png")).toBe("remote");
    expect(imageKind("HTTP://img.example.com/cat.png")).toBe("remote");
    expect(imageKind("data:text/html,<script>alert(1)</script>")).toBe("invalid");
    expect(imageKind("javascript:alert(1)")).toBe("invalid");
    expect(imageKind("file:///etc/passwd")).toBe("invalid");
  });
});

describe("an unfinished table at the end of a reply", () => {
  it("holds back a header until its delimiter row is complete", () => {
    const intro = "Here:\n\n";
    for (const tail of ["|", "| | No", "| | Now | Tonight |", "| | Now | Tonight |\n"]) {
      expect(withoutUnfinishedTable(intro + tail)).toBe(intro);
    }
    for (const tail of ["|", "|---|--", "|---|---|---|"]) {
      expect(withoutUnfinishedTable(`${intro}| | Now | Tonight |\n${tail}`)).toBe(intro);
    }
    const table = `${intro}| | Now | Tonight |\n|---|---|---|\n`;
    expect(withoutUnfinishedTable(table)).toBe(table);
  });
  it("holds back a row that has just begun, and shows one with cell text", () => {
    const table = "| a | b |\n|---|---|\n| 1 | 2 |\n";
    expect(withoutUnfinishedTable(`${table}|`)).toBe(table);
    expect(withoutUnfinishedTable(`${table}| |`)).toBe(table);
    expect(withoutUnfinishedTable(`${table}| 3 |  fo`)).toBe(`${table}| 3 |  fo`);
  });
  it("leaves text alone when it does not end in a table being written", () => {
    for (const text of [
      "",
      "Plain prose.",
      "Prose\n",
      "|x| is the absolute value of x.\nSo |-3| = 3.",
      "| a | b |\nnot a table: the second line is prose",
      "| a | b |\n| c | d |\n",
      "| a | b |\n| c | d |\n| e",
    ]) {
      expect(withoutUnfinishedTable(text)).toBe(text);
    }
  });
  it("only ever grows while a reply streams, and never shows a paragraph of pipes", () => {
    let shown = "";
    for (let end = 0; end <= REPLY.length; end++) {
      const text = REPLY.slice(0, end);
      const next = withoutUnfinishedTable(text);
      expect(text.startsWith(next)).toBe(true);
      expect(next.startsWith(shown), `at ${end}: ${JSON.stringify(text.slice(-30))}`).toBe(true);
      shown = next;
      const root = document.createElement("div");
      renderMarkdown(root, next);
      const pipes = [...root.querySelectorAll("p")].filter((p) =>
        p.textContent?.trim().startsWith("|"),
      );
      expect(pipes, `at ${end}: ${JSON.stringify(text.slice(-30))}`).toEqual([]);
    }
    expect(shown).toBe(REPLY);
  });
  it("streams to the same DOM as rendering its text once, wherever the stream stops", async () => {
    const stops = [
      REPLY.indexOf("| Sky") + 1,
      REPLY.indexOf("| Sky") + 12,
      REPLY.indexOf("|:--") + 3,
    ];
    for (const stop of [...stops, REPLY.length]) {
      const final = withoutUnfinishedTable(REPLY.slice(0, stop));
      const root = document.createElement("div");
      const md = new StreamingMarkdown(root, { budgetMs: Infinity });
      for (let end = 1; end <= stop; end++) md.update(withoutUnfinishedTable(REPLY.slice(0, end)));
      md.flush();
      await md.whenIdle();
      const once = document.createElement("div");
      await renderMarkdown(once, final).whenIdle();
      expect(root.innerHTML).toBe(once.innerHTML);
      expect(once.querySelectorAll("table").length).toBeGreaterThan(0);
    }
  });
});
