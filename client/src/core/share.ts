// A read-only shared link: the token in the page's URL, the link to give out, and the
// shared conversation fetched from the server (`api/share/<token>`, relative, so a chat
// mounted under a prefix works). No DOM here.
import type { ChatMessage } from "../protocol.gen";

/** What the server makes: URL-safe base64 (the route answers 404 for anything else). */
const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

export type SharedResult =
  | { kind: "ok"; title: string; messages: ChatMessage[]; sharedAt: number }
  | { kind: "gone" }
  | { kind: "error"; message: string };

/**
 * The `share` parameter of a page's query string, or null when there is none (then the
 * page is the app). A malformed token is still returned: it is a link that does not work.
 *
 * @example shareTokenOf("?share=abc") // "abc"
 */
export function shareTokenOf(search: string): string | null {
  return new URLSearchParams(search).get("share");
}

/**
 * The link that opens `token` read-only: this page, without its own query or hash.
 *
 * @example shareLink({ origin: "http://h", pathname: "/chat/" }, "t") // "http://h/chat/?share=t"
 */
export function shareLink(page: { origin: string; pathname: string }, token: string): string {
  return `${page.origin}${page.pathname}?share=${encodeURIComponent(token)}`;
}

function isMessage(value: unknown): value is ChatMessage {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { role?: unknown }).role === "string"
  );
}

/**
 * Fetch a shared conversation. A 404 (revoked, or never existed) is `gone`; anything
 * else that is not a good answer is an `error` with text for the reader.
 *
 * @example const shared = await fetchShared(token);
 */
export async function fetchShared(
  token: string,
  fetchFn: typeof fetch = (...args) => fetch(...args),
): Promise<SharedResult> {
  if (!TOKEN.test(token)) return { kind: "gone" };
  let response: Response;
  try {
    response = await fetchFn(`api/share/${encodeURIComponent(token)}`, {
      headers: { Accept: "application/json" },
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch {
    return { kind: "error", message: "The server could not be reached. Try again later." };
  }
  if (response.status === 404) return { kind: "gone" };
  if (!response.ok) {
    return {
      kind: "error",
      message: `The shared conversation could not be loaded (HTTP ${response.status}). Try again later.`,
    };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const value = (body ?? {}) as { title?: unknown; messages?: unknown; shared_at?: unknown };
  if (
    typeof value.title !== "string" ||
    !Array.isArray(value.messages) ||
    !value.messages.every(isMessage) ||
    typeof value.shared_at !== "number"
  ) {
    return { kind: "error", message: "The server's answer was not a shared conversation." };
  }
  return {
    kind: "ok",
    title: value.title,
    messages: value.messages,
    sharedAt: value.shared_at,
  };
}
