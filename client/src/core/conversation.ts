// Conversations and the reducer that applies server events to them. No DOM here.
// Message content grows in place (applyDelta) so a long stream costs O(delta) per event;
// each change bumps the message's `version`, which is what the UI watches.
import { applyDelta, finishMessage, newMessage } from "./merge";
import type { AccMessage, Delta } from "./merge";
import { ServerEvent } from "../protocol.gen";
import type {
  ChatMessage,
  ConversationMessage,
  ErrorPayload,
  MessageDelta,
  RunFinished,
  RunSnapshot,
  RunStarted,
  RunStatus,
  ServerToClientEvents,
} from "../protocol.gen";

export type MessageStatus = "streaming" | "done" | "stopped" | "error";

export interface UIMessage {
  id: string;
  message: AccMessage;
  status: MessageStatus;
  /** Number of the last delta applied; deltas at or below it are duplicates. */
  lastSeq: number;
  runId: string | null;
  version: number;
}

export interface Conversation {
  id: string;
  title: string;
  messages: UIMessage[];
  running: boolean;
  runId: string | null;
  error: string | null;
  updatedAt: number;
}

export function randomId(bytes = 16): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function newConversation(initial: readonly ChatMessage[] = []): Conversation {
  return {
    id: randomId(),
    title: "New chat",
    messages: initial.map((m) => uiMessage(randomId(8), m as Delta, "done", null)),
    running: false,
    runId: null,
    error: null,
    updatedAt: Date.now(),
  };
}

export function uiMessage(
  id: string,
  message: Delta,
  status: MessageStatus,
  runId: string | null,
): UIMessage {
  const acc = newMessage();
  applyDelta(acc, message);
  return { id, message: acc, status, lastSeq: 0, runId, version: 0 };
}

export function textOf(message: AccMessage): string {
  const content = message.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p) =>
      (p as { type?: string; text?: string }).type === "text"
        ? ((p as { text?: string }).text ?? "")
        : "",
    )
    .join(" ");
}

/** Add the user's message; the title comes from the first one. */
export function addUserMessage(conv: Conversation, content: ChatMessage["content"]): UIMessage {
  const msg = uiMessage(randomId(8), { role: "user", content }, "done", null);
  conv.messages.push(msg);
  if (conv.title === "New chat") {
    const text = textOf(msg.message).trim().replace(/\s+/g, " ");
    if (text) conv.title = text.length > 60 ? `${text.slice(0, 57)}…` : text;
  }
  conv.error = null;
  conv.updatedAt = Date.now();
  return msg;
}

/**
 * Replace the text of an earlier user message and drop everything after it, as
 * ChatGPT's "edit" does; the conversation is then ready to be sent again.
 * The parts `keep` says an edit keeps (by default images; the UI's part types decide, see
 * ui/parts/) stay after the new text. Returns false if no such user message.
 */
export function editUserMessage(
  conv: Conversation,
  id: string,
  text: string,
  keep: (part: unknown) => boolean = (p) => (p as { type?: unknown }).type === "image_url",
): boolean {
  const index = conv.messages.findIndex((m) => m.id === id);
  const target = conv.messages[index];
  if (!target || target.message.role !== "user") return false;
  const content = target.message.content;
  const kept = Array.isArray(content) ? content.filter(keep) : [];
  target.message.content = kept.length ? [{ type: "text", text }, ...kept] : text;
  target.version++;
  conv.messages.splice(index + 1);
  conv.error = null;
  conv.updatedAt = Date.now();
  return true;
}

function find(conv: Conversation, id: string): UIMessage | undefined {
  // Streams update the newest messages: search from the end.
  for (let i = conv.messages.length - 1; i >= 0; i--) {
    const m = conv.messages[i];
    if (m?.id === id) return m;
  }
  return undefined;
}

const STATUS: Record<RunStatus, MessageStatus> = {
  running: "streaming",
  done: "done",
  stopped: "stopped",
  error: "error",
};

function endRun(conv: Conversation, runId: string, status: RunStatus, error: string | null): void {
  conv.running = status === "running";
  if (status === "running") return;
  conv.error = status === "error" ? (error ?? "The handler failed") : null;
  for (const m of conv.messages) {
    if (m.runId === runId && m.status === "streaming") {
      m.status = STATUS[status];
      m.version++;
    }
  }
}

export function onRunStarted(conv: Conversation, p: RunStarted): void {
  conv.running = true;
  conv.runId = p.run_id;
  conv.error = null;
}

/** Apply an event's deltas in sequence; duplicates are dropped, a gap waits for a snapshot. */
export function onMessageDelta(conv: Conversation, p: MessageDelta): boolean {
  let msg = find(conv, p.message_id);
  if (!msg) {
    if (p.seq !== 1) return false; // we missed its start: the resume snapshot brings it
    msg = {
      id: p.message_id,
      message: newMessage(),
      status: "streaming",
      lastSeq: 0,
      runId: p.run_id,
      version: 0,
    };
    conv.messages.push(msg);
  }
  // An event is applied whole (its text deltas may be folded into one): the server never
  // sends one that overlaps what we have (a resume snapshot takes the place of what was
  // queued), so anything but the next number is a duplicate, or a gap the snapshot fills.
  if (p.seq !== msg.lastSeq + 1) return false;
  for (const delta of p.deltas) applyDelta(msg.message, delta);
  msg.lastSeq += p.count;
  msg.version++;
  conv.updatedAt = Date.now();
  return true;
}

export function onRunFinished(conv: Conversation, p: RunFinished): void {
  if (conv.runId !== null && conv.runId !== p.run_id) return;
  endRun(conv, p.run_id, p.status, p.error ?? null);
}

export function onRunSnapshot(conv: Conversation, p: RunSnapshot): void {
  conv.runId = p.run_id;
  for (const snap of p.messages) {
    let msg = find(conv, snap.message_id);
    if (!msg) {
      msg = {
        id: snap.message_id,
        message: newMessage(),
        status: "streaming",
        lastSeq: 0,
        runId: p.run_id,
        version: 0,
      };
      conv.messages.push(msg);
    }
    if (snap.seq > msg.lastSeq) {
      msg.message = newMessage();
      applyDelta(msg.message, snap.message);
      msg.lastSeq = snap.seq;
    }
    msg.runId = p.run_id;
    msg.status = p.status === "running" ? "streaming" : STATUS[p.status];
    msg.version++;
  }
  conv.running = p.status === "running";
  if (p.status !== "running") endRun(conv, p.run_id, p.status, p.error ?? null);
}

export function onError(conv: Conversation, p: ErrorPayload): void {
  if (p.code === "not_found") return; // nothing to resume: not an error for the user
  conv.error = p.message;
  if (p.code !== "busy") conv.running = false;
}

/** A server event's name, as `protocol.py` generates it. */
export type ServerEventName = (typeof ServerEvent)[keyof typeof ServerEvent];
/** The payload each server event carries. */
export type ServerPayload<E extends ServerEventName> = Parameters<ServerToClientEvents[E]>[0];
/** The events that change one conversation: all but `config`, which is the app's. */
export type ConversationEventName = Exclude<ServerEventName, typeof ServerEvent.CONFIG>;

// One reducer per event: a server event added to protocol.py and not handled here (or
// excluded above) is a type error, not an event the browser silently drops.
const REDUCERS: {
  [E in ConversationEventName]: (conv: Conversation, payload: ServerPayload<E>) => unknown;
} = {
  [ServerEvent.RUN_STARTED]: onRunStarted,
  [ServerEvent.MESSAGE_DELTA]: onMessageDelta,
  [ServerEvent.RUN_FINISHED]: onRunFinished,
  [ServerEvent.RUN_SNAPSHOT]: onRunSnapshot,
  [ServerEvent.ERROR]: onError,
};

/** The names of the events `applyServerEvent` takes. */
export const CONVERSATION_EVENTS = Object.keys(REDUCERS) as ConversationEventName[];

/** Whether `name` is an event that changes a conversation (fixtures hold others too). */
export function isConversationEvent(name: string): name is ConversationEventName {
  return Object.hasOwn(REDUCERS, name);
}

/** Apply one server event to the conversation it names; the one way events reach state. */
export function applyServerEvent<E extends ConversationEventName>(
  conv: Conversation,
  event: E,
  payload: ServerPayload<E>,
): void {
  (REDUCERS[event] as (conv: Conversation, payload: ServerPayload<E>) => unknown)(conv, payload);
}

/** The conversation as the server takes it: complete OpenAI messages only. */
export function toWire(conv: Conversation): ConversationMessage[] {
  const answered = new Set<string>();
  for (const m of conv.messages) {
    if (m.message.role === "tool" && typeof m.message.tool_call_id === "string") {
      answered.add(m.message.tool_call_id);
    }
  }
  const out: ConversationMessage[] = [];
  for (const m of conv.messages) {
    const msg = finishMessage(m.message);
    if (msg.tool_calls) {
      // A call without its result (stopped, failed) would make the next request invalid.
      const calls = msg.tool_calls.filter((c) => c.id && c.function?.name && answered.has(c.id));
      if (calls.length) {
        msg.tool_calls = calls.map((c) => ({
          ...c,
          function: { name: c.function?.name ?? "", arguments: c.function?.arguments ?? "" },
        }));
      } else delete msg.tool_calls;
    }
    if (msg.function_call) {
      msg.function_call = {
        name: msg.function_call.name ?? "",
        arguments: msg.function_call.arguments ?? "",
      };
    }
    const empty = !msg.content && !msg.tool_calls && !msg.function_call && !msg.refusal;
    if (msg.role === "assistant" && empty) continue;
    out.push({ id: m.id, message: msg as ChatMessage });
  }
  return out;
}
