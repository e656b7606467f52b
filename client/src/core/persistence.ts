// Conversations survive reloads in localStorage. Saving is debounced by the caller;
// a version prefix lets a future format migrate instead of misreading old data.
import type { Conversation } from "./conversation";

const KEY = "gptchat:v1:conversations";
const CURRENT = "gptchat:v1:current";
const CLIENT = "gptchat:v1:client";

export function loadConversations(storage: Storage = localStorage): Conversation[] {
  try {
    const raw = storage.getItem(KEY);
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    if (!Array.isArray(parsed)) return [];
    return (parsed as Conversation[]).filter(
      (c) => typeof c?.id === "string" && Array.isArray(c.messages),
    );
  } catch {
    return []; // unreadable storage must never keep the app from starting
  }
}

export function saveConversations(
  list: readonly Conversation[],
  storage: Storage = localStorage,
): boolean {
  try {
    storage.setItem(KEY, JSON.stringify(list));
    return true;
  } catch {
    return false; // quota exceeded: keep working in memory
  }
}

export function loadCurrentId(storage: Storage = localStorage): string | null {
  return storage.getItem(CURRENT);
}

export function saveCurrentId(id: string, storage: Storage = localStorage): void {
  storage.setItem(CURRENT, id);
}

/** This browser's secret, sent on connect; the server binds runs to it for resume. */
export function clientKey(storage: Storage = localStorage): string {
  let key = storage.getItem(CLIENT);
  if (!key || !/^[A-Za-z0-9_-]{16,128}$/.test(key)) {
    const buf = new Uint8Array(24);
    crypto.getRandomValues(buf);
    key = Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
    storage.setItem(CLIENT, key);
  }
  return key;
}
