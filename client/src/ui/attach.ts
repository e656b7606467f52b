// What the composer takes as an attachment, pure (no DOM): a file's kind (image, file,
// audio) and the part type it goes as, checked against `set_config`'s `attachments` rules
// before it is read, so a refusal is said at once and nothing is half-sent. The server
// checks the same rules again (`_limits.check_attachments`): it stays the authority.
import {
  AUDIO_FORMATS,
  FILE_DATA_TYPES,
  IMAGE_DATA_TYPES,
  type AttachmentKind,
  type AttachmentRule,
  type Attachments,
} from "../protocol.gen";
import { formatBytes } from "./parts/media";

// Types a browser runs as a page once opened on its own: never sent as a file
// (protocol.py's _DOCUMENT_TYPES; SVG is refused as an image already).
const DOCUMENT_TYPES = new Set([
  "text/html",
  "text/xml",
  "text/xsl",
  "application/xml",
  "application/xhtml+xml",
  "image/svg+xml",
]);

// Source files a browser types as application/* (or not at all): sent as text/plain.
const AS_TEXT = new Set([
  "application/javascript",
  "application/x-javascript",
  "application/typescript",
  "application/x-sh",
  "application/x-python-code",
  "application/x-yaml",
  "application/yaml",
  "application/toml",
  "application/sql",
  "application/x-tex",
]);

// Extensions of files a browser may give no type: what each is sent as.
const BY_EXTENSION: Record<string, string> = {
  pdf: "application/pdf",
  json: "application/json",
  wav: "audio/wav",
  mp3: "audio/mpeg",
  md: "text/markdown",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
};
const TEXT_EXTENSIONS =
  "txt log ini cfg conf toml yaml yml py js mjs ts tsx jsx rs go c h cc cpp hpp java kt rb php sh sql r tex css scss svelte vue swift lua pl".split(
    " ",
  );
for (const ext of TEXT_EXTENSIONS) BY_EXTENSION[ext] = "text/plain";
for (const ext of ["html", "htm", "xhtml", "xml", "svg", "xsl"]) BY_EXTENSION[ext] = "text/html";
BY_EXTENSION["xml"] = "text/xml";
BY_EXTENSION["svg"] = "image/svg+xml";

const AUDIO_ALIASES: Record<string, string> = {
  "audio/x-wav": "audio/wav",
  "audio/wave": "audio/wav",
  "audio/vnd.wave": "audio/wav",
  "audio/mp3": "audio/mpeg",
};

const KIND_NAMES: Record<AttachmentKind, string> = {
  image: "images",
  file: "files",
  audio: "audio",
};

/** What the composer needs of a file: a `File`, or anything shaped like one. */
export interface FileLike {
  name: string;
  type: string;
  size: number;
}

/** A file the rules take: its kind, the media type it is sent as, an audio format. */
export interface Accepted {
  kind: AttachmentKind;
  mediaType: string;
  format?: "wav" | "mp3";
}

/** The media type `file` is sent as: its own (normalised), else one by its extension. */
export function mediaTypeOf(file: Pick<FileLike, "name" | "type">): string {
  let type = file.type.toLowerCase().split(";", 1)[0]?.trim() ?? "";
  // No type, or one that only names a program (Windows types a .csv as an Excel file).
  if (!type || type === "application/octet-stream" || type === "application/vnd.ms-excel") {
    const ext = file.name.toLowerCase().split(".").pop() ?? "";
    type = (file.name.includes(".") && BY_EXTENSION[ext]) || "";
  }
  if (AS_TEXT.has(type)) return "text/plain";
  return AUDIO_ALIASES[type] ?? type;
}

/** Whether `mediaType` is one of `patterns` (`text/*` takes any text type); `media_type_matches`. */
export function typeMatches(mediaType: string, patterns: readonly string[]): boolean {
  const major = mediaType.split("/", 1)[0];
  return patterns.some((p) => p === mediaType || p === "*/*" || p === `${major}/*`);
}

const DEFAULT_TYPES: Record<AttachmentKind, readonly string[]> = {
  image: IMAGE_DATA_TYPES,
  file: FILE_DATA_TYPES,
  audio: Object.values(AUDIO_FORMATS),
};

function kindOf(name: string, mediaType: string): Accepted | string {
  if (mediaType.startsWith("image/")) {
    if ((IMAGE_DATA_TYPES as readonly string[]).includes(mediaType)) {
      return { kind: "image", mediaType };
    }
    // An SVG is a page that can run script once opened on its own: the server refuses it.
    return `${name}: only PNG, JPEG, GIF and WebP images can be attached`;
  }
  if (mediaType.startsWith("audio/")) {
    const format = Object.entries(AUDIO_FORMATS).find(([, type]) => type === mediaType)?.[0];
    if (format === "wav" || format === "mp3") return { kind: "audio", mediaType, format };
    return `${name}: only WAV and MP3 audio can be attached`;
  }
  if (DOCUMENT_TYPES.has(mediaType)) {
    return `${name}: HTML and XML files cannot be attached (a browser would run them as a page); PDF, JSON and text files can`;
  }
  if (typeMatches(mediaType, FILE_DATA_TYPES)) return { kind: "file", mediaType };
  const what = mediaType ? `files of type ${mediaType}` : "files of this type";
  return `${name}: ${what} cannot be attached; PDF, JSON, text files, images and audio can`;
}

/**
 * Whether `rules` take `file`: what it is sent as, or why not (a sentence naming the file).
 *
 * `check({ name: "a.pdf", type: "application/pdf", size: 10 }, rules)` gives
 * `{ kind: "file", mediaType: "application/pdf" }`; over the size, `"a.pdf is too large ..."`.
 */
export function check(file: FileLike, rules: Attachments): Accepted | string {
  const found = kindOf(file.name, mediaTypeOf(file));
  if (typeof found === "string") return found;
  const rule: AttachmentRule | null | undefined = rules[found.kind];
  const name = KIND_NAMES[found.kind];
  if (!rule) return `${file.name}: ${name} cannot be attached here`;
  const types = rule.types ?? DEFAULT_TYPES[found.kind];
  if (!typeMatches(found.mediaType, types)) {
    return `${file.name}: ${name} of type ${found.mediaType} are not accepted here (accepted: ${types.join(", ")})`;
  }
  const limit = rule.max_bytes;
  if (file.size > limit) {
    return `${file.name} is too large (${formatBytes(file.size)}; ${name} may be up to ${formatBytes(limit)})`;
  }
  return found;
}

/** The file picker's `accept`: the types of every kind that is on, and text extensions. */
export function acceptList(rules: Attachments): string {
  const out: string[] = [];
  for (const kind of ["image", "file", "audio"] as const) {
    const rule = rules[kind];
    if (!rule) continue;
    out.push(...(rule.types ?? DEFAULT_TYPES[kind]));
    if (kind === "file")
      out.push(".md", ".csv", ".json", ".pdf", ...TEXT_EXTENSIONS.map((e) => `.${e}`));
    if (kind === "audio") out.push(".wav", ".mp3");
  }
  return [...new Set(out)].join(",");
}

/** Whether any kind can be attached at all (the attach button shows). */
export function anyAllowed(rules: Attachments): boolean {
  return Boolean(rules.image || rules.file || rules.audio);
}
