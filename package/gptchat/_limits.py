"""Limits on what one client may send and hold: sizes, rates and counts.

No Flask calls, so it can be tested alone. The server checks each incoming
event against :class:`Limits` before validating it with pydantic, and answers a
breach with an ``error`` event of code ``limit`` that names the limit; the
connection and the server stay up. Two guards sit below Socket.IO, at the
transport (:class:`PollingGuard`, :class:`CappedWebSocket`), so that what
Engine.IO would drop silently gets the same answer.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final
from urllib.parse import parse_qs, quote

import simple_websocket  # type: ignore[import-untyped]
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from wsproto.events import BytesMessage, Event, Message, TextMessage

from ._settings import Settings

#: The event name a payload nested too deeply to decode is replaced with.
TOO_DEEP_EVENT: Final = "gptchat:too_deep"


#: What the checks below read: the server's :class:`~gptchat._settings.Settings`,
#: where each limit and its default is written.
Limits = Settings


def nesting_depth(data: Any, limit: int) -> int:
    """How deep lists and dicts nest in ``data``, counting stops past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_payload(event: str, data: Any, limits: Limits) -> str | None:
    """The limit ``data`` breaks, described for the user, or None."""
    depth = nesting_depth(data, limits.max_depth)
    if depth > limits.max_depth:
        return f"{event}: nesting too deep (limit {limits.max_depth} levels)"
    if event == "send_message" and isinstance(data, dict):
        messages = data.get("messages")
        if isinstance(messages, list) and len(messages) > limits.max_messages:
            return (
                f"{event}: too many messages in the conversation ({len(messages)}; "
                f"limit {limits.max_messages})"
            )
        size = len(json.dumps(data, separators=(",", ":")).encode())
        if size > limits.max_message_bytes:
            return (
                f"{event}: message too large ({size:,} bytes; "
                f"limit {limits.max_message_bytes:,} bytes)"
            )
    return None


class RateLimiter:
    """A token bucket: ``rate`` events per second with bursts of ``2 * rate``."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._burst = max(2.0 * rate, 1.0)
        self._tokens = self._burst
        self._at = time.monotonic()
        self._lock = threading.Lock()
        self._last_warning = 0.0

    def admit(self) -> bool:
        """Take a token; False if the bucket is empty."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def should_warn(self) -> bool:
        """At most once a second, so refusing events cannot flood the client."""
        with self._lock:
            now = time.monotonic()
            if now - self._last_warning >= 1.0:
                self._last_warning = now
                return True
            return False


class GuardedJSON:
    """``json`` for Socket.IO packets that survives payloads nested too deeply.

    The standard decoder raises ``RecursionError`` at about a thousand levels
    and the packet would vanish without an answer; instead it decodes to an
    event of its own, which the server answers with an ``error``.
    """

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        """Encode as the standard library does."""
        return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        """Decode, or return ``[TOO_DEEP_EVENT]`` for a payload nested too deeply."""
        try:
            return json.loads(text, **kwargs)
        except RecursionError:
            return [TOO_DEEP_EVENT]


# -- the transport: what Engine.IO would drop without a word ---------------------------
#
# Engine.IO closes a connection whose message exceeds ``max_http_buffer_size`` and
# logs a traceback for a polling request of more than 16 packets, answering nothing
# either way. Both are caught here, before Engine.IO sees them, and replaced with a
# small event of our own that the server answers with a ``limit`` error. The
# oversized bytes are read and discarded, never held beyond the buffer size nor
# decoded, so memory stays bounded and the connection stays usable.

#: The event an oversized message or polling request is replaced with.
TRANSPORT_LIMIT_EVENT: Final = "gptchat:transport_limit"

# How a message of ours starts: Engine.IO "4" (message), Socket.IO "2" (event) with
# an optional ack id, then the event name and the conversation id as the web client
# and python-socketio send them. Read from the first bytes only, to name both in
# the error; the rest of an oversized message is never decoded.
_HEAD_RE = re.compile(
    r'^42\d*\[\s*"([A-Za-z_]{1,32})"\s*,\s*\{\s*"conversation_id"\s*:\s*"([A-Za-z0-9_-]{8,64})"'
)
_HEAD_CHARS: Final = 256
_DRAIN_CHUNK: Final = 64 * 1024


def transport_limit_packet(head: str = "", *, size: int = 0, packets: int = 0) -> str:
    """The Engine.IO packet that stands in for a message or request over a transport limit.

    :param head: the start of the refused data, to name its event and conversation.
    :param size: its size, when it was too large.
    :param packets: how many packets it held, when there were too many.
    """
    found = _HEAD_RE.match(head)
    info: dict[str, Any] = {"size": size, "packets": packets}
    if found:
        info["event"], info["conversation_id"] = found.groups()
    return "42" + json.dumps([TRANSPORT_LIMIT_EVENT, info], separators=(",", ":"))


def describe_transport_limit(data: Any, limits: Limits, max_packets: int) -> tuple[str, str | None]:
    """The error for a :data:`TRANSPORT_LIMIT_EVENT`, and its conversation id if known.

    ``data`` is what :func:`transport_limit_packet` made, or what a client
    forged in its place: only integers and a well-formed id are believed.
    """
    info = data if isinstance(data, dict) else {}

    def number(key: str) -> int:
        value = info.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    event = info.get("event")
    cid = info.get("conversation_id")
    event = event if isinstance(event, str) and event.isidentifier() and len(event) <= 32 else None
    cid = cid if isinstance(cid, str) and re.fullmatch(r"[A-Za-z0-9_-]{8,64}", cid) else None
    prefix = f"{event}: " if event else ""
    if number("packets"):
        return (
            f"{prefix}too many packets in one polling request ({number('packets')}; limit "
            f"{max_packets}); none of them was handled: send fewer at a time or use WebSocket",
            cid,
        )
    size = f"{number('size'):,} bytes; " if number("size") else ""
    return (
        f"{prefix}message too large ({size}limit {limits.max_message_bytes:,} bytes); "
        "it was discarded unread",
        cid,
    )


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PollingGuard:
    """WSGI middleware for Engine.IO polling POSTs over its size or packet-count limit.

    Such a request's body is replaced with one :func:`transport_limit_packet`:
    an oversized one is read in chunks and discarded (so the connection stays
    usable and the client gets its answer on its next poll), one with too many
    packets is dropped whole, as Engine.IO would, but answered.

    :param max_bytes: Engine.IO's ``max_http_buffer_size``.
    :param max_packets: called per request, so a change of Engine.IO's
        ``Payload.max_decode_packets`` is followed.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        max_bytes: int,
        max_packets: Callable[[], int],
        path: str = "/socket.io/",
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_packets = max_packets
        self.path = path

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Serve one request, replacing the body of a polling POST over a limit."""
        if environ.get("REQUEST_METHOD") != "POST" or not str(
            environ.get("PATH_INFO", "")
        ).startswith(self.path):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self.app(environ, start_response)
        if length <= 0:
            return self.app(environ, start_response)
        stream = environ["wsgi.input"]
        if length > self.max_bytes:
            head = stream.read(_HEAD_CHARS)
            left = length - len(head)
            while left > 0:
                chunk = stream.read(min(_DRAIN_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
            body = self._replace(head, transport_limit_packet(_text(head), size=length))
        else:
            body = stream.read(length)
            payload = _jsonp_payload(body)
            packets = payload.count("\x1e") + 1
            if packets > self.max_packets():
                body = self._replace(body, transport_limit_packet(payload, packets=packets))
        environ = dict(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    @staticmethod
    def _replace(original: bytes, packet: str) -> bytes:
        # A JSONP client posts the payload form-encoded as d=...; answer in kind.
        if original.startswith(b"d="):
            return b"d=" + quote(packet).encode()
        return packet.encode()


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _jsonp_payload(body: bytes) -> str:
    text = _text(body)
    if text.startswith("d="):
        return parse_qs(text).get("d", [""])[0]
    return text


class _CappedMessages:
    """A WebSocket connection's events, each message whole and at most ``max_size`` long.

    Stands in for ``wsproto``'s ``events()``: fragments are held back until their
    message is complete, so a message over the limit can be swapped, unheld,
    for a :func:`transport_limit_packet` once its last fragment has been read.
    """

    def __init__(self, events: Callable[[], Iterator[Event]], max_size: int) -> None:
        self._events = events
        self._max = max_size
        self._parts: list[str | bytes] = []
        self._head = ""
        self._size = 0

    def __call__(self) -> Iterator[Event]:
        for event in self._events():
            if not isinstance(event, Message):
                yield event
                continue
            if self._size == 0:
                first = event.data[:_HEAD_CHARS]
                self._head = first if isinstance(first, str) else _text(first)
            self._size += len(event.data)
            if self._size <= self._max:
                self._parts.append(event.data)
            else:
                self._parts.clear()
            if not event.message_finished:
                continue
            if self._size > self._max:
                yield TextMessage(data=transport_limit_packet(self._head, size=self._size))
            elif isinstance(event, TextMessage):
                yield TextMessage(data="".join(p for p in self._parts if isinstance(p, str)))
            else:
                yield BytesMessage(data=b"".join(p for p in self._parts if not isinstance(p, str)))
            self._parts, self._head, self._size = [], "", 0


class _CappedServer(simple_websocket.Server):  # type: ignore[misc]
    def __init__(self, environ: dict[str, Any], *, max_size: int, **kwargs: Any) -> None:
        self._max_size = max_size
        super().__init__(environ, **kwargs)

    def handshake(self) -> None:
        # The reader thread starts after the handshake, so every message passes through.
        self.ws.events = _CappedMessages(self.ws.events, self._max_size)
        super().handshake()


class CappedWebSocket(SimpleWebSocketWSGI):  # type: ignore[misc]
    """Engine.IO's threading WebSocket, with messages over its limit answered, not fatal.

    Engine.IO's own wrapper lets simple-websocket hold a message of any size and
    then closes the connection if it is over ``max_http_buffer_size``; this one
    never holds more than that and hands Engine.IO a :func:`transport_limit_packet`
    instead. Install it as the Engine.IO server's ``_async["websocket"]``.
    """

    def __init__(self, handler: Callable[..., Any], server: Any, **kwargs: Any) -> None:
        super().__init__(handler, server, **kwargs)
        self.max_size: int = server.max_http_buffer_size

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Accept the WebSocket and run Engine.IO's handler on it (as the base class does)."""
        self.ws = _CappedServer(environ, max_size=self.max_size, **self.server_args)
        ret = self.app(self)
        if self.ws.mode == "gunicorn":
            raise StopIteration()
        if self.ws.mode == "werkzeug":
            raise ConnectionError()
        return ret
