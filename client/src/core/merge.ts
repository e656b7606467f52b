// Folding OpenAI stream deltas into messages: the same rules as the server's
// package/gptchat/_merge.py (tests/fixtures/openai-streams/README.md), run on the same vectors;
// an assistant's `audio` folds as tests/fixtures/merge-audio.json says (its data joined as bytes).

export type Delta = Record<string, unknown>;

export interface AccFunction {
  name?: string;
  arguments?: string;
}

export interface AccToolCall {
  index: number;
  id?: string;
  type?: string;
  function?: AccFunction;
}

export interface AccMessage {
  role?: string;
  content?: string | unknown[] | null;
  tool_calls?: AccToolCall[];
  function_call?: AccFunction;
  refusal?: string | null;
  tool_call_id?: string;
  name?: string;
  [key: string]: unknown;
}

const REPLACE = new Set(["role", "type"]);
const NOT_MESSAGE = new Set(["obfuscation", "index", "logprobs", "finish_reason"]);

export function newMessage(): AccMessage {
  return {};
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// Some servers restate the whole id/name on every fragment: equal to what we have
// means restated, anything else is appended.
function appendUnlessRestated(current: string | undefined, fragment: string): string {
  if (current === undefined) return fragment;
  return fragment === current ? current : current + fragment;
}

function mergeFunction(acc: AccFunction, delta: Record<string, unknown>, restate: boolean): void {
  const name = delta["name"];
  if (typeof name === "string") {
    acc.name = restate ? appendUnlessRestated(acc.name, name) : (acc.name ?? "") + name;
  }
  const args = delta["arguments"];
  if (typeof args === "string") acc.arguments = (acc.arguments ?? "") + args;
}

function findCall(calls: AccToolCall[], index: number): AccToolCall {
  // Calls stay sorted by index; streams add them in order, so look from the end.
  let i = calls.length;
  while (i > 0 && (calls[i - 1] as AccToolCall).index > index) i--;
  const prev = calls[i - 1];
  if (prev !== undefined && prev.index === index) return prev;
  const call: AccToolCall = { index };
  calls.splice(i, 0, call);
  return call;
}

function mergeToolCalls(acc: AccMessage, entries: unknown[]): void {
  entries.forEach((entry, position) => {
    if (!isRecord(entry)) return;
    // A complete message's calls carry no index: their position is their index.
    const index = typeof entry["index"] === "number" ? entry["index"] : position;
    const call = findCall((acc.tool_calls ??= []), index);
    const id = entry["id"];
    if (typeof id === "string") call.id = appendUnlessRestated(call.id, id);
    const type = entry["type"];
    if (typeof type === "string") call.type = type;
    const fn = entry["function"];
    if (isRecord(fn)) mergeFunction((call.function ??= {}), fn, true);
  });
}

const cleanBase64 = (text: string): boolean => text.length % 4 === 0 && !text.endsWith("=");
const padded = (text: string): string => text + "=".repeat((4 - (text.length % 4)) % 4);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string): string | null {
  if (!BASE64.test(text)) return null;
  try {
    return atob(padded(text));
  } catch {
    return null;
  }
}

/**
 * `current` and `fragment`, two base64 texts, as the base64 of their bytes joined: streamed
 * audio comes in pieces each encoded on its own, and a piece padded with `=` cannot be
 * followed as text. Only the last quantum of `current` is decoded again. Text that is not
 * base64 is appended as it is. `appendBase64("QQ==", "Qg==")` is `"QUI="`.
 */
export function appendBase64(current: string, fragment: string): string {
  if (cleanBase64(current) && cleanBase64(fragment)) return current + fragment;
  const cut = current ? current.length - (current.length % 4 || 4) : 0;
  const tail = decodeBase64(current.slice(cut));
  const piece = decodeBase64(fragment);
  if (tail === null || piece === null) return current + fragment;
  return current.slice(0, cut) + btoa(tail + piece);
}

// An assistant message's audio, streamed: the transcript is text, the data base64 pieces
// joined as bytes; id, expires_at and format take the latest non-null value.
function mergeAudio(acc: Record<string, unknown>, delta: Record<string, unknown>): void {
  for (const key in delta) {
    const value = delta[key];
    if (value === null || value === undefined) continue;
    const current = acc[key];
    if (key === "data" && typeof value === "string") {
      acc[key] = typeof current === "string" ? appendBase64(current, value) : value;
    } else if (key === "transcript" && typeof value === "string") {
      acc[key] = typeof current === "string" ? current + value : value;
    } else {
      acc[key] = structuredClone(value);
    }
  }
}

/** Apply one delta (or a whole message) to `acc`, in place. Null and missing change nothing. */
export function applyDelta(acc: AccMessage, delta: Delta): void {
  for (const key in delta) {
    const value = delta[key];
    if (value === null || value === undefined || NOT_MESSAGE.has(key)) continue;
    if (key === "role") {
      acc.role ??= value as string;
    } else if (key === "tool_calls") {
      if (Array.isArray(value)) mergeToolCalls(acc, value);
    } else if (key === "function_call") {
      if (isRecord(value)) mergeFunction((acc.function_call ??= {}), value, false);
    } else if (key === "audio" && isRecord(value)) {
      const audio = isRecord(acc["audio"]) ? acc["audio"] : (acc["audio"] = {});
      mergeAudio(audio, value);
    } else if (typeof value === "string" && !REPLACE.has(key)) {
      const current = acc[key];
      acc[key] = typeof current === "string" ? current + value : value;
    } else {
      // Content parts, numbers, objects: the latest value wins (copied, never shared).
      acc[key] = structuredClone(value);
    }
  }
}

/** A clean message: role defaulted, tool calls without their index, content null if unset. */
export function finishMessage(acc: AccMessage): AccMessage {
  const message: AccMessage = { ...acc, role: acc.role ?? "assistant" };
  if (acc.tool_calls) {
    message.tool_calls = acc.tool_calls.map((call) => {
      const copy: Partial<AccToolCall> = { ...call };
      delete copy.index;
      return copy as AccToolCall;
    });
  }
  if (message.role === "assistant" && !("content" in message)) message.content = null;
  return message;
}

export interface FoldedChoice {
  index: number;
  finish_reason: string | null;
  message: AccMessage;
}

/** Fold the streamed choices of one index into one complete choice. */
export function foldChoices(choices: readonly Record<string, unknown>[]): FoldedChoice {
  const acc = newMessage();
  let index = 0;
  let finish: string | null = null;
  for (const choice of choices) {
    if (typeof choice["index"] === "number") index = choice["index"];
    const delta = choice["delta"];
    if (isRecord(delta)) applyDelta(acc, delta);
    if (typeof choice["finish_reason"] === "string") finish = choice["finish_reason"];
  }
  const message = finishMessage(acc);
  if (finish === null && message.function_call) finish = "function_call";
  return { index, finish_reason: finish, message };
}

// Close what a JSON prefix left open; "" when it ends in a dangling comma or colon.
function complete(text: string): string {
  const stack: string[] = [];
  let inString = false;
  let escaped = false;
  for (const ch of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === "\\") escaped = true;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "[") stack.push("]");
    else if (ch === "{") stack.push("}");
    else if ((ch === "]" || ch === "}") && stack.length) stack.pop();
  }
  let out = text;
  if (inString) out = (escaped ? out.slice(0, -1) : out) + '"';
  out = out.trimEnd();
  if (out.endsWith(",") || out.endsWith(":")) return "";
  return out + stack.reverse().join("");
}

/** Parse the longest sensible value from a JSON prefix (streamed arguments); null if none. */
export function parsePartialJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // fall through to completion
  }
  // The tail that can dangle (a key, a half literal) is short: bound the search.
  for (let end = text.length; end > Math.max(text.length - 200, 0); end--) {
    try {
      return JSON.parse(complete(text.slice(0, end))) as unknown;
    } catch {
      continue;
    }
  }
  return null;
}
