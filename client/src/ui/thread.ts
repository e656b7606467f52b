// What the message list shows: which messages stand alone, and which results belong
// inside a tool call's block. Pure functions of a conversation.
import type { Conversation, UIMessage } from "../core/conversation";
import type { AccMessage } from "../core/merge";
import { askOf } from "../core/ask";
import { resultText } from "./content";

export interface CallResult {
  content: string;
}

/**
 * The key of tool call `callId` made by message `messageId`, in `results` and `approvals`.
 * Some providers number calls afresh each turn ("call_0"), so a call id alone is not
 * unique in a conversation: a result or approval belongs to the latest call of its id.
 */
export function callKey(messageId: string, callId: string | undefined): string {
  return `${messageId}\u0000${callId ?? ""}`;
}

export interface Thread {
  visible: UIMessage[];
  /** Result of each tool call by `callKey` (and legacy function calls by message id). */
  results: Map<string, CallResult>;
  /**
   * The visible messages that end their reply (the last one shown of each run, and every
   * message outside a run): a reply's "Stopped" or "Incomplete" note goes there, once,
   * though all of its messages share its status.
   */
  ends: Set<string>;
  /**
   * The `approve` questions by the `callKey` of the call they are about: drawn on that call's
   * block, not as messages of their own (a question whose call is not shown stays one).
   */
  approvals: Map<string, UIMessage>;
}

function contentText(message: AccMessage): string {
  return resultText(message.content);
}

export function thread(conv: Conversation): Thread {
  const visible: UIMessage[] = [];
  const results = new Map<string, CallResult>();
  // Each call id's latest caller: the message whose call a result or approval is about.
  const callers = new Map<string, string>();
  const approvals = new Map<string, UIMessage>();
  let lastFunctionCall: UIMessage | null = null;
  for (const m of conv.messages) {
    const role = m.message.role;
    for (const call of m.message.tool_calls ?? []) if (call.id) callers.set(call.id, m.id);
    if (role === "system" || role === "developer") continue;
    const resultOf = role === "tool" ? m.message.tool_call_id : undefined;
    const resultCaller = typeof resultOf === "string" ? callers.get(resultOf) : undefined;
    if (resultCaller !== undefined) {
      results.set(callKey(resultCaller, resultOf as string), { content: contentText(m.message) });
      continue;
    }
    if (role === "function" && lastFunctionCall) {
      results.set(lastFunctionCall.id, { content: contentText(m.message) });
      lastFunctionCall = null;
      continue;
    }
    const ask = askOf(m.message);
    const askCaller =
      ask?.kind === "approve" && ask.tool_call_id ? callers.get(ask.tool_call_id) : undefined;
    if (askCaller !== undefined && ask?.tool_call_id) {
      approvals.set(callKey(askCaller, ask.tool_call_id), m);
      continue;
    }
    if (m.message.function_call) lastFunctionCall = m;
    visible.push(m);
  }
  const ends = new Set<string>();
  const lastOfRun = new Map<string, string>();
  for (const m of visible) {
    if (m.runId === null) ends.add(m.id);
    else lastOfRun.set(m.runId, m.id);
  }
  for (const id of lastOfRun.values()) ends.add(id);
  return { visible, results, ends, approvals };
}
