// A conversation's message tree: every version of every message (`nodes`, in the order
// they were made, each naming its parent) and the one branch shown (`messages`, root to
// leaf). Editing or regenerating adds a sibling; nothing is overwritten. Pure, no DOM.
import type { Conversation, UIMessage } from "./conversation";

/** The key of the root's children in `Conversation.chosen` (a message id is never empty). */
const ROOT = "";

function keyOf(parentId: string | null): string {
  return parentId ?? ROOT;
}

/** Each parent's children, in creation order (the root's under ""). */
export function childrenIndex(nodes: readonly UIMessage[]): Map<string, UIMessage[]> {
  const kids = new Map<string, UIMessage[]>();
  for (const m of nodes) {
    const key = keyOf(m.parentId);
    const list = kids.get(key);
    if (list) list.push(m);
    else kids.set(key, [m]);
  }
  return kids;
}

/** For each message, the creation index of the newest message at or below it. */
function newestBelow(nodes: readonly UIMessage[]): Map<string, number> {
  const newest = new Map<string, number>();
  // A child is made after its parent: walking from the newest, a message's subtree is done
  // before the message itself is reached.
  for (let i = nodes.length - 1; i >= 0; i--) {
    const m = nodes[i];
    if (!m) continue;
    const own = Math.max(newest.get(m.id) ?? i, i);
    newest.set(m.id, own);
    if (m.parentId !== null) newest.set(m.parentId, Math.max(newest.get(m.parentId) ?? -1, own));
  }
  return newest;
}

/**
 * Recompute the branch shown: from the root, under each message the child last shown
 * there (`chosen`), else the one leading to the newest message.
 *
 * Example: nodes u1 → a1, u1 → a2 with nothing chosen shows [u1, a2].
 */
export function rebuildBranch(conv: Conversation): void {
  const kids = childrenIndex(conv.nodes);
  const newest = newestBelow(conv.nodes);
  const latest = (list: UIMessage[]): UIMessage | undefined =>
    list.reduce((a, b) => ((newest.get(b.id) ?? 0) >= (newest.get(a.id) ?? 0) ? b : a));
  const out: UIMessage[] = [];
  const seen = new Set<string>();
  let at = ROOT;
  for (;;) {
    const list = kids.get(at);
    if (!list?.length) break;
    const pick = list.find((m) => m.id === conv.chosen[at]) ?? latest(list);
    if (!pick || seen.has(pick.id)) break; // a cycle in bad data must not hang the page
    seen.add(pick.id);
    out.push(pick);
    at = pick.id;
  }
  conv.messages = out;
}

/** Add a message to the tree and show it (it becomes the leaf of the branch shown). */
export function addNode(conv: Conversation, msg: UIMessage): void {
  conv.nodes.push(msg);
  conv.chosen[keyOf(msg.parentId)] = msg.id;
  const leaf = conv.messages[conv.messages.length - 1];
  // The common case (a reply or a new message under the leaf) costs no walk of the tree.
  if ((leaf?.id ?? null) === msg.parentId) conv.messages.push(msg);
  else rebuildBranch(conv);
}

/** The message `id` among all versions, searched from the newest (streams touch those). */
export function findNode(conv: Conversation, id: string): UIMessage | undefined {
  for (let i = conv.nodes.length - 1; i >= 0; i--) {
    const m = conv.nodes[i];
    if (m?.id === id) return m;
  }
  return undefined;
}

/**
 * Show the version `id` of its message and, below it, the branch last seen there (or its
 * newest). Returns false if there is no such message.
 */
export function showVersion(conv: Conversation, id: string): boolean {
  const msg = findNode(conv, id);
  if (!msg) return false;
  conv.chosen[keyOf(msg.parentId)] = msg.id;
  rebuildBranch(conv);
  return true;
}

/** Make the branch shown end at message `id` (before a new reply to it). */
export function cutBranchAfter(conv: Conversation, id: string): boolean {
  const index = conv.messages.findIndex((m) => m.id === id);
  if (index < 0) return false;
  conv.messages = conv.messages.slice(0, index + 1);
  return true;
}

/** Where a message stands among its versions: "2 / 3", and its neighbours' ids. */
export interface VersionInfo {
  index: number;
  count: number;
  previous: string | null;
  next: string | null;
}

/** The version info of each shown message that has siblings. */
export function versionsOf(conv: Conversation): Map<string, VersionInfo> {
  const out = new Map<string, VersionInfo>();
  const kids = childrenIndex(conv.nodes);
  for (const m of conv.messages) {
    const siblings = kids.get(keyOf(m.parentId)) ?? [];
    if (siblings.length < 2) continue;
    const index = siblings.indexOf(m);
    out.set(m.id, {
      index: index + 1,
      count: siblings.length,
      previous: siblings[index - 1]?.id ?? null,
      next: siblings[index + 1]?.id ?? null,
    });
  }
  return out;
}

/** Chain a flat list (a version 1 conversation) into a tree: each the child of the one before. */
export function chain(messages: UIMessage[]): UIMessage[] {
  let parent: string | null = null;
  for (const m of messages) {
    m.parentId = parent;
    parent = m.id;
  }
  return messages;
}
