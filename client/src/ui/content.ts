// What a message's `content` shows as: a string is markdown; a list of OpenAI content
// parts is split into segments (runs of text parts as one markdown document, images,
// refusals, and a labelled placeholder for anything else). Pure functions, no DOM; what
// each part type is lives in ./parts/.
import { segmentOf, segmentText } from "./parts/index";
import type { Segment } from "./parts/index";

export type { Segment } from "./parts/index";

/** Consecutive text parts join as consecutive markdown blocks. */
const PART_SEPARATOR = "\n\n";

/** The segments of a content list, in order; an empty list gives none. */
export function segments(content: readonly unknown[]): Segment[] {
  const out: Segment[] = [];
  let texts: string[] = [];
  const flush = () => {
    if (texts.length) out.push({ kind: "markdown", text: texts.join(PART_SEPARATOR) });
    texts = [];
  };
  for (const raw of content) {
    const segment = segmentOf(raw);
    if (segment.kind === "markdown") {
      texts.push(segment.text);
      continue;
    }
    flush();
    out.push(segment);
  }
  flush();
  return out;
}

/** The text of a content list's text parts, joined as they render (what Copy copies). */
export function partsText(content: readonly unknown[]): string {
  return segments(content)
    .filter((s) => s.kind === "markdown")
    .map((s) => s.text)
    .join(PART_SEPARATOR);
}

/**
 * A tool result's text: its string, or the text of its parts (a tool message's content
 * may be a list of text parts); other parts are named, so a result is never blank.
 */
export function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return segments(content).map(segmentText).join(PART_SEPARATOR);
}

// A data: URL of an image type shows at once (it is in the message already: loading it
// tells nobody anything). SVG is safe in an <img>: no scripts run there.
const INLINE_IMAGE = /^data:image\/(?:png|jpeg|gif|webp|avif|bmp|svg\+xml)[;,]/i;

/** How an image part's URL may be shown: at once, behind a click, or not at all. */
export function imageKind(url: string): "inline" | "remote" | "invalid" {
  const trimmed = url.trim();
  if (INLINE_IMAGE.test(trimmed)) return "inline";
  return /^https?:\/\//i.test(trimmed) ? "remote" : "invalid";
}

// A line of a GFM table row: it starts with a pipe (up to three spaces in, as GFM allows).
const PIPE_LINE = /^ {0,3}\|/;
// A row with no cell text yet ("|", "| |"): nothing to show but empty cells.
const EMPTY_ROW = /^ {0,3}\|[\s|]*$/;

/**
 * The part of an unfinished reply's text to render: `text` without a table that is still
 * being written at its very end. While a model streams a table (or after it was stopped
 * there), its header shows as a paragraph of pipes until the delimiter row is complete,
 * and a row that has just begun is a row of empty cells: both are held back until their
 * line is done. A row with some cell text already shows as a row. Looks at the last three
 * lines only, so it costs the same for any length of text.
 *
 * The result is a prefix of `text`, and a longer text never gives a shorter one: a stream
 * rendering it only ever grows, so the renderer never starts over.
 */
export function withoutUnfinishedTable(text: string): string {
  // The last line is what follows the final newline: "" when the text ends with one.
  const start = text.lastIndexOf("\n") + 1;
  const last = text.slice(start);
  const pending = EMPTY_ROW.test(last) ? "" : last;
  if (pending && !PIPE_LINE.test(pending)) return text;
  // The complete lines of pipes just before it (two are enough to make a table).
  const lineStart = (newline: number) =>
    newline === 0 ? 0 : text.lastIndexOf("\n", newline - 1) + 1;
  let complete = 0;
  let runStart = start;
  while (complete < 2 && runStart > 0) {
    const from = lineStart(runStart - 1);
    if (!PIPE_LINE.test(text.slice(from, runStart - 1))) break;
    complete++;
    runStart = from;
  }
  if (complete >= 2 || (complete === 0 && !pending)) return text.slice(0, start + pending.length);
  // A header (and maybe the start of its delimiter row) with no table under it yet.
  return text.slice(0, runStart);
}
