// Reading an import file in the browser: the rules (and the cases) of test_export.py's
// parse_import tests.
import { describe, expect, it } from "vitest";
import {
  ImportError,
  imageUrlError,
  messageError,
  parseImport,
  readImportFile,
} from "./importFile";

const LIMITS = { maxBytes: 1024 * 1024, maxMessages: 1000 };
const hi = [
  { role: "user", content: "Hi" },
  { role: "assistant", content: "Hello" },
];

function errorOf(data: string | Uint8Array, limits = LIMITS): string {
  try {
    parseImport(data, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(ImportError);
    return (err as Error).message;
  }
  throw new Error("parseImport accepted it");
}

describe("parseImport", () => {
  it("takes a list or an object with a title (other keys ignored)", () => {
    expect(parseImport(JSON.stringify(hi), LIMITS)).toEqual({ title: null, messages: hi });
    const body = { title: "  Greeting ", model: "gpt-x", messages: hi };
    expect(parseImport(JSON.stringify(body), LIMITS)).toEqual({ title: "Greeting", messages: hi });
    expect(parseImport(JSON.stringify({ title: " ", messages: hi }), LIMITS).title).toBeNull();
    const bom = new TextEncoder().encode("\ufeff" + JSON.stringify(hi));
    expect(parseImport(bom, LIMITS).messages).toEqual(hi);
  });

  it("keeps what the file said", () => {
    const message = {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "c", function: { name: "f", arguments: "{}" } }],
      reasoning_content: "a provider's field",
    };
    expect(parseImport(JSON.stringify([message]), LIMITS).messages).toEqual([message]);
  });

  it("refuses a 2 MB file over a 1 MB limit", () => {
    const big = JSON.stringify([{ role: "user", content: "x".repeat(2 * 1024 * 1024) }]);
    expect(errorOf(big)).toBe("the file is 3 MB, over the limit of 1 MB");
  });

  it.each([
    ["hello", /^the file is not JSON: /],
    [new Uint8Array([0xff, 0xfe, 0x5b, 0x5d]), /^the file is not UTF-8 text$/],
    ["[NaN]", /^the file is not JSON: /],
    ['"messages"', /^expected a list of messages or .*, not a string$/],
    ['{"title": "x"}', /^the file is a JSON object without "messages"$/],
    ['{"messages": {}}', /^expected a list of messages or .*, not an object$/],
    ["[]", /^the file has no messages$/],
    ['[{"role": "user", "content": "a"}, 3]', /^message 2: expected an object, not a number$/],
    [
      '[{"role": "user", "content": "a"}, {"role": "wizard", "content": "b"}]',
      /^message 2: role: must be one of system, developer, /,
    ],
    ['[{"content": "b"}]', /^message 1: role: Field required$/],
    [
      '[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "javascript:alert(1)"}}]}]',
      /^message 1: content\.0\.image_url\.url: image URL scheme 'javascript' is not/,
    ],
    ['{"title": 5, "messages": []}', /^title: expected text, not a number$/],
    ['[{"role": "user", "content": "\\ud800"}]', /^the file has text with an unpaired/],
  ])("refuses %s with a clear error", (data, error) => {
    expect(errorOf(data)).toMatch(error);
  });

  it("does not take the text \\ud800 for a lone surrogate", () => {
    const text = JSON.stringify([{ role: "user", content: "write \\ud800 in JSON" }]);
    expect(parseImport(text, LIMITS).messages[0]!.content).toBe("write \\ud800 in JSON");
  });

  it("refuses a 1 MB title", () => {
    const body = { title: "t".repeat(1024 * 1024), messages: [{ role: "user", content: "hi" }] };
    expect(errorOf(JSON.stringify(body), { maxBytes: 4 << 20, maxMessages: 10 })).toBe(
      "title: 1,048,576 characters, over the limit of 200",
    );
  });

  it("counts messages against the limit", () => {
    const messages = Array.from({ length: 11 }, (_, i) => ({ role: "user", content: String(i) }));
    expect(errorOf(JSON.stringify(messages), { maxBytes: 1 << 20, maxMessages: 10 })).toBe(
      "the file has 11 messages, over the limit of 10",
    );
    const ten = JSON.stringify(messages.slice(0, 10));
    expect(parseImport(ten, { maxBytes: 1 << 20, maxMessages: 10 }).messages).toHaveLength(10);
  });
});

describe("readImportFile", () => {
  it("refuses a file over the limit before reading it", async () => {
    const file = new Blob(["x".repeat(2048)]);
    await expect(readImportFile(file, { maxBytes: 1024, maxMessages: 10 })).rejects.toThrow(
      "the file is 2 KB, over the limit of 1 KB",
    );
  });

  it("reads a file", async () => {
    const file = new Blob([JSON.stringify({ title: "T", messages: hi })]);
    expect(await readImportFile(file, LIMITS)).toEqual({ title: "T", messages: hi });
  });
});

describe("messageError", () => {
  it.each([
    [{ role: "user", content: 5 }, "content: expected text or a list of parts, not a number"],
    [{ role: "user", name: 3 }, "name: expected text, not a number"],
    [{ role: "user", content: [{ type: "text" }] }, "content.0.text: expected text"],
    [
      { role: "user", content: [{ type: "text", text: "a", x: 1 }] },
      "content.0.x: Extra inputs are not permitted",
    ],
    [
      { role: "assistant", tool_calls: [{ id: "a" }] },
      "tool_calls.0.function: expected an object, not undefined",
    ],
    [
      { role: "assistant", tool_calls: [{ id: "a", function: { name: "f" } }] },
      "tool_calls.0.function.arguments: Field required",
    ],
    [
      { role: "assistant", function_call: { name: 1, arguments: "" } },
      "function_call.name: expected text, not a number",
    ],
  ])("%j: %s", (message, error) => {
    expect(messageError(message)).toBe(error);
  });

  it("accepts unknown parts and provider fields", () => {
    expect(
      messageError({ role: "user", content: [{ type: "input_audio", input_audio: {} }], extra: 1 }),
    ).toBeNull();
  });
});

describe("imageUrlError", () => {
  it.each([
    ["https://example.com/a.png", null],
    ["data:image/png;base64,iVBORw0K", null],
    ["http://", "http image URL has no host"],
    ["data:image/svg+xml;base64,PHN2Zz4=", /not allowed/],
    ["data:image/png,raw", "data URL is not image/png;base64,<base64 data>"],
    ["java\tscript:alert(1)", "an image URL may not contain spaces or control characters"],
    ["file:///etc/passwd", "image URL scheme 'file' is not allowed (only http, https and data)"],
    ["nothing", "image URL scheme none is not allowed (only http, https and data)"],
  ])("%s", (url, expected) => {
    const got = imageUrlError(url);
    if (expected instanceof RegExp) expect(got).toMatch(expected);
    else expect(got).toBe(expected);
  });
});
