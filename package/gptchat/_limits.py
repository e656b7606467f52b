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
from .protocol import (
    AUDIO_FORMATS,
    FILE_DATA_TYPES,
    IMAGE_DATA_TYPES,
    AttachmentRule,
    Attachments,
    ClientEvent,
    base64_size,
    data_url_type,
    file_type_allowed,
    media_type_matches,
)

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


_KIND_NAMES = {"image": "images", "file": "files", "audio": "audio"}
_KIND_TYPES = {
    "image": IMAGE_DATA_TYPES,
    "file": FILE_DATA_TYPES,
    "audio": tuple(AUDIO_FORMATS.values()),
}


def _attached(part: Any) -> tuple[str, str, str, str] | None:
    """An attached part's kind, where its data is, its media type and its base64 data.

    None for a part that carries no data of the user's (text, an http image, a file
    named by ``file_id``) or is malformed (pydantic says how, after this check).
    """
    if not isinstance(part, dict):
        return None
    kind = part.get("type")
    if kind == "image_url" and isinstance(part.get("image_url"), dict):
        url = part["image_url"].get("url")
        media_type = data_url_type(url) if isinstance(url, str) else None
        if media_type is not None:
            return "image", "image_url.url", media_type, url.partition(",")[2]
    elif kind == "file" and isinstance(part.get("file"), dict):
        url = part["file"].get("file_data")
        media_type = data_url_type(url) if isinstance(url, str) else None
        if media_type is not None:
            return "file", "file.file_data", media_type, url.partition(",")[2]
    elif kind == "input_audio" and isinstance(part.get("input_audio"), dict):
        audio = part["input_audio"]
        media_type = AUDIO_FORMATS.get(str(audio.get("format")), "")
        if isinstance(audio.get("data"), str) and media_type:
            return "audio", "input_audio.data", media_type, audio["data"]
    return None


def _refusal(kind: str, media_type: str, data: str, rule: AttachmentRule | None) -> str | None:
    name = _KIND_NAMES[kind]
    carried = file_type_allowed if kind == "file" else _KIND_TYPES[kind].__contains__
    if not carried(media_type):
        return None  # a type no such part may carry: validation refuses it, saying so
    if rule is None:
        return f"{name} cannot be attached here"
    types = rule.types if rule.types is not None else _KIND_TYPES[kind]
    if not media_type_matches(media_type, types):
        return (
            f"{name} of type {media_type[:64]!r} are not accepted here "
            f"(accepted: {', '.join(types)})"
        )
    size = base64_size(data)
    if size > rule.max_bytes:
        return f"too large ({size:,} bytes; {name} may be up to {rule.max_bytes:,} bytes)"
    return None


def check_attachments(event: str, data: Any, rules: Attachments) -> str | None:
    """The attachment of a user message in ``data`` that ``rules`` refuse, described, or None.

    Each image (a ``data:`` URL), file and audio part of a user message must be of a
    kind that is on, of a type it takes and within its size. Checked before the
    event is handled, so a refused message is neither answered nor kept.

    Example::

        check_attachments("send_message", payload, attachment_rules(config))
        # 'send_message: messages.0.message.content.1.file.file_data: too large (...)'
    """
    if event not in _MESSAGE_EVENTS or not isinstance(data, dict):
        return None
    messages = data.get("messages")
    if not isinstance(messages, list):
        return None
    for i, entry in enumerate(messages):
        if not isinstance(entry, dict):
            continue
        # send_message and run_action wrap each message with its id; an import does not.
        wrapped = isinstance(entry.get("message"), dict)
        message = entry["message"] if wrapped else entry
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            found = _attached(part)
            if found is None:
                continue
            kind, field, media_type, b64 = found
            problem = _refusal(kind, media_type, b64, getattr(rules, kind))
            if problem is not None:
                where = f"messages.{i}{'.message' if wrapped else ''}.content.{j}.{field}"
                return f"{event}: {where}: {problem}"
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
