import { describe, expect, it } from "vitest";
import {
  answeredLabel,
  approvalValue,
  askOf,
  formDraft,
  formValue,
  prettyJson,
  timeLeft,
  waitsForAnswer,
  wasEdited,
} from "./ask";
import { applyServerEvent, newConversation, toWire } from "./conversation";
import type { Conversation } from "./conversation";
import type { Ask, FormField } from "../protocol.gen";

const CID = "conv-ask-0001";

function running(): Conversation {
  const conv = newConversation();
  conv.id = CID;
  applyServerEvent(conv, "run_started", { conversation_id: CID, run_id: "r1", parent_id: null });
  return conv;
}

function delta(conv: Conversation, id: string, seq: number, d: Record<string, unknown>): void {
  applyServerEvent(conv, "message_delta", {
    conversation_id: CID,
    run_id: "r1",
    message_id: id,
    seq,
    count: 1,
    deltas: [d],
  });
}

const question = {
  role: "assistant",
  content: "Which city?",
  ask: { id: "ask-1", kind: "choices", status: "pending", choices: ["Paris", "Rome"] },
};

describe("a question in the reducer", () => {
  it("is a message of the run; the restated ask replaces the pending one whole", () => {
    const conv = running();
    delta(conv, "q1", 1, question);
    expect(askOf(conv.messages[0]!.message)).toEqual(question.ask);
    expect(waitsForAnswer(conv)).toBe(true);
    conv.answers.sending = "ask-1";
    delta(conv, "q1", 2, {
      ask: { id: "ask-1", kind: "choices", status: "answered", answer: "Rome" },
    });
    const ask = askOf(conv.messages[0]!.message)!;
    // The whole ask as restated: nothing of the pending one (its choices) is left over.
    expect(ask).toEqual({ id: "ask-1", kind: "choices", status: "answered", answer: "Rome" });
    expect(conv.messages[0]!.message.content).toBe("Which city?");
    expect(conv.answers.sending).toBeNull();
    expect(waitsForAnswer(conv)).toBe(false);
    // The answer comes as a new user message of the same run, after the question.
    delta(conv, "u-answer", 1, { role: "user", content: "Rome" });
    expect(conv.messages.map((m) => [m.id, m.message.role, m.runId])).toEqual([
      ["q1", "assistant", "r1"],
      ["u-answer", "user", "r1"],
    ]);
    expect(conv.messages[1]!.parentId).toBe("q1");
  });

  it("keeps a refused answer's error by the question, and the run going", () => {
    const conv = running();
    delta(conv, "q1", 1, question);
    conv.answers.sending = "ask-1";
    applyServerEvent(conv, "error", {
      code: "not_found",
      message: "This question was already answered",
      conversation_id: CID,
    });
    expect(conv.running).toBe(true);
    expect(conv.error).toBeNull();
    expect(conv.answers).toMatchObject({
      sending: null,
      errors: { "ask-1": "This question is no longer waiting for an answer." },
    });
    // With no answer on its way, an error is the run's again.
    applyServerEvent(conv, "error", {
      code: "invalid_payload",
      message: "bad",
      conversation_id: CID,
    });
    expect(conv.error).toBe("bad");
  });

  it("takes the refusal of an answer given too late (answered in another tab) calmly", () => {
    const conv = running();
    delta(conv, "q1", 1, question);
    conv.answers.sending = "ask-1";
    // The other tab's answer is heard first, then this tab's is refused.
    delta(conv, "q1", 2, {
      ask: { id: "ask-1", kind: "choices", status: "answered", answer: "Paris" },
    });
    applyServerEvent(conv, "error", {
      code: "not_found",
      message: "answer: this question was answered already",
      conversation_id: CID,
    });
    expect(conv.running).toBe(true);
    expect(conv.error).toBeNull();
    expect(conv.answers.errors).toEqual({});
  });

  it("forgets an answer on its way when the run ends or a snapshot restates it", () => {
    const conv = running();
    delta(conv, "q1", 1, question);
    conv.answers.sending = "ask-1";
    applyServerEvent(conv, "run_snapshot", {
      conversation_id: CID,
      run_id: "r1",
      status: "running",
      messages: [{ message_id: "q1", seq: 1, message: question }],
    });
    expect(conv.answers.sending).toBeNull();
    conv.answers.sending = "ask-1";
    applyServerEvent(conv, "run_finished", {
      conversation_id: CID,
      run_id: "r1",
      status: "stopped",
    });
    expect(conv.answers.sending).toBeNull();
    expect(conv.messages[0]!.status).toBe("stopped");
  });
});

describe("a question in what the browser sends", () => {
  it("keeps an approval though it has no text: it carries the edited arguments", () => {
    const conv = running();
    const call = { index: 0, id: "c1", type: "function", function: { name: "f", arguments: "{}" } };
    delta(conv, "a1", 1, { role: "assistant", content: null, tool_calls: [call] });
    const approve = {
      id: "k1",
      kind: "approve",
      tool_call_id: "c1",
      arguments: "{}",
      status: "answered",
      answer: { approved: true, arguments: '{"x":1}' },
    };
    delta(conv, "q1", 1, { role: "assistant", content: null, ask: approve });
    delta(conv, "t1", 1, { role: "tool", tool_call_id: "c1", content: "ok" });
    delta(conv, "e1", 1, { role: "assistant", content: null });
    expect(toWire(conv).map((m) => m.id)).toEqual(["a1", "q1", "t1"]);
    expect(toWire(conv)[1]!.message).toEqual({ role: "assistant", content: null, ask: approve });
  });
});

describe("approvalValue", () => {
  const args = '{"to": "ann@example.com", "subject": "Hi"}';

  it("sends the arguments compact, edited or not", () => {
    expect(approvalValue(true, args, prettyJson(args))).toEqual({
      ok: true,
      value: { approved: true, arguments: '{"to":"ann@example.com","subject":"Hi"}', reason: null },
    });
    const edited = '{\n  "to": "bob@example.com",\n  "subject": "Hi"\n}';
    expect(approvalValue(true, args, edited)).toEqual({
      ok: true,
      value: { approved: true, arguments: '{"to":"bob@example.com","subject":"Hi"}', reason: null },
    });
    expect(approvalValue(true, args, null)).toMatchObject({ ok: true });
  });

  it("refuses an approval whose edited arguments are not JSON; a denial sends the call's own", () => {
    expect(approvalValue(true, args, '{"to": ')).toEqual({
      ok: false,
      error: "The arguments are not valid JSON.",
    });
    expect(approvalValue(false, args, '{"to": ')).toEqual({
      ok: true,
      value: {
        approved: false,
        arguments: '{"to":"ann@example.com","subject":"Hi"}',
        reason: null,
      },
    });
  });

  it("labels the answer: approved, edited, denied, stopped, expired", () => {
    const base: Ask = { id: "a", kind: "approve", arguments: args, status: "answered" };
    const reordered = {
      ...base,
      answer: { approved: true, arguments: '{"subject":"Hi","to":"ann@example.com"}' },
    };
    // The same value in another order is no edit (the server compares values too).
    expect(wasEdited(reordered)).toBe(false);
    const approved = {
      ...base,
      answer: { approved: true, arguments: '{"to":"bob@example.com","subject":"Hi"}' },
    };
    expect(wasEdited(approved)).toBe(true);
    const same = { ...base, answer: { approved: true, arguments: args } };
    expect(answeredLabel(same)).toBe("Approved");
    expect(answeredLabel(approved)).toBe("Approved · edited");
    expect(answeredLabel({ ...base, answer: { approved: false, arguments: args } })).toBe("Denied");
    expect(answeredLabel({ ...base, status: "cancelled" })).toBe(
      "Not answered: the reply was stopped",
    );
    expect(answeredLabel({ ...base, status: "expired" })).toBe("Not answered in time");
    expect(answeredLabel({ id: "t", kind: "text", status: "answered", answer: "x" })).toBe(
      "Answered",
    );
    expect(answeredLabel({ id: "t", kind: "text" })).toBe("");
  });
});

describe("forms", () => {
  const fields: FormField[] = [
    { name: "name", label: "Name", type: "text", required: true },
    { name: "guests", label: "Guests", type: "integer", minimum: 1, maximum: 12, default: 2 },
    { name: "budget", label: "Budget", type: "number" },
    { name: "room", label: "Room", type: "select", options: ["Garden", "Hall"], required: true },
    { name: "vegan", label: "Vegan", type: "checkbox" },
  ];

  it("starts from the defaults", () => {
    expect(formDraft(fields)).toEqual({
      name: "",
      guests: "2",
      budget: "",
      room: "",
      vegan: false,
    });
  });

  it("builds the answer with numbers as numbers and empty optional fields left out", () => {
    const draft = { ...formDraft(fields), name: "Ann", guests: "4", room: "Garden", vegan: true };
    expect(formValue(fields, draft)).toEqual({
      ok: true,
      value: { name: "Ann", guests: 4, room: "Garden", vegan: true },
    });
    expect(formValue(fields, { ...draft, budget: "99.5" })).toMatchObject({
      value: { budget: 99.5 },
    });
  });

  it("says the first problem: required, not a number, out of range, not whole", () => {
    const draft = { ...formDraft(fields), name: "Ann", room: "Hall" };
    expect(formValue(fields, { ...draft, name: " " })).toEqual({
      ok: false,
      error: "Name is required.",
    });
    expect(formValue(fields, { ...draft, guests: "13" })).toEqual({
      ok: false,
      error: "Guests must be at most 12.",
    });
    expect(formValue(fields, { ...draft, guests: "0" })).toEqual({
      ok: false,
      error: "Guests must be at least 1.",
    });
    expect(formValue(fields, { ...draft, guests: "2.5" })).toEqual({
      ok: false,
      error: "Guests must be a whole number.",
    });
    expect(formValue(fields, { ...draft, budget: "lots" })).toEqual({
      ok: false,
      error: "Budget must be a number.",
    });
    expect(formValue(fields, { ...draft, room: "Attic" })).toEqual({
      ok: false,
      error: "Room: choose one of the options.",
    });
  });
});

describe("timeLeft", () => {
  it("counts down in seconds, then minutes, and says nothing once past", () => {
    expect(timeLeft(1_000, 988_000)).toBe("12 s left");
    expect(timeLeft(1_000, 988_500)).toBe("12 s left");
    expect(timeLeft(1_000, 700_000)).toBe("5 min left");
    expect(timeLeft(1_000, 1_000_000)).toBe("");
  });
});
