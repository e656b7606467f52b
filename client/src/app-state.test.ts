import { beforeEach, describe, expect, it } from "vitest";
import { ChatStore, PAGE_SIZE } from "./app-state.svelte";
import { LocalPersistence } from "./core/persistence";
import { DEFAULT_CONFIG, PROTOCOL_VERSION } from "./protocol.gen";
import type { ClientToServerEvents, UIConfig } from "./protocol.gen";
import type { Outbox } from "./session";

type Sent = { [E in keyof ClientToServerEvents]: [E, Parameters<ClientToServerEvents[E]>[0]] };

/** The store's Outbox, recording what it sends instead of sending it. */
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
  names(): string[] {
    return this.take().map(([name]) => name);
  }
}

const SERVER: UIConfig = { ...DEFAULT_CONFIG, history: "server" };

function serverStore(config: UIConfig = SERVER): { store: ChatStore; out: Recorder } {
  const store = new ChatStore(new LocalPersistence());
  const out = new Recorder();
  store.attach(out);
  store.applyConfig(config);
  return { store, out };
}

const summary = (id: string, title: string, at: number) => ({
  conversation_id: id,
  title,
  updated_at: at,
  share_token: null,
});

describe("ChatStore with server history", () => {
  beforeEach(() => localStorage.clear());

  it("asks for the first page on connect and more at the end, newest first", () => {
    const { store, out } = serverStore();
    expect(out.take()).toEqual([["list_conversations", { query: "", limit: PAGE_SIZE }]]);
    const next = { updated_at: 50, conversation_id: "conv-b-0000" };
    store.applyList({
      query: "",
      before: null,
      items: [summary("conv-a-0000", "Recipes", 60), summary("conv-b-0000", "Taxes", 50)],
      next,
    });
    expect(store.sidebar.map((i) => i.title)).toEqual(["Recipes", "Taxes"]);
    store.loadMore();
    store.loadMore(); // one page on its way at a time
    expect(out.take()).toEqual([
      ["list_conversations", { query: "", before: next, limit: PAGE_SIZE }],
    ]);
    store.applyList({
      query: "",
      before: next,
      items: [summary("conv-c-0000", "Garden", 40)],
      next: null,
    });
    expect(store.sidebar.map((i) => i.title)).toEqual(["Recipes", "Taxes", "Garden"]);
    store.loadMore();
    expect(out.take()).toEqual([]); // the last page came
  });

  it("searches, drops a stale search's page, and restores the list on clear", () => {
    const { store, out } = serverStore();
    out.take();
    store.search("tax");
    store.search("taxes");
    store.applyList({ query: "tax", items: [summary("conv-x-0000", "Tax 2024", 9)] });
    expect(store.sidebar).toEqual([]);
    store.applyList({ query: "taxes", items: [summary("conv-b-0000", "Taxes", 50)] });
    expect(store.sidebar.map((i) => i.id)).toEqual(["conv-b-0000"]);
    // While searching, a conversation that does not match is not added.
    store.applyEvent("conversation_changed", summary("conv-n-0000", "New", 99));
    expect(store.sidebar.map((i) => i.id)).toEqual(["conv-b-0000"]);
    store.search("");
    expect(out.take().at(-1)).toEqual(["list_conversations", { query: "", limit: PAGE_SIZE }]);
  });

  it("opens a conversation, shows its newest branch, and sends only the new message", () => {
    const { store, out } = serverStore();
    out.take();
    store.select("conv-a-0000");
    expect(out.take()).toEqual([["open_conversation", { conversation_id: "conv-a-0000" }]]);
    expect(store.current.loaded).toBe(false);
    expect(store.opening).toBe("conv-a-0000");
    store.applyEvent("conversation", {
      conversation_id: "conv-a-0000",
      title: "Recipes",
      updated_at: 60,
      messages: [
        { id: "u1", parent_id: null, message: { role: "user", content: "Soup?" } },
        { id: "a1", parent_id: "u1", message: { role: "assistant", content: "Leek soup." } },
      ],
    });
    expect(store.opening).toBeNull();
    expect(store.current.messages.map((m) => m.id)).toEqual(["u1", "a1"]);
    store.send("And a dessert?");
    const [[event, payload]] = out.take() as [Sent["send_message"]];
    expect(event).toBe("send_message");
    expect(payload.parent_id).toBe("a1");
    expect(payload.messages).toHaveLength(1);
    expect(payload.messages[0]?.message).toEqual({ role: "user", content: "And a dessert?" });
    const userId = payload.messages[0]!.id;
    store.applyEvent("run_started", {
      conversation_id: "conv-a-0000",
      run_id: "r",
      parent_id: userId,
    });
    store.applyEvent("run_finished", {
      conversation_id: "conv-a-0000",
      run_id: "r",
      status: "done",
    });
    // Regenerate answers the user message again; edit sends under the edited one's parent.
    store.retry();
    expect(out.take()).toEqual([
      ["regenerate", { conversation_id: "conv-a-0000", parent_id: userId }],
    ]);
    store.applyEvent("run_started", {
      conversation_id: "conv-a-0000",
      run_id: "r2",
      parent_id: userId,
    });
    store.applyEvent("run_finished", {
      conversation_id: "conv-a-0000",
      run_id: "r2",
      status: "done",
    });
    store.edit("u1", "Stew?");
    const [[, edit]] = out.take() as [Sent["send_message"]];
    expect(edit.parent_id).toBeNull();
    expect(edit.messages[0]?.message.content).toBe("Stew?");
    expect(edit.messages[0]?.id).not.toBe("u1");
  });

  it("gives a new chat's initial messages the server's ids", () => {
    const { store, out } = serverStore({
      ...SERVER,
      messages: [{ role: "system", content: "You are a pirate." }],
    });
    out.take();
    store.send("Ahoy?");
    const [[, payload]] = out.take() as [Sent["send_message"]];
    expect(payload.parent_id).toBe("init-0");
    expect(store.current.messages.map((m) => m.id)[0]).toBe("init-0");
  });

  it("re-opens the open conversation when another tab changes it, and drops a deleted one", () => {
    const { store, out } = serverStore();
    store.select("conv-a-0000");
    store.applyEvent("conversation", {
      conversation_id: "conv-a-0000",
      title: "Recipes",
      updated_at: 60,
      messages: [{ id: "u1", parent_id: null, message: { role: "user", content: "Soup?" } }],
    });
    out.take();
    store.applyEvent("conversation_changed", summary("conv-a-0000", "Soups", 70));
    expect(out.take()).toEqual([["open_conversation", { conversation_id: "conv-a-0000" }]]);
    expect(store.current.title).toBe("Soups");
    expect(store.sidebar.map((i) => i.title)).toEqual(["Soups"]);
    // Not re-opened while its reply runs here: the deltas are already coming.
    store.current.running = true;
    store.applyEvent("conversation_changed", summary("conv-a-0000", "Soups", 71));
    expect(out.take()).toEqual([]);
    store.applyDeleted({ conversation_id: "conv-a-0000" });
    expect(store.sidebar).toEqual([]);
    expect(store.current.id).not.toBe("conv-a-0000");
    expect(store.current.messages).toEqual([]);
  });

  it("drops a conversation asked for before this tab sent a message (it lacks it)", () => {
    const { store, out } = serverStore();
    store.select("conv-a-0000");
    const stored = {
      conversation_id: "conv-a-0000",
      title: "Recipes",
      updated_at: 60,
      messages: [{ id: "u1", parent_id: null, message: { role: "user", content: "Soup?" } }],
    };
    store.applyEvent("conversation", stored);
    // Renamed elsewhere: asked for again; meanwhile this tab sends.
    store.applyEvent("run_finished", {
      conversation_id: "conv-a-0000",
      run_id: "x",
      status: "done",
    });
    store.applyEvent("conversation_changed", summary("conv-a-0000", "Soups", 70));
    store.send("And bread?");
    out.take();
    store.applyEvent("conversation", stored);
    expect(store.current.messages.map((m) => m.message.content)).toEqual(["Soup?", "And bread?"]);
    // Asked for after the send: applied.
    store.applyEvent("run_started", { conversation_id: "conv-a-0000", run_id: "r" });
    store.applyEvent("run_finished", {
      conversation_id: "conv-a-0000",
      run_id: "r",
      status: "done",
    });
    // The change this tab's own reply makes as it ends is no news: not asked for again.
    store.applyEvent("conversation_changed", summary("conv-a-0000", "Soups", 80));
    expect(out.names()).toEqual([]);
    store.select("conv-a-0000");
    expect(out.names()).toEqual(["open_conversation"]);
    store.applyEvent("conversation", { ...stored, title: "Soups" });
    expect(store.current.messages.map((m) => m.message.content)).toEqual(["Soup?"]);
  });

  it("imports a file's messages into the server's store and opens its copy", () => {
    const { store, out } = serverStore();
    out.take();
    const messages = [
      { role: "user" as const, content: "Imported question" },
      { role: "assistant" as const, content: "Imported answer" },
    ];
    store.importConversation("From a file", messages);
    const [[event, payload]] = out.take() as [Sent["import_conversation"]];
    expect(event).toBe("import_conversation");
    expect(payload).toMatchObject({ title: "From a file", messages });
    const id = payload.conversation_id;
    expect(store.currentId).toBe(id);
    expect(store.current.loaded).toBe(false);
    store.applyEvent("conversation_changed", summary(id, "From a file", 100));
    expect(out.take()).toEqual([["open_conversation", { conversation_id: id }]]);
    // Refused (too large, a bad message): said, and nothing of it stays.
    store.importConversation(null, messages);
    const [[, second]] = out.take() as [Sent["import_conversation"]];
    store.applyEvent("error", {
      code: "limit",
      message: "The file has too many messages",
      conversation_id: second.conversation_id,
    });
    expect(store.notice).toBe("The file has too many messages");
    expect(store.conversations.some((c) => c.id === second.conversation_id)).toBe(false);
  });

  it("shares the branch shown, and stops sharing", () => {
    const { store, out } = serverStore();
    store.send("Share me");
    const conv = store.current;
    const leaf = conv.messages.at(-1)!.id;
    out.take();
    store.share(conv.id, true);
    store.share(conv.id, false);
    expect(out.take()).toEqual([
      ["share_conversation", { conversation_id: conv.id, shared: true, leaf_id: leaf }],
      ["share_conversation", { conversation_id: conv.id, shared: false, leaf_id: leaf }],
    ]);
    store.applyEvent("conversation_changed", {
      ...summary(conv.id, "Share me", 5),
      share_token: "tok",
    });
    expect(store.sidebar[0]?.shareToken).toBe("tok");
  });

  it("renames and deletes through the server", () => {
    const { store, out } = serverStore();
    store.applyList({ query: "", items: [summary("conv-a-0000", "Recipes", 60)] });
    out.take();
    store.rename("conv-a-0000", "  Soups  ");
    store.remove("conv-a-0000");
    expect(out.take()).toEqual([
      ["rename_conversation", { conversation_id: "conv-a-0000", title: "Soups" }],
      ["delete_conversation", { conversation_id: "conv-a-0000" }],
    ]);
  });

  it("uploads what this browser kept once, and removes it when the server has it", () => {
    const saved = [
      {
        id: "c0ffee00c0ffee00",
        title: "Old chat",
        updatedAt: 1_690_000_000_000,
        messages: [
          { id: "u", message: { role: "user", content: "Hi" }, status: "done" },
          { id: "a", message: { role: "assistant", content: "Hello!" }, status: "done" },
        ],
      },
      { id: "empty000empty000", title: "New chat", updatedAt: 1, messages: [] },
    ];
    localStorage.setItem("gptchat:v1:conversations", JSON.stringify(saved));
    const { store, out } = serverStore();
    const imports = out.take().filter(([name]) => name === "import_conversation");
    expect(imports).toEqual([
      [
        "import_conversation",
        {
          conversation_id: "c0ffee00c0ffee00",
          title: "Old chat",
          messages: [
            { role: "user", content: "Hi" },
            { role: "assistant", content: "Hello!" },
          ],
          updated_at: 1_690_000_000,
        },
      ],
    ]);
    // Its copy here is not written to until the server has it.
    store.select("c0ffee00c0ffee00");
    store.send("Too soon");
    expect(out.take().filter(([name]) => name === "send_message")).toEqual([]);
    // Interrupted before the server answered: a reload uploads it again.
    expect(new LocalPersistence().loadConversations().map((c) => c.id)).toContain(
      "c0ffee00c0ffee00",
    );
    store.applyEvent(
      "conversation_changed",
      summary("c0ffee00c0ffee00", "Old chat", 1_690_000_000),
    );
    expect(localStorage.getItem("gptchat:v1:conversations")).toBeNull();
    expect(new LocalPersistence().loadConversations()).toEqual([]);
    expect(store.sidebar.map((i) => i.id)).toEqual(["c0ffee00c0ffee00"]);
  });

  it("reopens the conversation of the last visit; a gone one gives a new chat", () => {
    localStorage.setItem("gptchat:v1:current", "conv-a-0000");
    const { store, out } = serverStore();
    expect(out.names()).toEqual(["list_conversations", "open_conversation"]);
    expect(store.currentId).toBe("conv-a-0000");
    store.applyEvent("error", {
      code: "not_found",
      message: "No such conversation",
      conversation_id: "conv-a-0000",
    });
    expect(store.currentId).not.toBe("conv-a-0000");
    expect(store.current.loaded).toBe(true);
  });

  it("after a reconnect, a reply that is no longer running is not shown as running", () => {
    const { store, out } = serverStore();
    store.send("Long task");
    const conv = store.current;
    store.applyEvent("run_started", { conversation_id: conv.id, run_id: "r" });
    out.take();
    store.applyConfig(SERVER); // the socket came back
    expect(out.names()).toEqual(["list_conversations", "open_conversation", "resume"]);
    store.applyEvent("error", { code: "not_found", message: "no reply", conversation_id: conv.id });
    expect(conv.running).toBe(false);
    expect(conv.error).toBeNull();
  });

  it("says a store error once, and keeps the reply going", () => {
    const { store } = serverStore();
    const conv = store.current;
    store.send("Hello");
    store.applyEvent("run_started", { conversation_id: conv.id, run_id: "r" });
    const error = { code: "store" as const, message: "History could not be saved: disk full" };
    store.applyEvent("error", { ...error, conversation_id: conv.id });
    expect(store.notice).toBe(error.message);
    expect(conv.running).toBe(true);
    expect(conv.error).toBeNull();
    store.notice = null;
    store.applyEvent("error", { ...error, conversation_id: conv.id });
    expect(store.notice).toBeNull();
  });

  it("stops sending when the page is out of date", () => {
    const { store, out } = serverStore({ ...SERVER, protocol: PROTOCOL_VERSION + 1 });
    expect(store.outdated).toBe(true);
    expect(out.take()).toEqual([]);
    const other = serverStore().store;
    other.applyEvent("error", { code: "outdated", message: "This page is out of date" });
    expect(other.outdated).toBe(true);
    other.send("Hello?");
    other.search("x");
    expect(other.current.messages).toEqual([]);
  });
});

describe("ChatStore with browser history", () => {
  beforeEach(() => localStorage.clear());

  it("keeps an imported file's messages in this browser, as a chain", () => {
    const store = new ChatStore(new LocalPersistence());
    store.attach(new Recorder());
    store.applyConfig(DEFAULT_CONFIG);
    store.importConversation("", [
      { role: "user", content: "Q" },
      { role: "assistant", content: "A" },
    ]);
    expect(store.current.title).toBe("Imported chat");
    expect(store.current.messages.map((m) => [m.id, m.parentId])).toEqual([
      ["import-0", null],
      ["import-1", "import-0"],
    ]);
    store.saveNow();
    expect(new LocalPersistence().loadConversations()[0]?.title).toBe("Imported chat");
  });

  it("sends the whole branch shown, after an edit too", () => {
    const store = new ChatStore(new LocalPersistence());
    const out = new Recorder();
    store.attach(out);
    store.applyConfig(DEFAULT_CONFIG);
    store.send("First question");
    const conv = store.current;
    const firstId = conv.messages[0]!.id;
    store.applyEvent("run_started", { conversation_id: conv.id, run_id: "r", parent_id: firstId });
    store.applyEvent("message_delta", {
      conversation_id: conv.id,
      run_id: "r",
      message_id: "a1",
      seq: 1,
      count: 1,
      deltas: [{ role: "assistant", content: "First answer" }],
    });
    store.applyEvent("run_finished", { conversation_id: conv.id, run_id: "r", status: "done" });
    store.send("Second question");
    store.applyEvent("run_started", { conversation_id: conv.id, run_id: "r2" });
    store.applyEvent("run_finished", { conversation_id: conv.id, run_id: "r2", status: "done" });
    store.edit(firstId, "First question, rephrased");
    const sends = out.take().filter(([name]) => name === "send_message") as Sent["send_message"][];
    const contents = sends.map(([, p]) => p.messages.map((m) => m.message.content));
    expect(contents).toEqual([
      ["First question"],
      ["First question", "First answer", "Second question"],
      ["First question, rephrased"],
    ]);
    expect(sends.every(([, p]) => p.parent_id === undefined)).toBe(true);
  });
});
