// Conversations and the reducer that applies server events to them. No DOM here.
// Message content grows in place (applyDelta) so a long stream costs O(delta) per event;
// each change bumps the message's `version`, which is what the UI watches. Messages form
// a tree (`tree.ts`): `nodes` holds every version, `messages` the branch shown.
import { applyDelta, finishMessage, newMessage } from "./merge";
import { addNode, cutBranchAfter, findNode, rebuildBranch } from "./tree";
import type { AccMessage, Delta } from "./merge";
import { answerRefused, askOf, noAnswers, settleAsk } from "./ask";
import type { AnswerState } from "./ask";
import { readFeedback } from "./feedback";
import { ServerEvent } from "../protocol.gen";
import type {
  ChatMessage,
  ConversationMessage,
  ConversationSummary,
  ErrorPayload,
  FeedbackValue,
  MessageDelta,
  RunFinished,
  RunSnapshot,
  RunStarted,
  RunStatus,
  ServerToClientEvents,
  StoredConversation,
} from "../protocol.gen";

/** `incomplete`: a reply the server kept up to its last checkpoint (it was cut by a crash). */
export type MessageStatus = "streaming" | "done" | "stopped" | "error" | "incomplete";

export interface UIMessage {
  id: string;
  /** The message this one follows (null: the first); versions of a message share it. */
  parentId: string | null;
  message: AccMessage;
  status: MessageStatus;
  /** Number of the last delta applied; deltas at or below it are duplicates. */
  lastSeq: number;
  runId: string | null;
  version: number;
  /** The user's thumbs up or down on it (and comment), if any. */
  feedback: FeedbackValue | null;
}

export interface Conversation {
  id: string;
  title: string;
  /** Every message of every version, in the order they were made. */
  nodes: UIMessage[];
  /** The branch shown, root to leaf: what renders and what a handler gets. */
  messages: UIMessage[];
  /** Under each parent ("" for the root), the child last shown. */
  chosen: Record<string, string>;
  running: boolean;
  runId: string | null;
  /** The message the running reply's next message follows. */
  runTail: string | null;
  error: string | null;
  updatedAt: number;
  shareToken: string | null;
  /** False while only its summary is here (server history, not opened yet). */
  loaded: boolean;
  /** Answers to its questions on their way, or refused (this tab's only: never saved). */
  answers: AnswerState;
}

export function randomId(bytes = 16): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** An empty conversation (or one holding only a summary, `loaded` false). */
export function emptyConversation(
  id: string,
  title = "New chat",
  updatedAt = Date.now(),
): Conversation {
  return {
    id,
    title,
    nodes: [],
    messages: [],
    chosen: {},
    running: false,
    runId: null,
    runTail: null,
    error: null,
    updatedAt,
    shareToken: null,
    loaded: true,
    answers: noAnswers(),
  };
}

/**
 * A new conversation holding the configured initial messages, ids `init-0`, `init-1`, ...
 * (the ids the server gives them too), each the child of the one before.
 */
export function newConversation(initial: readonly ChatMessage[] = []): Conversation {
  const conv = emptyConversation(randomId());
  initial.forEach((m, i) =>
    addNode(conv, uiMessage(`init-${i}`, m as Delta, "done", null, leafId(conv))),
  );
  return conv;
}

export function uiMessage(
  id: string,
  message: Delta,
  status: MessageStatus,
  runId: string | null,
  parentId: string | null = null,
): UIMessage {
  const acc = newMessage();
  applyDelta(acc, message);
  return { id, parentId, message: acc, status, lastSeq: 0, runId, version: 0, feedback: null };
}

function leafId(conv: Conversation): string | null {
  return conv.messages[conv.messages.length - 1]?.id ?? null;
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
  const msg = uiMessage(randomId(8), { role: "user", content }, "done", null, leafId(conv));
  addNode(conv, msg);
  if (conv.title === "New chat") {
    const text = textOf(msg.message).trim().replace(/\s+/g, " ");
    if (text) conv.title = text.length > 60 ? `${text.slice(0, 57)}…` : text;
  }
  conv.error = null;
  conv.updatedAt = Date.now();
  return msg;
}

/**
 * Edit an earlier user message, as ChatGPT does: a new version of it (a sibling: new id,
 * same parent) with the new text, shown in its place; the old version and what followed it
 * stay in the tree. The parts `keep` says an edit keeps (by default images; the UI's part
 * types decide, see ui/parts/) stay after the new text. Returns the new version, or null
 * if there is no such user message.
 */
export function editUserMessage(
  conv: Conversation,
  id: string,
  text: string,
  keep: (part: unknown) => boolean = (p) => (p as { type?: unknown }).type === "image_url",
): UIMessage | null {
  const target = findNode(conv, id);
  if (!target || target.message.role !== "user") return null;
  const content = target.message.content;
  const kept = Array.isArray(content) ? content.filter(keep) : [];
  const next = kept.length ? [{ type: "text", text }, ...kept] : text;
  const msg = uiMessage(
    randomId(8),
    { role: "user", content: next },
    "done",
    null,
    target.parentId,
  );
  addNode(conv, msg);
  conv.error = null;
  conv.updatedAt = Date.now();
  return msg;
}

/**
 * Ready the branch for a new reply to user message `id` (regenerate, retry): the branch
 * shown ends at it, and the reply will be a sibling of the earlier ones. False if `id` is
 * not a user message of the branch.
 */
export function prepareRegenerate(conv: Conversation, id: string): boolean {
  const target = conv.messages.find((m) => m.id === id);
  if (!target || target.message.role !== "user") return false;
  cutBranchAfter(conv, id);
  conv.error = null;
  return true;
}

/** The nearest user message at or above `id` in the branch shown (what a retry answers). */
export function userMessageBefore(conv: Conversation, id?: string): UIMessage | undefined {
  let i = id === undefined ? conv.messages.length - 1 : conv.messages.findIndex((m) => m.id === id);
  for (; i >= 0; i--) {
    const m = conv.messages[i];
    if (m?.message.role === "user") return m;
  }
  return undefined;
}

function find(conv: Conversation, id: string): UIMessage | undefined {
  return findNode(conv, id);
}

/** A new message of the running reply: the child of the reply's message before it. */
function runMessage(conv: Conversation, id: string, runId: string): UIMessage {
  const tail = conv.runTail !== null && findNode(conv, conv.runTail) ? conv.runTail : leafId(conv);
  const msg: UIMessage = {
    id,
    parentId: tail,
    message: newMessage(),
    status: "streaming",
    lastSeq: 0,
    runId,
    version: 0,
    feedback: null,
  };
  addNode(conv, msg);
  conv.runTail = id;
  return msg;
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
  conv.answers = noAnswers();
  conv.error = status === "error" ? (error ?? "The handler failed") : null;
  for (const m of conv.nodes) {
    if (m.runId === runId && m.status === "streaming") {
      m.status = STATUS[status];
      m.version++;
    }
  }
}

/** A reply started: its first message will be the child of `parent_id` (or of the leaf). */
export function onRunStarted(conv: Conversation, p: RunStarted): void {
  conv.running = true;
  conv.runId = p.run_id;
  conv.runTail = p.parent_id ?? leafId(conv);
  conv.error = null;
}

/** Apply an event's deltas in sequence; duplicates are dropped, a gap waits for a snapshot. */
export function onMessageDelta(conv: Conversation, p: MessageDelta): boolean {
  let msg = find(conv, p.message_id);
  if (!msg) {
    if (p.seq !== 1) return false; // we missed its start: the resume snapshot brings it
    msg = runMessage(conv, p.message_id, p.run_id);
  }
  // An event is applied whole (its text deltas may be folded into one): the server never
  // sends one that overlaps what we have (a resume snapshot takes the place of what was
  // queued), so anything but the next number is a duplicate, or a gap the snapshot fills.
  if (p.seq !== msg.lastSeq + 1) return false;
  for (const delta of p.deltas) applyDelta(msg.message, delta);
  settleAsk(conv.answers, msg.message);
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
  // After a reconnect: an answer sent before it may never have arrived; ask again.
  conv.answers.sending = null;
  for (const snap of p.messages) {
    let msg = find(conv, snap.message_id);
    if (msg) conv.runTail = msg.id;
    else msg = runMessage(conv, snap.message_id, p.run_id);
    if (snap.seq > msg.lastSeq) {
      msg.message = newMessage();
      applyDelta(msg.message, snap.message);
      msg.lastSeq = snap.seq;
    }
    settleAsk(conv.answers, msg.message);
    msg.runId = p.run_id;
    msg.status = p.status === "running" ? "streaming" : STATUS[p.status];
    msg.version++;
  }
  conv.running = p.status === "running";
  if (p.status !== "running") endRun(conv, p.run_id, p.status, p.error ?? null);
}

/** The conversation as the server keeps it: its whole tree; the branch last shown stays. */
export function onConversation(conv: Conversation, p: StoredConversation): void {
  conv.nodes = p.messages.map((s) => {
    const status: MessageStatus = s.status ?? "done";
    const msg = uiMessage(s.id, s.message as Delta, status, null, s.parent_id ?? null);
    msg.feedback = readFeedback(s.feedback);
    return msg;
  });
  conv.title = p.title;
  conv.updatedAt = p.updated_at * 1000;
  conv.shareToken = p.share_token ?? null;
  conv.loaded = true;
  // What this tab sent is answered or refused in what came (a question kept as answered).
  conv.answers = noAnswers();
  rebuildBranch(conv);
}

/** A conversation's summary changed (title, time, share link), here or in another tab. */
export function onConversationChanged(conv: Conversation, p: ConversationSummary): void {
  conv.title = p.title;
  conv.updatedAt = p.updated_at * 1000;
  conv.shareToken = p.share_token ?? null;
}

export function onError(conv: Conversation, p: ErrorPayload): void {
  // A refused answer (already answered in another tab, a bad value): said beside the
  // question, which stays open; the run itself goes on.
  const refusal = p.code === "not_found" || p.code === "invalid_payload";
  if (refusal && answerRefused(conv.answers, p.code, p.message)) return;
  // not_found: nothing runs there (nothing to resume: the server restarted, the reply
  // ended while we were away), not an error for the user. store and outdated are the
  // app's (a notice, a banner): the reply itself goes on.
  if (p.code === "not_found") {
    conv.running = false;
    return;
  }
  if (p.code === "store" || p.code === "outdated") return;
  conv.error = p.message;
  if (p.code !== "busy") conv.running = false;
}

/** A server event's name, as `protocol.py` generates it. */
export type ServerEventName = (typeof ServerEvent)[keyof typeof ServerEvent];
/** The payload each server event carries. */
export type ServerPayload<E extends ServerEventName> = Parameters<ServerToClientEvents[E]>[0];
/** The events the app handles itself (`ChatStore`), not one conversation's reducer. */
export type AppEventName =
  | typeof ServerEvent.CONFIG
  | typeof ServerEvent.CONVERSATION_LIST
  | typeof ServerEvent.CONVERSATION_DELETED;
/** The events that change one conversation: all but the app's. */
export type ConversationEventName = Exclude<ServerEventName, AppEventName>;

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
  [ServerEvent.CONVERSATION]: onConversation,
  [ServerEvent.CONVERSATION_CHANGED]: onConversationChanged,
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

/** The branch shown as the server takes it: complete OpenAI messages only. */
export function toWire(conv: Conversation): ConversationMessage[] {
  return toWireMessages(conv.messages);
}

/** Messages as the server takes them: complete, calls without results left out. */
export function toWireMessages(messages: readonly UIMessage[]): ConversationMessage[] {
  const answered = new Set<string>();
  for (const m of messages) {
    if (m.message.role === "tool" && typeof m.message.tool_call_id === "string") {
      answered.add(m.message.tool_call_id);
    }
  }
  const out: ConversationMessage[] = [];
  for (const m of messages) {
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
    // An approval has no text, but the server needs it: it carries edited arguments.
    if (msg.role === "assistant" && empty && !askOf(msg)) continue;
    out.push({ id: m.id, message: msg as ChatMessage });
  }
  return out;
}
