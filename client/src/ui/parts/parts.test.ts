import { describe, expect, it } from "vitest";
import { keptOnEdit, segmentOf, segmentText } from "./index";
import { imagePart } from "./image";

describe("content part types", () => {
  const png = "data:image/png;base64,iVBORw0KGgo=";
  const parts: unknown[] = [
    { type: "text", text: "Here is the chart you asked for:\n\n| year | sales |\n|---|---|" },
    imagePart(png),
    { type: "refusal", refusal: "I can't identify the people in it." },
    { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } },
    { type: "text", text: 42 },
    "stray",
  ];

  it("reads each part by its type, and anything else as a named placeholder", () => {
    expect(parts.map(segmentOf)).toEqual([
      { kind: "markdown", text: "Here is the chart you asked for:\n\n| year | sales |\n|---|---|" },
      { kind: "image", url: png },
      { kind: "refusal", text: "I can't identify the people in it." },
      { kind: "unsupported", type: "input_audio" },
      { kind: "unsupported", type: "text" },
      { kind: "unsupported", type: "string" },
    ]);
    expect(parts.map(segmentOf).map(segmentText)).toEqual([
      "Here is the chart you asked for:\n\n| year | sales |\n|---|---|",
      "[Image]",
      "I can't identify the people in it.",
      "[Unsupported content: input_audio]",
      "[Unsupported content: text]",
      "[Unsupported content: string]",
    ]);
  });

  it("keeps images when the user edits the text, and nothing else", () => {
    expect(parts.map(keptOnEdit)).toEqual([false, true, false, false, false, false]);
  });
});
