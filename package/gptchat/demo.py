"""The offline showcase: a handler that needs no API key and no network.

Each starter prompt shows one thing the chat window does (code, math, a long table,
parallel tool calls, a reasoning block, an image, a long answer, an error and its
retry), streamed the way a real model streams: deltas in OpenAI format through
:meth:`ChatApp.update_message`, tool calls with streamed arguments, ``{"role": "tool"}``
results. Any other text gets a reply that quotes it and points at the prompts.

The pace is ``GPTCHAT_DEMO_PACE`` seconds per token (default 0.01; 0 for no pause).
"""

from __future__ import annotations

import json
import logging
import os
import re
import string
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from . import _demo_content as content
from .chat_app import ChatApp
from .errors import StopGeneration
from .interaction import Action

log = logging.getLogger("gptchat")

Handler = Callable[[list[dict[str, Any]]], None]

#: The starter prompts, by the kind of reply each shows. A typed message that is not one
#: of them is matched by KEYWORDS instead.
PROMPTS: dict[str, str] = {
    "code": "Code in five languages",
    "math": "Prove the Pythagorean theorem",
    "table": "A table of 26 elements",
    "weather": "Weather in three cities",
    "think": "Think before answering",
    "image": "Draw a picture",
    "long": "Write a long answer",
    "error": "Fail, then retry",
    "agent": "Send an email, with my approval",
}

#: Words that pick a reply for typed text, tried in this order ("a long table" is a table).
KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    ("agent", ("email", "e-mail", "approve", "approval", "agent")),
    ("error", ("error", "fail", "retry", "crash")),
    ("image", ("image", "picture", "draw", "photo", "svg")),
    ("think", ("think", "thinking", "reason", "reasoning")),
    ("weather", ("weather", "tool", "tools", "forecast")),
    ("table", ("table", "tables", "elements")),
    ("math", ("math", "maths", "theorem", "pythagoras", "pythagorean", "equation", "proof")),
    ("code", ("code", "python", "typescript", "javascript", "rust", "sql", "shell", "bash")),
    ("long", ("long", "essay", "article", "story")),
]

DEMO_CONFIG: dict[str, Any] = {
    "title": "gptchat demo",
    "agent_name": "Demo",
    "placeholder": "Message the offline demo",
    "starter_prompts": list(PROMPTS.values()),
    "functions": {
        "get_weather": {"header": "Fetching **weather**...", "result_type": "json"},
        "send_email": {"header": "Sending an **email**", "result_type": "json"},
    },
}

#: The agent's button under its last reply: it runs the agent again.
ANOTHER = "demo.another"

DEFAULT_PACE = 0.01
# Long replies go at a fast model's pace, so that even the longest ends within ~10 s.
_TABLE_SPEEDUP = 2
_LONG_SPEEDUP = 4
# Turns whose first attempt failed, so that their retry succeeds; oldest forgotten first.
_MAX_REMEMBERED_FAILURES = 1024

_TOKEN = re.compile(r"\s*\S{1,4}|\s+")
_WORD = re.compile(r"[a-z]+")
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")


def tokens(text: str) -> Iterator[str]:
    """Split text into pieces of about four characters, like model tokens."""
    yield from _TOKEN.findall(text)


def pick_reply(text: str) -> str | None:
    """The kind of reply for a user's text (a key of :data:`PROMPTS`), or None.

    A starter prompt's exact text wins; otherwise the first kind in :data:`KEYWORDS`
    with a word in the text, so a typed "show me some python" also shows code.
    """
    stripped = text.strip()
    for kind, prompt in PROMPTS.items():
        if stripped == prompt:
            return kind
    words = set(_WORD.findall(stripped.lower()))
    for kind, keys in KEYWORDS:
        if words.intersection(keys):
            return kind
    return None


def quote(text: str, limit: int = 120) -> str:
    """The user's text as one short line of markdown that renders literally."""
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[:limit].rsplit(" ", 1)[0] + "…"
    # Escaping every ASCII punctuation mark keeps a quoted "```" or "$x$" from opening
    # a code block or math: CommonMark allows a backslash before any of them.
    return _PUNCTUATION.sub(r"\\\1", line)


def free_text_reply(text: str) -> str:
    """The reply to text that names no starter prompt: it quotes it and lists the prompts."""
    said = quote(text)
    opening = f"You wrote: “{said}”\n\n" if said else ""
    prompts = "".join(
        f"- **{PROMPTS[kind]}**: {what}\n" for kind, what in content.PROMPT_DESCRIPTIONS
    )
    return f"{opening}{content.FREE_TEXT_INTRO}\n{prompts}{content.FREE_TEXT_OUTRO}"


def pace_from_env(default: float = DEFAULT_PACE) -> float:
    """Seconds per token from ``GPTCHAT_DEMO_PACE``, or ``default`` if unset or invalid."""
    raw = os.environ.get("GPTCHAT_DEMO_PACE", "").strip()
    if not raw:
        return default
    try:
        pace = float(raw)
    except ValueError:
        pace = -1.0
    if not 0 <= pace <= 1:
        log.warning(
            "gptchat: ignoring GPTCHAT_DEMO_PACE=%r: it takes seconds per token from 0 to 1, "
            "e.g. 0.01",
            raw,
        )
        return default
    return pace


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            text = message.get("content")
            if isinstance(text, str):
                return text
            if isinstance(text, list):
                return " ".join(p.get("text", "") for p in text if p.get("type") == "text")
    return ""


class _Demo:
    """The replies, each streamed through ``app`` at ``pace`` seconds per token."""

    def __init__(self, app: ChatApp, pace: float) -> None:
        self.app = app
        self.pace = pace
        self._failed: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._lock = threading.Lock()  # replies to several tabs run in parallel
        self.replies: dict[str, Handler] = {
            "code": self.code,
            "math": self.math,
            "table": self.table,
            "weather": self.weather,
            "think": self.think,
            "image": self.image,
            "long": self.long,
            "error": self.error,
            "agent": self.agent,
        }

    def on_message(self, messages: list[dict[str, Any]]) -> None:
        """The handler: the reply its last user message names, or the free-text reply."""
        text = _last_user_text(messages)
        kind = pick_reply(text)
        if kind is None:
            self.stream(self.app.new_id(), free_text_reply(text))
        else:
            self.replies[kind](messages)

    # -- streaming -----------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        """Wait, in small steps so that Stop is not kept waiting.

        :raises StopGeneration: once the user pressed Stop, as update_message() would.
        """
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.app.stop_requested():
                raise StopGeneration
            time.sleep(min(left, 0.02))

    def stream(self, mid: str, text: str, key: str = "content", pace: float | None = None) -> None:
        """Stream ``text`` into ``delta[key]`` of message ``mid``, a token at a time."""
        wait = self.pace if pace is None else pace
        for i, piece in enumerate(tokens(text)):
            delta: dict[str, Any] = {key: piece}
            if i == 0:
                delta["role"] = "assistant"
            self.app.update_message(delta, id=mid)  # raises StopGeneration after Stop
            if wait:
                time.sleep(wait)

    # -- the replies ---------------------------------------------------------------

    def code(self, messages: list[dict[str, Any]]) -> None:
        self.stream(self.app.new_id(), content.CODE)

    def math(self, messages: list[dict[str, Any]]) -> None:
        self.stream(self.app.new_id(), content.MATH)

    def table(self, messages: list[dict[str, Any]]) -> None:
        self.stream(self.app.new_id(), content.TABLE, pace=self.pace / _TABLE_SPEEDUP)

    def long(self, messages: list[dict[str, Any]]) -> None:
        self.stream(self.app.new_id(), content.LONG, pace=self.pace / _LONG_SPEEDUP)

    def think(self, messages: list[dict[str, Any]]) -> None:
        # Reasoning models send their thoughts first, in the same message as the answer.
        mid = self.app.new_id()
        self.stream(mid, content.REASONING, key="reasoning_content", pace=self.pace / 2)
        self.pause(10 * self.pace)
        self.stream(mid, content.REASONING_ANSWER)

    def image(self, messages: list[dict[str, Any]]) -> None:
        mid = self.app.new_id()
        self.stream(mid, content.PICTURE_BEFORE)
        self.pause(20 * self.pace)  # "drawing"
        # The image arrives whole: streamed, its base64 would flash by as text.
        self.app.update_message({"content": content.PICTURE_IMAGE}, id=mid)
        self.stream(mid, content.PICTURE_AFTER)

    def weather(self, messages: list[dict[str, Any]]) -> None:
        text = _last_user_text(messages).lower()
        named = [city for city in content.WEATHER if city.lower() in text]
        cities = (named + [c for c in content.DEFAULT_CITIES if c not in named])[:3]
        calls = [("call_" + self.app.new_id()[:24], city) for city in cities]
        mid = self.app.new_id()
        self.app.update_message({"role": "assistant", "content": None}, id=mid)
        # Several calls in one message, their argument pieces interleaved: the client has
        # to merge each piece into its call by index.
        pieces = [list(tokens(json.dumps({"city": city, "unit": "celsius"}))) for _, city in calls]
        for step in range(max(len(p) for p in pieces)):
            for index, ((call_id, _), args) in enumerate(zip(calls, pieces, strict=True)):
                if step >= len(args):
                    continue
                call: dict[str, Any] = {"index": index, "function": {"arguments": args[step]}}
                if step == 0:
                    call.update(id=call_id, type="function")
                    call["function"]["name"] = "get_weather"
                self.app.update_message({"tool_calls": [call]}, id=mid)
                if self.pace:
                    time.sleep(self.pace)
        reports = []
        for call_id, city in calls:
            self.pause(15 * self.pace)  # the "tool" works
            report = {"city": city, "unit": "celsius", **content.WEATHER[city]}
            reports.append(report)
            self.app.update_message(
                {"role": "tool", "tool_call_id": call_id, "content": json.dumps(report)}
            )
        self.stream(self.app.new_id(), content.weather_answer(reports))

    def error(self, messages: list[dict[str, Any]]) -> None:
        # A retry sends the same conversation again: the same id, the same number of turns.
        turn = (self.app.context().conversation_id, sum(m.get("role") == "user" for m in messages))
        with self._lock:
            retried = turn in self._failed
            if not retried:
                self._failed[turn] = None
                if len(self._failed) > _MAX_REMEMBERED_FAILURES:
                    self._failed.popitem(last=False)
        if retried:
            self.stream(self.app.new_id(), content.ERROR_RETRIED)
            return
        self.stream(self.app.new_id(), content.ERROR_PARTIAL)
        self.pause(20 * self.pace)
        raise ConnectionError(content.ERROR_MESSAGE)

    def agent(self, messages: list[dict[str, Any]]) -> None:
        # An agent with its user in the loop: it asks, then asks before it acts.
        to = self.app.ask(content.AGENT_QUESTION, choices=list(content.AGENT_PEOPLE))
        call_id = "call_" + self.app.new_id()[:24]
        arguments = json.dumps(
            {
                "to": content.AGENT_PEOPLE[to],
                "subject": content.AGENT_SUBJECT,
                "body": content.AGENT_BODY,
            }
        )
        mid = self.app.new_id()
        self.app.update_message({"role": "assistant", "content": None}, id=mid)
        for i, piece in enumerate(tokens(arguments)):
            call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
            if i == 0:
                call.update(id=call_id, type="function")
                call["function"]["name"] = "send_email"
            self.app.update_message({"tool_calls": [call]}, id=mid)
            if self.pace:
                time.sleep(self.pace)
        decision = self.app.confirm(
            {"id": call_id, "function": {"name": "send_email", "arguments": arguments}},
            prompt=content.AGENT_CONFIRM,
        )
        if not decision.approved:
            self.stream(self.app.new_id(), content.AGENT_DENIED)
            return
        self.pause(15 * self.pace)  # the "mail server" works
        args = decision.args if isinstance(decision.args, dict) else {}
        sent = {"status": "sent", "to": args.get("to"), "offline_demo": True}
        self.app.update_message(
            {"role": "tool", "tool_call_id": call_id, "content": json.dumps(sent)}
        )
        answer = self.app.new_id()
        self.stream(answer, content.agent_sent(str(args.get("to"))))
        self.app.update_message({}, id=answer, actions=[Action(name=ANOTHER, label="Send another")])


def demo_handler(app: ChatApp, delay: float | None = None) -> Handler:
    """Return a handler for ``app`` that streams the showcase replies.

    It also registers the demo's one action (``demo.another``, the agent's "Send
    another" button) with ``app``.

    :param delay: seconds per token; by default ``GPTCHAT_DEMO_PACE`` or 0.01.

    Example::

        app.set_config(DEMO_CONFIG)
        app.handle_send_message(demo_handler(app))
    """
    demo = _Demo(app, pace_from_env() if delay is None else max(0.0, delay))
    app.handle_action(ANOTHER)(lambda call: demo.agent(call.messages))
    return demo.on_message
