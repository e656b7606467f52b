// The sidebar's list with server history: the pages asked for and come, the search it
// shows, and the changes the user's tabs announce. Never the whole list at once: a page
// at a time, the next when the reader reaches the end. The list rules are `core/sidebar.ts`.
import { addPage, upsert, without } from "./core/sidebar";
import type { SidebarItem } from "./core/sidebar";
import type { ConversationList, ListConversations, ListCursor } from "./protocol.gen";

/** How many conversations the sidebar asks for at a time. */
export const PAGE_SIZE = 30;

export class ConversationListState {
  /** The pages so far, newest first. */
  items = $state.raw<SidebarItem[]>([]);
  /** The search shown ("" for none). */
  query = $state("");
  /** A page was asked for and has not come yet. */
  loading = $state(false);
  /** Where the next page starts; null when the last one came. */
  private next = $state.raw<ListCursor | null>(null);

  /** `ask` sends a `list_conversations` (the store's outbox). */
  constructor(private readonly ask: (payload: ListConversations) => void) {}

  /** Whether there are more pages to ask for. */
  get hasMore(): boolean {
    return this.next !== null;
  }

  /** The first page of the conversations matching `query` ("" for all). */
  search(query: string): void {
    this.query = query;
    this.next = null;
    this.loading = true;
    this.ask({ query, limit: PAGE_SIZE });
  }

  /** The next page, if there is one and none is on its way. */
  loadMore(): void {
    if (this.loading || !this.next) return;
    this.loading = true;
    this.ask({ query: this.query, before: this.next, limit: PAGE_SIZE });
  }

  /** A page came (a stale search's page is dropped). */
  applyPage(page: ConversationList): void {
    if (page.query !== this.query) return;
    this.items = addPage(this.items, page);
    this.next = page.next ?? null;
    this.loading = false;
  }

  /** A conversation changed: moved to its place; a new one listed unless searching. */
  changed(item: SidebarItem): void {
    this.items = upsert(this.items, item, this.query === "");
  }

  renamed(id: string, title: string): void {
    this.items = this.items.map((i) => (i.id === id ? { ...i, title } : i));
  }

  remove(id: string): void {
    this.items = without(this.items, id);
  }
}
