"""Running handlers of every style, and relaying OpenAI streams to a run.

A handler may call ``update_message()`` itself, return messages, be a (sync or
async) generator of deltas and messages, or ``await`` things. This module turns
each style into :meth:`Run.update` calls; :mod:`gptchat.chat_app` keeps the
public methods. No openai import: SDK objects are recognised by their shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from typing import Any, TypeVar

from ._coerce import to_plain
from ._merge import fold_choices
from .errors import StopGeneration
from .runs import Run

NewId = Callable[[], str]
T = TypeVar("T")

#: How often an async handler checks whether the user pressed stop, in seconds.
STOP_POLL_INTERVAL = 0.05


def _stopped() -> StopGeneration:
    return StopGeneration("the user stopped this reply")


def _choice_of(plain: dict[str, Any]) -> dict[str, Any] | None:
    """The index-0 choice of a streamed chunk or choice, or None (a usage-only chunk)."""
    if "choices" in plain:
        for choice in plain.get("choices") or []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                return choice
        return None
    return plain if "delta" in plain else {"delta": plain}


def _is_complete_response(obj: Any) -> bool:
    plain_type = getattr(obj, "object", None)
    if isinstance(obj, dict):
        plain_type = obj.get("object")
    return plain_type == "chat.completion"


class Relay:
    """Sends the items a generator handler yields to one run.

    The rules ("one id per yielded stream"):

    * text (``str``), a delta (``ChoiceDelta``, a dict without ``role``), a streamed
      ``Choice`` or a ``ChatCompletionChunk`` extends the current message, which
      starts with a fresh id; a ``finish_reason`` ends it; a chunk's ``usage``
      goes to the message it belongs to (shown if ``show_usage`` is set);
    * a dict with a ``role`` starts a new current message;
    * a complete message (``ChatCompletionMessage``, any ``role: tool`` result) is
      sent as a message of its own and ends the current one;
    * a pair ``(id, item)`` sends ``item`` to message ``id`` and changes nothing else.
    """

    def __init__(self, run: Run, new_id: NewId) -> None:
        self._run = run
        self._new_id = new_id
        self._current: str | None = None
        self._last: str | None = None  # usage arrives after the finish_reason

    def send(self, item: Any) -> None:
        """Send one yielded item."""
        if self._run.stop_requested():
            raise _stopped()
        if item is None:
            return
        if isinstance(item, tuple):
            if len(item) != 2 or not isinstance(item[0], str) or not item[0]:
                raise TypeError(
                    "a handler yielded a tuple: yield (message_id, delta) pairs, with an id "
                    "from app.new_id(), or plain deltas and messages"
                )
            plain = to_plain(item[1], "the yielded message")
            if isinstance(plain, dict) and plain:
                self._run.update(item[0], plain)
            return
        if isinstance(item, str):
            self._extend({"content": item})
            return
        if _is_complete_response(item):
            raise TypeError(
                "a handler yielded a whole ChatCompletion: yield response.choices[0].message, "
                "or create the completion with stream=True and yield its chunks"
            )
        is_sdk_delta = not isinstance(item, dict) and type(item).__name__.endswith("Delta")
        plain = to_plain(item, "the yielded message")
        if not isinstance(plain, dict):
            raise TypeError(
                f"a handler yielded a {type(item).__name__}: yield text, deltas, chunks or "
                "messages (dicts in OpenAI format or openai SDK objects)"
            )
        if "choices" in plain or "delta" in plain:
            choice = _choice_of(plain)
            if choice is not None:
                delta = choice.get("delta")
                if isinstance(delta, dict) and delta:
                    self._extend(delta)
                if choice.get("finish_reason") is not None:
                    self._current = None
            usage = plain.get("usage")
            target = self._current or self._last
            if isinstance(usage, dict) and target is not None:
                self._run.update(target, {"usage": usage})
            return
        role = plain.get("role")
        if role is None or is_sdk_delta:
            self._extend(plain)
        elif role == "tool" or not isinstance(item, dict):
            self._current = None
            self._run.update(self._new_id(), plain)
        else:
            self._current = self._new_id()
            self._run.update(self._current, plain)

    def _extend(self, delta: dict[str, Any]) -> None:
        if self._current is None:
            self._current = self._new_id()
        self._last = self._current
        self._run.update(self._current, delta)


#: Fields of earlier replies that providers refuse as input (DeepSeek: HTTP 400 on
#: reasoning); ``usage`` is what gptchat shows under a reply, not part of a message.
_NOT_INPUT = ("reasoning_content", "reasoning", "usage")


def history(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation as the handler gets it: earlier replies' reasoning and usage left out."""
    return [
        {k: v for k, v in m.items() if k not in _NOT_INPUT}
        if any(k in m for k in _NOT_INPUT)
        else m
        for m in messages
    ]


def send_result(run: Run, new_id: NewId, result: Any) -> None:
    """Send what a handler returned: None, a message, or a list of messages."""
    if result is None:
        return
    items = result if isinstance(result, (list, tuple)) else [result]
    for item in items:
        if item is None:
            continue
        if isinstance(item, str):
            item = {"role": "assistant", "content": item}
        if _is_complete_response(item):
            raise TypeError(
                "the handler returned a whole ChatCompletion: return "
                "response.choices[0].message instead"
            )
        plain = to_plain(item, "the returned message")
        if not isinstance(plain, dict) or "role" not in plain:
            raise TypeError(
                f"the handler returned {type(item).__name__} {str(item)[:60]!r}, which is not a "
                "message: return a message with a role (a dict in OpenAI format or a "
                "ChatCompletionMessage), a list of them, or None"
            )
        run.update(new_id(), plain)


def consume(run: Run, new_id: NewId, result: Any) -> None:
    """Run a handler's result to the end: a generator, an awaitable or a return value."""
    if inspect.isgenerator(result):
        _consume_generator(run, new_id, result)
    elif inspect.isasyncgen(result) or inspect.isawaitable(result):
        run_on_loop(_consume_async(run, new_id, result))
    else:
        send_result(run, new_id, result)


_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def event_loop() -> asyncio.AbstractEventLoop:
    """The event loop every async handler runs on, in a thread of its own.

    One loop for the whole process, so that a module-level ``AsyncOpenAI()``
    client (whose connection pool belongs to one loop) works run after run.
    """
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="gptchat-asyncio", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def run_on_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on :func:`event_loop` with this thread's context; wait for it."""
    context = contextvars.copy_context()

    async def in_context() -> T:
        # A task copies the loop thread's context: bring the caller's (the current run).
        for var, value in context.items():
            var.set(value)
        return await coro

    return asyncio.run_coroutine_threadsafe(in_context(), event_loop()).result()


def _is_sdk_stream(obj: Any, name: str = "Stream") -> bool:
    kind = type(obj)
    return (
        kind.__name__ == name
        and kind.__module__.startswith("openai")
        and callable(getattr(obj, "close", None))
    )


def _held_streams(gen: Any) -> list[Any]:
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
            found += [v for v in frame.f_locals.values() if _is_sdk_stream(v)]
        current = getattr(current, "gi_yieldfrom", None)
    return found


def _watch_streams(run: Run, streams: list[Any], watched: set[int]) -> None:
    for stream in streams:
        if id(stream) in watched:
            continue
        watched.add(id(stream))
        hang_up = _hang_up(stream)
        if hang_up is not None:
            run.on_stop(hang_up)


def _consume_generator(run: Run, new_id: NewId, gen: Iterator[Any]) -> None:
    relay = Relay(run, new_id)
    finished = False
    watched: set[int] = set()
    delegate: Any = None
    try:
        for count, item in enumerate(gen):
            # Between items the generator is suspended, so the streams it reads can be
            # found: give each a hang-up for stop, which otherwise would wait for the
            # model's next chunk. Looked for when what it delegates to changes, and now
            # and then for streams it loops over itself.
            current = getattr(gen, "gi_yieldfrom", None)
            if current is not delegate or count % 256 == 0:
                delegate = current
                _watch_streams(run, _held_streams(gen), watched)
            relay.send(item)
        # A hang-up ends the stream early, as if it were done: _execute still finishes
        # the run as stopped, since stop was requested.
        finished = True
    finally:
        streams = [] if finished else _held_streams(gen)
        close = getattr(gen, "close", None)
        if close is not None:
            close()  # runs the handler's `finally:`/`with` blocks
        for stream in streams:
            stream.close()  # stop the provider generating what nobody will see


async def _consume_async(run: Run, new_id: NewId, result: Any) -> None:
    async def body() -> None:
        if inspect.isasyncgen(result):
            relay = Relay(run, new_id)
            finished = False
            try:
                async for item in result:
                    relay.send(item)
                finished = True
            finally:
                # As for sync generators (_held_streams): close the streams it holds.
                frame = result.ag_frame
                held = [] if finished or frame is None else list(frame.f_locals.values())
                await result.aclose()
                for stream in held:
                    if _is_sdk_stream(stream, "AsyncStream"):
                        await stream.close()
        else:
            value = await result
            if inspect.isgenerator(value) or inspect.isasyncgen(value):
                await asyncio.to_thread(consume, run, new_id, value)
            else:
                send_result(run, new_id, value)

    task = asyncio.ensure_future(body())
    # Cancel the handler as soon as the user presses stop, even mid-await.
    while not task.done():
        await asyncio.wait({task}, timeout=STOP_POLL_INTERVAL)
        if run.stop_requested() and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                raise _stopped() from None
    task.result()


# -- app.stream() ------------------------------------------------------------------


def _not_a_stream(stream: Any) -> TypeError | None:
    if isinstance(stream, (str, bytes, dict)) or hasattr(stream, "model_dump"):
        return TypeError(
            f"app.stream() relays a stream, not a {type(stream).__name__}: create it with "
            "stream=True, e.g. app.stream(client.chat.completions.create(..., stream=True)); "
            "send a complete message with app.update_message(response.choices[0].message)"
        )
    if not (hasattr(stream, "__iter__") or hasattr(stream, "__aiter__")):
        return TypeError(f"app.stream() takes an iterable of chunks, not a {type(stream).__name__}")
    return None


class StreamFolder:
    """Relays one stream's index-0 deltas to a message, and folds them."""

    def __init__(self, run: Run, message_id: str) -> None:
        self._run = run
        self.message_id = message_id
        self._choices: list[dict[str, Any]] = []
        self._sdk = False

    def feed(self, chunk: Any) -> None:
        """Send one chunk (or choice, or delta) on."""
        if self._run.stop_requested():
            raise _stopped()
        if not isinstance(chunk, dict):
            self._sdk = True
        plain = to_plain(chunk, "the streamed chunk")
        if not isinstance(plain, dict):
            raise TypeError(
                f"app.stream() got a {type(chunk).__name__} in the stream: it relays OpenAI "
                "ChatCompletionChunk objects (or their choices, or deltas)"
            )
        choice = _choice_of(plain)
        if choice is not None:
            self._choices.append(choice)
            delta = choice.get("delta")
            if isinstance(delta, dict) and delta:
                self._run.update(self.message_id, delta)
        usage = plain.get("usage")
        if isinstance(usage, dict):
            self._run.update(self.message_id, {"usage": usage})

    def message(self) -> Any:
        """The folded message: a ``ChatCompletionMessage`` for SDK chunks, else a dict."""
        folded = fold_choices(self._choices)["message"]
        if self._sdk:
            try:
                from openai.types.chat import ChatCompletionMessage
            except ImportError:  # pragma: no cover - openai is a dependency
                return folded
            return ChatCompletionMessage.model_validate(folded)
        return folded


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


def relay_stream(run: Run, message_id: str, stream: Any) -> Any:
    """Relay a sync stream; the folded message."""
    error = _not_a_stream(stream)
    if error is not None:
        raise error
    if not hasattr(stream, "__iter__"):
        raise TypeError("this is an async stream: use `await app.stream(stream)`")
    folder = StreamFolder(run, message_id)
    hang_up = _hang_up(stream)
    if hang_up is not None:
        run.on_stop(hang_up)  # stop reaches a handler waiting on a silent model
    finished = False
    try:
        for chunk in stream:
            folder.feed(chunk)
        if run.stop_requested():
            raise _stopped()  # the stream ended because stop cut it, not because it was done
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


def is_async_iterable(obj: Any) -> bool:
    """Whether ``obj`` is iterated with ``async for`` (and not with ``for``)."""
    return hasattr(obj, "__aiter__") and not hasattr(obj, "__iter__")
