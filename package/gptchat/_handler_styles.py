"""Running handlers of every style: each turned into :meth:`Run.update` calls.

A handler may call ``update_message()`` itself, return messages, be a (sync or
async) generator of deltas and messages, or ``await`` things; :func:`consume`
runs its result to the end, whichever it is, and :func:`run_handler` brackets a
whole run (done, stopped or error). :mod:`gptchat.chat_app` keeps the public
methods. No openai import: SDK objects are recognised by their shape.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal

from ._asks import model_input
from ._coerce import to_plain
from ._event_loop import run_on_loop
from ._openai_streams import choice_of, held_streams, is_sdk_stream, stopped, watch_streams
from ._responses import ResponsesTranslator, kind_of
from ._responses_input import chat_to_responses_input
from .errors import StopGeneration
from .runs import Run

log = logging.getLogger("gptchat")

NewId = Callable[[], str]

#: How often an async handler checks whether the user pressed stop, in seconds.
STOP_POLL_INTERVAL = 0.05

#: How a handler gets its conversation: Chat Completions messages, or Responses API items.
HandlerFormat = Literal["chat", "responses"]
HANDLER_FORMATS: tuple[HandlerFormat, ...] = ("chat", "responses")

#: Fields of earlier replies that providers refuse as input (DeepSeek: HTTP 400 on
#: reasoning); ``usage`` is what gptchat shows under a reply, not part of a message,
#: and so are the Responses API's kept items, citations and incomplete marks
#: (gptchat._responses): openai's ChatCompletionAssistantMessageParam has none of them.
_NOT_INPUT = (
    "reasoning_content",
    "reasoning",
    "usage",
    "output_items",
    "annotations",
    "incomplete_details",
)


def history(messages: list[dict[str, Any]], format: HandlerFormat = "chat") -> list[dict[str, Any]]:  # noqa: A002
    """The conversation as the handler gets it, in its ``format``.

    Both start from :func:`model_input` (gptchat's own parts, questions' ``ask`` and
    ``actions``, taken out). ``"chat"``: earlier replies' reasoning, usage and display
    extras left out, and their audio cut down to its ``id``. ``"responses"``: the same
    messages as Responses API input items (:func:`chat_to_responses_input`), reasoning
    items kept for the API given back.
    """
    messages = model_input(messages)
    if format == "responses":
        items: list[dict[str, Any]] = chat_to_responses_input(messages)
        return items
    return [
        _without_audio_data({k: v for k, v in m.items() if k not in _NOT_INPUT})
        if any(k in m for k in _NOT_INPUT) or "audio" in m
        else m
        for m in messages
    ]


def _without_audio_data(message: dict[str, Any]) -> dict[str, Any]:
    # An assistant's spoken reply goes back to the model by its id alone: the Chat
    # Completions API takes ``{"audio": {"id": ...}}`` and refuses its data and transcript.
    audio = message.get("audio")
    if message.get("role") != "assistant" or not isinstance(audio, dict):
        return message
    if isinstance(audio.get("id"), str):
        return {**message, "audio": {"id": audio["id"]}}
    return {k: v for k, v in message.items() if k != "audio"}  # no id: nothing to refer to


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
    * a pair ``(id, item)`` sends ``item`` to message ``id`` and changes nothing else;
    * a Responses API event (``ResponseStreamEvent``), ``Response`` or item
      (output items, ``function_call_output``) goes through one
      :class:`ResponsesTranslator` for the whole run, which starts messages as
      the items need (:mod:`gptchat._responses`), and ends the current message.
    """

    def __init__(self, run: Run, new_id: NewId) -> None:
        self._run = run
        self._new_id = new_id
        self._current: str | None = None
        self._last: str | None = None  # usage arrives after the finish_reason
        self._responses: ResponsesTranslator | None = None

    def send(self, item: Any) -> None:
        """Send one yielded item."""
        if self._run.stop_requested():
            raise stopped()
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
            if self._responses is not None:
                self._responses.break_message()
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
        if kind_of(plain) is not None:
            if self._responses is None:
                self._responses = ResponsesTranslator(self._new_id)
            for message_id, change in self._responses.feed(item, plain):
                self._run.update(message_id, change)
            self._current = None
            self._last = self._responses.last_id()
            return
        if self._responses is not None:
            self._responses.break_message()  # a Chat Completions item came in between
        if "choices" in plain or "delta" in plain:
            choice = choice_of(plain)
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


def send_result(run: Run, new_id: NewId, result: Any) -> None:
    """Send what a handler returned: None, a message, or a list of messages.

    A returned ``Response`` or Responses items are translated as
    ``update_message()`` does (:mod:`gptchat._responses`).
    """
    if result is None:
        return
    items = result if isinstance(result, (list, tuple)) else [result]
    responses: ResponsesTranslator | None = None  # for a returned Response or its items
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
        if isinstance(plain, dict) and kind_of(plain) is not None:
            responses = responses or ResponsesTranslator(new_id)
            for target, change in responses.feed(item, plain):
                run.update(target, change)
            continue
        if responses is not None:
            responses.break_message()
        if not isinstance(plain, dict) or "role" not in plain:
            raise TypeError(
                f"the handler returned {type(item).__name__} {str(item)[:60]!r}, which is not a "
                "message: return a message with a role (a dict in OpenAI format or a "
                "ChatCompletionMessage), a list of them, or None"
            )
        run.update(new_id(), plain)


def run_handler(
    run: Run,
    handler: Callable[[Any], Any] | None,
    new_id: NewId,
    messages: list[dict[str, Any]],
    format: HandlerFormat = "chat",  # noqa: A002
) -> None:
    """Answer ``messages`` with ``handler`` and finish ``run``: done, stopped or error.

    The handler gets the conversation in ``format`` (:func:`history`). An exception
    from the handler (or from converting the conversation) is logged with its
    traceback and ends the reply as an error the user sees; it is not raised again.
    After a stop, it ends the reply as stopped (closing the model's stream may make
    the SDK raise).
    """
    try:
        if handler is None:
            raise RuntimeError("no handler: decorate one with @app.handle_send_message")
        consume(run, new_id, handler(history(messages, format)))
        run.finish("stopped" if run.stop_requested() else "done")
    except StopGeneration:
        run.finish("stopped")
    except Exception as exc:
        if run.stop_requested():
            # Stop hangs up the model's stream, and the SDK may report that as a broken
            # connection (APIConnectionError) rather than an end: the user asked to stop,
            # so the reply ends as stopped, not as an error with a traceback.
            log.debug("the handler raised %s after a stop", type(exc).__name__, exc_info=True)
            run.finish("stopped")
            return
        log.exception("the message handler raised")
        run.finish("error", f"{type(exc).__name__}: {exc}")


def consume(run: Run, new_id: NewId, result: Any) -> None:
    """Run a handler's result to the end: a generator, an awaitable or a return value."""
    if inspect.isgenerator(result):
        _consume_generator(run, new_id, result)
    elif inspect.isasyncgen(result) or inspect.isawaitable(result):
        run_on_loop(_consume_async(run, new_id, result))
    else:
        send_result(run, new_id, result)


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
                watch_streams(run, held_streams(gen), watched)
            relay.send(item)
        # A hang-up ends the stream early, as if it were done: _execute still finishes
        # the run as stopped, since stop was requested.
        finished = True
    finally:
        streams = [] if finished else held_streams(gen)
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
                # As for sync generators (held_streams): close the streams it holds.
                frame = result.ag_frame
                held = [] if finished or frame is None else list(frame.f_locals.values())
                await result.aclose()
                for stream in held:
                    if is_sdk_stream(stream, "AsyncStream"):
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
                raise stopped() from None
    task.result()
