// Reading a JSON file the user picked to import: the same rules as the server's
// gptchat/_export.py parse_import (a list of OpenAI messages, or {"title", "messages"}),
// checked message by message as protocol.ChatMessage checks them. No DOM here.
import { IMAGE_DATA_TYPES } from "../protocol.gen";
import type { ChatMessage } from "../protocol.gen";
import { sizeText } from "./exportFormat";

export interface ImportLimits {
  maxBytes: number;
  maxMessages: number;
}

export interface Imported {
  title: string | null;
  messages: ChatMessage[];
}

/** Longest title kept (as protocol.Title). */
export const MAX_TITLE = 200;
/** The limits of a file the UI accepts when the caller names none (the server's defaults). */
export const DEFAULT_IMPORT_LIMITS: ImportLimits = { maxBytes: 8 * 1024 * 1024, maxMessages: 1000 };

/** A file that cannot be imported; `message` says where and why, for the user. */
export class ImportError extends Error {
  override name = "ImportError";
}

type Json = Record<string, unknown>;

const ROLES = ["system", "developer", "user", "assistant", "tool", "function"];

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  switch (typeof value) {
    case "object":
      return "an object";
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    default:
      return typeof value;
  }
}

/**
 * Read a chosen file: its size is checked before a byte of it is read.
 *
 * @example const { title, messages } = await readImportFile(input.files[0], limits);
 * @throws ImportError saying what is wrong with the file.
 */
export async function readImportFile(
  file: Blob,
  limits: ImportLimits = DEFAULT_IMPORT_LIMITS,
): Promise<Imported> {
  if (file.size > limits.maxBytes) throw tooBig(file.size, limits.maxBytes);
  return parseImport(new Uint8Array(await bytesOf(file)), limits);
}

function bytesOf(file: Blob): Promise<ArrayBuffer> {
  // FileReader rather than Blob.arrayBuffer(): older Safari (and jsdom) lack the latter.
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as ArrayBuffer);
    reader.onerror = () => reject(new ImportError("the file could not be read"));
    reader.readAsArrayBuffer(file);
  });
}

function tooBig(size: number, max: number): ImportError {
  return new ImportError(`the file is ${sizeText(size)}, over the limit of ${sizeText(max)}`);
}

/**
 * A file's text or bytes as a title and OpenAI messages, each checked.
 *
 * @example parseImport('[{"role": "user", "content": "Hi"}]', limits)
 *   // { title: null, messages: [{ role: "user", content: "Hi" }] }
 * @throws ImportError naming where and why: too big, not UTF-8, not JSON, not a list of
 *   messages, too many, a bad title or the first bad message (numbered from 1).
 */
export function parseImport(data: string | Uint8Array, limits: ImportLimits): Imported {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  if (bytes.length > limits.maxBytes) throw tooBig(bytes.length, limits.maxBytes);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ImportError("the file is not UTF-8 text");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ImportError(`the file is not JSON: ${why}`);
  }

  let title: string | null = null;
  if (isObject(value) && "messages" in value) {
    title = checkTitle(value["title"]);
    value = value["messages"];
  } else if (isObject(value)) {
    throw new ImportError('the file is a JSON object without "messages"');
  }
  if (!Array.isArray(value)) {
    throw new ImportError(
      `expected a list of messages or {"title": ..., "messages": [...]}, not ${kindOf(value)}`,
    );
  }
  if (value.length === 0) throw new ImportError("the file has no messages");
  if (value.length > limits.maxMessages) {
    throw new ImportError(
      `the file has ${value.length} messages, over the limit of ${limits.maxMessages}`,
    );
  }
  value.forEach((raw, i) => {
    const why = messageError(raw);
    if (why) throw new ImportError(`message ${i + 1}: ${why}`);
  });
  const messages = value as ChatMessage[];
  if (hasLoneSurrogate(JSON.stringify([title, messages]))) {
    throw new ImportError("the file has text with an unpaired surrogate (\\ud800-\\udfff)");
  }
  return { title, messages };
}

function hasLoneSurrogate(json: string): boolean {
  // JSON.stringify writes a lone surrogate as an escape (and a pair as it is); a decoded
  // file holds none raw. An even run of backslashes before it is text, not an escape.
  return /(?:^|[^\\])(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/i.test(json);
}

function checkTitle(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string")
    throw new ImportError(`title: expected text, not ${kindOf(value)}`);
  const title = value.trim();
  if (title.length > MAX_TITLE) {
    throw new ImportError(
      `title: ${title.length.toLocaleString("en-US")} characters, over the limit of ${MAX_TITLE}`,
    );
  }
  return title || null;
}

// -- one message, as protocol.ChatMessage checks it ------------------------------------

function optionalString(m: Json, key: string): string | null {
  const v = m[key];
  return v === undefined || v === null || typeof v === "string"
    ? null
    : `${key}: expected text, not ${kindOf(v)}`;
}

function functionError(fn: unknown, at: string): string | null {
  if (!isObject(fn)) return `${at}: expected an object, not ${kindOf(fn)}`;
  for (const key of ["name", "arguments"]) {
    if (!(key in fn)) return `${at}.${key}: Field required`;
    if (typeof fn[key] !== "string") return `${at}.${key}: expected text, not ${kindOf(fn[key])}`;
  }
  return null;
}

/** Why `raw` is not an OpenAI message (a path and a reason), or null if it is one. */
export function messageError(raw: unknown): string | null {
  if (!isObject(raw)) return `expected an object, not ${kindOf(raw)}`;
  if (!("role" in raw)) return "role: Field required";
  if (typeof raw["role"] !== "string" || !ROLES.includes(raw["role"])) {
    return `role: must be one of ${ROLES.join(", ")}`;
  }
  for (const key of ["name", "tool_call_id", "refusal"]) {
    const why = optionalString(raw, key);
    if (why) return why;
  }
  const content = raw["content"];
  if (Array.isArray(content)) {
    for (const [i, part] of content.entries()) {
      const why = partError(part, `content.${i}`);
      if (why) return why;
    }
  } else if (content !== undefined && content !== null && typeof content !== "string") {
    return `content: expected text or a list of parts, not ${kindOf(content)}`;
  }
  const calls = raw["tool_calls"];
  if (Array.isArray(calls)) {
    for (const [i, call] of calls.entries()) {
      const at = `tool_calls.${i}`;
      if (!isObject(call)) return `${at}: expected an object, not ${kindOf(call)}`;
      if (typeof call["id"] !== "string") return `${at}.id: expected text`;
      if (call["type"] !== undefined && call["type"] !== "function") {
        return `${at}.type: must be "function"`;
      }
      const why = functionError(call["function"], `${at}.function`);
      if (why) return why;
    }
  } else if (calls !== undefined && calls !== null) {
    return `tool_calls: expected a list, not ${kindOf(calls)}`;
  }
  const fn = raw["function_call"];
  if (fn !== undefined && fn !== null) return functionError(fn, "function_call");
  return null;
}

function onlyKeys(value: Json, keys: string[], at: string): string | null {
  const extra = Object.keys(value).find((k) => !keys.includes(k));
  return extra === undefined ? null : `${at}.${extra}: Extra inputs are not permitted`;
}

function partError(part: unknown, at: string): string | null {
  if (!isObject(part)) return `${at}: expected an object, not ${kindOf(part)}`;
  const kind = part["type"];
  if (kind === undefined) return `${at}.type: Field required`;
  if (typeof kind !== "string") return `${at}.type: expected text`;
  if (kind === "text") {
    if (typeof part["text"] !== "string") return `${at}.text: expected text`;
    return onlyKeys(part, ["type", "text"], at);
  }
  if (kind === "refusal") {
    if (typeof part["refusal"] !== "string") return `${at}.refusal: expected text`;
    return onlyKeys(part, ["type", "refusal"], at);
  }
  if (kind === "image_url") {
    const image = part["image_url"];
    const where = `${at}.image_url`;
    if (!isObject(image)) return `${where}: expected an object, not ${kindOf(image)}`;
    const keys =
      onlyKeys(part, ["type", "image_url"], at) ?? onlyKeys(image, ["url", "detail"], where);
    if (keys) return keys;
    const detail = image["detail"];
    if (
      detail !== undefined &&
      detail !== null &&
      !["auto", "low", "high"].includes(detail as string)
    ) {
      return `${where}.detail: must be auto, low or high`;
    }
    if (typeof image["url"] !== "string") return `${where}.url: expected text`;
    const why = imageUrlError(image["url"]);
    return why ? `${where}.url: ${why}` : null;
  }
  return null;
}

/** Why an image URL is refused (as protocol.check_image_url), or null. */
export function imageUrlError(url: string): string | null {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f]/.test(url))
    return "an image URL may not contain spaces or control characters";
  const scheme = url.includes(":") ? (url.split(":", 1)[0] ?? "").toLowerCase() : "";
  if (scheme === "http" || scheme === "https") {
    let host = "";
    try {
      host = new URL(url).hostname;
    } catch {
      host = "";
    }
    return host ? null : `${scheme} image URL has no host`;
  }
  if (scheme === "data") {
    const rest = url.slice(5);
    const comma = rest.indexOf(",");
    const header = comma < 0 ? rest : rest.slice(0, comma);
    const [mediaType = "", encoding = ""] = header.split(/;(.*)/s);
    if (!(IMAGE_DATA_TYPES as readonly string[]).includes(mediaType.toLowerCase())) {
      return `data URL of type '${mediaType.slice(0, 64)}' is not allowed (allowed: ${IMAGE_DATA_TYPES.join(", ")})`;
    }
    const data = comma < 0 ? "" : rest.slice(comma + 1);
    if (comma < 0 || encoding.toLowerCase() !== "base64" || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
      return `data URL is not ${mediaType.toLowerCase()};base64,<base64 data>`;
    }
    return null;
  }
  return `image URL scheme ${scheme ? `'${scheme.slice(0, 32)}'` : "none"} is not allowed (only http, https and data)`;
}
