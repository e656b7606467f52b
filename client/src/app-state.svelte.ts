// The app's state, in one place: configuration, conversations, connection. Server events
// (from the session, `session.ts`) mutate conversations in place; the UI re-reads them
// once per animation frame (`tick`). What the store sends goes out through an `Outbox`.
import {
  addUserMessage,
  applyServerEvent,
  editUserMessage,
  newConversation,
  toWire,
} from "./core/conversation";
import type { Conversation, ConversationEventName, ServerPayload } from "./core/conversation";
import type { Persistence } from "./core/persistence";
import type { ChatMessage, UIConfig } from "./protocol.gen";
import { loadRenderer } from "./ui/markdown/index";
import { keptOnEdit } from "./ui/parts/index";
import { DEFAULT_CONFIG } from "./protocol.gen";
import { setImageHosts } from "./core/markdown/images";
import type { Outbox } from "./session";

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

  private outbox: Outbox | null = null;
  private framePending = false;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(readonly persistence: Persistence) {
    this.conversations = persistence.loadConversations();
    const id = persistence.getPreference("current");
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

  /** Where the store's client events go (the session); none until it is attached. */
  attach(outbox: Outbox): void {
    this.outbox = outbox;
  }

  setConnected(connected: boolean): void {
    this.connected = connected;
    if (connected) this.everConnected = true;
  }

  send(content: ChatMessage["content"]): void {
    const conv = this.current;
    if (conv.running) return;
    addUserMessage(conv, content);
    this.dispatch(conv);
  }

  /** Replace an earlier user message's text, drop what followed it, and send again. */
  edit(messageId: string, text: string): void {
    const conv = this.current;
    if (conv.running || !text.trim()) return;
    if (editUserMessage(conv, messageId, text, keptOnEdit)) this.dispatch(conv);
  }

  /**
   * Run the handler again on the conversation up to its last user message: regenerates
   * the last reply, or retries after an error.
   */
  retry(): void {
    const conv = this.current;
    if (conv.running) return;
    let last = conv.messages.length - 1;
    while (last >= 0 && conv.messages[last]?.message.role !== "user") last--;
    if (last < 0) return;
    conv.messages.splice(last + 1);
    conv.error = null;
    this.dispatch(conv);
  }

  stop(): void {
    this.outbox?.emit("stop", { conversation_id: this.current.id });
  }

  startNewChat(): void {
    const current = this.conversations.find((c) => c.id === this.currentId);
    if (current && !current.messages.some((m) => m.message.role === "user")) return;
    const conv = newConversation(this.config.messages);
    this.conversations = [conv, ...this.conversations];
    this.select(conv.id);
  }

  select(id: string): void {
    this.currentId = id;
    this.persistence.setPreference("current", id);
    this.changed();
  }

  rename(id: string, title: string): void {
    const conv = this.conversations.find((c) => c.id === id);
    if (conv && title.trim()) conv.title = title.trim();
    this.changed();
  }

  remove(id: string): void {
    this.conversations = this.conversations.filter((c) => c.id !== id);
    if (this.currentId === id || this.conversations.length === 0) {
      if (this.conversations.length === 0) this.startNewChat();
      else this.select(this.conversations[0]?.id ?? "");
    }
    this.changed();
  }

  private dispatch(conv: Conversation): void {
    conv.updatedAt = Date.now();
    const payload = { conversation_id: conv.id, messages: toWire(conv) };
    // Over the server's limit the socket would be cut with no word: say so instead.
    const bytes = new TextEncoder().encode(JSON.stringify(payload)).length;
    const limit = this.config.max_message_bytes;
    if (bytes > limit) {
      const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
      conv.error =
        `This conversation is too large to send (${mb(bytes)} MB; the server takes up to ` +
        `${mb(limit)} MB). Start a new chat, or edit a message to drop its images.`;
      this.changed();
      return;
    }
    conv.running = true; // until run_finished or an error says otherwise
    conv.error = null;
    this.outbox?.emit("send_message", payload);
    // The markdown chunk, while the reply is on its way; a failure here is retried
    // when the reply renders.
    loadRenderer().catch(() => undefined);
    this.changed();
  }

  applyConfig(config: UIConfig): void {
    this.config = config;
    setImageHosts(config.image_hosts);
    document.title = config.title;
    for (const conv of this.conversations) {
      if (conv.messages.length === 0 && config.messages.length) {
        conv.messages = newConversation(config.messages).messages;
      }
    }
    this.changed();
  }

  /** A server event for one conversation, through the reducer; re-render if it applied. */
  applyEvent<E extends ConversationEventName>(event: E, payload: ServerPayload<E>): void {
    const id = payload.conversation_id;
    const conv = this.conversations.find((c) => c.id === id);
    if (conv) {
      applyServerEvent(conv, event, payload);
      this.changed();
    } else if (event === "error") {
      // An error about no conversation we have (a refused payload): say it, unless it
      // only means there was nothing to resume.
      const error = payload as ServerPayload<"error">;
      if (error.code !== "not_found") this.notice = error.message;
    }
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
    if (this.saveTimer === null) {
      this.saveTimer = setTimeout(() => this.saveNow(), 800);
    }
  }

  /** Save now rather than after the debounce (the page is going away). */
  saveNow(): void {
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    this.persistence.saveConversations(this.conversations);
  }
}
