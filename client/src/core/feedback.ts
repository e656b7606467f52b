// Thumbs up / down on a reply: what a click makes of the rating, and which messages offer
// them. The rating lives on the message (`UIMessage.feedback`), so browser history keeps
// it with the message and server history fills it in from `StoredMessage.feedback`. Pure.
import type { FeedbackValue, Rating } from "../protocol.gen";
import type { UIMessage } from "./conversation";
import { askOf } from "./ask";

/**
 * The rating after a click on `clicked`: the same thumb again takes it back (null), the
 * other one changes it.
 *
 *     nextRating("up", "up")   // -> null
 *     nextRating("up", "down") // -> "down"
 */
export function nextRating(current: Rating | null | undefined, clicked: Rating): Rating | null {
  return current === clicked ? null : clicked;
}

/** Keep a rating (and comment) on the message; a null rating removes the feedback. */
export function setFeedback(msg: UIMessage, rating: Rating | null, comment?: string | null): void {
  if (rating === null) msg.feedback = null;
  else {
    const kept = comment === undefined ? (msg.feedback?.comment ?? null) : comment;
    msg.feedback = { rating, comment: kept };
  }
  msg.version++;
}

/** Feedback as the server or a saved record gives it; null if it is not feedback. */
export function readFeedback(value: unknown): FeedbackValue | null {
  const v = value as Partial<FeedbackValue> | null | undefined;
  if (v?.rating !== "up" && v?.rating !== "down") return null;
  return { rating: v.rating, comment: typeof v.comment === "string" ? v.comment : null };
}

/**
 * The messages that end a finished reply, among those shown: an assistant message that a
 * user message (or nothing) follows, done or stopped. A question is no reply to rate, nor
 * is a configured greeting (`init-*`).
 */
export function ratable(visible: readonly UIMessage[]): Set<string> {
  const out = new Set<string>();
  visible.forEach((m, i) => {
    const next = visible[i + 1];
    if (next && next.message.role !== "user") return;
    if (m.message.role !== "assistant" || m.id.startsWith("init-")) return;
    if (m.status !== "done" && m.status !== "stopped") return;
    if (askOf(m.message)) return;
    out.add(m.id);
  });
  return out;
}
