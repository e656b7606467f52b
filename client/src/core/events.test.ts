import { describe, expect, it } from "vitest";
import {
  CONVERSATION_EVENTS,
  addUserMessage,
  applyServerEvent,
  isConversationEvent,
  newConversation,
} from "./conversation";
import { ServerEvent } from "../protocol.gen";

describe("applyServerEvent", () => {
  it("has a reducer for every server event but the app's (config, the list, deletions)", () => {
    const all: string[] = Object.values(ServerEvent);
    const app = ["config", "conversation_list", "conversation_deleted"];
    expect([...CONVERSATION_EVENTS].sort()).toEqual(all.filter((e) => !app.includes(e)).sort());
    expect(isConversationEvent("config")).toBe(false);
    expect(isConversationEvent("toString")).toBe(false);
  });

  it("takes a reply from its start to a refusal of the next message", () => {
    const conv = newConversation();
    addUserMessage(conv, "Write a haiku about autumn, then explain its structure.");
    const ids = { conversation_id: conv.id, run_id: "r1" };
    applyServerEvent(conv, "run_started", ids);
    applyServerEvent(conv, "message_delta", {
      ...ids,
      message_id: "m1",
      seq: 1,
      count: 2,
      deltas: [
        { role: "assistant", content: "Crimson leaves descend,\n" },
        {
          content: "whispering to the cold earth,\nsummer's last goodbye.\n\n**5-7-5** syllables.",
        },
      ],
    });
    applyServerEvent(conv, "run_finished", { ...ids, status: "done" });
    expect(conv.running).toBe(false);
    expect(conv.messages[1]?.message.content).toContain("summer's last goodbye.");
    expect(conv.messages[1]?.status).toBe("done");
    // A second send while one runs: refused, and the conversation is still running.
    conv.running = true;
    applyServerEvent(conv, "error", {
      code: "busy",
      message: "A reply is already running",
      conversation_id: conv.id,
    });
    expect(conv.error).toBe("A reply is already running");
    expect(conv.running).toBe(true);
  });
});
