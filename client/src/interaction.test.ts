// The store's side of issue 15: answers, feedback and actions as the server gets them,
// in both history modes.
import { beforeEach, describe, expect, it } from "vitest";
import { ChatStore } from "./app-state.svelte";
import { LocalPersistence } from "./core/persistence";
import { DEFAULT_CONFIG } from "./protocol.gen";
import type { ClientToServerEvents, UIConfig } from "./protocol.gen";
import type { Outbox } from "./session";

type Sent = { [E in keyof ClientToServerEvents]: [E, Parameters<ClientToServerEvents[E]>[0]] };

class Recorder implements Outbox {
  sent: Sent[keyof Sent][] = [];
  emit<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): void {
    this.sent.push([event, payload] as Sent[keyof Sent]);
  }
  take(): Sent[keyof Sent][] {
    const out = this.sent;
    this.sent = [];
    return out;
  }
}

function storeWith(config: UIConfig): { store: ChatStore; out: Recorder } {
  const store = new ChatStore(new LocalPersistence());
  const out = new Recorder();
  store.attach(out);
  store.applyConfig(config);
  out.take();
  return { store, out };
}

/** A user message and its reply "a1" (with a retry action), done. */
function replied(store: ChatStore): string {
  store.send("Plan my trip");
  const conv = store.current;
  store.applyEvent("run_started", { conversation_id: conv.id, run_id: "r1" });
  store.applyEvent("message_delta", {
    conversation_id: conv.id,
    run_id: "r1",
    message_id: "a1",
    seq: 1,
    count: 1,
    deltas: [
      {
        role: "assistant",
        content: "Rome, then Naples.",
        actions: [{ name: "retry", label: "Try again", payload: { n: 1 } }],
      },
    ],
  });
  store.applyEvent("run_finished", { conversation_id: conv.id, run_id: "r1", status: "done" });
  return conv.id;
}

describe("answers", () => {
  beforeEach(() => localStorage.clear());

  it("sends an answer once, and waits for the server to take it", () => {
    const { store, out } = storeWith(DEFAULT_CONFIG);
    store.send("Book a table");
    const conv = store.current;
    store.applyEvent("run_started", { conversation_id: conv.id, run_id: "r1" });
    store.applyEvent("message_delta", {
      conversation_id: conv.id,
      run_id: "r1",
      message_id: "q1",
      seq: 1,
      count: 1,
      deltas: [{ role: "assistant", content: "For how many?", ask: { id: "k1", kind: "text" } }],
    });
    out.take();
    store.answer("k1", "Four");
    store.answer("k1", "Four"); // a double click: the first is on its way
    expect(out.take()).toEqual([
      ["answer", { conversation_id: conv.id, ask_id: "k1", value: "Four" }],
    ]);
    expect(conv.answers.sending).toBe("k1");
    store.applyEvent("message_delta", {
      conversation_id: conv.id,
      run_id: "r1",
      message_id: "q1",
      seq: 2,
      count: 1,
      deltas: [{ ask: { id: "k1", kind: "text", status: "answered", answer: "Four" } }],
    });
    expect(conv.answers.sending).toBeNull();
    // Nothing to answer once the reply is over.
    store.applyEvent("run_finished", { conversation_id: conv.id, run_id: "r1", status: "done" });
    store.answer("k1", "Five");
    expect(out.take()).toEqual([]);
  });
});

describe("feedback", () => {
  beforeEach(() => localStorage.clear());

  it("sends each click and the comment, and keeps the rating on the message", () => {
    const { store, out } = storeWith({ ...DEFAULT_CONFIG, feedback: true });
    const cid = replied(store);
    out.take();
    store.feedback("a1", "up");
    store.feedback("a1", "up", "Great route");
    store.feedback("a1", "down");
    store.feedback("a1", "down");
    expect(out.take()).toEqual([
      ["feedback", { conversation_id: cid, message_id: "a1", rating: "up" }],
      [
        "feedback",
        { conversation_id: cid, message_id: "a1", rating: "up", comment: "Great route" },
      ],
      ["feedback", { conversation_id: cid, message_id: "a1", rating: "down" }],
      ["feedback", { conversation_id: cid, message_id: "a1", rating: null }],
    ]);
    store.feedback("a1", "up");
    store.saveNow();
    const kept = new LocalPersistence().loadConversations().find((c) => c.id === cid);
    expect(kept?.messages.find((m) => m.id === "a1")?.feedback).toEqual({
      rating: "up",
      comment: null,
    });
  });
});

describe("run_action", () => {
  beforeEach(() => localStorage.clear());

  it("browser history: sends the branch shown, as send_message does, and runs", () => {
    const { store, out } = storeWith(DEFAULT_CONFIG);
    const cid = replied(store);
    const sent = out.take().find(([name]) => name === "send_message") as Sent["send_message"];
    store.runAction("a1", "retry");
    const [[event, payload]] = out.take() as [Sent["run_action"]];
    expect(event).toBe("run_action");
    expect(payload).toEqual({
      conversation_id: cid,
      message_id: "a1",
      name: "retry",
      messages: store.current.messages.map((m) => ({ id: m.id, message: expect.anything() })),
      parent_id: null,
    });
    expect(payload.messages!.map((m) => m.message.content)).toEqual([
      "Plan my trip",
      "Rome, then Naples.",
    ]);
    expect(payload.messages![0]).toEqual(sent[1].messages[0]);
    expect(store.current.running).toBe(true);
    // Once: a reply runs now.
    store.runAction("a1", "retry");
    expect(out.take()).toEqual([]);
    // Its reply is a run like any other, following the branch's last message.
    store.applyEvent("run_started", { conversation_id: cid, run_id: "r2", parent_id: "a1" });
    store.applyEvent("message_delta", {
      conversation_id: cid,
      run_id: "r2",
      message_id: "a2",
      seq: 1,
      count: 1,
      deltas: [{ role: "assistant", content: "Florence instead." }],
    });
    store.applyEvent("run_finished", { conversation_id: cid, run_id: "r2", status: "done" });
    expect(store.current.messages.map((m) => [m.id, m.parentId])).toEqual([
      [store.current.messages[0]!.id, null],
      ["a1", store.current.messages[0]!.id],
      ["a2", "a1"],
    ]);
    expect(store.current.running).toBe(false);
  });

  it("server history: names the branch's last message and sends no messages", () => {
    const { store, out } = storeWith({ ...DEFAULT_CONFIG, history: "server" });
    const cid = replied(store);
    out.take();
    store.runAction("a1", "retry");
    expect(out.take()).toEqual([
      [
        "run_action",
        { conversation_id: cid, message_id: "a1", name: "retry", messages: [], parent_id: "a1" },
      ],
    ]);
    expect(store.current.running).toBe(true);
  });
});

describe("a question kept by the store", () => {
  beforeEach(() => localStorage.clear());

  it("may be answered from a tab the reply does not run in; an answered one may not", () => {
    const { store, out } = storeWith({ ...DEFAULT_CONFIG, history: "server" });
    store.select("conv-q-0000");
    const ask = { id: "k1", kind: "choices", status: "pending", choices: ["Paris", "Rome"] };
    store.applyEvent("conversation", {
      conversation_id: "conv-q-0000",
      title: "Trip",
      updated_at: 1,
      messages: [
        { id: "u1", parent_id: null, message: { role: "user", content: "Plan a trip" } },
        {
          id: "q1",
          parent_id: "u1",
          message: { role: "assistant", content: "Which city?", ask },
          status: "incomplete",
        },
      ],
    });
    out.take();
    expect(store.current.running).toBe(false);
    store.answer("k1", "Rome");
    store.answer("nope", "Rome");
    expect(out.take()).toEqual([
      ["answer", { conversation_id: "conv-q-0000", ask_id: "k1", value: "Rome" }],
    ]);
    // Opened again once answered (the store kept it so): nothing more to answer.
    store.applyEvent("conversation", {
      conversation_id: "conv-q-0000",
      title: "Trip",
      updated_at: 2,
      messages: [
        { id: "u1", parent_id: null, message: { role: "user", content: "Plan a trip" } },
        {
          id: "q1",
          parent_id: "u1",
          message: {
            role: "assistant",
            content: "Which city?",
            ask: { ...ask, status: "answered" },
          },
        },
      ],
    });
    expect(store.current.answers.sending).toBeNull();
    store.answer("k1", "Paris");
    expect(out.take()).toEqual([]);
  });
});
