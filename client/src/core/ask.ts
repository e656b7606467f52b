// Questions a handler asks (`app.ask`, `app.confirm`): a message of the run whose `ask` key
// says what to draw, and the answer the browser builds for it. The server restates the
// whole `ask` on each change (the merge rule: an object replaces the one before), so the
// message always holds its current status. Pure, no DOM.
import type { Ask, FormField } from "../protocol.gen";
import type { Conversation } from "./conversation";
import type { AccMessage } from "./merge";

/** Where this tab stands with a conversation's answers: the one sent, refusals by ask id. */
export interface AnswerState {
  /** The ask whose answer is on its way (not confirmed or refused yet). */
  sending: string | null;
  /** The server refused the answer to these asks (they stay pending): its words. */
  errors: Record<string, string>;
  /**
   * The ask whose answer was on its way when the server said it was answered (from
   * another tab): the refusal of this tab's answer may still come, and means nothing more.
   */
  late: string | null;
}

export function noAnswers(): AnswerState {
  return { sending: null, errors: {}, late: null };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The question a message asks, or null if it asks none.
 *
 *     askOf({ role: "assistant", content: "City?", ask: { id: "a1", kind: "text" } })
 *     // -> { id: "a1", kind: "text" }
 */
export function askOf(message: AccMessage): Ask | null {
  const ask = message["ask"];
  if (!isRecord(ask) || typeof ask["id"] !== "string" || typeof ask["kind"] !== "string") {
    return null;
  }
  return ask as unknown as Ask;
}

/** A question's status; a question with none is still waiting. */
export function statusOf(ask: Ask): NonNullable<Ask["status"]> {
  return ask.status ?? "pending";
}

function without(errors: Record<string, string>, id: string): Record<string, string> {
  return Object.fromEntries(Object.entries(errors).filter(([key]) => key !== id));
}

/**
 * Whether the branch shown holds the question `askId`, still pending, where it can be
 * answered: in the running reply, or kept by the store while it runs in another tab.
 */
export function pendingAsk(conv: Conversation, askId: string): boolean {
  return conv.messages.some((m) => {
    const ask = askOf(m.message);
    if (ask?.id !== askId || statusOf(ask) !== "pending") return false;
    return conv.running || m.status === "incomplete";
  });
}

/** Whether the conversation's running reply waits for the user to answer a question. */
export function waitsForAnswer(conv: Conversation): boolean {
  if (!conv.running) return false;
  return conv.messages.some((m) => {
    const ask = askOf(m.message);
    return ask !== null && statusOf(ask) === "pending";
  });
}

/** The answer `value` was sent: wait for the server to take or refuse it. */
export function answerSent(state: AnswerState, askId: string): void {
  state.sending = askId;
  state.late = null;
  state.errors = without(state.errors, askId);
}

/** A message changed: an ask that is no longer pending needs nothing more from this tab. */
export function settleAsk(state: AnswerState, message: AccMessage): void {
  const ask = askOf(message);
  if (!ask || statusOf(ask) === "pending") return;
  if (state.sending === ask.id) {
    state.sending = null;
    state.late = ask.id;
  }
  state.errors = without(state.errors, ask.id);
}

/**
 * An error came for the conversation: if an answer was on its way, it was the answer that
 * was refused (the question stays pending). True if so: the run itself goes on.
 */
export function answerRefused(state: AnswerState, code: string, message: string): boolean {
  if (state.sending === null) {
    // Answered elsewhere first, as the question already shows: no error of the run.
    const late = state.late !== null;
    state.late = null;
    return late;
  }
  // not_found: answered already (in another tab) or no longer waiting; the server's words
  // for it are a developer's. A refused value's are kept: they say what to change.
  state.errors[state.sending] =
    code === "not_found" ? "This question is no longer waiting for an answer." : message;
  state.sending = null;
  return true;
}

/** JSON text, compact (as it is sent); null if it is not JSON. */
export function compactJson(text: string): string | null {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return null;
  }
}

/** JSON text indented for reading and editing; the text as it is if it is not JSON. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export type Built<T> = { ok: true; value: T } | { ok: false; error: string };

export interface ApprovalValue {
  approved: boolean;
  arguments: string;
  reason: null;
}

/**
 * The answer to an `approve` question: the decision and the arguments as left, compact.
 * Edited arguments must be JSON (the server refuses others); a denial sends the call's
 * own arguments if the edit does not parse, since they no longer matter.
 *
 *     approvalValue(true, '{"to": "a@b.c"}', '{\n  "to": "x@y.z"\n}')
 *     // -> { ok: true, value: { approved: true, arguments: '{"to":"x@y.z"}', reason: null } }
 */
export function approvalValue(
  approved: boolean,
  original: string,
  edited: string | null,
): Built<ApprovalValue> {
  const text = edited ?? original;
  let args = compactJson(text);
  if (args === null) {
    if (approved && edited !== null) {
      return { ok: false, error: "The arguments are not valid JSON." };
    }
    args = compactJson(original) ?? original;
  }
  return { ok: true, value: { approved, arguments: args, reason: null } };
}

/** JSON text with its objects' keys sorted: equal for equal values, as the server compares. */
function canonical(text: string): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : isRecord(v)
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort(v[k])]),
          )
        : v;
  try {
    return JSON.stringify(sort(JSON.parse(text)));
  } catch {
    return text;
  }
}

/** Whether an answered approval changed the call's arguments (as values, not as text). */
export function wasEdited(ask: Ask): boolean {
  const answer = ask.answer;
  if (!isRecord(answer) || typeof answer["arguments"] !== "string") return false;
  return canonical(ask.arguments ?? "") !== canonical(answer["arguments"]);
}

/** What an answered question's note says: "Approved", "Denied · edited", "Answered". */
export function answeredLabel(ask: Ask): string {
  const status = statusOf(ask);
  if (status === "cancelled") return "Not answered: the reply was stopped";
  if (status === "expired") return "Not answered in time";
  if (status === "pending") return "";
  if (ask.kind !== "approve") return "Answered";
  const answer = ask.answer;
  const approved = isRecord(answer) && answer["approved"] === true;
  const edited = approved && wasEdited(ask);
  return `${approved ? "Approved" : "Denied"}${edited ? " · edited" : ""}`;
}

/** What each form field holds while the user fills it in: text, or a checkbox's state. */
export type FormDraft = Record<string, string | boolean>;

/** A form's fields as they start: each field's default, or empty. */
export function formDraft(fields: readonly FormField[]): FormDraft {
  const draft: FormDraft = {};
  for (const f of fields) {
    if (f.type === "checkbox") draft[f.name] = f.default === true;
    // A choice without a default starts unchosen: a required one is not answered by accident.
    else if (f.default !== null && f.default !== undefined) draft[f.name] = String(f.default);
    else draft[f.name] = "";
  }
  return draft;
}

/**
 * The answer to a `form` question, `{name: value}`, from what the user filled in; or the
 * first problem, as the user should read it. An empty optional field is left out (the
 * server's model gives it its default).
 *
 *     formValue([{ name: "n", label: "Guests", type: "integer", minimum: 1 }], { n: "4" })
 *     // -> { ok: true, value: { n: 4 } }
 */
export function formValue(
  fields: readonly FormField[],
  draft: FormDraft,
): Built<Record<string, unknown>> {
  const value: Record<string, unknown> = {};
  for (const f of fields) {
    const raw = draft[f.name];
    if (f.type === "checkbox") {
      value[f.name] = raw === true;
      continue;
    }
    const text = typeof raw === "string" ? raw.trim() : "";
    if (!text) {
      if (f.required) return { ok: false, error: `${f.label} is required.` };
      continue;
    }
    if (f.type === "number" || f.type === "integer") {
      const n = Number(text);
      if (!Number.isFinite(n)) return { ok: false, error: `${f.label} must be a number.` };
      if (f.type === "integer" && !Number.isInteger(n)) {
        return { ok: false, error: `${f.label} must be a whole number.` };
      }
      if (typeof f.minimum === "number" && n < f.minimum) {
        return { ok: false, error: `${f.label} must be at least ${f.minimum}.` };
      }
      if (typeof f.maximum === "number" && n > f.maximum) {
        return { ok: false, error: `${f.label} must be at most ${f.maximum}.` };
      }
      value[f.name] = n;
    } else if (f.type === "select") {
      if (f.options && !f.options.includes(text)) {
        return { ok: false, error: `${f.label}: choose one of the options.` };
      }
      value[f.name] = text;
    } else value[f.name] = typeof raw === "string" ? raw : "";
  }
  return { ok: true, value };
}

/**
 * What a question with a deadline says of the time left ("12 s left", "3 min left"); ""
 * once it has passed (the server says it expired).
 *
 *     timeLeft(1_000, 988_000) // -> "12 s left"
 */
export function timeLeft(expiresAt: number, now: number): string {
  const seconds = Math.ceil(expiresAt - now / 1000);
  if (seconds <= 0) return "";
  if (seconds < 120) return `${seconds} s left`;
  return `${Math.ceil(seconds / 60)} min left`;
}
