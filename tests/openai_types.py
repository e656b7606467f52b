"""openai's own request types as strict validators: an unknown key anywhere fails.

Two things let a bogus key through a plain ``TypeAdapter(T, config=ConfigDict(extra=
"forbid"))``: pydantic gives nested TypedDicts their own config (not the adapter's),
and openai types lists as ``Iterable[...]``, which pydantic validates lazily, as a
generator, only when it is read. So :func:`strict` marks every TypedDict reachable
from ``T`` ``extra="forbid"`` (what ``pydantic.with_config`` does; it only tightens
validation, and the SDK never validates its params with pydantic), and the checks
read every lazy list of what was validated.
"""

from __future__ import annotations

import typing
from typing import Any

from openai.types.chat import ChatCompletionMessageParam
from openai.types.responses import ResponseInputItemParam
from pydantic import ConfigDict, TypeAdapter
from typing_extensions import is_typeddict

_FORBID = ConfigDict(extra="forbid")


def _forbid_extras(tp: Any, seen: set[int]) -> None:
    if id(tp) in seen:
        return
    seen.add(id(tp))
    if is_typeddict(tp):
        tp.__pydantic_config__ = _FORBID
        for hint in typing.get_type_hints(tp).values():
            _forbid_extras(hint, seen)
        return
    for arg in typing.get_args(tp):
        _forbid_extras(arg, seen)


def strict(tp: Any) -> TypeAdapter[Any]:
    """A validator of ``tp`` that refuses unknown keys at every depth."""
    _forbid_extras(tp, set())
    return TypeAdapter(tp, config=_FORBID)


#: One Chat Completions message, as ``client.chat.completions.create(messages=[...])`` takes.
CHAT_MESSAGE = strict(ChatCompletionMessageParam)
#: One Responses API input item, as ``client.responses.create(input=[...])`` takes.
RESPONSES_ITEM = strict(ResponseInputItemParam)


def _drain(value: Any) -> None:
    """Read every lazily validated ``Iterable`` in ``value``, so that each item is checked."""
    if isinstance(value, dict):
        for inner in value.values():
            _drain(inner)
    elif isinstance(value, (list, tuple)) or hasattr(value, "__next__"):
        for inner in value:
            _drain(inner)


def validate(adapter: TypeAdapter[Any], value: Any) -> None:
    """Validate ``value`` with ``adapter`` at every depth (raises ValidationError)."""
    _drain(adapter.validate_python(value))


def check_chat(messages: list[dict[str, Any]]) -> None:
    """Every message validates as openai's ``ChatCompletionMessageParam``, no extra key."""
    for number, message in enumerate(messages):
        try:
            validate(CHAT_MESSAGE, message)
        except ValueError as exc:
            raise AssertionError(f"message {number} is no chat message: {message}\n{exc}") from None


def check_responses(items: list[dict[str, Any]]) -> None:
    """Every item validates as openai's ``ResponseInputItemParam``, no extra key."""
    for number, item in enumerate(items):
        try:
            validate(RESPONSES_ITEM, item)
        except ValueError as exc:
            raise AssertionError(f"item {number} is no input item: {item}\n{exc}") from None
