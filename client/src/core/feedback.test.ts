import { describe, expect, it } from "vitest";
import { addUserMessage, applyServerEvent, newConversation, uiMessage } from "./conversation";
import { nextRating, ratable, readFeedback, setFeedback } from "./feedback";
import { LocalPersistence } from "./persistence";

describe("feedback", () => {
  it("a second click on the same thumb takes the rating back; the other one changes it", () => {
    expect(nextRating(null, "up")).toBe("up");
    expect(nextRating("up", "up")).toBeNull();
    expect(nextRating("up", "down")).toBe("down");
  });

  it("keeps the comment with the rating until the rating is taken back", () => {
    const msg = uiMessage("a1", { role: "assistant", content: "Hi" }, "done", null);
    setFeedback(msg, "down");
    setFeedback(msg, "down", "Too short");
    expect(msg.feedback).toEqual({ rating: "down", comment: "Too short" });
    setFeedback(msg, "up");
    expect(msg.feedback).toEqual({ rating: "up", comment: "Too short" });
    setFeedback(msg, null);
    expect(msg.feedback).toBeNull();
    expect(readFeedback({ rating: "sideways" })).toBeNull();
  });

  it("is kept in this browser with the message, and v2 records without it still load", () => {
    localStorage.clear();
    const conv = newConversation();
    addUserMessage(conv, "Hello");
    const reply = uiMessage(
      "a1",
      { role: "assistant", content: "Hi!" },
      "done",
      "r1",
      conv.messages[0]!.id,
    );
    conv.nodes.push(reply);
    conv.messages.push(reply);
    setFeedback(reply, "up", "Friendly");
    const store = new LocalPersistence();
    expect(store.saveConversations([conv])).toBe(true);
    const [again] = store.loadConversations();
    expect(again!.messages.map((m) => m.feedback)).toEqual([
      null,
      { rating: "up", comment: "Friendly" },
    ]);
    // A record saved before feedback existed: the message has none.
    const raw = JSON.parse(localStorage.getItem("gptchat:v2:conversations")!) as {
      nodes: Record<string, unknown>[];
    }[];
    for (const n of raw[0]!.nodes) delete n["feedback"];
    localStorage.setItem("gptchat:v2:conversations", JSON.stringify(raw));
    const [old] = store.loadConversations();
    expect(old!.messages.map((m) => [m.message.content, m.feedback])).toEqual([
      ["Hello", null],
      ["Hi!", null],
    ]);
  });

  it("comes from the server's StoredMessage.feedback", () => {
    const conv = newConversation();
    applyServerEvent(conv, "conversation", {
      conversation_id: conv.id,
      title: "t",
      updated_at: 1,
      messages: [
        { id: "u1", parent_id: null, message: { role: "user", content: "Hi" } },
        {
          id: "a1",
          parent_id: "u1",
          message: { role: "assistant", content: "Hello" },
          feedback: { rating: "down", comment: null },
        },
      ],
    });
    expect(conv.messages.map((m) => m.feedback)).toEqual([null, { rating: "down", comment: null }]);
  });

  it("goes on the last assistant message of each finished reply", () => {
    const m = (id: string, role: string, status: "done" | "streaming" = "done", extra = {}) =>
      uiMessage(id, { role, content: id, ...extra }, status, "r");
    const visible = [
      uiMessage("init-0", { role: "assistant", content: "Welcome" }, "done", null),
      m("u1", "user"),
      m("a1", "assistant"),
      m("a2", "assistant"),
      m("u2", "user"),
      m("q1", "assistant", "done", { ask: { id: "k", kind: "text" } }),
      m("u3", "user"),
      m("a3", "assistant", "streaming"),
    ];
    expect([...ratable(visible)]).toEqual(["a2"]);
  });
});
