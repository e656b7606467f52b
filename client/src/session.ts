// The socket session: owns the connection to the server, feeds what it receives to the
// store (and so to `applyServerEvent`), and sends what the store asks. On every (re)connect
// the server sends `config`, and the store catches up from there (resumes replies, asks for
// the list). The store never sees the socket: another transport would be another class
// with the same two sides.
import { CONVERSATION_EVENTS } from "./core/conversation";
import type { AppEventName, ServerPayload } from "./core/conversation";
import { clientKey } from "./core/persistence";
import { ServerEvent } from "./protocol.gen";
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

// The events the store takes as a whole (not one conversation's): one entry each, so a
// server event that neither this map nor the reducers handle is a type error.
const APP_EVENTS: { [E in AppEventName]: (store: ChatStore, payload: ServerPayload<E>) => void } = {
  [ServerEvent.CONFIG]: (store, config) => store.applyConfig(config),
  [ServerEvent.CONVERSATION_LIST]: (store, page) => store.applyList(page),
  [ServerEvent.CONVERSATION_DELETED]: (store, p) => store.applyDeleted(p),
};

export class ChatSession implements Outbox {
  private socket: ChatSocket | null = null;

  constructor(private readonly store: ChatStore) {}

  /** Open the socket and subscribe to every server event. */
  connect(): void {
    const socket = connectSocket(clientKey());
    this.socket = socket;
    socket.on("connect", () => this.store.setConnected(true));
    socket.on("disconnect", () => this.store.setConnected(false));
    const after = (): void => {
      // An out-of-date page sends nothing more, and stops reconnecting.
      if (this.store.outdated) socket.disconnect();
    };
    for (const event of Object.keys(APP_EVENTS) as AppEventName[]) {
      socket.on(event, (payload: ServerPayload<typeof event>) => {
        (APP_EVENTS[event] as (store: ChatStore, p: typeof payload) => void)(this.store, payload);
        after();
      });
    }
    for (const event of CONVERSATION_EVENTS) {
      socket.on(event, (payload: ServerPayload<typeof event>) => {
        this.store.applyEvent(event, payload);
        after();
      });
    }
  }

  emit<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): void {
    this.socket?.emit(event, ...([payload] as Parameters<ClientToServerEvents[E]>));
  }
}
