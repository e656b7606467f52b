// The typed Socket.IO connection to the gptchat server (same origin, WebSocket only).
import { io } from "socket.io-client";
import type { Socket } from "socket.io-client";
import { PROTOCOL_VERSION } from "../protocol.gen";
import type { ClientToServerEvents, ServerToClientEvents } from "../protocol.gen";

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function connectSocket(clientKey: string): ChatSocket {
  return io({
    // Relative to the page, so a chat mounted under a prefix (/chat/) has its own socket.
    path: new URL("socket.io", document.baseURI).pathname,
    transports: ["websocket"],
    // The protocol this bundle speaks: a server of another version says "outdated".
    auth: { client: clientKey, protocol: PROTOCOL_VERSION },
    reconnectionDelay: 500,
    reconnectionDelayMax: 4000,
  });
}
