"""Limits on what one client may send and hold: sizes, rates and counts.

No Flask calls, so it can be tested alone. The server checks each incoming
event against its :class:`~gptchat._settings.Settings` before validating it with
pydantic, and answers a breach with an ``error`` event of code ``limit`` that
names the limit; the connection and the server stay up. Two guards sit below Socket.IO, at the
transport (``_engineio.PollingGuard``, ``_engineio.CappedWebSocket``), so that
what Engine.IO would drop silently gets the same answer (:data:`TRANSPORT_LIMIT_EVENT`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Final

from ._settings import Settings
from .protocol import ClientEvent

#: The event name a payload nested too deeply to decode is replaced with.
TOO_DEEP_EVENT: Final = "gptchat:too_deep"


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


#: The events that carry a conversation's messages: the message count and size limits apply.
_MESSAGE_EVENTS: Final = frozenset(
    {ClientEvent.SEND_MESSAGE, ClientEvent.IMPORT_CONVERSATION, ClientEvent.RUN_ACTION}
)


def check_payload(event: str, data: Any, limits: Settings) -> str | None:
    """The limit ``data`` breaks, described for the user, or None."""
    depth = nesting_depth(data, limits.max_depth)
    if depth > limits.max_depth:
        return f"{event}: nesting too deep (limit {limits.max_depth} levels)"
    if event in _MESSAGE_EVENTS and isinstance(data, dict):
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


#: The event an oversized message or polling request is replaced with.
TRANSPORT_LIMIT_EVENT: Final = "gptchat:transport_limit"


def describe_transport_limit(
    data: Any, limits: Settings, max_packets: int
) -> tuple[str, str | None]:
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
