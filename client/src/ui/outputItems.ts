// What the Responses API adds to a reply beyond Chat Completions, as views: each of the
// message's `output_items` (built-in tool calls as the API gave them, and items or events
// of types not known here) as a block's title, status and sections; and the note of a
// reply that ended incomplete. Pure, no DOM: OutputItem.svelte draws a view. Items come
// from the model and its tools, so every field may be missing or of any type, and every
// string is shown as text (or, for code, as a fenced block of the markdown renderer).
import { parsePartialJson } from "../core/merge";
import { httpLink } from "./citations";

/** The icon a block shows, in the language of function calls (ToolCall.svelte). */
export type ItemState = "running" | "done" | "error" | "cancelled" | "waiting";

/** What an item still in progress shows once its reply no longer streams. */
export type Settle = "running" | "cancelled" | "error";

export interface Link {
  /** The URL to open (http or https), or null: the text is then shown unlinked. */
  href: string | null;
  text: string;
  host: string;
}

export type Section =
  | { kind: "text"; label: string; text: string; error?: boolean }
  /** Markdown of one fenced code block; `key` changes when the fence itself does. */
  | { kind: "code"; label: string; markdown: string; key: string }
  | { kind: "links"; label: string; links: Link[] }
  | { kind: "image"; label: string; url: string; alt: string }
  | { kind: "entries"; label: string; entries: { name: string; detail: string }[] };

/** An image shown under the block, open or not: a generated image is the answer itself. */
export interface Figure {
  url: string;
  alt: string;
  /** A partial image while it is generated (drawn blurred), not the result. */
  preview: boolean;
}

export interface ItemView {
  type: string;
  title: string;
  state: ItemState;
  /** The state in words: said beside the title unless it is done, and to screen readers. */
  label: string;
  sections: Section[];
  /** Whether the block opens: only when it has something inside (`sections`). */
  expandable: boolean;
  figure: Figure | null;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string => (typeof value === "string" ? value : "");
const list = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);
const rec = (value: unknown): Json => (isRecord(value) ? value : {});

const TITLE_MAX = 200;
const SNIPPET_MAX = 400;

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** JSON shown as it reads best: indented, and a string as itself. */
export function pretty(value: unknown): string {
  if (typeof value === "string") {
    if (!value) return "";
    const parsed = parsePartialJson(value);
    return typeof parsed === "object" && parsed !== null ? JSON.stringify(parsed, null, 2) : value;
  }
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A fenced code block for the markdown renderer; the fence outgrows any backtick run in
 * `code` so that the code cannot close it. While the code streams the block stays open:
 * each new text then extends the last one, which the streaming renderer draws cheaply.
 */
export function fence(code: string, language: string, open = false): Section & { kind: "code" } {
  const longest = Math.max(2, ...(code.match(/`+/g) ?? []).map((run) => run.length));
  const ticks = "`".repeat(longest + 1);
  const head = `${ticks}${language.replace(/[^\w+#.-]/g, "")}\n`;
  return {
    kind: "code",
    label: "",
    markdown: open ? head + code : `${head}${code}\n${ticks}`,
    key: head,
  };
}

function codeSection(label: string, code: string, language: string, open: boolean): Section {
  return { ...fence(code, language, open), label };
}

/** Items the chat keeps but does not show: reasoning shows as the Thinking block. */
const HIDDEN = new Set(["reasoning"]);

/** The output items to draw, in order (anything not an object is no item). */
export function visibleItems(items: unknown): Json[] {
  return list(items).filter(
    (item): item is Json => isRecord(item) && !HIDDEN.has(str(item["type"])),
  );
}

const PHASES: Record<string, string> = {
  in_progress: "In progress",
  searching: "Searching",
  interpreting: "Running",
  generating: "Generating",
  calling: "Calling",
};

function stateOf(status: unknown, settle: Settle, failed: boolean): [ItemState, string] {
  if (failed || status === "failed") return ["error", "Failed"];
  if (status === "completed") return ["done", "Completed"];
  if (status === "incomplete") return ["error", "Incomplete"];
  if (typeof status !== "string") return ["done", "Completed"];
  if (settle === "cancelled") return ["cancelled", "Cancelled"];
  if (settle === "error") return ["error", "Did not finish"];
  return ["running", PHASES[status] ?? (status.replace(/_/g, " ") || "In progress")];
}

function link(url: unknown, text?: string): Link | null {
  const raw = str(url).trim();
  if (!raw) return null;
  const safe = httpLink(raw);
  return { href: safe?.href ?? null, text: text || raw, host: safe?.host ?? "" };
}

function errorText(error: unknown): string {
  if (typeof error === "string") return error;
  if (!isRecord(error)) return "";
  return str(error["message"]) || pretty(error);
}

// Base64 as the API sends it; anything else in a data: URL is not an image of ours.
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const IMAGE_TYPES: Record<string, string> = {
  png: "png",
  jpeg: "jpeg",
  jpg: "jpeg",
  webp: "webp",
  gif: "gif",
  svg: "svg+xml",
};

function base64Image(data: unknown, format: unknown): string | null {
  const b64 = str(data).replace(/\s+/g, "");
  if (!b64 || !BASE64.test(b64)) return null;
  const type = IMAGE_TYPES[str(format).toLowerCase()] ?? "png";
  return `data:image/${type};base64,${b64}`;
}

interface Built {
  title: string;
  sections: Section[];
  failed?: boolean;
  state?: [ItemState, string];
  figure?: Figure;
}

type Builder = (item: Json, running: boolean, settle: Settle) => Built;

function webSearch(item: Json, running: boolean): Built {
  const action = rec(item["action"]);
  const kind = str(action["type"]);
  const sections: Section[] = [];
  if (kind === "open_page" || kind === "find_in_page") {
    const page = link(action["url"]);
    if (page) sections.push({ kind: "links", label: "Page", links: [page] });
    const pattern = str(action["pattern"]);
    const title =
      kind === "find_in_page"
        ? `${running ? "Searching" : "Searched"} a page${pattern ? ` for “${pattern}”` : ""}`
        : `${running ? "Opening" : "Opened"} ${page?.host || "a page"}`;
    return { title, sections };
  }
  const query = str(action["query"]) || list(action["queries"]).map(str).filter(Boolean).join(", ");
  const sources = list(action["sources"])
    .map((s) => (isRecord(s) ? link(s["url"], str(s["title"]) || str(s["name"])) : null))
    .filter((s): s is Link => s !== null);
  if (sources.length) sections.push({ kind: "links", label: "Sources", links: sources });
  const verb = running ? "Searching the web" : "Searched the web";
  return { title: query ? `${verb}: ${query}` : verb, sections };
}

function fileSearch(item: Json, running: boolean): Built {
  const queries = list(item["queries"]).map(str).filter(Boolean);
  const entries = list(item["results"])
    .filter(isRecord)
    .map((r) => {
      const score = typeof r["score"] === "number" ? ` · ${r["score"].toFixed(2)}` : "";
      const name = str(r["filename"]) || str(r["file_id"]) || "A file";
      return { name: name + score, detail: clip(str(r["text"]), SNIPPET_MAX) };
    });
  const sections: Section[] = entries.length
    ? [{ kind: "entries", label: "Results", entries }]
    : [];
  const title = queries.length
    ? `File search: ${queries.join(", ")}`
    : running
      ? "Searching files"
      : "Searched files";
  return { title, sections };
}

function codeInterpreter(item: Json, running: boolean): Built {
  const sections: Section[] = [];
  const code = str(item["code"]);
  if (code) sections.push(codeSection("Code", code, "python", running));
  for (const output of list(item["outputs"])) {
    if (!isRecord(output)) continue;
    if (output["type"] === "logs" && str(output["logs"])) {
      sections.push({ kind: "text", label: "Output", text: str(output["logs"]) });
    } else if (output["type"] === "image" && str(output["url"])) {
      sections.push({ kind: "image", label: "Image", url: str(output["url"]), alt: "Code output" });
    } else {
      sections.push({ kind: "text", label: str(output["type"]) || "Output", text: pretty(output) });
    }
  }
  return { title: running ? "Running code" : "Ran code", sections };
}

// As ChatGPT shows one: the image (or, while it is made, its partial preview) in the
// reply, always in view; the block above it a compact line that opens on the prompt.
function imageGeneration(item: Json, running: boolean): Built {
  const sections: Section[] = [];
  const format = item["output_format"];
  const prompt = str(item["revised_prompt"]);
  const final = base64Image(item["result"], format);
  const partial = final ? null : base64Image(item["partial_image_b64"], format);
  if (prompt) sections.push({ kind: "text", label: "Prompt", text: prompt });
  const error = errorText(item["error"]);
  if (error) sections.push({ kind: "text", label: "Error", text: error, error: true });
  const built: Built = {
    title: running
      ? "Generating an image"
      : error
        ? "Image generation failed"
        : "Generated an image",
    sections,
    failed: !!error,
  };
  if (final) built.figure = { url: final, alt: prompt || "Generated image", preview: false };
  else if (partial) built.figure = { url: partial, alt: "Partial image", preview: true };
  return built;
}

function qualified(item: Json): string {
  const server = str(item["server_label"]);
  const name = str(item["name"]);
  return server && name ? `${server}.${name}` : server || name || "a tool";
}

function mcpCall(item: Json, running: boolean): Built {
  const sections: Section[] = [];
  const args = pretty(item["arguments"]);
  sections.push({ kind: "text", label: "Arguments", text: args });
  if (item["output"] !== null && item["output"] !== undefined) {
    sections.push({ kind: "text", label: "Output", text: pretty(item["output"]) });
  }
  const error = errorText(item["error"]);
  if (error) sections.push({ kind: "text", label: "Error", text: error, error: true });
  return {
    title: `${running ? "Calling" : "Called"} ${qualified(item)}`,
    sections,
    failed: !!error,
  };
}

function mcpListTools(item: Json, running: boolean): Built {
  const server = str(item["server_label"]) || "a server";
  const entries = list(item["tools"])
    .filter(isRecord)
    .map((tool) => ({
      name: str(tool["name"]) || "(unnamed)",
      detail: clip(str(tool["description"]), SNIPPET_MAX),
    }));
  const sections: Section[] = entries.length ? [{ kind: "entries", label: "Tools", entries }] : [];
  const error = errorText(item["error"]);
  if (error) sections.push({ kind: "text", label: "Error", text: error, error: true });
  return {
    title: `${running ? "Listing" : "Listed"} tools of ${server}`,
    sections,
    failed: !!error,
  };
}

// The API waits for an `mcp_approval_response` in the next request; gptchat has no
// buttons on this block: a handler asks its user (app.ask) and answers it (README).
function mcpApproval(item: Json, _running: boolean, settle: Settle): Built {
  const sections: Section[] = [];
  const server = str(item["server_label"]);
  const name = str(item["name"]);
  if (server) sections.push({ kind: "text", label: "Server", text: server });
  if (name) sections.push({ kind: "text", label: "Tool", text: name });
  const args = pretty(item["arguments"]);
  if (args) sections.push({ kind: "text", label: "Arguments", text: args });
  // Answered or not, it is a request of the past once its reply no longer runs.
  const label = settle === "running" ? "Approval needed" : "Approval requested";
  return { title: `Wants to call ${qualified(item)}`, sections, state: ["waiting", label] };
}

function computerCall(item: Json, running: boolean): Built {
  const actions = isRecord(item["action"]) ? [item["action"]] : list(item["actions"]);
  const kinds = actions.map((a) => str(rec(a)["type"]).replace(/_/g, " ")).filter(Boolean);
  const sections: Section[] = [];
  if (actions.length)
    sections.push({
      kind: "text",
      label: "Action",
      text: pretty(actions.length === 1 ? actions[0] : actions),
    });
  const checks = list(item["pending_safety_checks"])
    .filter(isRecord)
    .map((c) => ({ name: str(c["code"]) || "Safety check", detail: str(c["message"]) }));
  if (checks.length) sections.push({ kind: "entries", label: "Safety checks", entries: checks });
  const verb = running ? "Using the computer" : "Used the computer";
  return { title: kinds.length ? `${verb}: ${kinds.join(", ")}` : verb, sections };
}

function customToolCall(item: Json, running: boolean): Built {
  const namespace = str(item["namespace"]);
  const name = str(item["name"]) || "a tool";
  return {
    title: `${running ? "Calling" : "Called"} ${namespace ? `${namespace}.${name}` : name}`,
    sections: [{ kind: "text", label: "Input", text: str(item["input"]) || pretty(item["input"]) }],
  };
}

function shellCall(item: Json, running: boolean): Built {
  const action = rec(item["action"]);
  const local = list(action["command"]).map(str);
  const commands = local.length ? [local.join(" ")] : list(action["commands"]).map(str);
  const sections = commands.length
    ? [codeSection("Command", commands.join("\n"), "bash", running)]
    : [];
  return { title: running ? "Running a command" : "Ran a command", sections };
}

function applyPatch(item: Json, running: boolean): Built {
  const operation = rec(item["operation"]);
  const path = str(operation["path"]) || "a file";
  const verbs: Record<string, [string, string]> = {
    create_file: ["Creating", "Created"],
    delete_file: ["Deleting", "Deleted"],
    update_file: ["Editing", "Edited"],
  };
  const [now, past] = verbs[str(operation["type"])] ?? ["Editing", "Edited"];
  const diff = str(operation["diff"]);
  return {
    title: `${running ? now : past} ${path}`,
    sections: diff ? [codeSection("Diff", diff, "diff", running)] : [],
  };
}

const BUILDERS: Record<string, Builder> = {
  web_search_call: webSearch,
  file_search_call: fileSearch,
  code_interpreter_call: codeInterpreter,
  image_generation_call: imageGeneration,
  mcp_call: mcpCall,
  mcp_list_tools: mcpListTools,
  mcp_approval_request: mcpApproval,
  computer_call: computerCall,
  custom_tool_call: customToolCall,
  local_shell_call: shellCall,
  shell_call: shellCall,
  apply_patch_call: applyPatch,
};

/** Any item, known or not: titled with its type, its JSON as the body. */
function generic(item: unknown): Built {
  const type = isRecord(item) ? str(item["type"]) : "";
  return {
    title: type || "Unknown item",
    sections: [{ kind: "text", label: "", text: pretty(item) }],
  };
}

/**
 * The view of one output item. `settle` is what an item still in progress shows: running
 * while its reply streams, else cancelled (stopped) or failed. Never throws: an item whose
 * shape is not what its type promises shows as a generic block.
 */
export function itemView(item: unknown, settle: Settle): ItemView {
  const type = isRecord(item) ? str(item["type"]) : "";
  const record = rec(item);
  const builder = BUILDERS[type];
  const [state, label] = stateOf(record["status"], settle, false);
  let built: Built;
  try {
    built = builder ? builder(record, state === "running", settle) : generic(item);
  } catch {
    built = generic(item);
  }
  const [finalState, finalLabel] =
    built.state ?? (built.failed ? stateOf("failed", settle, true) : [state, label]);
  return {
    type: type || "unknown",
    title: clip(built.title, TITLE_MAX),
    state: finalState,
    label: finalLabel,
    sections: built.sections,
    expandable: built.sections.length > 0,
    figure: built.figure ?? null,
  };
}

/** The note under a reply the API ended before its end, or null. */
export function incompleteNote(details: unknown): string | null {
  if (!isRecord(details)) return null;
  const reason = str(details["reason"]).trim();
  if (reason === "max_output_tokens") {
    return "This reply is incomplete: it reached the output token limit.";
  }
  if (reason === "content_filter") {
    return "This reply is incomplete: the content filter stopped it.";
  }
  if (!reason || reason === "unknown") return "This reply is incomplete.";
  return `This reply is incomplete: ${clip(reason, TITLE_MAX)}.`;
}
