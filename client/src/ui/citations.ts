// A reply's `url_citation` annotations as a numbered list of sources, and the markers [1]
// that go into its markdown where each cited span ends. Pure, no DOM. Annotations come
// from the model (through the Responses API): offsets may be out of range, the text may
// still be streaming, a URL may be anything. A marker that cannot be placed safely is left
// out; its source stays in the list.

export interface Source {
  /** Its number, as the list and the markers show it (from 1). */
  n: number;
  url: string;
  /** The link to follow: http(s) only, else null (the source is shown as text). */
  href: string | null;
  title: string;
  /** The host the link goes to, as the list names it beside the title. */
  host: string;
}

export interface Cited {
  /** The markdown with its markers. */
  text: string;
  /** Where the markers went ("offset:n ..."): changes only when they move. */
  placed: string;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `url` as a link the app lets a reader follow (http or https), or null. */
export function httpLink(url: string): { href: string; host: string } | null {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return null;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
  return { href: parsed.href, host: parsed.host };
}

interface Citation {
  url: string;
  title: string;
  end: unknown;
}

// Chat Completions nests the fields under `url_citation`; the Responses API puts them on
// the annotation itself. A developer may hand either to update_message.
function citationsOf(annotations: unknown): Citation[] {
  if (!Array.isArray(annotations)) return [];
  const out: Citation[] = [];
  for (const annotation of annotations as unknown[]) {
    if (!isRecord(annotation) || annotation["type"] !== "url_citation") continue;
    const fields = isRecord(annotation["url_citation"]) ? annotation["url_citation"] : annotation;
    const url = fields["url"];
    if (typeof url !== "string" || !url.trim()) continue;
    const title = typeof fields["title"] === "string" ? fields["title"].trim() : "";
    out.push({ url: url.trim(), title, end: fields["end_index"] });
  }
  return out;
}

/** The sources a reply cites, numbered in order of first citation, one per URL. */
export function sourcesOf(annotations: unknown): Source[] {
  const byUrl = new Map<string, Source>();
  for (const { url, title } of citationsOf(annotations)) {
    const link = httpLink(url);
    const key = link?.href ?? url;
    const known = byUrl.get(key);
    if (known) {
      if (!known.title) known.title = title;
      continue;
    }
    byUrl.set(key, {
      n: byUrl.size + 1,
      url,
      href: link?.href ?? null,
      title,
      host: link?.host ?? "",
    });
  }
  return [...byUrl.values()];
}

// A link destination in angle brackets ends at `>` and at a line break; `|` would split a
// table row, and a backslash escapes. URL parsing already encoded most else.
const UNSAFE_IN_DESTINATION = /[\s<>|\\`]/g;

function marker(n: number, href: string): string {
  const destination = href.replace(UNSAFE_IN_DESTINATION, (c) => encodeURIComponent(c));
  return `[\\[${n}\\]](<${destination}>)`;
}

/** UTF-16 indexes of code point offsets (Python counts those), null past the end. */
function utf16Indexes(text: string, offsets: readonly number[]): (number | null)[] {
  if (!/[\uD800-\uDFFF]/.test(text)) return offsets.map((o) => (o <= text.length ? o : null));
  const order = offsets.map((o, i) => [o, i] as const).sort((a, b) => a[0] - b[0]);
  const out: (number | null)[] = offsets.map(() => null);
  let points = 0;
  let units = 0;
  for (const [offset, i] of order) {
    while (points < offset && units < text.length) {
      const code = text.charCodeAt(units);
      units += code >= 0xd800 && code <= 0xdbff && units + 1 < text.length ? 2 : 1;
      points++;
    }
    if (points === offset) out[i] = units;
  }
  return out;
}

const FENCE = /^ {0,3}(?:`{3,}|~{3,})/;
const STRUCTURE = /^[\s|:=*_-]+$/;
// A bare URL just before a marker would take the marker in (autolinks end at a space);
// a link's own destination, `](...)`, is no bare URL.
const BARE_URL = /(?:https?:\/\/|www\.)\S*$/i;

function afterBareUrl(text: string, at: number): boolean {
  const word = /\S*$/.exec(text.slice(Math.max(0, at - 2048), at))?.[0] ?? "";
  return BARE_URL.test(word) && !word.includes("](");
}

/** Whether `line` (a line's text before some index) leaves inline markup open there. */
function insideInline(line: string): boolean {
  const ticks = line.match(/`/g)?.length ?? 0;
  if (ticks % 2 === 1) return true; // in a code span
  const dollars = line.match(/(?<!\\)\$/g)?.length ?? 0;
  if (dollars % 2 === 1) return true; // in math
  if (line.lastIndexOf("[") > line.lastIndexOf("]")) return true; // in a link's text
  const destination = line.lastIndexOf("](");
  if (destination >= 0 && line.indexOf(")", destination) < 0) return true; // in its URL
  return line.lastIndexOf("<") > line.lastIndexOf(">"); // in an autolink or a tag
}

/**
 * Where a marker may go for a cited span ending at `index`, or null. A span ending with
 * its line ends before the line break (a marker starting the next line could undo a list
 * or a heading there). Nothing goes inside code, math or a link.
 */
function placeAt(text: string, index: number, fenced: boolean): number | null {
  if (fenced) return null;
  let at = index;
  while (at > 0 && /[\n ]/.test(text.charAt(at - 1))) at--;
  const lineStart = text.lastIndexOf("\n", at - 1) + 1;
  const line = text.slice(lineStart, at);
  // A fence, a rule, a heading's underline or a table's delimiter row is no line to add
  // text to: it would stop being what it is.
  if (!line.trim() || FENCE.test(line) || STRUCTURE.test(line)) return null;
  return insideInline(line) ? null : at;
}

/** For each sorted index, whether it falls inside a fenced code block. */
function fencedAt(text: string, sorted: readonly number[]): boolean[] {
  const out: boolean[] = [];
  let inside = false;
  let lineStart = 0;
  for (const index of sorted) {
    for (;;) {
      const end = text.indexOf("\n", lineStart);
      // A line is reached when the index lies past its end: its fence (if any) counts.
      if (end < 0 || end >= index) break;
      if (FENCE.test(text.slice(lineStart, end))) inside = !inside;
      lineStart = end + 1;
    }
    out.push(inside);
  }
  return out;
}

/**
 * `text` with a marker `[n]` linking to source n after each span it cites. Markers that
 * cannot be placed safely are skipped: past the text's end (still streaming, or a wrong
 * offset), inside code, math or a link, or for a source that is not an http(s) link.
 */
export function withMarkers(text: string, annotations: unknown, sources: Source[]): Cited {
  if (!text || sources.length === 0) return { text, placed: "" };
  const hrefs = new Map(sources.map((s) => [s.url, s]));
  const wanted: { offset: number; source: Source }[] = [];
  for (const { url, end } of citationsOf(annotations)) {
    const source = hrefs.get(url);
    if (!source?.href || typeof end !== "number" || !Number.isInteger(end) || end < 0) continue;
    wanted.push({ offset: end, source });
  }
  const indexes = utf16Indexes(
    text,
    wanted.map((w) => w.offset),
  );
  const found = wanted
    .map((w, i) => ({ index: indexes[i] ?? null, source: w.source }))
    .filter((w): w is { index: number; source: Source } => w.index !== null)
    .sort((a, b) => a.index - b.index);
  const fenced = fencedAt(
    text,
    found.map((f) => f.index),
  );
  const seen = new Set<string>();
  const markers: { at: number; n: number; href: string }[] = [];
  found.forEach(({ index, source }, i) => {
    const at = placeAt(text, index, fenced[i] ?? true);
    const key = `${at}:${source.n}`;
    if (at === null || seen.has(key) || source.href === null) return;
    seen.add(key);
    markers.push({ at, n: source.n, href: source.href });
  });
  if (markers.length === 0) return { text, placed: "" };
  // Stable: at one place, markers keep ascending numbers.
  markers.sort((a, b) => a.at - b.at || a.n - b.n);
  let out = "";
  let from = 0;
  for (const { at, n, href } of markers) {
    const before = text.slice(from, at);
    const space = afterBareUrl(text, at) ? " " : "";
    out += before + space + marker(n, href);
    from = at;
  }
  out += text.slice(from);
  return { text: out, placed: markers.map((m) => `${m.at}:${m.n}`).join(" ") };
}
