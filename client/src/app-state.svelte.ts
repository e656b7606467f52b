// The app's state, in one place: configuration, conversations, connection. Server events
// (from the session, `session.ts`) mutate conversations in place; the UI re-reads them
// once per animation frame (`tick`). What the store sends goes out through an `Outbox`.
// Where conversations are kept (`config.history`) decides what it sends: the whole branch
// (browser: localStorage keeps them) or only the new message (server: its store keeps them,
// the sidebar lists its pages, and conversations this browser kept are uploaded once).
import {
  addUserMessage,
  applyServerEvent,
  editUserMessage,
  emptyConversation,
  newConversation,
  prepareRegenerate,
  randomId,
  toWire,
  toWireMessages,
  uiMessage,
  userMessageBefore,
} from "./core/conversation";
import type {
  Conversation,
  ConversationEventName,
  ServerPayload,
  UIMessage,
} from "./core/conversation";
import type { Persistence } from "./core/persistence";
import { exportUrl, toJson, toMarkdown } from "./core/exportFormat";
import { itemOf, sortNewest } from "./core/sidebar";
import { ConversationListState } from "./list-state.svelte";
import type { SidebarItem } from "./core/sidebar";
import { addNode, findNode, showVersion } from "./core/tree";
import { answerSent, pendingAsk } from "./core/ask";
import { nextRating, setFeedback } from "./core/feedback";
import type { Delta } from "./core/merge";
import type {
  ChatMessage,
  ClientToServerEvents,
  Rating,
  ConversationDeleted,
  ConversationList,
  UIConfig,
} from "./protocol.gen";
import { loadRenderer } from "./ui/markdown/index";
import { keptOnEdit } from "./ui/parts/index";
import { DEFAULT_CONFIG, PROTOCOL_VERSION } from "./protocol.gen";
import { setImageHosts } from "./core/markdown/images";
import type { Outbox } from "./session";

type ExportFormat = "json" | "markdown";

/** How long after a reply of this tab ends its own `conversation_changed` may come. */
const OWN_CHANGE_MS = 2000;

export { PAGE_SIZE } from "./list-state.svelte";

type Payload<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];

export class ChatStore {
  config = $state<UIConfig>(DEFAULT_CONFIG);
  connected = $state(false);
  /** False until the first connect; the banner waits for it to avoid a flash on load. */
  everConnected = $state(false);
  conversations = $state.raw<Conversation[]>([]);
  currentId = $state("");
  /** Bumped at most once per frame after conversations changed in place. */
  tick = $state(0);
  notice = $state<string | null>(null);
  /** This page is older (or newer) than the server: it asks for a reload and sends nothing. */
  outdated = $state(false);
  /** Server history: the sidebar's pages, its search. */
  readonly list = new ConversationListState((p) => this.emit("list_conversations", p));
  /** Server history: the conversation asked for (`open_conversation`) and not come yet. */
  opening = $state<string | null>(null);

  private outbox: Outbox | null = null;
  private framePending = false;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private serverMode = false;
  private storeNoticeShown = false;
  /** Conversations this browser kept, to upload into the server's store (once each). */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- never rendered: not state
  private uploads = new Map<string, Conversation>();
  /** How many messages this tab has sent: a conversation asked for before one is stale. */
  private sends = 0;
  /** Each conversation asked for, and `sends` when it was. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- never rendered: not state
  private asked = new Map<string, number>();
  /** When a reply of this tab ended, by conversation: the change it makes is no news here. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- never rendered: not state
  private ownEnd = new Map<string, number>();
  /** Server history: the conversation imported from a file, until the server has it. */
  private pendingImport: string | null = null;
  /** The conversation open at the end of the last visit (server history reopens it). */
  private readonly lastOpen: string | null;

  constructor(readonly persistence: Persistence) {
    this.conversations = persistence.loadConversations();
    const id = persistence.getPreference("current");
    this.lastOpen = id;
    const found = this.conversations.find((c) => c.id === id);
    if (found) this.currentId = found.id;
    else this.startNewChat();
  }

  get current(): Conversation {
    void this.tick;
    const found = this.conversations.find((c) => c.id === this.currentId) ?? this.conversations[0];
    // The constructor and remove() keep at least one conversation.
    if (!found) throw new Error("gptchat: no conversation");
    return found;
  }

  /** Whether the server keeps the conversations (`config.history == "server"`). */
  get serverHistory(): boolean {
    return this.config.history === "server";
  }

  /** What the sidebar lists, newest first. */
  get sidebar(): SidebarItem[] {
    void this.tick;
    if (this.serverHistory) return this.list.items;
    return sortNewest(
      this.conversations.map((c) => ({
        id: c.id,
        title: c.title,
        updatedAt: c.updatedAt,
        shareToken: c.shareToken,
      })),
    );
  }

  /** Where the store's client events go (the session); none until it is attached. */
  attach(outbox: Outbox): void {
    this.outbox = outbox;
  }

  setConnected(connected: boolean): void {
    this.connected = connected;
    if (connected) this.everConnected = true;
  }

  private emit<E extends keyof ClientToServerEvents>(event: E, payload: Payload<E>): void {
    if (!this.outdated) this.outbox?.emit(event, payload);
  }

  /**
   * Whether a message may be sent in `conv` now: not while a reply runs, while it has not
   * come from the server, or while this browser's copy is being uploaded (a send first
   * would start it on the server without its earlier messages).
   */
  private canSend(conv: Conversation): boolean {
    return !conv.running && conv.loaded && !this.outdated && !this.uploads.has(conv.id);
  }

  send(content: ChatMessage["content"]): void {
    const conv = this.current;
    if (!this.canSend(conv)) return;
    const msg = addUserMessage(conv, content);
    this.dispatch(conv, msg);
  }

  /** Edit an earlier user message: a new version of it, shown and sent. */
  edit(messageId: string, text: string): void {
    const conv = this.current;
    if (!this.canSend(conv) || !text.trim()) return;
    const msg = editUserMessage(conv, messageId, text, keptOnEdit);
    if (msg) this.dispatch(conv, msg);
  }

  /**
   * Answer again the user message at or above `fromId` (default: the last one): regenerates
   * a reply (the new one is a sibling of the old), or retries after an error.
   */
  retry(fromId?: string): void {
    const conv = this.current;
    if (!this.canSend(conv)) return;
    const user = userMessageBefore(conv, fromId);
    if (!user || !prepareRegenerate(conv, user.id)) return;
    if (this.serverHistory) {
      conv.running = true;
      this.sends++;
      this.emit("regenerate", { conversation_id: conv.id, parent_id: user.id });
      this.changed();
    } else this.dispatch(conv, null);
  }

  /** Show another version of a message (the "‹ 2 / 3 ›" switcher). */
  showVersion(messageId: string): void {
    const conv = this.current;
    if (conv.running) return;
    if (showVersion(conv, messageId)) this.changed();
  }

  stop(): void {
    this.emit("stop", { conversation_id: this.current.id });
  }

  startNewChat(): void {
    const current = this.conversations.find((c) => c.id === this.currentId);
    if (current?.loaded && !current.messages.some((m) => m.message.role === "user")) return;
    const conv = newConversation(this.config.messages);
    this.conversations = [conv, ...this.conversations];
    this.select(conv.id);
  }

  select(id: string): void {
    if (this.serverHistory) this.open(id);
    this.currentId = id;
    this.persistence.setPreference("current", id);
    this.changed();
  }

  /** Server history: ask for a conversation (shown from what is here while it comes). */
  private open(id: string): void {
    let conv = this.conversations.find((c) => c.id === id);
    if (conv?.running) return; // its reply streams here: what we have is the newest
    if (conv && conv.loaded && !conv.messages.some((m) => m.message.role === "user")) return;
    if (!conv) {
      const item = this.list.items.find((i) => i.id === id);
      conv = emptyConversation(id, item?.title ?? "", item?.updatedAt);
      conv.loaded = false;
      this.conversations = [...this.conversations, conv];
    }
    if (!conv.loaded) this.opening = id;
    this.requestOpen(id);
  }

  /** Ask for a conversation's messages (its answer is dropped if this tab sends first). */
  private requestOpen(id: string): void {
    this.asked.set(id, this.sends);
    this.emit("open_conversation", { conversation_id: id });
  }

  rename(id: string, title: string): void {
    const clean = title.trim().slice(0, 200);
    if (!clean) return;
    const conv = this.conversations.find((c) => c.id === id);
    if (conv) conv.title = clean;
    if (this.serverHistory) {
      this.list.renamed(id, clean);
      this.emit("rename_conversation", { conversation_id: id, title: clean });
    }
    this.changed();
  }

  remove(id: string): void {
    if (this.serverHistory) this.emit("delete_conversation", { conversation_id: id });
    this.forget(id);
  }

  private forget(id: string): void {
    this.conversations = this.conversations.filter((c) => c.id !== id);
    this.list.remove(id);
    if (this.currentId === id || this.conversations.length === 0) {
      if (this.conversations.length === 0 || this.serverHistory) this.startNewChat();
      else this.select(this.conversations[0]?.id ?? "");
    }
    this.changed();
  }

  /**
   * Server history: share a conversation read-only by link (the branch shown, if it is the
   * open one), or stop sharing it; `conversation_changed` brings the link's token.
   */
  share(id: string, shared: boolean): void {
    if (!this.serverHistory) return;
    this.emit("share_conversation", { conversation_id: id, shared, leaf_id: this.shownLeaf(id) });
  }

  /**
   * Where to download a conversation the server keeps (the branch shown, if it is the open
   * one); null when the browser keeps it, and `exportText` writes the file.
   */
  exportHref(id: string, format: ExportFormat): string | null {
    if (!this.serverHistory) return null;
    return exportUrl(id, format, this.shownLeaf(id));
  }

  /** The last message of the branch shown, if the conversation is loaded here; else null
   * (the server takes its newest branch). */
  private shownLeaf(id: string): string | null {
    const conv = this.conversations.find((c) => c.id === id);
    return conv?.loaded ? (conv.messages[conv.messages.length - 1]?.id ?? null) : null;
  }

  /** A conversation this browser keeps, as the file Export gives (the branch shown). */
  exportText(id: string, format: ExportFormat): string {
    const conv = this.conversations.find((c) => c.id === id);
    const messages = conv ? toWire(conv).map((m) => m.message) : [];
    return format === "json" ? toJson(messages) : toMarkdown(conv?.title ?? "", messages);
  }

  /**
   * Keep OpenAI-format messages (an imported file) as a new conversation and open it: the
   * server keeps it (server history), or this browser does.
   */
  importConversation(title: string | null, messages: ChatMessage[]): void {
    if (!messages.length || this.outdated) return;
    const conv = emptyConversation(randomId(), title?.trim().slice(0, 200) || "Imported chat");
    let parent: string | null = null;
    messages.forEach((m, i) => {
      const msg = uiMessage(`import-${i}`, m as Delta, "done", null, parent);
      addNode(conv, msg);
      parent = msg.id;
    });
    if (this.serverHistory) {
      this.emit("import_conversation", {
        conversation_id: conv.id,
        title: conv.title,
        messages,
        updated_at: conv.updatedAt / 1000,
      });
      // Shown from the server's copy once it is in (its conversation_changed opens it).
      conv.loaded = false;
      this.opening = conv.id;
      this.pendingImport = conv.id;
    }
    this.conversations = [conv, ...this.conversations];
    this.currentId = conv.id;
    this.persistence.setPreference("current", conv.id);
    this.changed();
  }

  /** Server history: list the conversations matching `query` ("" for all), first page. */
  search(query: string): void {
    this.list.search(query);
  }

  /** Server history: the next page of the list, if there is one and none is on its way. */
  loadMore(): void {
    if (this.serverHistory) this.list.loadMore();
  }

  /**
   * Answer the question `askId` of the open conversation's running reply; its controls
   * wait until the server takes the answer (the ask is restated) or refuses it (an error).
   */
  answer(askId: string, value: unknown): void {
    const conv = this.current;
    if (conv.answers.sending !== null || this.outdated || !pendingAsk(conv, askId)) return;
    answerSent(conv.answers, askId);
    this.emit("answer", { conversation_id: conv.id, ask_id: askId, value });
    this.changed();
  }

  /**
   * Rate a reply: a click on `rating` (the same thumb again takes the rating back), or,
   * with `comment`, the comment on the rating it has.
   */
  feedback(messageId: string, rating: Rating, comment?: string): void {
    const conv = this.current;
    const msg = findNode(conv, messageId);
    if (!msg || this.outdated) return;
    const next = comment === undefined ? nextRating(msg.feedback?.rating, rating) : rating;
    setFeedback(msg, next, comment);
    this.emit("feedback", {
      conversation_id: conv.id,
      message_id: messageId,
      rating: next,
      ...(comment === undefined ? {} : { comment }),
    });
    this.changed();
  }

  /**
   * Click the action `name` under message `messageId`: its handler runs as a reply to the
   * branch shown (browser history sends the branch, server history names its last message).
   */
  runAction(messageId: string, name: string): void {
    const conv = this.current;
    if (!this.canSend(conv) || !findNode(conv, messageId)) return;
    const leaf = conv.messages[conv.messages.length - 1]?.id ?? null;
    const base = { conversation_id: conv.id, message_id: messageId, name };
    const payload = this.serverHistory
      ? { ...base, messages: [], parent_id: leaf }
      : { ...base, messages: toWire(conv), parent_id: null };
    if (this.tooLarge(conv, payload)) return;
    this.started(conv);
    this.emit("run_action", payload);
  }

  /** Over the server's limit the socket would be cut with no word: say so instead. */
  private tooLarge(conv: Conversation, payload: object): boolean {
    const bytes = new TextEncoder().encode(JSON.stringify(payload)).length;
    const limit = this.config.max_message_bytes;
    if (bytes <= limit) return false;
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    conv.error =
      `This conversation is too large to send (${mb(bytes)} MB; the server takes up to ` +
      `${mb(limit)} MB). Start a new chat, or edit a message to drop its images.`;
    this.changed();
    return true;
  }

  /** A reply was asked for: the conversation runs until run_finished or an error. */
  private started(conv: Conversation): void {
    conv.updatedAt = Date.now();
    conv.running = true;
    conv.error = null;
    this.sends++;
    // The markdown chunk, while the reply is on its way; a failure here is retried
    // when the reply renders.
    loadRenderer().catch(() => undefined);
    this.changed();
  }

  /** Send a new user message (`msg`; null: answer the branch again, browser history). */
  private dispatch(conv: Conversation, msg: UIMessage | null): void {
    conv.updatedAt = Date.now();
    const payload =
      this.serverHistory && msg
        ? { conversation_id: conv.id, messages: toWireMessages([msg]), parent_id: msg.parentId }
        : { conversation_id: conv.id, messages: toWire(conv) };
    if (this.tooLarge(conv, payload)) return;
    this.started(conv);
    this.emit("send_message", payload);
  }

  /** The server's config, on every (re)connect: then catch up with what we missed. */
  applyConfig(config: UIConfig): void {
    this.config = config;
    if (config.protocol !== PROTOCOL_VERSION) {
      this.outdated = true;
      return;
    }
    setImageHosts(config.image_hosts);
    document.title = config.title;
    if (config.history === "server" && !this.serverMode) this.enterServerHistory();
    for (const conv of this.conversations) {
      if (conv.loaded && conv.nodes.length === 0 && config.messages.length) {
        const fresh = newConversation(config.messages);
        conv.nodes = fresh.nodes;
        conv.messages = fresh.messages;
        conv.chosen = fresh.chosen;
      }
    }
    this.resync();
    this.changed();
  }

  /**
   * The server keeps the conversations from now on: what this browser kept is uploaded
   * (and removed from it once the server has it); the open one is asked for.
   */
  private enterServerHistory(): void {
    this.serverMode = true;
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    for (const conv of this.persistence.loadConversations()) {
      if (conv.messages.some((m) => m.message.role === "user")) this.uploads.set(conv.id, conv);
    }
    const current = this.conversations.find((c) => c.id === this.currentId);
    const kept = current && current.messages.some((m) => m.message.role === "user");
    this.conversations = kept ? [current] : [];
    if (!kept) {
      const id = this.lastOpen;
      // The open conversation of the last visit: asked for by resync() below.
      if (id && id !== current?.id && /^[A-Za-z0-9_-]{8,64}$/.test(id) && !this.uploads.has(id)) {
        const shell = emptyConversation(id, "");
        shell.loaded = false;
        this.conversations = [shell];
        this.currentId = id;
        this.persistence.setPreference("current", id);
        this.opening = id;
      } else if (current) this.conversations = [current];
      else this.startNewChat();
    }
  }

  /** After a (re)connect: resume replies, and with server history refresh what is shown. */
  private resync(): void {
    if (this.serverMode) {
      this.list.search(this.list.query);
      for (const conv of this.uploads.values()) this.upload(conv);
    }
    for (const conv of this.conversations) {
      const current = conv.id === this.currentId;
      if (this.serverMode && current && !this.uploads.has(conv.id)) {
        // Opening attaches this tab to a reply running there (a snapshot follows); a reply
        // it was showing asks to resume too, whose not_found says it is over.
        const started = !conv.loaded || conv.messages.some((m) => m.message.role === "user");
        if (started) this.requestOpen(conv.id);
        if (conv.running) this.emit("resume", { conversation_id: conv.id });
      } else if (conv.running) this.emit("resume", { conversation_id: conv.id });
    }
  }

  private upload(conv: Conversation): void {
    const messages = toWireMessages(conv.messages).map((m) => m.message);
    const title = conv.title.trim().slice(0, 200);
    this.emit("import_conversation", {
      conversation_id: conv.id,
      title: title || null,
      messages,
      updated_at: conv.updatedAt / 1000,
    });
  }

  /** A server event for one conversation, through the reducer; re-render if it applied. */
  applyEvent<E extends ConversationEventName>(event: E, payload: ServerPayload<E>): void {
    const id = payload.conversation_id;
    let conv = this.conversations.find((c) => c.id === id);
    if (event === "error") {
      const error = payload as ServerPayload<"error">;
      if (conv && conv.id === this.pendingImport) {
        // The server refused the file's messages: say why; nothing of it is kept.
        this.pendingImport = null;
        this.opening = null;
        this.notice = error.message;
        this.forget(conv.id);
        return;
      }
      if (error.code === "outdated") this.outdated = true;
      else if (error.code === "store") {
        // The reply goes on; the store's trouble is said once, not per run.
        if (!this.storeNoticeShown) this.notice = error.message;
        this.storeNoticeShown = true;
      } else if (error.code === "not_found" && conv && !conv.loaded) {
        // Asked for a conversation that is gone (deleted elsewhere, another user's).
        if (this.opening === id) this.opening = null;
        if (!this.uploads.has(conv.id)) this.forget(conv.id);
        return;
      } else if (!conv && error.code !== "not_found") {
        // An error about no conversation we have (a refused payload): say it, unless it
        // only means there was nothing to resume.
        this.notice = error.message;
      }
    }
    if (event === "conversation_changed") {
      this.onChanged(payload as ServerPayload<"conversation_changed">, conv);
    }
    if (event === "conversation" && !conv && id) {
      conv = emptyConversation(id);
      this.conversations = [...this.conversations, conv];
    }
    if (event === "conversation" && conv && this.stale(conv)) return;
    if (conv) {
      const wasRunning = conv.running;
      applyServerEvent(conv, event, payload);
      if (wasRunning && !conv.running) this.ownEnd.set(conv.id, Date.now());
      if (event === "conversation" && this.opening === id) this.opening = null;
    }
    this.changed();
  }

  /**
   * Whether a `conversation` that came was asked for before this tab sent a message: it
   * lacks that message and what followed, so it is dropped (and asked for again when idle).
   */
  private stale(conv: Conversation): boolean {
    const at = this.asked.get(conv.id);
    this.asked.delete(conv.id);
    if (at === undefined || at === this.sends) return false;
    if (!conv.running && conv.id === this.currentId) this.requestOpen(conv.id);
    return true;
  }

  private onChanged(
    p: ServerPayload<"conversation_changed">,
    conv: Conversation | undefined,
  ): void {
    const item = itemOf(p);
    this.list.changed(item);
    const upload = this.uploads.get(item.id) ?? (this.pendingImport === item.id ? conv : undefined);
    if (this.pendingImport === item.id) this.pendingImport = null;
    if (upload) {
      // The server has it: this browser's copy goes (the rest stay until they are in too).
      this.uploads.delete(item.id);
      this.persistence.saveConversations([...this.uploads.values()]);
    }
    // Changed elsewhere (another tab, an upload) while open here: show the newest. The
    // change a reply of this tab makes as it ends (saved, announced) brings nothing new.
    const own = Date.now() - (conv ? (this.ownEnd.get(conv.id) ?? 0) : 0) < OWN_CHANGE_MS;
    const open = conv && conv.id === this.currentId && !conv.running;
    if (this.serverMode && open && !own && (upload || conv.loaded)) {
      this.requestOpen(conv.id);
    }
  }

  /** A page of the conversation list (a stale search's page is dropped). */
  applyList(page: ConversationList): void {
    this.list.applyPage(page);
    this.changed();
  }

  /** A conversation was deleted (here or in another tab): it goes; if open, a new chat. */
  applyDeleted(p: ConversationDeleted): void {
    this.forget(p.conversation_id);
  }

  /**
   * Re-render on the next frame, however many events arrive before it; save soon after.
   *
   * A token is painted by the next frame whether it is rendered now or in that frame's
   * callback (Svelte's update runs before the frame's paint): rendering each event at once
   * was measured to paint no sooner (bench W3), only to render up to once per event
   * instead of once per frame.
   */
  private changed(): void {
    if (!this.framePending) {
      this.framePending = true;
      requestAnimationFrame(() => {
        this.framePending = false;
        this.tick++;
      });
    }
    if (this.saveTimer === null && !this.serverMode) {
      this.saveTimer = setTimeout(() => this.saveNow(), 800);
    }
  }

  /** Save now rather than after the debounce (the page is going away). */
  saveNow(): void {
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    // With server history the server keeps them; this browser keeps only uploads not done.
    if (!this.serverMode) this.persistence.saveConversations(this.conversations);
  }
}
