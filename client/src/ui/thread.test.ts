import { describe, expect, it } from "vitest";
import { newConversation, uiMessage } from "../core/conversation";
import type { Conversation, MessageStatus } from "../core/conversation";
import type { Delta } from "../core/merge";
import { callKey, thread } from "./thread";

function conversation(
  messages: [id: string, message: Delta, status: MessageStatus, runId: string | null][],
): Conversation {
  const conv = newConversation();
  conv.messages = messages.map(([id, message, status, runId]) =>
    uiMessage(id, message, status, runId),
  );
  return conv;
}

const call = (id: string, name: string) => ({
  tool_calls: [{ index: 0, id, type: "function", function: { name, arguments: "{}" } }],
});

describe("thread", () => {
  it("puts a reply's note on its last visible message only", () => {
    const conv = conversation([
      ["u1", { role: "user", content: "Weather in Paris?" }, "done", null],
      ["a1", { role: "assistant", ...call("c1", "get_weather") }, "stopped", "r1"],
      ["t1", { role: "tool", tool_call_id: "c1", content: '{"t": 18}' }, "stopped", "r1"],
      ["a2", { role: "assistant", content: "It is 18 °C." }, "stopped", "r1"],
      ["u2", { role: "user", content: "And tomorrow?" }, "done", null],
      ["a3", { role: "assistant", ...call("c2", "get_forecast") }, "stopped", "r2"],
      ["t2", { role: "tool", tool_call_id: "c2", content: "{}" }, "stopped", "r2"],
    ]);
    const view = thread(conv);
    expect(view.visible.map((m) => m.id)).toEqual(["u1", "a1", "a2", "u2", "a3"]);
    // a3 ends run r2 though its result (t2, shown inside it) came later.
    expect([...view.ends].sort()).toEqual(["a2", "a3", "u1", "u2"]);
  });
  it("shows the text of a tool result made of text parts", () => {
    const conv = conversation([
      ["a1", { role: "assistant", ...call("c1", "forecast") }, "done", "r1"],
      [
        "t1",
        {
          role: "tool",
          tool_call_id: "c1",
          content: [
            { type: "text", text: "Forecast:" },
            { type: "text", text: '{"high": 20}' },
          ],
        },
        "done",
        "r1",
      ],
    ]);
    expect(thread(conv).results.get(callKey("a1", "c1"))).toEqual({
      content: 'Forecast:\n\n{"high": 20}',
    });
  });
});

describe("thread approvals", () => {
  it("draws an approve question on its call's block, and one without a call on its own", () => {
    const conv = conversation([
      ["u1", { role: "user", content: "Email Ann" }, "done", null],
      ["a1", { role: "assistant", ...call("c1", "send_email") }, "streaming", "r1"],
      [
        "q1",
        {
          role: "assistant",
          content: null,
          ask: { id: "k1", kind: "approve", tool_call_id: "c1" },
        },
        "streaming",
        "r1",
      ],
      [
        "q2",
        {
          role: "assistant",
          content: "Sure?",
          ask: { id: "k2", kind: "approve", tool_call_id: "gone" },
        },
        "streaming",
        "r1",
      ],
    ]);
    const view = thread(conv);
    expect(view.visible.map((m) => m.id)).toEqual(["u1", "a1", "q2"]);
    expect([...view.approvals].map(([key, m]) => [key, m.id])).toEqual([
      [callKey("a1", "c1"), "q1"],
    ]);
  });

  it("gives a result and an approval to the latest call of their id", () => {
    // Some providers number calls afresh each turn: "call_0" twice in one conversation.
    const conv = conversation([
      ["u1", { role: "user", content: "Email Ann" }, "done", null],
      ["a1", { role: "assistant", ...call("call_0", "find_contact") }, "done", "r1"],
      ["t1", { role: "tool", tool_call_id: "call_0", content: "ann@x" }, "done", "r1"],
      ["a2", { role: "assistant", ...call("call_0", "send_email") }, "streaming", "r1"],
      [
        "q1",
        {
          role: "assistant",
          content: null,
          ask: { id: "k1", kind: "approve", tool_call_id: "call_0" },
        },
        "streaming",
        "r1",
      ],
    ]);
    const view = thread(conv);
    expect(view.visible.map((m) => m.id)).toEqual(["u1", "a1", "a2"]);
    expect([...view.results.keys()]).toEqual([callKey("a1", "call_0")]);
    expect([...view.approvals.keys()]).toEqual([callKey("a2", "call_0")]);
  });
});
