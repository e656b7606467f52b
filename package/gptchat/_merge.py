"""Folding OpenAI stream deltas into messages: the merge rules, pure and in place.

The rules are those of ``tests/fixtures/openai-streams/README.md`` (openai-python's
stream accumulator, with its four deliberate deviations), and one for ``audio``,
which the SDK's accumulator would corrupt: its ``transcript`` concatenates, its
``data`` (base64 pieces of audio, each encoded on its own) joins as bytes, and
its other keys take the latest value (``tests/fixtures/merge-audio.json``); the browser's
``client/src/core/merge.ts`` implements the same ones, and both run the same vectors.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Keys whose string fragments concatenate (rule 3); other strings do too unless listed
# in _REPLACE. Restated ids and names are handled separately (_append_unless_restated).
_REPLACE = frozenset({"role", "type"})
# Chunk-level keys that are never message data (rule 10), should a whole chunk slip in.
_NOT_MESSAGE = frozenset({"obfuscation", "index", "logprobs", "finish_reason"})


# Fragments joined into one string at a time while a text grows: bounds the objects a
# long reply holds (a fragment is a whole object, for a few characters) at O(n) cost.
_CHUNK = 256


class _Text(list[str]):
    """A text field's fragments, joined when the message is read (:func:`finish_message`).

    Appending a fragment to a ``str`` copies the whole text: a reply of n fragments
    would cost O(n²), and ``update_message`` calls would get slower as the reply grows.
    """

    __slots__ = ("_loose",)

    def __init__(self, fragment: str) -> None:
        super().__init__([fragment])
        self._loose = 1  # fragments at the end not joined into a chunk yet

    def add(self, fragment: str) -> None:
        self.append(fragment)
        self._loose += 1
        if self._loose == _CHUNK:
            self[-_CHUNK:] = ["".join(self[-_CHUNK:])]
            self._loose = 0

    def text(self) -> str:
        if len(self) > 1:
            self[:] = ["".join(self)]  # joined once; later fragments are appended
            self._loose = 0
        return self[0]


def _append_text(acc: dict[str, Any], key: str, fragment: str) -> None:
    current = acc.get(key)
    if isinstance(current, _Text):
        current.add(fragment)
    else:
        acc[key] = _Text(fragment)


def compact(value: Any) -> None:
    """Join the text fragments of an accumulator in place: a finished message is kept
    with one string per text, not its fragments."""
    if isinstance(value, _Text):
        value.text()
    elif isinstance(value, dict):
        for item in value.values():
            compact(item)


def _plain(value: Any) -> Any:
    """A deep copy of an accumulator value, with its text joined."""
    if isinstance(value, _Text):
        return value.text()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def new_message() -> dict[str, Any]:
    """An empty accumulator for :func:`merge_delta`."""
    return {}


def _append_unless_restated(acc: dict[str, Any], key: str, fragment: str) -> None:
    # Some servers restate the whole id/name on every fragment: a fragment equal to
    # what we have is a restatement, anything else is appended.
    current = acc.get(key)
    if current is None:
        acc[key] = fragment
    elif fragment != current:
        acc[key] = current + fragment


def _merge_function(acc: dict[str, Any], delta: Mapping[str, Any], restate: bool) -> None:
    name = delta.get("name")
    if isinstance(name, str):
        if restate:
            _append_unless_restated(acc, "name", name)
        else:
            _append_text(acc, "name", name)
    args = delta.get("arguments")
    if isinstance(args, str):
        _append_text(acc, "arguments", args)


def _merge_tool_calls(acc: dict[str, Any], entries: list[Any]) -> None:
    calls: dict[int, dict[str, Any]] = acc.setdefault("_calls", {})
    for position, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            continue
        index = entry.get("index")
        if not isinstance(index, int):
            # A complete message's calls carry no index: their position is their index.
            index = position
        call = calls.get(index)
        if call is None:
            call = calls[index] = {"index": index}
        call_id = entry.get("id")
        if isinstance(call_id, str):
            _append_unless_restated(call, "id", call_id)
        if entry.get("type") is not None:
            call["type"] = entry["type"]
        function = entry.get("function")
        if isinstance(function, Mapping):
            _merge_function(call.setdefault("function", {}), function, restate=True)


def _is_clean_base64(text: str) -> bool:
    return len(text) % 4 == 0 and not text.endswith("=")


def append_base64(current: str, fragment: str) -> str:
    """``current`` and ``fragment``, two base64 texts, as the base64 of their bytes joined.

    Streamed audio comes as base64 pieces each encoded on its own: a piece padded
    with ``=`` cannot be followed as text. Only the last quantum of ``current`` (4
    characters) is decoded again, so a stream of n pieces costs O(n). Text that is not
    base64 is appended as it is, so nothing is lost.

    Example::

        append_base64("QQ==", "Qg==")  # "QUI=": the bytes b"A" + b"B"
    """
    if _is_clean_base64(current) and _is_clean_base64(fragment):
        return current + fragment
    cut = len(current) - (len(current) % 4 or 4) if current else 0
    head, tail = current[:cut], current[cut:]
    try:
        joined = base64.b64decode(_padded(tail), validate=True) + base64.b64decode(
            _padded(fragment), validate=True
        )
    except (binascii.Error, ValueError):
        return current + fragment
    return head + base64.b64encode(joined).decode("ascii")


def _padded(text: str) -> str:
    return text + "=" * (-len(text) % 4)


def _merge_audio(acc: dict[str, Any], delta: Mapping[str, Any]) -> None:
    # An assistant message's audio, streamed: the transcript is text (rule 3), the data
    # base64 pieces joined as bytes (append_base64); id, expires_at and format: the
    # latest non-null value (restated on each chunk by some servers).
    for key, value in delta.items():
        if value is None:
            continue
        if key == "data" and isinstance(value, str):
            current = acc.get("data")
            acc["data"] = append_base64(current, value) if isinstance(current, str) else value
        elif key == "transcript" and isinstance(value, str):
            _append_text(acc, key, value)
        else:
            acc[key] = copy.deepcopy(value)


def merge_delta(acc: dict[str, Any], delta: Mapping[str, Any]) -> None:
    """Apply one delta (or a whole message) to ``acc`` in place.

    Missing or null keys change nothing; text concatenates verbatim; the first
    role wins; tool calls merge by their ``index``. ``delta`` is never mutated,
    and nothing of it is shared with ``acc`` but immutable strings.
    """
    for key, value in delta.items():
        if value is None or key in _NOT_MESSAGE:
            continue
        if key == "role":
            acc.setdefault("role", value)
        elif key == "tool_calls":
            if isinstance(value, list):
                _merge_tool_calls(acc, value)
        elif key == "function_call":
            if isinstance(value, Mapping):
                _merge_function(acc.setdefault("function_call", {}), value, restate=False)
        elif key == "audio" and isinstance(value, Mapping):
            _merge_audio(acc.setdefault("audio", {}), value)
        elif isinstance(value, str) and key not in _REPLACE:
            _append_text(acc, key, value)
        else:
            # Content parts, numbers, objects: the latest value wins, copied so that
            # later merges never reach into the caller's data.
            acc[key] = copy.deepcopy(value)


# String keys that are not text to join (a role is, to fold: the first one wins).
_NOT_TEXT = (_REPLACE - {"role"}) | _NOT_MESSAGE


def _text_only(delta: Mapping[str, Any]) -> bool:
    # Nothing but a role and text fragments: such deltas fold by joining their strings.
    return all(isinstance(value, str) and key not in _NOT_TEXT for key, value in delta.items())


def fold_text_deltas(deltas: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Join each run of consecutive text-only deltas into one delta.

    Merging the result gives the same message as merging ``deltas``: text
    concatenates (rule 3) and the first role wins (rule 4), so a run of
    ``{"content": "Hel"}``, ``{"content": "lo"}`` is ``{"content": "Hello"}``.
    Any other delta (tool calls, content parts, ...) is kept as it is, in place.
    """
    out: list[Mapping[str, Any]] = []
    texts: dict[str, list[str]] = {}
    role: str | None = None
    in_run = False

    def end_run() -> None:
        nonlocal role, in_run
        if in_run:
            folded: dict[str, Any] = {} if role is None else {"role": role}
            folded.update((key, "".join(parts)) for key, parts in texts.items())
            out.append(folded)
        texts.clear()
        role, in_run = None, False

    for delta in deltas:
        if not _text_only(delta):
            end_run()
            out.append(delta)
            continue
        in_run = True
        for key, value in delta.items():
            if key != "role":
                texts.setdefault(key, []).append(value)
            elif role is None:
                role = value
    end_run()
    return out


def finish_message(acc: Mapping[str, Any], keep_index: bool = False) -> dict[str, Any]:
    """A clean OpenAI message from an accumulator (a copy; ``acc`` may keep growing).

    The role defaults to ``"assistant"``; tool calls come sorted by index, without
    it (so the message can go straight back to OpenAI as part of ``messages``)
    unless ``keep_index``: a snapshot that more deltas will extend needs it.
    """
    message: dict[str, Any] = {"role": acc.get("role", "assistant")}
    for key, value in acc.items():
        if key in ("role", "_calls"):
            continue
        message[key] = _plain(value)
    calls = acc.get("_calls")
    if calls:
        message["tool_calls"] = [
            {k: _plain(v) for k, v in calls[i].items() if keep_index or k != "index"}
            for i in sorted(calls)
        ]
    if message["role"] == "assistant":
        message.setdefault("content", None)
    return message


def fold_choices(choices: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Fold the streamed choices of one index into one complete choice dict."""
    acc = new_message()
    index = 0
    finish_reason: str | None = None
    logprobs: dict[str, list[Any]] | None = None
    for choice in choices:
        index = choice.get("index", index)
        delta = choice.get("delta")
        if isinstance(delta, Mapping):
            merge_delta(acc, delta)
        if choice.get("finish_reason") is not None:
            finish_reason = choice["finish_reason"]
        lp = choice.get("logprobs")
        if isinstance(lp, Mapping):
            logprobs = logprobs or {}
            for key in ("content", "refusal"):
                if isinstance(lp.get(key), list):
                    logprobs.setdefault(key, []).extend(copy.deepcopy(lp[key]))
    message = finish_message(acc)
    if finish_reason is None and "function_call" in message:
        finish_reason = "function_call"
    result: dict[str, Any] = {"index": index, "finish_reason": finish_reason, "message": message}
    if logprobs is not None:
        result["logprobs"] = logprobs
    return result
