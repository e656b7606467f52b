// Where conversations and preferences survive reloads: the `Persistence` interface, and
// its one implementation today, `LocalPersistence` (localStorage). A server-backed store
// will implement the same interface. Saving is debounced by the caller; a version prefix
// on the keys lets a format migrate instead of misreading old data: version 2 keeps each
// conversation's message tree; version 1 lists (one flat list per conversation) are read
// as a chain of parents, and removed once saved as version 2.
import { emptyConversation } from "./conversation";
import type { Conversation, UIMessage } from "./conversation";
import { readFeedback } from "./feedback";
import { chain, rebuildBranch } from "./tree";

const KEY = "gptchat:v2:conversations";
const KEY_V1 = "gptchat:v1:conversations";
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

/** A conversation as version 2 keeps it: the tree, not the branch (rebuilt on load). */
type Saved = Omit<Conversation, "messages" | "loaded" | "answers">;

function isMessage(m: unknown): m is UIMessage {
  const msg = m as UIMessage | null;
  return typeof msg?.id === "string" && typeof msg.message === "object" && msg.message !== null;
}

/** One saved conversation (either version) as the app holds it; null if unreadable. */
function revive(raw: unknown, version: 1 | 2): Conversation | null {
  const c = raw as Partial<Saved> & { messages?: unknown };
  if (typeof c?.id !== "string") return null;
  const list = version === 2 ? c.nodes : c.messages;
  if (!Array.isArray(list)) return null;
  const nodes = list.filter(isMessage);
  if (version === 1) chain(nodes);
  for (const m of nodes) {
    m.parentId ??= null;
    m.runId ??= null;
    m.lastSeq ??= 0;
    m.version ??= 0;
    // Version 2 records from before feedback hold none.
    m.feedback = readFeedback(m.feedback);
  }
  const conv = emptyConversation(c.id, typeof c.title === "string" ? c.title : "New chat");
  conv.nodes = nodes;
  conv.chosen = typeof c.chosen === "object" && c.chosen !== null ? { ...c.chosen } : {};
  conv.running = c.running === true;
  conv.runId = typeof c.runId === "string" ? c.runId : null;
  conv.runTail = typeof c.runTail === "string" ? c.runTail : null;
  conv.error = typeof c.error === "string" ? c.error : null;
  conv.updatedAt = typeof c.updatedAt === "number" ? c.updatedAt : Date.now();
  conv.shareToken = typeof c.shareToken === "string" ? c.shareToken : null;
  rebuildBranch(conv);
  return conv;
}

function readList(storage: Storage, key: string, version: 1 | 2): Conversation[] {
  try {
    const raw = storage.getItem(key);
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    if (!Array.isArray(parsed)) return [];
    return parsed.map((c) => revive(c, version)).filter((c) => c !== null);
  } catch {
    return []; // unreadable storage must never keep the app from starting
  }
}

/**
 * The conversations this browser keeps: version 2, and any version 1 one not saved as
 * version 2 yet (each as a chain: every message the child of the one before).
 */
export function loadConversations(storage: Storage = localStorage): Conversation[] {
  const current = readList(storage, KEY, 2);
  const ids = new Set(current.map((c) => c.id));
  const old = readList(storage, KEY_V1, 1).filter((c) => !ids.has(c.id));
  return [...current, ...old];
}

export function saveConversations(
  list: readonly Conversation[],
  storage: Storage = localStorage,
): boolean {
  try {
    const saved: Saved[] = list.map((c) => ({
      id: c.id,
      title: c.title,
      nodes: c.nodes,
      chosen: c.chosen,
      running: c.running,
      runId: c.runId,
      runTail: c.runTail,
      error: c.error,
      updatedAt: c.updatedAt,
      shareToken: c.shareToken,
    }));
    if (saved.length) storage.setItem(KEY, JSON.stringify(saved));
    else storage.removeItem(KEY);
    // Everything the version 1 list held is in the list saved (it was loaded with it).
    storage.removeItem(KEY_V1);
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
