import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  addUserMessage,
  applyServerEvent,
  editUserMessage,
  isConversationEvent,
  newConversation,
  onError,
  onMessageDelta,
  onRunFinished,
  onRunStarted,
  toWire,
} from "./conversation";
import type { Conversation } from "./conversation";
import { finishMessage } from "./merge";
import { clientKey, loadConversations, saveConversations } from "./persistence";
import type { MessageDelta } from "../protocol.gen";

const FIXTURES = path.resolve(__dirname, "../../../tests/fixtures/protocol");

function apply(conv: Conversation, event: string, payload: unknown): void {
  // The store's own path: `config` is the app's, every other event goes to the reducer.
  if (isConversationEvent(event)) applyServerEvent(conv, event, payload as never);
}

interface Fixture {
  name: string;
  events: [string, unknown][];
  expected: { id: string; message: Record<string, unknown> }[];
}

describe("replays the server's recorded event sequences", () => {
  const files = existsSync(FIXTURES)
    ? readdirSync(FIXTURES).filter((f) => f.endsWith(".json"))
    : [];
  it("has fixtures (python scripts/gen_fixtures.py writes them)", () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });
  for (const file of files) {
    it(file, () => {
      const fixture = JSON.parse(readFileSync(path.join(FIXTURES, file), "utf8")) as Fixture;
      const conv = newConversation();
      for (const [event, payload] of fixture.events) apply(conv, event, payload);
      expect(conv.running).toBe(false);
      const got = conv.messages.map((m) => ({ id: m.id, message: finishMessage(m.message) }));
      expect(got).toEqual(fixture.expected);
      // Replaying every event a second time (a duplicate delivery) changes nothing.
      for (const [event, payload] of fixture.events) apply(conv, event, payload);
      expect(conv.messages.map((m) => ({ id: m.id, message: finishMessage(m.message) }))).toEqual(
        fixture.expected,
      );
    });
  }
});

describe("conversation reducer", () => {
  const delta = (seq: number, content: string): MessageDelta => ({
    conversation_id: "c",
    run_id: "r",
    message_id: "m",
    seq,
    count: 1,
    deltas: [{ content }],
  });

  it("drops duplicates and waits on gaps", () => {
    const conv = newConversation();
    onRunStarted(conv, { conversation_id: "c", run_id: "r" });
    expect(onMessageDelta(conv, delta(1, "a"))).toBe(true);
    expect(onMessageDelta(conv, delta(1, "a"))).toBe(false);
    expect(onMessageDelta(conv, delta(3, "c"))).toBe(false);
    expect(onMessageDelta(conv, delta(2, "b"))).toBe(true);
    expect(conv.messages[0]?.message.content).toBe("ab");
    // Folded text: one event stands for several numbered deltas.
    expect(onMessageDelta(conv, { ...delta(3, "cde"), count: 3 })).toBe(true);
    expect(onMessageDelta(conv, { ...delta(5, "e"), count: 1 })).toBe(false);
    expect(onMessageDelta(conv, delta(6, "f"))).toBe(true);
    expect(conv.messages[0]?.message.content).toBe("abcdef");
  });

  it("edits a user message: a new version with the new text, images kept, shown alone", () => {
    const conv = newConversation([{ role: "system", content: "be brief" }]);
    addUserMessage(conv, "first");
    onRunStarted(conv, { conversation_id: "c", run_id: "r" });
    onMessageDelta(conv, delta(1, "reply"));
    onRunFinished(conv, { conversation_id: "c", run_id: "r", status: "done", error: null });
    const image = { type: "image_url" as const, image_url: { url: "data:image/png;base64,AA==" } };
    const second = addUserMessage(conv, [{ type: "text", text: "look" }, image]);
    const first = conv.messages[1]!;
    const again = editUserMessage(conv, second.id, "look again");
    expect(again?.message.content).toEqual([{ type: "text", text: "look again" }, image]);
    // The old version is kept as it was, beside the new one.
    expect(second.message.content).toEqual([{ type: "text", text: "look" }, image]);
    expect(again?.parentId).toBe(second.parentId);
    const edited = editUserMessage(conv, first.id, "first, edited");
    expect(conv.messages.map((m) => m.message.role)).toEqual(["system", "user"]);
    expect(conv.messages[1]).toBe(edited);
    expect(conv.messages[1]?.message.content).toBe("first, edited");
    expect(conv.nodes).toHaveLength(6);
    expect(editUserMessage(conv, conv.messages[0]!.id, "not a user message")).toBeNull();
    expect(editUserMessage(conv, "missing", "x")).toBeNull();
  });

  it("titles a conversation after its first user message", () => {
    const conv = newConversation();
    addUserMessage(conv, "  What is   the weather?  ");
    expect(conv.title).toBe("What is the weather?");
  });

  it("marks the run's messages stopped or failed, and shows errors", () => {
    const conv = newConversation();
    onRunStarted(conv, { conversation_id: "c", run_id: "r" });
    onMessageDelta(conv, delta(1, "partial"));
    onRunFinished(conv, { conversation_id: "c", run_id: "r", status: "error", error: "boom" });
    expect(conv.messages[0]?.status).toBe("error");
    expect(conv.error).toBe("boom");
    onError(conv, { code: "not_found", message: "nothing", conversation_id: "c" });
    expect(conv.error).toBe("boom");
  });

  it("sends only complete messages: no empty replies, no calls without results", () => {
    const conv = newConversation([{ role: "system", content: "be brief" }]);
    addUserMessage(conv, "hi");
    onRunStarted(conv, { conversation_id: "c", run_id: "r" });
    onMessageDelta(conv, {
      conversation_id: "c",
      run_id: "r",
      message_id: "m",
      seq: 1,
      count: 1,
      deltas: [
        {
          role: "assistant",
          tool_calls: [{ index: 0, id: "x", function: { name: "f", arguments: "{" } }],
        },
      ],
    });
    onRunFinished(conv, { conversation_id: "c", run_id: "r", status: "stopped" });
    const wire = toWire(conv);
    expect(wire.map((m) => m.message.role)).toEqual(["system", "user"]);
  });
});

describe("persistence", () => {
  it("round-trips conversations and survives garbage", () => {
    const conv = newConversation();
    addUserMessage(conv, "hello");
    saveConversations([conv]);
    expect(loadConversations()[0]?.title).toBe("hello");
    localStorage.setItem("gptchat:v2:conversations", "{not json");
    localStorage.setItem("gptchat:v1:conversations", "[1, null, {}]");
    expect(loadConversations()).toEqual([]);
  });
  it("keeps one client key per browser", () => {
    expect(clientKey()).toBe(clientKey());
    expect(clientKey()).toMatch(/^[0-9a-f]{48}$/);
  });
});
