import { describe, expect, it } from "vitest";
import { newConversation, addUserMessage } from "./conversation";
import { LocalPersistence } from "./persistence";

describe("LocalPersistence", () => {
  it("keeps conversations and preferences under the keys earlier versions used", () => {
    localStorage.clear();
    const store = new LocalPersistence();
    const conv = newConversation();
    addUserMessage(conv, "Summarize the attached report in three bullet points.");
    expect(store.saveConversations([conv])).toBe(true);
    store.setPreference("current", conv.id);
    store.setPreference("theme", "dark");
    // Saved by a browser before the interface existed: still found after it.
    expect(localStorage.getItem("gptchat:v1:current")).toBe(conv.id);
    expect(localStorage.getItem("gptchat:v1:theme")).toBe("dark");
    const again = new LocalPersistence();
    expect(again.loadConversations().map((c) => c.title)).toEqual([
      "Summarize the attached report in three bullet points.",
    ]);
    expect(again.getPreference("theme")).toBe("dark");
    expect(again.getPreference("current")).toBe(conv.id);
  });
});
