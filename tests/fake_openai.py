"""A fake OpenAI-compatible server on loopback, for the real ``openai`` client.

It answers ``POST /v1/chat/completions`` like a tiny scripted model:

* with ``tools`` offered and no tool result yet, it calls the offered tools whose
  names the last user message mentions (all in parallel), or else the first one,
  with canned arguments (``get_weather`` gets ``{"city": "Paris"}``);
* after tool results, it answers ``The tool said: `<result>```, one per result;
* otherwise it echoes the last user message as markdown, and counts its images.

The model name picks provider quirks: ``*reasoner*`` streams ``reasoning_content``
first (DeepSeek, vLLM), ``*oss*`` streams ``reasoning`` (Ollama, OpenRouter),
``*ollama*`` repeats ``role`` in every delta, ``*slow*`` streams a long reply
slowly (for stop tests), ``*stall*`` goes silent after its first chunk until the client
hangs up. ``stream_options.include_usage`` adds the usage chunk. With
``modalities: ["text", "audio"]`` it speaks its reply: ``message.audio`` (a tone, its
transcript the reply's text), streamed as OpenAI streams it (raw pcm16 in base64 pieces
each encoded on its own), or whole as a WAV.
Streams are SSE (``data: {chunk}`` ... ``data: [DONE]``) in ~4-character tokens.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import select
import socket
import threading
import time
import wave
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


TOOL_ARGUMENTS = {"get_weather": {"city": "Paris"}, "add": {"a": 2, "b": 3}}
# The agent in the loop's tools (examples/agent_in_the_loop.py).
TOOL_ARGUMENTS["find_contact"] = {"name": "Bob"}
TOOL_ARGUMENTS["send_email"] = {
    "to": "bob@example.com",
    "subject": "Lunch on Friday?",
    "body": "Hi Bob, shall we have lunch on Friday?",
}
THOUGHT = "The user wants an answer. I will keep it short."


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


#: What the fake says when it speaks: half a second of a 440 Hz tone, 24 kHz pcm16 mono.
TONE = b"".join(
    int(8000 * math.sin(2 * math.pi * 440 * i / 24_000)).to_bytes(2, "little", signed=True)
    for i in range(12_000)
)


def tone_wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(24_000)
        w.writeframes(TONE)
    return out.getvalue()


def reply_for(body: dict[str, Any]) -> dict[str, Any]:
    """The complete message the fake model answers ``body`` with."""
    messages = body.get("messages", [])
    last = messages[-1] if messages else {}
    model = str(body.get("model", ""))
    reply: dict[str, Any]
    if body.get("tools") and last.get("role") != "tool":
        names = [t["function"]["name"] for t in body["tools"]]
        text = _text(last.get("content"))
        called = [n for n in names if n in text] or names[:1]
        reply = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_fake_{i + 1}",
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": json.dumps(TOOL_ARGUMENTS.get(name, {})),
                    },
                }
                for i, name in enumerate(called)
            ],
        }
    elif last.get("role") == "tool":
        results = []
        for message in reversed(messages):
            if message.get("role") != "tool":
                break
            results.insert(0, f"`{message.get('content')}`")
        reply = {"role": "assistant", "content": "The tool said: " + "; ".join(results)}
    else:
        content = last.get("content")
        images = (
            sum(1 for p in content if p.get("type") == "image_url")
            if isinstance(content, list)
            else 0
        )
        text = f"**Echo:** {_text(content)}\n\n- one\n- two\n"
        if images:
            text += f"\n(I see {images} image{'s' if images > 1 else ''})\n"
        if "slow" in model:
            text += " ".join(f"word{i}" for i in range(2000))
        reply = {"role": "assistant", "content": text}
    if "audio" in (body.get("modalities") or []) and isinstance(reply.get("content"), str):
        spoken = TONE if body.get("stream") else tone_wav()
        audio = {"id": "audio_fake", "data": base64.b64encode(spoken).decode()}
        reply["audio"] = {**audio, "transcript": reply["content"], "expires_at": 1_900_000_000}
        reply["content"] = None
    if "reasoner" in model:
        reply["reasoning_content"] = THOUGHT
    elif "oss" in model:
        reply["reasoning"] = THOUGHT
    return reply


def stream_chunks(
    message: dict[str, Any], *, role_every_delta: bool = False, usage: bool = False
) -> Iterator[dict[str, Any]]:
    """``message`` as the chunks OpenAI (or another provider) would stream it in."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if role_every_delta:
            delta = {"role": "assistant", **delta}
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        extra = {"usage": None} if usage else {}
        return {**CHUNK_BASE, "choices": [choice], **extra}

    yield chunk({"role": "assistant", "content": "" if message.get("content") else None})
    for key in ("reasoning_content", "reasoning"):
        for piece in tokens(message.get(key) or ""):
            yield chunk({key: piece})
    for piece in tokens(message.get("content") or ""):
        yield chunk({"content": piece})
    if message.get("audio"):
        audio = message["audio"]
        sound = base64.b64decode(audio["data"])
        words = tokens(audio["transcript"])
        # OpenAI's order: the id first, then data and transcript pieces, expires_at last.
        yield chunk({"audio": {"id": audio["id"]}})
        for i in range(max(len(words), math.ceil(len(sound) / 2401))):
            piece = base64.b64encode(sound[i * 2401 : (i + 1) * 2401]).decode()
            words_i = words[i] if i < len(words) else ""
            yield chunk({"audio": {"data": piece, "transcript": words_i}})
        yield chunk({"audio": {"expires_at": audio["expires_at"]}})
    for i, call in enumerate(message.get("tool_calls") or []):
        head = {"index": i, "id": call["id"], "type": "function"}
        head["function"] = {"name": call["function"]["name"], "arguments": ""}
        yield chunk({"tool_calls": [head]})
        for piece in tokens(call["function"]["arguments"]):
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
    yield chunk({}, "tool_calls" if message.get("tool_calls") else "stop")
    if usage:
        counts = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
        yield {**CHUNK_BASE, "choices": [], "usage": counts}


def _hung_up(conn: socket.socket, within: float) -> bool:
    """Wait in silence until the client closes the connection (True), or ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        readable, _, _ = select.select([conn], [], [], 0.05)
        if readable and not conn.recv(1, socket.MSG_PEEK):
            return True
    return False


class FakeOpenAI:
    """The server; ``base_url`` for ``OpenAI(base_url=...)``, ``requests`` it got."""

    def __init__(self, token_delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        #: Set when a client hung up in the middle of a stream.
        self.aborted = threading.Event()
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
                model = str(body.get("model", ""))
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    delay = 0.005 if "slow" in model else fake.token_delay
                    chunks = stream_chunks(
                        message,
                        role_every_delta="ollama" in model,
                        usage=bool((body.get("stream_options") or {}).get("include_usage")),
                    )
                    self.close_connection = True
                    try:
                        for c in chunks:
                            self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
                            self.wfile.flush()
                            if "stall" in model and _hung_up(self.connection, within=20):
                                fake.aborted.set()  # a model thinking in silence, cut off
                                return
                            if delay:
                                time.sleep(delay)
                        self.wfile.write(b"data: [DONE]\n\n")
                    except OSError:  # the client closed the stream (the user pressed stop)
                        fake.aborted.set()
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
