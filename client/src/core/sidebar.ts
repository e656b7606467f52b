// The sidebar's list of conversations, newest first: with server history, the pages the
// server sent (`conversation_list`) kept up to date by `conversation_changed` and
// `conversation_deleted`. Pure functions: each returns a new list. No DOM.
import type { ConversationList, ConversationSummary } from "../protocol.gen";

/** A conversation as the sidebar lists it (times in milliseconds, as `Date.now()`). */
export interface SidebarItem {
  id: string;
  title: string;
  updatedAt: number;
  shareToken: string | null;
}

/** A summary from the server (times in seconds) as the sidebar keeps it. */
export function itemOf(s: ConversationSummary): SidebarItem {
  return {
    id: s.conversation_id,
    title: s.title,
    updatedAt: s.updated_at * 1000,
    shareToken: s.share_token ?? null,
  };
}

/** Newest first; the id breaks ties, as the server's order does. */
export function sortNewest(list: SidebarItem[]): SidebarItem[] {
  return list.sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/**
 * A page added to the list: the first page (no `before`) replaces it, a later one is
 * appended (an item already listed is not listed twice).
 *
 * Example: `addPage([], {query: "", items: [a, b], next: cursor})` lists a and b.
 */
export function addPage(list: readonly SidebarItem[], page: ConversationList): SidebarItem[] {
  const items = page.items.map(itemOf);
  if (!page.before) return items;
  const ids = new Set(list.map((i) => i.id));
  return [...list, ...items.filter((i) => !ids.has(i.id))];
}

/**
 * A changed conversation into the list: updated where it is and moved to its place; a new
 * one inserted only if `insert` (not while the list shows a search's results).
 */
export function upsert(
  list: readonly SidebarItem[],
  item: SidebarItem,
  insert: boolean,
): SidebarItem[] {
  const found = list.some((i) => i.id === item.id);
  if (!found && !insert) return [...list];
  return sortNewest([...list.filter((i) => i.id !== item.id), item]);
}

/** The list without conversation `id`. */
export function without(list: readonly SidebarItem[], id: string): SidebarItem[] {
  return list.filter((i) => i.id !== id);
}
