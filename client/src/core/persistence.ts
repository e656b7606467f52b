// Where conversations and preferences survive reloads: the `Persistence` interface, and
// its one implementation today, `LocalPersistence` (localStorage). A server-backed store
// will implement the same interface. Saving is debounced by the caller; a version prefix
// on the keys lets a future format migrate instead of misreading old data.
import type { Conversation } from "./conversation";

const KEY = "gptchat:v1:conversations";
const CURRENT = "gptchat:v1:current";
const CLIENT = "gptchat:v1:client";

/** A setting kept between visits: the open conversation, the colour theme. */
export type Preference = "current" | "theme";

const PREFERENCE_KEYS: Record<Preference, string> = {
  current: CURRENT,
  theme: "gptchat:v1:theme",
};

/** What the app keeps between visits, whatever keeps it. */
export interface Persistence {
  /** The saved conversations; an empty list if there are none or they are unreadable. */
  loadConversations(): Conversation[];
  /** Save the whole list; false if it could not be kept (the app goes on in memory). */
  saveConversations(list: readonly Conversation[]): boolean;
  getPreference(name: Preference): string | null;
  setPreference(name: Preference, value: string): void;
}

/** `Persistence` in this browser's localStorage. */
export class LocalPersistence implements Persistence {
  constructor(private readonly storage: Storage = localStorage) {}

  loadConversations(): Conversation[] {
    return loadConversations(this.storage);
  }

  saveConversations(list: readonly Conversation[]): boolean {
    return saveConversations(list, this.storage);
  }

  getPreference(name: Preference): string | null {
    return this.storage.getItem(PREFERENCE_KEYS[name]);
  }

  setPreference(name: Preference, value: string): void {
    this.storage.setItem(PREFERENCE_KEYS[name], value);
  }
}

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
