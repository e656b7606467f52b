// Shared by the two limit pages: a bare typed socket to the gptchat server, a request in
// the same form the app sends, and a "painted" timestamp (the frame after a DOM change).
import { io } from "socket.io-client";
import type { Socket } from "socket.io-client";
import { PROTOCOL_VERSION } from "../src/protocol.gen";
import type { ClientToServerEvents, MessageDelta, ServerToClientEvents } from "../src/protocol.gen";

export type BenchSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface BenchResult {
  t0: number;
  dom: number;
  painted: number;
  events: number;
  chars: number;
}

declare global {
  interface Window {
    benchReady?: boolean;
    benchRun?: (command: string, marker: string) => Promise<BenchResult>;
  }
}

export function connect(): BenchSocket {
  const key = `bench${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`.padEnd(
    24,
    "x",
  );
  const socket: BenchSocket = io({
    transports: ["websocket"],
    auth: { client: key, protocol: PROTOCOL_VERSION },
  });
  socket.on("connect", () => (window.benchReady = true));
  return socket;
}

/** Resolves with the time of the next frame after a DOM change (about when it is painted). */
export function nextPaint(): Promise<number> {
  return new Promise((resolve) =>
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => resolve(performance.now());
      channel.port2.postMessage(null);
    }),
  );
}

let runs = 0;

/** Send `command` as a user message; call `onDelta` for each event until `done()` holds. */
export function request(
  socket: BenchSocket,
  command: string,
  onDelta: (p: MessageDelta) => boolean,
): { t0: number; finished: Promise<number> } {
  runs += 1;
  const conversation_id = `bench-${runs}-${Date.now()}`;
  let resolve: (t: number) => void = () => undefined;
  const finished = new Promise<number>((r) => (resolve = r));
  const listener = (p: MessageDelta) => {
    if (p.conversation_id !== conversation_id) return;
    if (onDelta(p)) {
      const dom = performance.now();
      socket.off("message_delta", listener);
      resolve(dom);
    }
  };
  socket.on("message_delta", listener);
  const t0 = performance.now();
  socket.emit("send_message", {
    conversation_id,
    messages: [{ id: "u0", message: { role: "user", content: command } }],
  });
  return { t0, finished };
}

export function contentOf(p: MessageDelta): string {
  let text = "";
  for (const delta of p.deltas) {
    const c = delta["content"];
    if (typeof c === "string") text += c;
  }
  return text;
}
