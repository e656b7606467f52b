"""A fake OpenAI-compatible server on loopback, for the real ``openai`` client.

It answers ``POST /v1/chat/completions`` like a tiny scripted model: with
``tools`` offered and no tool result yet it calls ``get_weather``; otherwise it
echoes the last user message (or the tool result) as markdown. Streams are SSE
(``data: {chunk}`` ... ``data: [DONE]``) in ~4-character tokens.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHUNK_BASE = {
    "id": "chatcmpl-fake",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "fake",
}


def tokens(text: str) -> list[str]:
    return re.findall(r"\s*\S{1,4}|\s+", text)


def reply_for(body: dict[str, Any]) -> dict[str, Any]:
    """The complete message the fake model answers ``body`` with."""
    messages = body.get("messages", [])
    last = messages[-1] if messages else {}
    if body.get("tools") and last.get("role") != "tool":
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_fake_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        }
    if last.get("role") == "tool":
        return {"role": "assistant", "content": f"The tool said: `{last.get('content')}`"}
    content = last.get("content")
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if p.get("type") == "text")
    return {"role": "assistant", "content": f"**Echo:** {content}\n\n- one\n- two\n"}


def stream_chunks(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``message`` as the chunks OpenAI would stream it in."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**CHUNK_BASE, "choices": [choice]}

    yield chunk({"role": "assistant", "content": "" if message.get("content") else None})
    for piece in tokens(message.get("content") or ""):
        yield chunk({"content": piece})
    for i, call in enumerate(message.get("tool_calls") or []):
        head = {"index": i, "id": call["id"], "type": "function"}
        head["function"] = {"name": call["function"]["name"], "arguments": ""}
        yield chunk({"tool_calls": [head]})
        for piece in tokens(call["function"]["arguments"]):
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
    yield chunk({}, "tool_calls" if message.get("tool_calls") else "stop")


class FakeOpenAI:
    """The server; ``base_url`` for ``OpenAI(base_url=...)``, ``requests`` it got."""

    def __init__(self, token_delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.token_delay = token_delay
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                message = reply_for(body)
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for c in stream_chunks(message):
                        self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
                        self.wfile.flush()
                        if fake.token_delay:
                            time.sleep(fake.token_delay)
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.close_connection = True
                    return
                finish = "tool_calls" if message.get("tool_calls") else "stop"
                data = json.dumps(
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": 1,
                        "model": "fake",
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
