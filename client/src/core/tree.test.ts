import { beforeEach, describe, expect, it } from "vitest";
import {
  addUserMessage,
  editUserMessage,
  newConversation,
  onConversation,
  onMessageDelta,
  onRunFinished,
  onRunSnapshot,
  onRunStarted,
  prepareRegenerate,
  toWire,
} from "./conversation";
import type { Conversation } from "./conversation";
import { loadConversations, saveConversations } from "./persistence";
import { showVersion, versionsOf } from "./tree";

/** A whole reply of one message, as the server streams it. */
function reply(conv: Conversation, runId: string, id: string, text: string, parent?: string): void {
  onRunStarted(conv, { conversation_id: conv.id, run_id: runId, parent_id: parent ?? null });
  onMessageDelta(conv, {
    conversation_id: conv.id,
    run_id: runId,
    message_id: id,
    seq: 1,
    count: 1,
    deltas: [{ role: "assistant", content: text }],
  });
  onRunFinished(conv, { conversation_id: conv.id, run_id: runId, status: "done" });
}

const texts = (conv: Conversation): unknown[] => conv.messages.map((m) => m.message.content);

describe("message tree", () => {
  beforeEach(() => localStorage.clear());

  it("gives initial messages the server's ids, each the child of the one before", () => {
    const conv = newConversation([
      { role: "system", content: "Answer in French." },
      { role: "assistant", content: "Bonjour !" },
    ]);
    expect(conv.messages.map((m) => [m.id, m.parentId])).toEqual([
      ["init-0", null],
      ["init-1", "init-0"],
    ]);
    const user = addUserMessage(conv, "Quelle heure est-il ?");
    expect(user.parentId).toBe("init-1");
  });

  it("hangs a run's messages under run_started.parent_id, each under the one before", () => {
    const conv = newConversation();
    const user = addUserMessage(conv, "What is the weather in Paris?");
    onRunStarted(conv, { conversation_id: conv.id, run_id: "r", parent_id: user.id });
    const ids = { conversation_id: conv.id, run_id: "r", seq: 1, count: 1 };
    onMessageDelta(conv, {
      ...ids,
      message_id: "call",
      deltas: [
        {
          role: "assistant",
          tool_calls: [
            { index: 0, id: "t1", function: { name: "weather", arguments: '{"city":"Paris"}' } },
          ],
        },
      ],
    });
    onMessageDelta(conv, {
      ...ids,
      message_id: "result",
      deltas: [{ role: "tool", tool_call_id: "t1", content: "18°C, clear" }],
    });
    onMessageDelta(conv, {
      ...ids,
      message_id: "answer",
      deltas: [{ role: "assistant", content: "It is 18°C and clear in Paris." }],
    });
    onRunFinished(conv, { conversation_id: conv.id, run_id: "r", status: "done" });
    expect(conv.messages.map((m) => [m.id, m.parentId])).toEqual([
      [user.id, null],
      ["call", user.id],
      ["result", "call"],
      ["answer", "result"],
    ]);
    expect(versionsOf(conv).size).toBe(0);
  });

  it("regenerates a reply as a sibling, and switches between the versions", () => {
    const conv = newConversation();
    const user = addUserMessage(conv, "Name a colour.");
    reply(conv, "r1", "a1", "Blue.", user.id);
    expect(prepareRegenerate(conv, user.id)).toBe(true);
    expect(texts(conv)).toEqual(["Name a colour."]);
    reply(conv, "r2", "a2", "Green.", user.id);
    expect(texts(conv)).toEqual(["Name a colour.", "Green."]);
    expect(versionsOf(conv).get("a2")).toEqual({ index: 2, count: 2, previous: "a1", next: null });
    expect(showVersion(conv, "a1")).toBe(true);
    expect(texts(conv)).toEqual(["Name a colour.", "Blue."]);
    expect(versionsOf(conv).get("a1")).toEqual({ index: 1, count: 2, previous: null, next: "a2" });
    // What a handler gets is the branch shown.
    expect(toWire(conv).map((m) => m.id)).toEqual([user.id, "a1"]);
    expect(prepareRegenerate(conv, "a1")).toBe(false); // only a user message is answered
  });

  it("edits as a sibling; switching back shows the old version's last branch", () => {
    const conv = newConversation();
    const q1 = addUserMessage(conv, "Plan a trip to Rome.");
    reply(conv, "r1", "a1", "Day 1: the Colosseum.", q1.id);
    const q2 = addUserMessage(conv, "Add a day in Florence.");
    reply(conv, "r2", "a2", "Day 2: the Uffizi.", q2.id);
    const edited = editUserMessage(conv, q1.id, "Plan a trip to Naples.");
    expect(edited).not.toBeNull();
    expect(texts(conv)).toEqual(["Plan a trip to Naples."]);
    reply(conv, "r3", "a3", "Day 1: Pompeii.", edited!.id);
    expect(versionsOf(conv).get(edited!.id)).toMatchObject({ index: 2, count: 2 });
    // Back to the first version: everything below it as it was last seen.
    showVersion(conv, q1.id);
    expect(texts(conv)).toEqual([
      "Plan a trip to Rome.",
      "Day 1: the Colosseum.",
      "Add a day in Florence.",
      "Day 2: the Uffizi.",
    ]);
    expect(toWire(conv).map((m) => m.id)).toEqual([q1.id, "a1", q2.id, "a2"]);
    showVersion(conv, edited!.id);
    expect(texts(conv)).toEqual(["Plan a trip to Naples.", "Day 1: Pompeii."]);
    expect(conv.nodes).toHaveLength(6);
  });

  it("shows the newest branch of a stored conversation, interrupted replies marked", () => {
    const conv = newConversation();
    onConversation(conv, {
      conversation_id: conv.id,
      title: "Haiku",
      updated_at: 1_700_000_000.5,
      share_token: null,
      messages: [
        { id: "u1", parent_id: null, message: { role: "user", content: "A haiku?" } },
        { id: "a1", parent_id: "u1", message: { role: "assistant", content: "Old pond" } },
        {
          id: "a2",
          parent_id: "u1",
          message: { role: "assistant", content: "Autumn moon" },
          status: "incomplete",
        },
      ],
    });
    expect(conv.title).toBe("Haiku");
    expect(conv.updatedAt).toBe(1_700_000_000_500);
    expect(conv.messages.map((m) => [m.id, m.status])).toEqual([
      ["u1", "done"],
      ["a2", "incomplete"],
    ]);
    // The branch the reader chose stays when the conversation comes again.
    showVersion(conv, "a1");
    onConversation(conv, {
      conversation_id: conv.id,
      title: "Haiku",
      updated_at: 1_700_000_001,
      messages: [
        { id: "u1", parent_id: null, message: { role: "user", content: "A haiku?" } },
        { id: "a1", parent_id: "u1", message: { role: "assistant", content: "Old pond" } },
        { id: "a2", parent_id: "u1", message: { role: "assistant", content: "Autumn moon" } },
      ],
    });
    expect(conv.messages.map((m) => m.id)).toEqual(["u1", "a1"]);
    // Opened afresh, the branch shown is the one leading to the newest message.
    const fresh = newConversation();
    onConversation(fresh, {
      conversation_id: fresh.id,
      title: "Trip",
      updated_at: 1,
      messages: [
        { id: "q1", parent_id: null, message: { role: "user", content: "Rome?" } },
        { id: "q2", parent_id: null, message: { role: "user", content: "Naples?" } },
        { id: "a1", parent_id: "q1", message: { role: "assistant", content: "Colosseum" } },
      ],
    });
    expect(fresh.messages.map((m) => m.id)).toEqual(["q1", "a1"]);
  });

  it("places a resumed run's snapshot messages under the run's parent, in order", () => {
    const conv = newConversation();
    const user = addUserMessage(conv, "Count to three.");
    onRunStarted(conv, { conversation_id: conv.id, run_id: "r", parent_id: user.id });
    onRunSnapshot(conv, {
      conversation_id: conv.id,
      run_id: "r",
      status: "running",
      messages: [
        { message_id: "m1", seq: 2, message: { role: "assistant", content: "one, two" } },
        { message_id: "m2", seq: 1, message: { role: "assistant", content: "three" } },
      ],
    });
    expect(conv.messages.map((m) => [m.id, m.parentId, m.status])).toEqual([
      [user.id, null, "done"],
      ["m1", user.id, "streaming"],
      ["m2", "m1", "streaming"],
    ]);
    expect(conv.running).toBe(true);
  });

  it("migrates version 1 flat lists to a chain, losing nothing, and saves version 2", () => {
    const v1 = [
      {
        id: "c0ffee00c0ffee00",
        title: "Old chat",
        updatedAt: 1_690_000_000_000,
        running: false,
        runId: null,
        error: null,
        messages: [
          { id: "s", message: { role: "system", content: "Be brief." }, status: "done" },
          { id: "u", message: { role: "user", content: "Hi" }, status: "done" },
          { id: "a", message: { role: "assistant", content: "Hello!" }, status: "done" },
        ],
      },
    ];
    localStorage.setItem("gptchat:v1:conversations", JSON.stringify(v1));
    const [conv] = loadConversations();
    expect(conv?.title).toBe("Old chat");
    expect(conv?.updatedAt).toBe(1_690_000_000_000);
    expect(conv?.messages.map((m) => [m.id, m.parentId, m.message.content])).toEqual([
      ["s", null, "Be brief."],
      ["u", "s", "Hi"],
      ["a", "u", "Hello!"],
    ]);
    expect(saveConversations(loadConversations())).toBe(true);
    expect(localStorage.getItem("gptchat:v1:conversations")).toBeNull();
    const again = loadConversations();
    expect(again.map((c) => c.messages.map((m) => m.id))).toEqual([["s", "u", "a"]]);
  });

  it("keeps every version across a save and load", () => {
    const conv = newConversation();
    const user = addUserMessage(conv, "Pick a number.");
    reply(conv, "r1", "a1", "7", user.id);
    prepareRegenerate(conv, user.id);
    reply(conv, "r2", "a2", "42", user.id);
    showVersion(conv, "a1");
    saveConversations([conv]);
    const [loaded] = loadConversations();
    expect(loaded?.nodes.map((m) => m.id)).toEqual([user.id, "a1", "a2"]);
    expect(loaded?.messages.map((m) => m.id)).toEqual([user.id, "a1"]);
    expect(versionsOf(loaded!).get("a1")).toMatchObject({ index: 1, count: 2 });
  });
});
