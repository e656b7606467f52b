// The browser's export writers against the cases the Python tests check too
// (tests/fixtures/export/): the same input must give the same JSON and Markdown files.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  exportFilename,
  exportUrl,
  openaiMessages,
  reindentJson,
  toJson,
  toMarkdown,
} from "./exportFormat";
import { parseImport } from "./importFile";

const FIXTURES = path.resolve(__dirname, "../../../tests/fixtures/export");
const CASES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".input.json"))
  .map((f) => f.slice(0, -".input.json".length))
  .sort();

interface Case {
  title: string;
  messages: object[];
}

const read = (name: string): string => readFileSync(path.join(FIXTURES, name), "utf8");
const load = (name: string): Case => JSON.parse(read(`${name}.input.json`)) as Case;

describe("the shared export fixtures", () => {
  it("has the cases the Python tests check", () => {
    expect(CASES).toEqual(expect.arrayContaining(["basic", "edge", "parts", "tools", "responses"]));
  });

  it("edge: what is not OpenAI's exports as it is, and is refused on import", () => {
    expect(() =>
      parseImport(read("edge.export.json"), { maxBytes: 1 << 20, maxMessages: 1000 }),
    ).toThrow("message 2: content.1.type: Field required");
  });

  it.each(CASES)("%s: Markdown is the Python writer's", (name) => {
    const { title, messages } = load(name);
    expect(toMarkdown(title, messages)).toBe(read(`${name}.md`));
  });

  it.each(CASES)("%s: JSON is the Python writer's", (name) => {
    expect(toJson(load(name).messages)).toBe(read(`${name}.export.json`));
  });

  it.each(CASES.filter((c) => c !== "edge"))(
    "%s: the exported JSON imports back unchanged",
    (name) => {
      const text = toJson(load(name).messages);
      const back = parseImport(text, { maxBytes: 1 << 20, maxMessages: 1000 });
      expect(back.title).toBeNull();
      expect(toJson(back.messages)).toBe(text);
    },
  );
});

describe("openaiMessages", () => {
  it("keeps only what the API takes, content always there", () => {
    const out = openaiMessages([
      {
        role: "assistant",
        content: "Grüße",
        usage: { total_tokens: 3 },
        tool_calls: [{ index: 0, id: "c1", function: { name: "f", arguments: "{}" } }],
      },
      { role: "assistant", tool_calls: [{ id: "c", function: { name: "f" } }] },
      { role: "assistant" },
    ]);
    expect(out).toEqual([
      {
        role: "assistant",
        content: "Grüße",
        tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "" } }],
      },
      { role: "assistant", content: "" },
    ]);
    expect(toJson([{ role: "user", content: "👋" }])).toContain('"👋"');
  });
});

describe("toMarkdown", () => {
  it("puts each tool result under its call", () => {
    const md = toMarkdown("t", [
      {
        role: "assistant",
        tool_calls: [
          { id: "a", function: { name: "first", arguments: '{"x":1}' } },
          { id: "b", function: { name: "second", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "b", content: "result of b" },
      { role: "tool", tool_call_id: "a", content: "result of a" },
    ]);
    expect(md).not.toContain("## Tool");
    const at = (s: string): number => md.indexOf(s);
    expect(at("`first`")).toBeLessThan(at("result of a"));
    expect(at("result of a")).toBeLessThan(at("`second`"));
    expect(at("`second`")).toBeLessThan(at("result of b"));
  });

  it("fences with more backticks than the text holds", () => {
    expect(toMarkdown("t", [{ role: "tool", content: "a ````` b" }])).toContain(
      "\n``````\na ````` b\n``````\n",
    );
  });

  it("notes a data URL image instead of copying its data", () => {
    const data = "A".repeat(40_000);
    const md = toMarkdown("t", [
      {
        role: "user",
        content: [{ type: "image_url", image_url: { url: `data:image/jpeg;base64,${data}` } }],
      },
    ]);
    expect(md).not.toContain(data);
    expect(md).toContain("*[image: image/jpeg, 30 KB, embedded data not exported]*");
  });

  it("does not take a role name for an Object property", () => {
    expect(toMarkdown("t", [{ role: "constructor", content: "x" }])).toContain("## Constructor");
  });

  it("gives an untitled conversation a heading", () => {
    expect(toMarkdown("a\n# b", [])).toBe("# a # b\n");
    expect(toMarkdown("   ", [])).toBe("# Conversation\n");
  });
});

describe("reindentJson", () => {
  it.each([
    { a: [1, 2, { b: null, c: [] }], d: {}, e: "x, y: [z]", f: true },
    [],
    'text with "quotes" and \\ and é',
    [[[]], [{}], -3],
  ])("lays %j out as JSON.stringify(_, null, 2) does", (value) => {
    expect(reindentJson(JSON.stringify(value))).toBe(JSON.stringify(value, null, 2));
  });

  it("keeps numbers as written, refuses what is not JSON", () => {
    expect(reindentJson('{"n": 1.50e3}')).toBe('{\n  "n": 1.50e3\n}');
    expect(reindentJson("NaN")).toBeNull();
    expect(reindentJson('{"a": ')).toBeNull();
  });
});

describe("exportFilename", () => {
  it("keeps safe characters only, as the server's filename_of", () => {
    expect(exportFilename('Zürich: "weather" / today', "markdown")).toBe("Zurich-weather-today.md");
    expect(exportFilename("../../etc/passwd", "json")).toBe("etc-passwd.json");
    expect(exportFilename("✨✨", "json")).toBe("conversation.json");
    expect(exportFilename("x".repeat(300), "json")).toBe("x".repeat(80) + ".json");
  });
});

describe("exportUrl", () => {
  it("is relative to the page, with the branch's leaf when given", () => {
    expect(exportUrl("conv-0001", "markdown")).toBe(
      "api/conversations/conv-0001/export?format=markdown",
    );
    expect(exportUrl("conv-0001", "json", "m4")).toBe(
      "api/conversations/conv-0001/export?format=json&leaf=m4",
    );
    expect(new URL(exportUrl("c/../x", "json"), "http://h/chat/").pathname).toBe(
      "/chat/api/conversations/c%2F..%2Fx/export",
    );
  });
});
