"""Relaying OpenAI streams to a run: ``app.stream()``, and hanging up on stop.

A stream is what ``client.chat.completions.create(..., stream=True)`` returns,
or any iterable of chunks, choices or deltas. Its index-0 deltas go to one
message as they arrive and are folded into the message ``app.stream()``
returns. A Responses API stream (``client.responses.create(..., stream=True)``)
is told by its events' ``type`` and goes through :mod:`gptchat._responses`,
which may fill several messages; ``app.stream()`` returns its ``Response``.
When the user presses stop, the stream is closed, and its socket shut down if
the model is thinking in silence, so the provider stops generating. No openai
import: SDK objects are recognised by their shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ._coerce import to_plain
from ._merge import fold_choices
from ._responses import ResponsesTranslator, kind_of
from .errors import StopGeneration
from .runs import Run


def stopped() -> StopGeneration:
    """The exception that unwinds a handler whose user pressed stop."""
    return StopGeneration("the user stopped this reply")


def choice_of(plain: dict[str, Any]) -> dict[str, Any] | None:
    """The index-0 choice of a streamed chunk or choice, or None (a usage-only chunk)."""
    if "choices" in plain:
        for choice in plain.get("choices") or []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                return choice
        return None
    return plain if "delta" in plain else {"delta": plain}


def is_async_iterable(obj: Any) -> bool:
    """Whether ``obj`` is iterated with ``async for`` (and not with ``for``)."""
    return hasattr(obj, "__aiter__") and not hasattr(obj, "__iter__")


def is_sdk_stream(obj: Any, name: str = "Stream") -> bool:
    """Whether ``obj`` is an openai ``Stream`` (or, with ``name``, ``AsyncStream``)."""
    kind = type(obj)
    return (
        kind.__name__ == name
        and kind.__module__.startswith("openai")
        and callable(getattr(obj, "close", None))
    )


def held_streams(gen: Any) -> list[Any]:
    """The openai streams a suspended generator holds, directly or through ``yield from``.

    An openai ``Stream`` sits in a reference cycle (it holds its own generator), so
    closing the handler's generator leaves the HTTP response open, and the model
    generating, until the next garbage collection: these get closed explicitly.
    """
    found: list[Any] = []
    current = gen
    while current is not None:
        frame = getattr(current, "gi_frame", None)
        if frame is not None:
            found += [v for v in frame.f_locals.values() if is_sdk_stream(v)]
        current = getattr(current, "gi_yieldfrom", None)
    return found


def watch_streams(run: Run, streams: list[Any], watched: set[int]) -> None:
    """Give each stream not yet in ``watched`` a hang-up for when ``run`` is stopped."""
    for stream in streams:
        if id(stream) in watched:
            continue
        watched.add(id(stream))
        hang_up = _hang_up(stream)
        if hang_up is not None:
            run.on_stop(hang_up)


def _hang_up(stream: Any) -> Callable[[], None] | None:
    """A way to cut a relayed HTTP stream from another thread, or None.

    Closing the response from another thread does not wake a read blocked on a model
    that is thinking in silence; shutting its socket down does, and the iteration
    ends at once. Only while the response is still open: a finished response's
    connection may already serve another request.
    """
    response = getattr(stream, "response", None)
    extensions = getattr(response, "extensions", None)
    network = extensions.get("network_stream") if isinstance(extensions, Mapping) else None
    get_extra_info = getattr(network, "get_extra_info", None)
    sock = get_extra_info("socket") if callable(get_extra_info) else None
    if not isinstance(sock, socket.socket):
        return None

    def hang_up() -> None:
        if not getattr(response, "is_closed", True):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    return hang_up


def _not_a_stream(stream: Any) -> TypeError | None:
    if type(stream).__name__ == "Response" or (
        isinstance(stream, dict) and kind_of(stream) == "response"
    ):
        return TypeError(
            "app.stream() relays a stream, not a whole Response: create it with stream=True, "
            "e.g. app.stream(client.responses.create(..., stream=True)), or send the "
            "Response with app.update_message(response)"
        )
    if isinstance(stream, (str, bytes, dict)) or hasattr(stream, "model_dump"):
        return TypeError(
            f"app.stream() relays a stream, not a {type(stream).__name__}: create it with "
            "stream=True, e.g. app.stream(client.chat.completions.create(..., stream=True)); "
            "send a complete message with app.update_message(response.choices[0].message)"
        )
    if not (hasattr(stream, "__iter__") or hasattr(stream, "__aiter__")):
        return TypeError(f"app.stream() takes an iterable of chunks, not a {type(stream).__name__}")
    return None


def new_id() -> str:
    """A fresh message id (as ``app.new_id()`` gives)."""
    return uuid.uuid4().hex


# One translator per run for Responses events handed to update_message() one by one:
# an event only makes sense with the items that came before it.
_translators: weakref.WeakKeyDictionary[Run, ResponsesTranslator] = weakref.WeakKeyDictionary()


def update_responses(run: Run, plain: dict[str, Any], message_id: str | None) -> str:
    """Send a Responses event, ``Response`` or item (``plain``) to ``run``; the last id.

    Events go through the run's translator, so that ``update_message(event)``
    for each event of a stream builds the same messages as ``app.stream()``.
    """
    translator = _translators.get(run)
    if translator is None:
        translator = _translators[run] = ResponsesTranslator(new_id)
    if message_id is not None and message_id != translator.current_id():
        translator.break_message()
        translator.set_first_id(message_id)
    last = message_id
    for target, delta in translator.feed(plain):
        run.update(target, delta)
        last = target
    return last or translator.last_id() or new_id()


class StreamFolder:
    """Relays one stream's index-0 deltas to a message, and folds them.

    A Responses API stream is recognised by its first event and translated
    (:class:`ResponsesTranslator`): its first message gets ``message_id``.
    """

    def __init__(self, run: Run, message_id: str) -> None:
        self._run = run
        self.message_id = message_id
        self._choices: list[dict[str, Any]] = []
        self._sdk = False
        self._responses: ResponsesTranslator | None = None

    def feed(self, chunk: Any) -> None:
        """Send one chunk (or choice, or delta) on."""
        if self._run.stop_requested():
            raise stopped()
        if not isinstance(chunk, dict):
            self._sdk = True
        plain = to_plain(chunk, "the streamed chunk")
        if not isinstance(plain, dict):
            raise TypeError(
                f"app.stream() got a {type(chunk).__name__} in the stream: it relays OpenAI "
                "ChatCompletionChunk objects (or their choices, or deltas)"
            )
        if self._responses is not None or (not self._choices and kind_of(plain) == "event"):
            if self._responses is None:
                self._responses = ResponsesTranslator(new_id, first_id=self.message_id)
            for target, change in self._responses.feed(chunk, plain):
                self._run.update(target, change)
            return
        choice = choice_of(plain)
        if choice is not None:
            self._choices.append(choice)
            delta = choice.get("delta")
            if isinstance(delta, dict) and delta:
                self._run.update(self.message_id, delta)
        usage = plain.get("usage")
        if isinstance(usage, dict):
            self._run.update(self.message_id, {"usage": usage})

    def message(self) -> Any:
        """The folded message: a ``ChatCompletionMessage`` for SDK chunks, else a dict.

        For a Responses stream, the ``Response`` of its ``response.completed`` (or
        ``.incomplete``) event as it came, or, for a stream that ended without
        one, the response folded so far (a dict).
        """
        if self._responses is not None:
            if self._responses.final is not None:
                return self._responses.final
            return {**(self._responses.response or {}), "output": self._responses.output()}
        folded = fold_choices(self._choices)["message"]
        if self._sdk:
            try:
                from openai.types.chat import ChatCompletionMessage
            except ImportError:  # pragma: no cover - openai is a dependency
                return folded
            return ChatCompletionMessage.model_validate(folded)
        return folded


def relay_stream(run: Run, message_id: str, stream: Any) -> Any:
    """Relay a sync stream; the folded message."""
    error = _not_a_stream(stream)
    if error is not None:
        raise error
    folder = StreamFolder(run, message_id)
    hang_up = _hang_up(stream)
    if hang_up is not None:
        run.on_stop(hang_up)  # stop reaches a handler waiting on a silent model
    finished = False
    try:
        for chunk in stream:
            folder.feed(chunk)
        if run.stop_requested():
            raise stopped()  # the stream ended because stop cut it, not because it was done
        finished = True
    finally:
        close = getattr(stream, "close", None)
        if not finished and callable(close):
            close()  # stop the provider generating (and billing) what nobody sees
    return folder.message()


async def relay_async_stream(run: Run, message_id: str, stream: Any) -> Any:
    """Relay an async stream; the folded message."""
    folder = StreamFolder(run, message_id)
    finished = False
    try:
        async for chunk in stream:
            folder.feed(chunk)
        finished = True
    finally:
        if not finished:
            close = getattr(stream, "aclose", None) or getattr(stream, "close", None)
            if callable(close):
                maybe = close()
                if inspect.isawaitable(maybe):
                    await maybe
    return folder.message()


def stream_awaitable(run: Run, message_id: str, stream: Any) -> Awaitable[Any]:
    """``relay_async_stream`` after checking ``stream`` (so misuse fails at the call)."""
    error = _not_a_stream(stream)
    if error is not None:
        raise error
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise TypeError(
            "app.stream() got an async stream (from AsyncOpenAI) outside an async handler: "
            "make the handler `async def` and use `await app.stream(stream)`, or use the "
            "sync OpenAI client"
        ) from None
    return relay_async_stream(run, message_id, stream)
