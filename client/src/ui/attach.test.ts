import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../protocol.gen";
import { acceptList, anyAllowed, check, mediaTypeOf } from "./attach";

const MB = 1024 * 1024;
const defaults = DEFAULT_CONFIG.attachments;
const withAudio = { ...defaults, audio: { max_bytes: MB } };

describe("what the composer takes", () => {
  it("reads a type from the file, or its extension when the browser gives none", () => {
    expect(mediaTypeOf({ name: "a.pdf", type: "application/pdf" })).toBe("application/pdf");
    expect(mediaTypeOf({ name: "notes.md", type: "" })).toBe("text/markdown");
    expect(mediaTypeOf({ name: "main.py", type: "" })).toBe("text/plain");
    expect(mediaTypeOf({ name: "app.js", type: "application/javascript" })).toBe("text/plain");
    expect(mediaTypeOf({ name: "voice.wav", type: "audio/x-wav" })).toBe("audio/wav");
    expect(mediaTypeOf({ name: "data.csv", type: "application/vnd.ms-excel" })).toBe("text/csv");
    expect(mediaTypeOf({ name: "README", type: "" })).toBe("");
  });

  it("takes PDFs, JSON, text, images, and audio where it is on", () => {
    expect(check({ name: "a.pdf", type: "application/pdf", size: 10 }, defaults)).toEqual({
      kind: "file",
      mediaType: "application/pdf",
    });
    expect(check({ name: "t.csv", type: "text/csv", size: 10 }, defaults)).toEqual({
      kind: "file",
      mediaType: "text/csv",
    });
    expect(check({ name: "p.png", type: "image/png", size: 10 }, defaults)).toEqual({
      kind: "image",
      mediaType: "image/png",
    });
    expect(check({ name: "v.mp3", type: "audio/mpeg", size: 10 }, withAudio)).toEqual({
      kind: "audio",
      mediaType: "audio/mpeg",
      format: "mp3",
    });
  });

  it("refuses with a reason that names the file", () => {
    const refused = (file: { name: string; type: string; size: number }, rules = defaults) =>
      check(file, rules);
    expect(refused({ name: "page.html", type: "text/html", size: 10 })).toBe(
      "page.html: HTML and XML files cannot be attached (a browser would run them as a page); PDF, JSON and text files can",
    );
    expect(refused({ name: "logo.svg", type: "image/svg+xml", size: 10 })).toBe(
      "logo.svg: only PNG, JPEG, GIF and WebP images can be attached",
    );
    expect(refused({ name: "v.wav", type: "audio/wav", size: 10 })).toBe(
      "v.wav: audio cannot be attached here",
    );
    expect(refused({ name: "v.ogg", type: "audio/ogg", size: 10 }, withAudio)).toBe(
      "v.ogg: only WAV and MP3 audio can be attached",
    );
    expect(refused({ name: "big.pdf", type: "application/pdf", size: 6 * MB })).toBe(
      "big.pdf is too large (6.0 MB; files may be up to 5.0 MB)",
    );
    expect(refused({ name: "a.zip", type: "application/zip", size: 10 })).toBe(
      "a.zip: files of type application/zip cannot be attached; PDF, JSON, text files, images and audio can",
    );
    const pdfOnly = { ...defaults, file: { max_bytes: MB, types: ["application/pdf"] } };
    expect(refused({ name: "t.txt", type: "text/plain", size: 1 }, pdfOnly)).toBe(
      "t.txt: files of type text/plain are not accepted here (accepted: application/pdf)",
    );
  });

  it("offers the picker only the kinds that are on", () => {
    const off = { image: null, file: null, audio: null };
    expect(anyAllowed(off)).toBe(false);
    expect(anyAllowed(defaults)).toBe(true);
    const accept = acceptList({ ...off, audio: { max_bytes: 1 } }).split(",");
    expect(accept).toEqual(["audio/wav", "audio/mpeg", ".wav", ".mp3"]);
    expect(acceptList(defaults)).toContain("application/pdf");
    expect(acceptList(defaults)).not.toContain("audio/");
  });
});
