"""The OpenAI Responses API as the Chat Completions messages gptchat streams.

Pure: no sockets, no openai import (SDK objects are recognised by their shape
and dumped to dicts). :class:`ResponsesTranslator` turns Responses stream
events, whole ``Response`` objects and single output or input items into
``(message_id, delta)`` updates that the browser's merge rules fold into
messages, the same as Chat Completions deltas. The mapping, in short (the
README of ``tests/fixtures/responses-streams`` has it in full):

* The output items of a response fill assistant messages in order. A
  ``reasoning`` item, a ``message`` item or a built-in tool call joins the
  current assistant message while that message has no text, refusal or tool
  call yet, else it starts a new one; a ``function_call`` always joins the
  current message (as Chat Completions puts ``content`` and ``tool_calls`` in
  one message). So a reasoning summary lands as ``reasoning_content`` on the
  message whose answer follows it, and the Thinking block sits above it.
* ``output_text`` is ``content``, ``refusal`` is ``refusal``, a reasoning
  summary (or raw reasoning text) is ``reasoning_content`` (parts joined by a
  blank line), a ``function_call`` is a ``tool_calls`` entry (index: its rank
  among the message's function calls; ``id``: the item's ``call_id``) whose
  arguments grow with each delta. ``url_citation`` annotations become a Chat
  Completions ``annotations`` list, offsets counted in the message's content.
* Built-in tool calls (``web_search_call``, ``code_interpreter_call``, ...) and
  any item or event type not known here are kept, latest state winning, in the
  message's ``output_items`` list, as the API gave them: never an exception.
  A finished ``reasoning`` item is kept there too, whole (``id``,
  ``encrypted_content``): the browser shows its summary from
  ``reasoning_content`` and skips the item, and
  :func:`~gptchat._responses_input.chat_to_responses_input` gives it back to
  the API in the next request, in its place before the message's text and calls.
* ``function_call_output`` items become ``{"role": "tool", ...}`` messages.
* ``response.failed`` and ``error`` raise :class:`~gptchat.errors.ResponseFailed`
  with the API's message; ``response.incomplete`` puts the response's
  ``incomplete_details`` on its last message.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._coerce import to_plain
from ._merge import finish_message, merge_delta
from .errors import ResponseFailed

Update = tuple[str, dict[str, Any]]

#: Output item types of built-in tools (shown later as blocks of their own).
BUILTIN_ITEM_TYPES = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "mcp_call",
        "mcp_list_tools",
        "mcp_approval_request",
        "computer_call",
        "local_shell_call",
        "shell_call",
        "apply_patch_call",
        "custom_tool_call",
    }
)
_ITEM_TYPES = BUILTIN_ITEM_TYPES | {"message", "reasoning", "function_call", "function_call_output"}

#: Events that carry nothing the chat shows beyond what other events carry.
_QUIET_EVENTS = frozenset(
    {
        "response.queued",
        "response.content_part.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_part.done",
        "response.audio.delta",
        "response.audio.done",
        "response.audio.transcript.delta",
        "response.audio.transcript.done",
    }
)
#: Streamed fields of built-in tool calls: event type -> the item field it grows.
_ITEM_FIELD_DELTAS = {
    "response.code_interpreter_call_code.delta": "code",
    "response.mcp_call_arguments.delta": "arguments",
    "response.custom_tool_call_input.delta": "input",
}
_ITEM_FIELD_DONE = {
    "response.code_interpreter_call_code.done": "code",
    "response.mcp_call_arguments.done": "arguments",
    "response.custom_tool_call_input.done": "input",
}
#: ``response.<item type>.<phase>`` events set the item's status to the phase.
_PHASES = frozenset(
    {"in_progress", "searching", "interpreting", "generating", "completed", "failed"}
)


def kind_of(plain: Mapping[str, Any]) -> str | None:
    """``"event"``, ``"response"`` or ``"item"`` for Responses API shapes, else None.

    Chat Completions messages and deltas carry no top-level ``type``, so they
    are never taken for Responses items.
    """
    if plain.get("object") == "response" and "output" in plain:
        return "response"
    kind = plain.get("type")
    if not isinstance(kind, str):
        return None
    if kind.startswith("response.") or kind == "error":
        return "event"
    if kind in _ITEM_TYPES or kind.endswith(("_call", "_call_output")):
        return "item"
    return None


def plain_of(obj: Any, where: str) -> dict[str, Any]:
    """``obj`` (an SDK object or a mapping) as a dict, or TypeError naming ``where``."""
    plain = to_plain(obj, where)
    if not isinstance(plain, dict):
        raise TypeError(f"{where} is a {type(obj).__name__}, not a Responses API object")
    return plain


def exact_plain(obj: Any, where: str) -> Any:
    """``obj`` as JSON-safe dicts and lists, null fields kept: the API's own JSON.

    :func:`~gptchat._coerce.to_plain` drops nulls (in a delta they mean "nothing
    here"); a fold of the output must not, or an item would not come out as the
    API gives it (an ``mcp_call``'s ``"error": null``). SDK objects give the
    fields they were made with (``exclude_unset``): for a parsed event, its JSON.
    """
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): exact_plain(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [exact_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return exact_plain(dump(mode="json", exclude_unset=True), where)
    raise TypeError(f"{where} is a {type(obj).__name__}, not a Responses API object")


def _failure(plain: Mapping[str, Any]) -> ResponseFailed:
    if plain.get("type") == "error":
        message = plain.get("message") or "the Responses API reported an error"
        return ResponseFailed(str(message), code=plain.get("code"), param=plain.get("param"))
    response = plain.get("response")
    response = response if isinstance(response, Mapping) else {}
    error = response.get("error")
    error = error if isinstance(error, Mapping) else {}
    message = error.get("message") or "the response failed (the API gave no reason)"
    return ResponseFailed(str(message), code=error.get("code"), response=dict(response))


def url_citation(annotation: Mapping[str, Any], offset: int) -> dict[str, Any]:
    """A Responses annotation in Chat Completions shape (url citations; others as given)."""
    if annotation.get("type") != "url_citation":
        return dict(annotation)
    cited: dict[str, Any] = {"url": annotation.get("url", "")}
    if "title" in annotation:
        cited["title"] = annotation["title"]
    for key in ("start_index", "end_index"):
        if isinstance(annotation.get(key), int):
            cited[key] = annotation[key] + offset
    return {"type": "url_citation", "url_citation": cited}


@dataclass
class _Message:
    """What the translator knows of one chat message it fills."""

    id: str
    text_len: int = 0
    has_text: bool = False
    has_refusal: bool = False
    calls: int = 0
    reasoning: bool = False
    annotations: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    output_items: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)

    def answered(self) -> bool:
        # Output that the next reasoning or message item must not be put above.
        return self.has_text or self.has_refusal or self.calls > 0


@dataclass
class _Item:
    """One output item of the response being translated."""

    kind: str
    message: _Message
    key: tuple[Any, ...]
    call_index: int = 0
    # What was sent of each streamed text: (field, content or summary index) -> fragments.
    sent: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    offsets: dict[int, int] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


class ResponsesTranslator:
    """Turns Responses API events and objects into ``(message_id, delta)`` updates.

    One translator follows one conversation turn: events of several responses
    in a row (an agent loop) each start new messages. ``first_id``, if given,
    is the id of the first message it fills.

    Example::

        translator = ResponsesTranslator(new_id=lambda: uuid.uuid4().hex)
        for event in client.responses.create(..., stream=True):
            for message_id, delta in translator.feed(event):
                app.update_message(delta, id=message_id)
    """

    def __init__(self, new_id: Callable[[], str], first_id: str | None = None) -> None:
        self._new_id = new_id
        self._first_id = first_id
        self._current: _Message | None = None
        self._last: _Message | None = None
        self._items: dict[int, _Item] = {}
        self._response_id: Any = None
        self._synthetic = 0
        self._updates: list[Update] = []
        #: The latest ``Response`` the stream described (a dict), or None.
        self.response: dict[str, Any] | None = None
        #: The ``response`` of the terminal event as it came (an SDK object or a dict).
        self.final: Any = None
        self._folder = OutputFolder()

    # -- entry points ----------------------------------------------------------

    def feed(self, obj: Any, plain: dict[str, Any] | None = None) -> list[Update]:
        """Translate one event, ``Response`` or item (SDK object or dict).

        ``plain`` is ``obj`` as a dict, if the caller has it already.
        """
        if plain is None:
            plain = plain_of(obj, "the Responses object")
        kind = kind_of(plain)
        if kind == "event":
            self._event(plain, obj)
        elif kind == "response":
            self._whole_response(plain)
        else:
            self._item(self._next_synthetic(), plain)
        return self._take()

    def _take(self) -> list[Update]:
        updates, self._updates = self._updates, []
        return updates

    def _next_synthetic(self) -> int:
        # Items handed over one by one have no output_index: give them their own slots.
        self._synthetic -= 1
        return self._synthetic

    # -- messages --------------------------------------------------------------

    def _emit(self, message: _Message, delta: dict[str, Any]) -> None:
        self._last = message
        self._updates.append((message.id, delta))

    def _open(self, role: str = "assistant") -> _Message:
        if self._first_id is not None:
            message_id, self._first_id = self._first_id, None
        else:
            message_id = self._new_id()
        message = _Message(message_id)
        self._emit(message, {"role": role})
        return message

    def _joinable(self) -> _Message:
        """The current message if nothing was answered in it yet, else a new one."""
        if self._current is None or self._current.answered():
            self._current = self._open()
        return self._current

    def _any(self) -> _Message:
        if self._current is None:
            self._current = self._open()
        return self._current

    def _send_text(self, item: _Item, key: str, index: int, fragment: str) -> None:
        if not fragment:
            return
        message = item.message
        parts = item.sent.get((key, index))
        delta: dict[str, Any]
        if key == "reasoning_content" and parts is None and message.reasoning:
            fragment = "\n\n" + fragment  # a new summary part: a new paragraph
        if parts is None:
            parts = item.sent[(key, index)] = []
        parts.append(fragment)
        if key == "content":
            item.offsets.setdefault(index, message.text_len)
            message.text_len += len(fragment)
            message.has_text = True
        elif key == "refusal":
            message.has_refusal = True
        elif key == "reasoning_content":
            message.reasoning = True
        elif key == "arguments":
            delta = {
                "tool_calls": [{"index": item.call_index, "function": {"arguments": fragment}}]
            }
            self._emit(message, delta)
            return
        self._emit(message, {key: fragment})

    def _sync_text(self, item: _Item, key: str, index: int, full: Any) -> None:
        """Send what ``full`` has beyond what was streamed (a ``.done`` or a whole item)."""
        if not isinstance(full, str):
            return
        sent = "".join(item.sent.get((key, index), []))
        if key == "reasoning_content" and sent.startswith("\n\n") and not full.startswith("\n"):
            sent = sent[2:]
        if full.startswith(sent):
            self._send_text(item, key, index, full[len(sent) :])
        # else: the final text is not what was streamed; what was shown stays.

    def _keep(self, item: _Item, plain: Mapping[str, Any]) -> None:
        """Keep a finished reasoning item, as the API gave it, in ``output_items``.

        The summary is shown as ``reasoning_content``; the item itself (its ``id``,
        ``encrypted_content``) is what the API needs back in a later request, and
        :func:`chat_to_responses_input` gives it back from there. Only a finished one:
        the ``encrypted_content`` of an ``output_item.added`` may be incomplete.
        """
        message = item.message
        if message.output_items.get(item.key) == plain:
            return  # the terminal event repeats the items: send nothing twice
        message.output_items[item.key] = copy.deepcopy(dict(plain))
        self._emit(message, {"output_items": list(message.output_items.values())})

    def _show_output_item(self, item: _Item) -> None:
        message = item.message
        message.output_items[item.key] = copy.deepcopy(item.data)
        self._emit(message, {"output_items": list(message.output_items.values())})

    def _annotate(self, item: _Item, content_index: int, index: Any, annotation: Any) -> None:
        if not isinstance(annotation, Mapping):
            return
        message = item.message
        offset = item.offsets.get(content_index, message.text_len)
        key = (item.key, content_index, index)
        message.annotations[key] = url_citation(annotation, offset)
        self._emit(message, {"annotations": list(message.annotations.values())})

    # -- items -----------------------------------------------------------------

    def _item(self, output_index: int, plain: dict[str, Any], done: bool = True) -> None:
        """Start the item at ``output_index`` if it is new, and bring it up to ``plain``.

        An ``output_item.added`` (``done`` False) brings what it has so far (mostly
        nothing), a ``.done`` or a whole item the rest of what was not streamed."""
        item = self._items.get(output_index)
        kind = plain.get("type")
        if item is None or item.kind != kind:
            item = self._start(output_index, plain)
            if item is None:
                return
        self._complete(item, plain, done)

    def _start(self, output_index: int, plain: dict[str, Any], given: bool = True) -> _Item | None:
        """Start a message or item for ``plain``; ``given`` False when an event implies it."""
        kind = str(plain.get("type"))
        if given:
            _check(kind, plain, "item")
        key = ("item", plain.get("id") or output_index)
        if kind == "function_call_output":
            self._current = None
            self._emit(self._open("tool"), tool_result(plain))
            return None
        if kind == "message" and plain.get("role", "assistant") != "assistant":
            self._current = None
            message = self._open(str(plain.get("role")))
            self._emit(message, {"content": input_content(plain.get("content"))})
            return None
        if kind in ("message", "reasoning"):
            item = _Item(kind, self._joinable(), key)
        elif kind == "function_call":
            message = self._any()
            item = _Item(kind, message, key, call_index=message.calls)
            message.calls += 1
            head = {
                "index": item.call_index,
                "id": plain.get("call_id") or plain.get("id") or "",
                "type": "function",
                "function": {"name": plain.get("name", ""), "arguments": ""},
            }
            self._emit(message, {"tool_calls": [head]})
        else:
            item = _Item(kind, self._joinable(), key)
        self._items[output_index] = item
        return item

    def _complete(self, item: _Item, plain: dict[str, Any], done: bool = True) -> None:
        if item.kind == "message":
            content = plain.get("content")
            if isinstance(content, str):
                content = [{"type": "output_text", "text": content}]
            for index, part in enumerate(content if isinstance(content, list) else []):
                if not isinstance(part, Mapping):
                    continue
                if part.get("type") == "refusal":
                    self._sync_text(item, "refusal", index, part.get("refusal"))
                    continue
                self._sync_text(item, "content", index, part.get("text"))
                for number, annotation in enumerate(part.get("annotations") or []):
                    self._annotate(item, index, number, annotation)
        elif item.kind == "reasoning":
            for index, part in enumerate(plain.get("summary") or []):
                if isinstance(part, Mapping):
                    self._sync_text(item, "reasoning_content", index, part.get("text"))
            if not plain.get("summary"):
                # Raw reasoning (open models): shown only when there is no summary.
                for index, part in enumerate(plain.get("content") or []):
                    if isinstance(part, Mapping):
                        self._sync_text(item, "reasoning_content", 1000 + index, part.get("text"))
            if done:
                self._keep(item, plain)
        elif item.kind == "function_call":
            self._sync_text(item, "arguments", 0, plain.get("arguments"))
        else:
            item.data = copy.deepcopy(plain)
            self._show_output_item(item)

    def _item_at(self, plain: Mapping[str, Any], kind: str) -> _Item:
        """The item an event refers to, started if the stream skipped its ``added``."""
        index = plain.get("output_index")
        index = index if isinstance(index, int) else self._next_synthetic()
        item = self._items.get(index)
        if item is None:
            started = self._start(index, {"type": kind, "id": plain.get("item_id")}, given=False)
            assert started is not None
            item = started
        return item

    # -- events ----------------------------------------------------------------

    def _new_response(self, plain: Mapping[str, Any]) -> None:
        response = plain.get("response")
        if isinstance(response, Mapping):
            if response.get("id") != self._response_id or self._response_id is None:
                self._items = {}
                self._current = None
                self._last = None  # its usage and incomplete mark are not an earlier reply's
            self._response_id = response.get("id")
            self.response = dict(response)

    def _whole_response(self, plain: dict[str, Any]) -> None:
        self._new_response({"response": plain})
        self._response_id = None  # the next response, even of the same id, starts anew
        if plain.get("status") == "failed" or plain.get("error"):
            raise _failure({"response": plain})
        for index, item in enumerate(plain.get("output") or []):
            if isinstance(item, dict):
                self._item(index, item)
        self._finish(plain, plain)

    def _finish(self, response: Mapping[str, Any], raw: Any) -> None:
        self.response = dict(response)
        self.final = raw
        usage = response.get("usage")
        if isinstance(usage, Mapping) and self._last is not None:
            # In Chat Completions' names, which the usage line under a reply shows.
            counts = {
                "prompt_tokens": usage.get("input_tokens"),
                "completion_tokens": usage.get("output_tokens"),
                "total_tokens": usage.get("total_tokens"),
            }
            self._emit(self._last, {"usage": {k: v for k, v in counts.items() if v is not None}})
        details = response.get("incomplete_details")
        if response.get("status") == "incomplete" or isinstance(details, Mapping):
            target = self._last or self._any()
            self._emit(target, {"incomplete_details": details or {"reason": "unknown"}})

    def output(self) -> list[dict[str, Any]]:
        """The output items of the stream so far (the terminal event's, once it came)."""
        return self._folder.items()

    def set_first_id(self, message_id: str) -> None:
        """Fill message ``message_id`` next (``update_message(item, id=...)``)."""
        self._first_id = message_id

    def current_id(self) -> str | None:
        """The id of the message that items join now, or None."""
        return None if self._current is None else self._current.id

    def last_id(self) -> str | None:
        """The id of the message updated last, or None."""
        return None if self._last is None else self._last.id

    def break_message(self) -> None:
        """End the current message: what comes next starts a new one (a tool result came)."""
        self._current = None

    def _event(self, plain: dict[str, Any], raw: Any) -> None:
        kind = str(plain.get("type"))
        _check(kind, plain)
        # A delta's text is the same either way; what the fold copies keeps its nulls.
        self._folder.feed(plain if kind.endswith(".delta") else exact_plain(raw, "the event"))
        if kind in ("error", "response.failed"):
            raise _failure(plain)
        if kind in ("response.created", "response.in_progress", "response.queued"):
            self._new_response(plain)
            return
        if kind in ("response.completed", "response.incomplete"):
            response = plain.get("response")
            if isinstance(response, dict):
                self._new_response(plain)
                for position, item in enumerate(response.get("output") or []):
                    if isinstance(item, dict):
                        self._item(position, item)
                final = (
                    raw.get("response")
                    if isinstance(raw, Mapping)
                    else getattr(raw, "response", response)
                )
                self._finish(response, final)
            return
        if kind in _QUIET_EVENTS:
            return
        index = plain.get("output_index")
        if kind in ("response.output_item.added", "response.output_item.done"):
            item = plain.get("item")
            if isinstance(item, dict) and isinstance(index, int):
                added = kind.endswith(".added")
                if added:
                    self._items.pop(index, None)  # a new item, even at a reused index
                self._item(index, item, done=not added)
            return
        content_index = plain.get("content_index", 0)
        content_index = content_index if isinstance(content_index, int) else 0
        delta = plain.get("delta")
        if kind == "response.output_text.delta" and isinstance(delta, str):
            self._send_text(self._item_at(plain, "message"), "content", content_index, delta)
        elif kind == "response.refusal.delta" and isinstance(delta, str):
            self._send_text(self._item_at(plain, "message"), "refusal", content_index, delta)
        elif kind == "response.output_text.done":
            item = self._item_at(plain, "message")
            self._sync_text(item, "content", content_index, plain.get("text"))
        elif kind == "response.refusal.done":
            item = self._item_at(plain, "message")
            self._sync_text(item, "refusal", content_index, plain.get("refusal"))
        elif kind == "response.content_part.done":
            part = plain.get("part")
            if isinstance(part, Mapping):
                item = self._item_at(plain, "message")
                if part.get("type") == "output_text":
                    self._sync_text(item, "content", content_index, part.get("text"))
                elif part.get("type") == "refusal":
                    self._sync_text(item, "refusal", content_index, part.get("refusal"))
        elif kind == "response.output_text.annotation.added":
            item = self._item_at(plain, "message")
            number = plain.get("annotation_index")
            self._annotate(item, content_index, number, plain.get("annotation"))
        elif kind in (
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
        ):
            summary = plain.get("summary_index", 0)
            summary = summary if isinstance(summary, int) else 0
            item = self._item_at(plain, "reasoning")
            if kind.endswith(".delta") and isinstance(delta, str):
                self._send_text(item, "reasoning_content", summary, delta)
            else:
                self._sync_text(item, "reasoning_content", summary, plain.get("text"))
        elif kind in ("response.reasoning_text.delta", "response.reasoning_text.done"):
            item = self._item_at(plain, "reasoning")
            if any(k == "reasoning_content" and i < 1000 for k, i in item.sent):
                return  # a summary is shown: the raw text would say it twice
            if kind.endswith(".delta") and isinstance(delta, str):
                self._send_text(item, "reasoning_content", 1000 + content_index, delta)
            else:
                self._sync_text(item, "reasoning_content", 1000 + content_index, plain.get("text"))
        elif kind == "response.function_call_arguments.delta" and isinstance(delta, str):
            self._send_text(self._item_at(plain, "function_call"), "arguments", 0, delta)
        elif kind == "response.function_call_arguments.done":
            item = self._item_at(plain, "function_call")
            self._sync_text(item, "arguments", 0, plain.get("arguments"))
        else:
            self._tool_event(kind, plain)

    def _tool_event(self, kind: str, plain: dict[str, Any]) -> None:
        """Progress of a built-in tool call, or an event not known here (kept as it is)."""
        index = plain.get("output_index")
        item = self._items.get(index) if isinstance(index, int) else None
        if item is not None and item.kind not in ("message", "reasoning", "function_call"):
            phase = kind.rsplit(".", 1)[-1]
            if kind in _ITEM_FIELD_DELTAS and isinstance(plain.get("delta"), str):
                name = _ITEM_FIELD_DELTAS[kind]
                item.data[name] = str(item.data.get(name) or "") + plain["delta"]
            elif kind in _ITEM_FIELD_DONE:
                name = _ITEM_FIELD_DONE[kind]
                item.data[name] = plain.get(name, item.data.get(name))
            elif kind == "response.image_generation_call.partial_image":
                item.data["partial_image_b64"] = plain.get("partial_image_b64")
            elif phase in _PHASES and kind == f"response.{item.kind}.{phase}":
                item.data["status"] = phase
            else:
                self._unknown(kind, plain)
                return
            self._show_output_item(item)
            return
        self._unknown(kind, plain)

    def _unknown(self, kind: str, plain: dict[str, Any]) -> None:
        message = self._any()
        key = ("event", kind, plain.get("item_id"), plain.get("output_index"))
        message.output_items[key] = copy.deepcopy(plain)
        self._emit(message, {"output_items": list(message.output_items.values())})


#: What known events must carry, checked so that a malformed one fails naming its field
#: (SDK objects are checked by the SDK; dicts from elsewhere may be anything).
_REQUIRED: dict[str, tuple[tuple[str, type], ...]] = {
    "response.output_item.added": (("output_index", int), ("item", dict)),
    "response.output_item.done": (("output_index", int), ("item", dict)),
    "response.output_text.delta": (("delta", str),),
    "response.refusal.delta": (("delta", str),),
    "response.reasoning_summary_text.delta": (("delta", str),),
    "response.reasoning_text.delta": (("delta", str),),
    "response.function_call_arguments.delta": (("delta", str),),
    "response.output_text.annotation.added": (("annotation", dict),),
    "response.completed": (("response", dict),),
    "response.incomplete": (("response", dict),),
}


#: What known output items must carry: without them a call could not be answered.
_REQUIRED_ITEM: dict[str, tuple[tuple[str, type], ...]] = {
    "function_call": (("call_id", str), ("name", str)),
    "function_call_output": (("call_id", str),),
}


def _check(kind: str, plain: Mapping[str, Any], what: str = "event") -> None:
    table = _REQUIRED_ITEM if what == "item" else _REQUIRED
    for name, expected in table.get(kind, ()):
        value = plain.get(name)
        if not isinstance(value, expected) or isinstance(value, bool):
            got = "nothing" if value is None else f"a {type(value).__name__}"
            raise ValueError(
                f"a malformed {kind} {what}: its {name!r} should be a {expected.__name__}, "
                f"and it is {got}"
            )


def tool_result(plain: Mapping[str, Any]) -> dict[str, Any]:
    """A ``function_call_output`` item as a Chat Completions tool message."""
    output = plain.get("output")
    content: Any
    if isinstance(output, list):
        content = [
            {"type": "text", "text": part.get("text", "")}
            for part in output
            if isinstance(part, Mapping) and part.get("type") in ("input_text", "output_text")
        ]
    else:
        content = "" if output is None else str(output)
    return {"role": "tool", "tool_call_id": str(plain.get("call_id") or ""), "content": content}


def input_content(content: Any) -> Any:
    """Responses message content (a string or input parts) as Chat Completions content."""
    if not isinstance(content, list):
        return content
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind in ("input_text", "output_text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image":
            image: dict[str, Any] = {"url": part.get("image_url") or part.get("file_id") or ""}
            if part.get("detail"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file":
            file = {k: part[k] for k in ("filename", "file_data", "file_id") if part.get(k)}
            parts.append({"type": "file", "file": file})
        else:
            parts.append(dict(part))
    return parts


# -- folding and converting (gptchat.utils re-exports these) ---------------------


def _fold_updates(updates: Iterable[Update]) -> list[dict[str, Any]]:
    accs: dict[str, dict[str, Any]] = {}
    for message_id, delta in updates:
        merge_delta(accs.setdefault(message_id, {}), delta)
    return [finish_message(acc) for acc in accs.values()]


def responses_to_chat(items: Any) -> list[dict[str, Any]]:
    """Responses API items (or a whole ``Response``) as Chat Completions messages.

    The items are output items (``message``, ``reasoning``, ``function_call``,
    built-in tool calls) and input items (messages of any role,
    ``function_call_output``), as SDK objects or dicts; a ``Response`` stands
    for its ``output``. The messages are what gptchat shows for them (see
    :mod:`gptchat._responses` for the mapping): reasoning summaries as
    ``reasoning_content`` (and the reasoning items themselves in
    ``output_items``, to be given back), function calls as ``tool_calls``, tool
    outputs as ``role: tool`` messages, built-in tool calls in ``output_items``.
    :func:`chat_to_responses_input` turns them back into the same items.

    Example::

        responses_to_chat(client.responses.create(model="gpt-5", input="Hi"))
        # [{'role': 'assistant', 'content': 'Hello!'}]
    """
    counter = iter(range(1 << 62))
    translator = ResponsesTranslator(lambda: str(next(counter)))
    if not isinstance(items, (list, tuple)):
        items = [items]
    updates: list[Update] = []
    for item in items:
        updates += translator.feed(item)
    return _fold_updates(updates)


class OutputFolder:
    """Folds Responses stream events into the response's output items, as the SDK does.

    Streamed text is kept as fragments and joined when the items are read, or
    before an event replaces what it grows: appending to a ``str`` in a dict
    copies it, which would make a long reply cost O(n²).
    """

    def __init__(self) -> None:
        self.output: dict[int, dict[str, Any]] = {}
        self.final: list[dict[str, Any]] | None = None
        self._growing: dict[tuple[int, str], tuple[dict[str, Any], list[str]]] = {}

    def _grow(self, target: dict[str, Any], key: str, delta: Any) -> None:
        entry = self._growing.get((id(target), key))
        if entry is None:
            entry = self._growing[(id(target), key)] = (target, [str(target.get(key) or "")])
        entry[1].append(str(delta or ""))

    def _flush(self) -> None:
        for (_, key), (target, fragments) in self._growing.items():
            target[key] = "".join(fragments)
        self._growing.clear()

    def feed(self, plain: Mapping[str, Any]) -> None:
        kind = plain.get("type")
        index = plain.get("output_index")
        item = self.output.get(index) if isinstance(index, int) else None
        ci = plain.get("content_index", 0)
        delta = plain.get("delta")
        if not (isinstance(kind, str) and kind.endswith(".delta")):
            self._flush()
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            response = plain.get("response")
            output = response.get("output") if isinstance(response, Mapping) else None
            if output:
                self.final = copy.deepcopy(list(output))
        elif kind in ("response.output_item.added", "response.output_item.done"):
            if isinstance(index, int) and isinstance(plain.get("item"), Mapping):
                self.output[index] = copy.deepcopy(dict(plain["item"]))
        elif item is None:
            return
        elif kind == "response.content_part.added":
            item.setdefault("content", []).append(copy.deepcopy(plain.get("part")))
        elif kind == "response.content_part.done":
            _at(item.setdefault("content", []), ci, copy.deepcopy(plain.get("part")))
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            key = "text" if kind == "response.output_text.delta" else "refusal"
            kind_of_part = "output_text" if key == "text" else "refusal"
            self._grow(_part(item.setdefault("content", []), ci, kind_of_part, key), key, delta)
        elif kind == "response.reasoning_text.delta":
            part = _part(item.setdefault("content", []), ci, "reasoning_text", "text")
            self._grow(part, "text", delta)
        elif kind == "response.output_text.annotation.added":
            part = _part(item.setdefault("content", []), ci, "output_text", "text")
            part.setdefault("annotations", []).append(copy.deepcopy(plain.get("annotation")))
        elif kind == "response.function_call_arguments.delta":
            self._grow(item, "arguments", delta)
        elif kind == "response.function_call_arguments.done":
            item["arguments"] = plain.get("arguments", item.get("arguments"))
        elif kind == "response.reasoning_summary_part.added":
            item.setdefault("summary", []).append(copy.deepcopy(plain.get("part")))
        elif kind == "response.reasoning_summary_text.delta":
            summary = item.setdefault("summary", [])
            part = _part(summary, plain.get("summary_index", 0), "summary_text", "text")
            self._grow(part, "text", delta)
        elif kind in _ITEM_FIELD_DELTAS:
            self._grow(item, _ITEM_FIELD_DELTAS[kind], delta)

    def items(self) -> list[dict[str, Any]]:
        """The output items: the terminal event's when it carried them, else the folded ones."""
        self._flush()
        if self.final is not None:
            return self.final
        return [self.output[i] for i in sorted(self.output)]


def _at(parts: list[Any], index: Any, value: Any) -> None:
    if isinstance(index, int) and 0 <= index < len(parts):
        parts[index] = value
    else:
        parts.append(value)


def _part(parts: list[Any], index: Any, kind: str, key: str) -> dict[str, Any]:
    if isinstance(index, int) and 0 <= index < len(parts) and isinstance(parts[index], dict):
        part: dict[str, Any] = parts[index]
        return part
    part = {"type": kind, key: ""}
    parts.append(part)
    return part


def concat_response_stream(events: Iterable[Any]) -> list[dict[str, Any]]:
    """Fold a Responses API stream into the response's output items (dicts).

    Like ``concat_stream`` for Chat Completions: text, refusals, reasoning
    summaries and function call arguments concatenate; ``output_item.done``
    replaces an item with its final state; the output of ``response.completed``
    (or ``.incomplete``/``.failed``), when it carries one, is the result. Each
    item comes out as that event's ``response.output`` has it, null fields too
    (an ``mcp_call``'s ``"error": null``), whether from the events' dicts or
    the SDK's objects.

    Example::

        events = list(client.responses.create(model="gpt-5", input="Hi", stream=True))
        items = concat_response_stream(events)
        items[0]["content"][0]["text"]   # 'Hello!'
    """
    folder = OutputFolder()
    for event in events:
        plain = exact_plain(event, "the streamed event")
        if not isinstance(plain, dict):
            raise TypeError(f"the streamed event is a {type(event).__name__}, not an event")
        folder.feed(plain)
    return folder.items()
