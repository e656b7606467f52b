// The shared link's token, the link given out, and fetching a shared conversation through
// a real HTTP server on 127.0.0.1 (node:http), not a stubbed fetch.
import { createServer } from "node:http";
import type { AddressInfo, Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchShared, shareLink, shareTokenOf } from "./share";

const GOOD = "tok_abcdefghijklmnop";
const messages = [
  { role: "user", content: "Hi" },
  { role: "assistant", content: "Hello" },
];

let server: Server;
let base = "";
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? "");
    const send = (status: number, body: string): void => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(body);
    };
    if (req.url === `/chat/api/share/${GOOD}`) {
      send(200, JSON.stringify({ title: "T", messages, shared_at: 1700000000.5 }));
    } else if (req.url === "/chat/api/share/tok_broken_answer_1") send(200, "{not json");
    else if (req.url === "/chat/api/share/tok_wrong_shape_12") send(200, '{"title": 1}');
    else if (req.url === "/chat/api/share/tok_server_failed_1") send(503, "{}");
    else send(404, '{"error": "not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chat/`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

// The page's relative URL, resolved against the page as a browser does.
const pageFetch: typeof fetch = (input, init) => fetch(new URL(String(input), base), init);

describe("shareTokenOf and shareLink", () => {
  it("reads the share parameter", () => {
    expect(shareTokenOf("?share=abc&x=1")).toBe("abc");
    expect(shareTokenOf("?x=1")).toBeNull();
    expect(shareTokenOf("")).toBeNull();
  });

  it("links to this page without its query", () => {
    expect(shareLink({ origin: "http://127.0.0.1:5000", pathname: "/chat/" }, GOOD)).toBe(
      `http://127.0.0.1:5000/chat/?share=${GOOD}`,
    );
  });
});

describe("fetchShared", () => {
  it("fetches relative to the page", async () => {
    expect(await fetchShared(GOOD, pageFetch)).toEqual({
      kind: "ok",
      title: "T",
      messages,
      sharedAt: 1700000000.5,
    });
    expect(seen).toContain(`/chat/api/share/${GOOD}`);
  });

  it("says gone on 404, and for a malformed token without asking", async () => {
    expect(await fetchShared("tok_unknown_token_1", pageFetch)).toEqual({ kind: "gone" });
    const before = seen.length;
    expect(await fetchShared("../../etc", pageFetch)).toEqual({ kind: "gone" });
    expect(seen.length).toBe(before);
  });

  it("says what failed otherwise", async () => {
    expect(await fetchShared("tok_server_failed_1", pageFetch)).toEqual({
      kind: "error",
      message: "The shared conversation could not be loaded (HTTP 503). Try again later.",
    });
    for (const token of ["tok_broken_answer_1", "tok_wrong_shape_12"]) {
      expect(await fetchShared(token, pageFetch)).toEqual({
        kind: "error",
        message: "The server's answer was not a shared conversation.",
      });
    }
    const closed = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> =>
      fetch(new URL(String(input), "http://127.0.0.1:9/"), init);
    expect((await fetchShared(GOOD, closed)).kind).toBe("error");
  });
});
