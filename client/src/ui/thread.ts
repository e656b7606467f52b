// What the message list shows: which messages stand alone, and which results belong
// inside a tool call's block. Pure functions of a conversation.
import type { Conversation, UIMessage } from "../core/conversation";
import type { AccMessage } from "../core/merge";

export interface CallResult {
  content: string;
}

export interface Thread {
  visible: UIMessage[];
  /** Result of each tool call by call id (and legacy function calls by message id). */
  results: Map<string, CallResult>;
}

function contentText(message: AccMessage): string {
  const c = message.content;
  if (typeof c === "string") return c;
  return Array.isArray(c) ? JSON.stringify(c) : "";
}

export function thread(conv: Conversation): Thread {
  const visible: UIMessage[] = [];
  const results = new Map<string, CallResult>();
  const callIds = new Set<string>();
  let lastFunctionCall: UIMessage | null = null;
  for (const m of conv.messages) {
    const role = m.message.role;
    for (const call of m.message.tool_calls ?? []) if (call.id) callIds.add(call.id);
    if (role === "system" || role === "developer") continue;
    if (
      role === "tool" &&
      typeof m.message.tool_call_id === "string" &&
      callIds.has(m.message.tool_call_id)
    ) {
      results.set(m.message.tool_call_id, { content: contentText(m.message) });
      continue;
    }
    if (role === "function" && lastFunctionCall) {
      results.set(lastFunctionCall.id, { content: contentText(m.message) });
      lastFunctionCall = null;
      continue;
    }
    if (m.message.function_call) lastFunctionCall = m;
    visible.push(m);
  }
  return { visible, results };
}
