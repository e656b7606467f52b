// A conversation's branch as a file, for conversations the browser keeps itself: the same
// OpenAI JSON and Markdown as the server's gptchat/_export.py, rule for rule (the JSON
// keeps a Responses API reply's annotations, output_items and incomplete_details too, so
// that an import shows it as it was). tests/fixtures/export/ holds cases that both sides'
// tests check. No DOM here.

type Json = Record<string, unknown>;

/** The fields OpenAI's Chat Completions API takes in a message (and their order). */
const MESSAGE_KEYS = ["role", "name", "content", "refusal", "tool_calls", "tool_call_id"] as const;

/** What a Responses API reply adds (kept as it is, after the rest). */
const REPLY_LISTS = ["annotations", "output_items"] as const;
const REPLY_DETAILS = "incomplete_details";

const ROLE_TITLES: Record<string, string> = {
  system: "System",
  developer: "Developer",
  user: "User",
  assistant: "Assistant",
  tool: "Tool",
  function: "Function",
};

export interface OpenAIFunction {
  name: string;
  arguments: string;
}

export interface OpenAIToolCall {
  id: string;
  type: "function";
  function: OpenAIFunction;
}

export type OpenAIMessage = Json & {
  role: string;
  content: unknown;
  tool_calls?: OpenAIToolCall[];
  function_call?: OpenAIFunction;
};

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function cleanFunction(fn: Json): OpenAIFunction {
  return {
    name: typeof fn["name"] === "string" ? fn["name"] : "",
    arguments: typeof fn["arguments"] === "string" ? fn["arguments"] : "",
  };
}

function cleanCall(call: unknown): OpenAIToolCall {
  if (!isObject(call)) return { id: "", type: "function", function: cleanFunction({}) };
  const fn = call["function"];
  return {
    id: typeof call["id"] === "string" ? call["id"] : "",
    type: "function",
    function: cleanFunction(isObject(fn) ? fn : {}),
  };
}

/**
 * Keep only the fields OpenAI's API accepts, in a fixed order, and after them what gptchat
 * shows of a Responses API reply (non-empty `annotations` and `output_items` lists, an
 * `incomplete_details` object), as they are; `content` is always there (null beside
 * calls, else "").
 *
 * @example openaiMessages([{ role: "assistant", content: "Hi", usage: {} }])
 *   // [{ role: "assistant", content: "Hi" }]
 */
export function openaiMessages(messages: readonly object[]): OpenAIMessage[] {
  return messages.map((raw) => {
    const message = raw as Json;
    const clean: Json = {};
    for (const key of MESSAGE_KEYS) {
      let value = message[key];
      if (key === "tool_calls") {
        value = Array.isArray(value) && value.length ? value.map(cleanCall) : undefined;
      }
      if (value !== null && value !== undefined) clean[key] = value;
    }
    const call = message["function_call"];
    if (isObject(call)) clean["function_call"] = cleanFunction(call);
    for (const key of REPLY_LISTS) {
      const value = message[key];
      if (Array.isArray(value) && value.length) clean[key] = value;
    }
    if (isObject(message[REPLY_DETAILS])) clean[REPLY_DETAILS] = message[REPLY_DETAILS];
    if (!("content" in clean)) {
      const hasCalls = "tool_calls" in clean || "function_call" in clean;
      clean["content"] = hasCalls ? null : "";
    }
    const { role = "user", content, ...rest } = clean;
    return { role, content, ...rest } as OpenAIMessage;
  });
}

/**
 * The messages as an OpenAI `messages=` list: pretty JSON, ending in a newline.
 *
 * @example toJson([{ role: "user", content: "Hi" }])
 */
export function toJson(messages: readonly object[]): string {
  return JSON.stringify(openaiMessages(messages), null, 2) + "\n";
}

// -- markdown ---------------------------------------------------------------------

// ASCII whitespace only, as the Python writer (whose \s differs) has it.
const SPACES = /[ \t\n\r\f\v]+/g;
const LINE_BREAK = /\r\n|\r|\n/;

function oneLine(text: string): string {
  return text.replace(SPACES, " ").replace(/^ +| +$/g, "");
}

function capitalized(text: string): string {
  return text.slice(0, 1).toUpperCase() + text.slice(1);
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((p): p is Json => isObject(p) && typeof p["text"] === "string")
    .map((p) => p["text"] as string)
    .join("\n");
}

/**
 * A readable document: the title, then one section per message by role. Text is kept as
 * is, images become links (inline `data:` images a note), each tool call a fenced JSON
 * block under its function's name with its result beneath it, refusals are marked. Of a
 * Responses API reply: its built-in tool calls first (a line or a short block each), then
 * its text, its cited sources numbered as the chat numbers them, and an incomplete note.
 *
 * @example toMarkdown("Hi", [{ role: "user", content: "Hello" }]) // "# Hi\n\n## User\n\nHello\n"
 */
export function toMarkdown(title: string, input: readonly object[]): string {
  const messages = openaiMessages(input);
  const results = new Map<string, string>();
  const taken = new Set<number>();
  const callIds = new Set<string>();
  messages.forEach((m, i) => {
    for (const call of m.tool_calls ?? []) callIds.add(call.id);
    const toolCallId = m["tool_call_id"];
    // The first result of a call goes under it; a second one keeps its own section.
    if (
      m.role === "tool" &&
      typeof toolCallId === "string" &&
      callIds.has(toolCallId) &&
      !results.has(toolCallId)
    ) {
      results.set(toolCallId, contentText(m.content));
      taken.add(i);
    }
    // A legacy function call's result is the next message, of role function.
    const after = messages[i + 1];
    if (m.function_call && after && after.role === "function") {
      results.set(`#${i}`, contentText(after.content));
      taken.add(i + 1);
    }
  });

  const blocks = [`# ${oneLine(title) || "Conversation"}`];
  messages.forEach((m, i) => {
    if (taken.has(i)) return;
    const known = Object.hasOwn(ROLE_TITLES, m.role) ? ROLE_TITLES[m.role] : undefined;
    let heading = known ?? capitalized(oneLine(String(m.role)));
    const name = m["name"];
    if (typeof name === "string" && name) heading += ` (${oneLine(name)})`;
    blocks.push(`## ${heading}`);
    const start = blocks.length;
    for (const item of asList(m["output_items"])) blocks.push(...itemBlocks(item));
    blocks.push(...contentBlocks(m.content, m.role === "tool" || m.role === "function"));
    const refusal = m["refusal"];
    if (typeof refusal === "string" && refusal) blocks.push(refusalBlock(refusal));
    for (const call of m.tool_calls ?? []) {
      blocks.push(...callBlocks(call.function, call.id, results.get(call.id)));
    }
    if (m.function_call) blocks.push(...callBlocks(m.function_call, "", results.get(`#${i}`)));
    const sources = sourceLines(m["annotations"]);
    if (sources.length) blocks.push("**Sources:**", sources.join("\n"));
    const note = incompleteText(m[REPLY_DETAILS]);
    if (note) blocks.push(`*${note}*`);
    if (blocks.length === start) blocks.push("*(empty message)*");
  });
  return blocks.join("\n\n") + "\n";
}

function contentBlocks(content: unknown, result: boolean): string[] {
  if (typeof content === "string") {
    if (!content) return [];
    return [result ? fenced(content) : content];
  }
  if (!Array.isArray(content)) return [];
  const blocks: string[] = [];
  for (const part of content) {
    if (!isObject(part)) continue;
    const kind = part["type"];
    if (kind === "text" && typeof part["text"] === "string") {
      if (part["text"]) blocks.push(result ? fenced(part["text"]) : part["text"]);
    } else if (kind === "image_url") {
      const image = part["image_url"];
      const url = isObject(image) ? image["url"] : undefined;
      blocks.push(imageBlock(typeof url === "string" ? url : ""));
    } else if (kind === "refusal" && typeof part["refusal"] === "string") {
      blocks.push(refusalBlock(part["refusal"]));
    } else {
      const label = typeof kind === "string" && kind.trim() ? oneLine(kind) : "unknown";
      blocks.push(`*[${label} content not shown]*`);
    }
  }
  return blocks;
}

/** Whole units, rounded up with integer math: the Python writer says the same. */
export function sizeText(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${Math.ceil(n / 1024)} KB`;
  return `${Math.ceil(n / (1024 * 1024))} MB`;
}

function imageBlock(url: string): string {
  if (url.toLowerCase().startsWith("data:")) {
    const rest = url.slice(5);
    const comma = rest.indexOf(",");
    const header = comma < 0 ? rest : rest.slice(0, comma);
    const data = comma < 0 ? "" : rest.slice(comma + 1);
    const mediaType = (header.split(";", 1)[0] ?? "").toLowerCase() || "unknown type";
    const padding = data.length - data.replace(/=+$/, "").length;
    const size = Math.floor((data.length * 3) / 4) - padding;
    return `*[image: ${mediaType}, ${sizeText(size)}, embedded data not exported]*`;
  }
  // Characters that would end the link early are escaped the way a URL may be.
  const safe = url.replace(
    /[()<> \t\n\r\f\v]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"),
  );
  return `![image](${safe})`;
}

function refusalBlock(text: string): string {
  const [first, ...rest] = text.replace(/[\r\n]+$/, "").split(LINE_BREAK);
  return [`> **Refused:** ${first ?? ""}`, ...rest.map((line) => `> ${line}`)].join("\n");
}

function callBlocks(fn: OpenAIFunction, callId: string, result: string | undefined): string[] {
  const suffix = callId && !callId.includes("`") ? ` (\`${callId}\`)` : "";
  const blocks = [`**Tool call:** \`${oneLine(fn.name || "?")}\`${suffix}`, fenced(fn.arguments)];
  if (result !== undefined) blocks.push("**Result:**", fenced(result));
  return blocks;
}

// -- what a Responses API reply adds ------------------------------------------------

const str = (value: unknown): string => (typeof value === "string" ? value : "");
const rec = (value: unknown): Json => (isObject(value) ? value : {});
const asList = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);
const strings = (value: unknown): string[] =>
  asList(value).filter((v): v is string => typeof v === "string" && v !== "");

const isHttp = (url: string): boolean => /^https?:\/\//i.test(url);

/** Characters that would end the link early are escaped the way a URL may be. */
function destination(url: string): string {
  return url.replace(
    /[()<> \t\n\r\f\v]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"),
  );
}

const linkText = (text: string): string => oneLine(text).replace(/([\\[\]])/g, "\\$1");

/** The url citations as a numbered list: one per URL, in order of first citation. */
function sourceLines(annotations: unknown): string[] {
  const titles = new Map<string, string>();
  for (const annotation of asList(annotations)) {
    if (!isObject(annotation) || annotation["type"] !== "url_citation") continue;
    const nested = annotation["url_citation"];
    const fields = isObject(nested) ? nested : annotation;
    const url = str(fields["url"]).trim();
    if (!url) continue;
    const title = str(fields["title"]).trim();
    if (!titles.get(url)) titles.set(url, title);
  }
  return [...titles].map(([url, title], i) =>
    isHttp(url)
      ? `${i + 1}. [${linkText(title || url)}](${destination(url)})`
      : `${i + 1}. ${oneLine(title ? `${title} — ${url}` : url)}`,
  );
}

/** The note the chat shows under an incomplete reply (ui/outputItems.ts), or null. */
function incompleteText(details: unknown): string | null {
  if (!isObject(details)) return null;
  const reason = oneLine(str(details["reason"]));
  if (reason === "max_output_tokens") {
    return "This reply is incomplete: it reached the output token limit.";
  }
  if (reason === "content_filter")
    return "This reply is incomplete: the content filter stopped it.";
  if (!reason || reason === "unknown") return "This reply is incomplete.";
  return `This reply is incomplete: ${reason}.`;
}

const IMAGE_TYPES: Record<string, string> = { jpg: "jpeg", svg: "svg+xml" };

/** A built-in tool call (or an item of another type) in a line or a short block. */
function itemBlocks(item: unknown): string[] {
  if (!isObject(item)) return [];
  const kind = str(item["type"]);
  if (kind === "reasoning") return []; // shown as Thinking in the chat, not exported
  const status = str(item["status"]);
  const mark =
    status === "" || status === "completed" ? "" : ` *(${oneLine(status.replace(/_/g, " "))})*`;
  const titled = (label: string, detail: string): string =>
    detail ? `**${label}:** ${detail}${mark}` : `**${label}**${mark}`;
  if (kind === "web_search_call") {
    const action = rec(item["action"]);
    const url = oneLine(str(action["url"]));
    if (action["type"] === "open_page") return [`**Opened a page:** ${url}${mark}`];
    if (action["type"] === "find_in_page") {
      return [`**Searched a page:** ${url} for “${oneLine(str(action["pattern"]))}”${mark}`];
    }
    const query = str(action["query"]) || strings(action["queries"]).join(", ");
    return [titled("Web search", oneLine(query))];
  }
  if (kind === "file_search_call") {
    return [titled("File search", oneLine(strings(item["queries"]).join(", ")))];
  }
  if (kind === "code_interpreter_call") {
    const blocks = [`**Code:**${mark}`];
    const code = str(item["code"]);
    if (code) blocks.push(codeBlock(code, "python"));
    for (const output of asList(item["outputs"]).map(rec)) {
      const logs = str(output["logs"]);
      const url = str(output["url"]);
      if (output["type"] === "logs" && logs) blocks.push("**Output:**", codeBlock(logs, ""));
      else if (output["type"] === "image" && url) blocks.push(imageBlock(url));
    }
    return blocks;
  }
  if (kind === "image_generation_call") {
    const blocks = [titled("Image generation", oneLine(str(item["revised_prompt"])))];
    const result = str(item["result"]);
    if (result) {
      const format = str(item["output_format"]).toLowerCase() || "png";
      const data = result.replace(SPACES, "");
      blocks.push(imageBlock(`data:image/${IMAGE_TYPES[format] ?? format};base64,${data}`));
    }
    return [...blocks, ...errorBlocks(item["error"])];
  }
  if (kind === "mcp_call" || kind === "mcp_approval_request") {
    const parts = [oneLine(str(item["server_label"])), oneLine(str(item["name"]))];
    const tool = parts.filter(Boolean).join(".") || "?";
    const label = kind === "mcp_call" ? "Tool call" : "Approval requested";
    const blocks = [
      tool.includes("`") ? `**${label}:** ${tool}${mark}` : `**${label}:** \`${tool}\`${mark}`,
      fenced(str(item["arguments"])),
    ];
    const output = str(item["output"]);
    if (output) blocks.push("**Result:**", fenced(output));
    return [...blocks, ...errorBlocks(item["error"])];
  }
  if (kind === "mcp_list_tools") {
    const server = oneLine(str(item["server_label"])) || "a server";
    const names = asList(item["tools"])
      .map((t) => oneLine(str(rec(t)["name"])))
      .filter(Boolean);
    return [titled(`Tools of ${server}`, names.join(", ")), ...errorBlocks(item["error"])];
  }
  return [`*[${oneLine(kind) || "unknown"} not shown]*`];
}

function errorBlocks(error: unknown): string[] {
  // The API's error objects: a message, else a type (an MCP tool's has only content).
  let text = str(error) || str(rec(error)["message"]) || str(rec(error)["type"]);
  if (!text && isObject(error) && Object.keys(error).length) text = "an error";
  return text ? [`**Error:** ${oneLine(text)}`] : [];
}

/** Code in a fence longer than any run of backticks inside it, as written. */
function codeBlock(text: string, language: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text.replace(/\n+$/, "")}\n${fence}`;
}

/** Text in a code fence longer than any run of backticks inside; JSON re-indented. */
function fenced(text: string): string {
  const pretty = reindentJson(text);
  const language = pretty !== null ? "json" : "";
  const body = pretty ?? text;
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${body.replace(/\n+$/, "")}\n${fence}`;
}

// -- JSON re-indented, its numbers and strings untouched -----------------------------

const TOKEN = /\s*("(?:[^"\\]|\\.)*"|[{}[\]:,]|[^\s{}[\]:,"]+)/gs;

/**
 * `text` laid out like `JSON.stringify(value, null, 2)` if it is JSON, else null; numbers
 * and strings are copied as written (so "1.50" stays "1.50", as on the Python side).
 *
 * @example reindentJson('{"a":[1.50]}') // '{\n  "a": [\n    1.50\n  ]\n}'
 */
export function reindentJson(text: string): string | null {
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  const tokens = Array.from(text.matchAll(TOKEN), (m) => m[1] ?? "");
  const out: string[] = [];
  let depth = 0;
  tokens.forEach((token, i) => {
    const next = tokens[i + 1] ?? "";
    if (token === "{" || token === "[") {
      depth += 1;
      const closes = next === (token === "{" ? "}" : "]");
      out.push(closes ? token : token + "\n" + "  ".repeat(depth));
    } else if (token === "}" || token === "]") {
      depth -= 1;
      const prev = tokens[i - 1] ?? "";
      out.push(prev === "{" || prev === "[" ? token : "\n" + "  ".repeat(depth) + token);
    } else if (token === ",") {
      out.push(",\n" + "  ".repeat(depth));
    } else if (token === ":") {
      out.push(": ");
    } else {
      out.push(token);
    }
  });
  return out.join("");
}

/**
 * A file name for `title`: letters, digits, `-` and `_` only, at most 80 (as the server's
 * `filename_of`), with the format's extension.
 *
 * @example exportFilename("Zürich: weather", "markdown") // "Zurich-weather.md"
 */
export function exportFilename(title: string, format: "json" | "markdown"): string {
  const ascii = title.normalize("NFKD").replace(/[\u0080-\uffff]/g, "");
  const name = ascii
    .replace(/[^A-Za-z0-9_]+/g, "-")
    .replace(/^[-_]+|[-_]+$/g, "")
    .slice(0, 80)
    .replace(/[-_]+$/, "");
  return (name || "conversation") + (format === "json" ? ".json" : ".md");
}

/**
 * The server's download of a conversation it keeps (history on the server), relative to
 * the page so that a chat mounted under a prefix works; for `ConversationMenu`'s
 * `exportHref`.
 *
 * @example exportUrl("conv-0001", "markdown") // "api/conversations/conv-0001/export?format=markdown"
 */
export function exportUrl(
  conversationId: string,
  format: "json" | "markdown",
  leafId?: string | null,
): string {
  const query = new URLSearchParams({ format });
  if (leafId) query.set("leaf", leafId);
  return `api/conversations/${encodeURIComponent(conversationId)}/export?${query.toString()}`;
}
