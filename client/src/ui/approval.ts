// How an `approve` question shows on the block of the call it is about: which question,
// the arguments the call ran with, and the block's state. Pure functions.
import { askOf, statusOf } from "../core/ask";
import type { MessageStatus, UIMessage } from "../core/conversation";
import type { Ask } from "../protocol.gen";

export interface CallApproval {
  ask: Ask;
  /** The question's own text (markdown), "" if the handler gave none. */
  prompt: string;
  /** The question message's status ("incomplete": kept by the store, its reply elsewhere). */
  status: MessageStatus;
}

/** The approval question drawn on call `id` (`thread().approvals`), if there is one. */
export function approvalOf(
  approvals: ReadonlyMap<string, UIMessage>,
  id: string | undefined,
): CallApproval | null {
  const question = id ? approvals.get(id) : undefined;
  const ask = question ? askOf(question.message) : null;
  if (!question || !ask) return null;
  const content = question.message.content;
  return { ask, prompt: typeof content === "string" ? content : "", status: question.status };
}

function answerOf(ask: Ask): { approved?: unknown; arguments?: unknown } {
  const answer = ask.answer;
  return typeof answer === "object" && answer !== null ? answer : {};
}

/**
 * The arguments the call ran with: the user's, if they approved it (edited or not).
 *
 *     approvedArgs({ id: "a", kind: "approve", answer: { approved: true, arguments: "{}" } },
 *                  '{"x": 1}')  // -> "{}"
 */
export function approvedArgs(ask: Ask, args: string): string {
  const answer = answerOf(ask);
  return answer.approved === true && typeof answer.arguments === "string" ? answer.arguments : args;
}

export type CallStatus = "running" | "done" | "error" | "cancelled" | "waiting" | "denied";

/**
 * A call's state with its approval: `denied` once refused, `waiting` while the question
 * waits in a running reply (and the call has no result), else what `otherwise` says.
 */
export function approvalCallStatus(
  ask: Ask,
  hasResult: boolean,
  running: boolean,
  otherwise: CallStatus,
): CallStatus {
  const status = statusOf(ask);
  if (status === "answered" && answerOf(ask).approved === false) return "denied";
  if (status === "pending" && running && !hasResult) return "waiting";
  return otherwise;
}
