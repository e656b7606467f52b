import { describe, expect, it } from "vitest";
import { keptOnEdit, segmentOf, segmentText } from "./index";
import { audioPart } from "./audio";
import { filePart } from "./file";
import { imagePart } from "./image";
import { audioDetail, base64Bytes, dataUrlType, fileDetail, formatBytes } from "./media";
import { encodeWav, toBase64 } from "../../core/wav";

describe("content part types", () => {
  const png = "data:image/png;base64,iVBORw0KGgo=";
  const pdf = "data:application/pdf;base64,JVBERi0xLjQK";
  const parts: unknown[] = [
    { type: "text", text: "Here is the chart you asked for:\n\n| year | sales |\n|---|---|" },
    imagePart(png),
    { type: "refusal", refusal: "I can't identify the people in it." },
    audioPart("AAAA", "wav"),
    filePart("report.pdf", pdf),
    { type: "file", file: { file_id: "file-abc" } },
    { type: "file", file: {} },
    { type: "input_text", text: "a Responses part" },
    { type: "text", text: 42 },
    "stray",
  ];

  it("reads each part by its type, and anything else as a named placeholder", () => {
    expect(parts.map(segmentOf)).toEqual([
      { kind: "markdown", text: "Here is the chart you asked for:\n\n| year | sales |\n|---|---|" },
      { kind: "image", url: png },
      { kind: "refusal", text: "I can't identify the people in it." },
      { kind: "audio", data: "AAAA", format: "wav" },
      { kind: "file", name: "report.pdf", mediaType: "application/pdf", bytes: 9, url: pdf },
      { kind: "file", name: "file-abc", mediaType: null, bytes: null, url: null },
      { kind: "unsupported", type: "file" },
      { kind: "unsupported", type: "input_text" },
      { kind: "unsupported", type: "text" },
      { kind: "unsupported", type: "string" },
    ]);
    expect(parts.map(segmentOf).map(segmentText)).toEqual([
      "Here is the chart you asked for:\n\n| year | sales |\n|---|---|",
      "[Image]",
      "I can't identify the people in it.",
      "[Audio]",
      "[File: report.pdf]",
      "[File: file-abc]",
      "[Unsupported content: file]",
      "[Unsupported content: input_text]",
      "[Unsupported content: text]",
      "[Unsupported content: string]",
    ]);
  });

  it("keeps images, files and audio when the user edits the text, and nothing else", () => {
    expect(parts.map(keptOnEdit)).toEqual([
      false,
      true,
      false,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});

describe("attachment details", () => {
  it("sizes base64 without decoding it", () => {
    for (const n of [0, 1, 2, 3, 4, 5, 1000]) {
      expect(base64Bytes(btoa("x".repeat(n)))).toBe(n);
    }
  });

  it("says sizes as people read them", () => {
    expect([820, 12 * 1024, 1.44 * 1024 * 1024].map(formatBytes)).toEqual([
      "820 B",
      "12 KB",
      "1.4 MB",
    ]);
  });

  it("names a file's kind and size, and a WAV's length", () => {
    expect(dataUrlType("data:Text/CSV;charset=utf-8;base64,YQ==")).toBe("text/csv");
    expect(dataUrlType("https://x/y")).toBeNull();
    expect(fileDetail("application/pdf", 2048)).toBe("PDF · 2 KB");
    expect(fileDetail("text/markdown", 10)).toBe("Text · 10 B");
    expect(fileDetail(null, null)).toBe("");
    const wav = toBase64(encodeWav(new Int16Array(24_000), 24_000));
    expect(audioDetail(wav, "wav")).toBe("WAV · 47 KB · 1.0 s");
    expect(audioDetail("SUQz", "mp3")).toBe("MP3 · 3 B");
  });
});
