"""Helpers for OpenAI streams, usable without a server: folding, partial JSON, and
converting between Chat Completions messages and Responses API items."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ._merge import fold_choices
from ._responses import concat_response_stream, responses_to_chat
from ._responses_input import chat_to_responses_input

__all__ = [
    "chat_to_responses_input",
    "concat_response_stream",
    "concat_stream",
    "parse_partial_json",
    "responses_to_chat",
]


def _plain(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return dict(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        # exclude_unset keeps explicit nulls and provider extras (reasoning_content, ...).
        result = dump(mode="json", exclude_unset=True)
        if isinstance(result, dict):
            return result
    raise TypeError(f"concat_stream() takes streamed choices or chunks, not {type(obj).__name__}")


def concat_stream(chunks: Iterable[Any]) -> Any:
    """Fold streamed choices into one complete choice, with the browser's merge rules.

    ``chunks`` are the ``chunk.choices[i]`` of a stream (openai SDK objects or
    dicts), or whole chunks, of which the choices with index 0 are folded. Text
    concatenates, tool calls merge by index, the last ``finish_reason`` wins.

    :returns: an openai ``Choice`` (with ``.message``, ``.finish_reason``) when
        given SDK objects, else a dict of the same shape.
    :raises ValueError: if there is nothing to fold, or choices of several indexes.

    Example::

        chunks = []
        for chunk in client.chat.completions.create(..., stream=True):
            if chunk.choices:
                chunks.append(chunk.choices[0])
        message = concat_stream(chunks).message
    """
    items = list(chunks)
    if not items:
        raise ValueError("concat_stream() got no chunks")
    pydantic_input = not isinstance(items[0], Mapping)
    choices: list[dict[str, Any]] = []
    for item in items:
        plain = _plain(item)
        if "choices" in plain:
            choices += [c for c in plain["choices"] or [] if c.get("index", 0) == 0]
        else:
            choices.append(plain)
    indexes = sorted({c.get("index", 0) for c in choices})
    if len(indexes) > 1:
        raise ValueError(
            f"concat_stream() got choices of several indexes {indexes}: fold each index apart"
        )
    folded = fold_choices(choices)
    return _to_sdk_choice(folded) if pydantic_input else folded


def _to_sdk_choice(folded: dict[str, Any]) -> Any:
    try:
        from openai.types.chat import ChatCompletionMessage
        from openai.types.chat.chat_completion import Choice
    except ImportError:  # pragma: no cover - openai is a dependency, but stay usable
        return folded
    message = ChatCompletionMessage.model_validate(folded["message"])
    data = {**folded, "message": message}
    try:
        return Choice.model_validate(data)
    except ValueError:
        # A stream cut short has no finish_reason, which Choice requires: keep it anyway.
        return Choice.model_construct(**data)


def parse_partial_json(text: str) -> Any:
    """Parse the longest sensible value from a JSON prefix, e.g. streamed arguments.

    Closes open strings, arrays and objects; drops a dangling key or a trailing
    comma. Returns None when nothing can be parsed.

    Example::

        parse_partial_json('{"city": "Par')   # {'city': 'Par'}
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    # Back off from the end (a dangling key, a half literal) until the rest closes well;
    # the tail that can dangle is short, so the search is bounded.
    for end in range(len(text), max(len(text) - 200, 0), -1):
        try:
            return json.loads(_complete(text[:end]))
        except ValueError:
            continue
    return None


def _complete(text: str) -> str:
    """Close what ``text`` left open (strings, arrays, objects), dropping dangling tails."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            stack.append("]" if ch == "[" else "}")
        elif ch in "]}" and stack:
            stack.pop()
    out = text
    if in_string:
        out = out[:-1] if escaped else out
        out += '"'
    out = out.rstrip()
    # A dangling comma or colon cannot be closed: cut back to before it.
    if out.endswith((",", ":")):
        return ""
    return out + "".join(reversed(stack))
