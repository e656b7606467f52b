// The socket session: owns the connection to the server, feeds what it receives to the
// store (and so to `applyServerEvent`), sends what the store asks, and resumes the
// conversations that were streaming when the connection dropped. The store never sees
// the socket: another transport would be another class with the same two sides.
import { CONVERSATION_EVENTS } from "./core/conversation";
import type { ServerPayload } from "./core/conversation";
import { clientKey } from "./core/persistence";
import type { ClientToServerEvents } from "./protocol.gen";
import { connectSocket } from "./transport/socket";
import type { ChatSocket } from "./transport/socket";
import type { ChatStore } from "./app-state.svelte";

/** What the store sends to the server: one client event and its payload. */
export interface Outbox {
  emit<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): void;
}

export class ChatSession implements Outbox {
  private socket: ChatSocket | null = null;

  constructor(private readonly store: ChatStore) {}

  /** Open the socket and subscribe to every server event. */
  connect(): void {
    const socket = connectSocket(clientKey());
    this.socket = socket;
    socket.on("connect", () => {
      this.store.setConnected(true);
      // Bring back every reply that was streaming when we lost the connection (or reloaded).
      for (const conv of this.store.conversations) {
        if (conv.running) socket.emit("resume", { conversation_id: conv.id });
      }
    });
    socket.on("disconnect", () => this.store.setConnected(false));
    socket.on("config", (config) => this.store.applyConfig(config));
    for (const event of CONVERSATION_EVENTS) {
      socket.on(event, (payload: ServerPayload<typeof event>) =>
        this.store.applyEvent(event, payload),
      );
    }
  }

  emit<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): void {
    this.socket?.emit(event, ...([payload] as Parameters<ClientToServerEvents[E]>));
  }
}
