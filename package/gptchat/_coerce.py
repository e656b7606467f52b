"""Turning what a developer hands to ``update_message()`` into plain JSON-safe dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SCALARS = (str, int, float, bool)


def to_plain(obj: Any, where: str = "message") -> Any:
    """Return ``obj`` as JSON-safe dicts, lists and scalars, dropping null keys.

    Accepts mappings, lists, and objects with ``model_dump`` (the openai SDK's
    pydantic models) at any depth. A null key in a delta means "nothing here"
    (the merge rules), so dropping them changes nothing but the size.

    :raises TypeError: for anything else, naming where it was found.
    """
    if obj is None or isinstance(obj, _SCALARS):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v, f"{where}.{k}") for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return to_plain(dump(mode="json", exclude_none=True), where)
    raise TypeError(
        f"{where} is a {type(obj).__name__}, which is not a message: pass a dict in OpenAI "
        "message format or an openai SDK object (ChatCompletionMessage, ChoiceDelta, ...)"
    )
