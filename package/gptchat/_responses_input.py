"""Chat Completions messages (as gptchat keeps them) into Responses API input items.

Pure: no openai import. What :func:`chat_to_responses_input` makes of each
message, in order:

* system, developer and user messages: ``message`` items with ``input_text``,
  ``input_image`` and ``input_file`` parts (string content becomes one
  ``input_text``). Audio (``input_audio``) has no place there: the Responses
  API takes no audio in messages (openai's ``ResponseInputContentParam`` is
  text, image and file), so such a part is left out with a logged warning, and
  a message left with nothing is left out too. Any other unknown part raises.
* assistant messages: first the items kept in ``output_items`` that the API
  takes back (:data:`INPUT_ITEM_TYPES`), in their order: reasoning items that
  carry ``encrypted_content`` (one without it is only a reference to an item
  the API stored, refused when ``store=False``) and built-in tool calls; then
  the text (text and refusal parts, or ``refusal``) as an assistant message
  with string content (an output message item would need the id the API gave
  it); then each of ``tool_calls`` as a ``function_call`` item. Events kept in
  ``output_items`` (``type`` ``response.*``) are gptchat's record, left out.
* tool results: ``function_call_output`` items (text parts joined).

Everything else of a message (``reasoning_content``, ``annotations``,
``usage``, ``name``, gptchat's ``ask``/``actions``) is left out: the items hold
only what openai's ``ResponseInputItemParam`` types define.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from ._coerce import to_plain

log = logging.getLogger("gptchat")

#: Types of output items the Responses API takes back as input items (the members of
#: openai's ``ResponseInputItemParam``; ``tests/unit/test_responses_convert.py`` checks
#: this set against the SDK's union).
INPUT_ITEM_TYPES = frozenset(
    {
        "reasoning",
        "file_search_call",
        "computer_call",
        "computer_call_output",
        "web_search_call",
        "function_call",
        "function_call_output",
        "tool_search_call",
        "tool_search_output",
        "image_generation_call",
        "code_interpreter_call",
        "local_shell_call",
        "local_shell_call_output",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "mcp_call",
        "custom_tool_call",
        "custom_tool_call_output",
        "compaction",
        "program",
        "program_output",
    }
)

#: Fields gptchat adds to a kept item while it streams (a partial image to show); the
#: API's own items do not have them.
_DISPLAY_FIELDS = ("partial_image_b64",)


def _plain(obj: Any, where: str) -> dict[str, Any]:
    plain = to_plain(obj, where)
    if not isinstance(plain, dict):
        raise TypeError(f"{where} is a {type(obj).__name__}, not a message")
    return plain


def _text_of(content: Any) -> str:
    """The text of string or list content: text (and refusal) parts, joined."""
    if isinstance(content, list):
        return "".join(
            str(p.get("text", p.get("refusal", "")))
            for p in content
            if isinstance(p, Mapping) and ("text" in p or "refusal" in p)
        )
    return "" if content is None else str(content)


def _image_part(part: Mapping[str, Any]) -> dict[str, Any]:
    image = part.get("image_url")
    image = image if isinstance(image, Mapping) else {"url": image}
    return {
        "type": "input_image",
        "image_url": str(image.get("url", "")),
        "detail": str(image.get("detail") or "auto"),
    }


def _file_part(part: Mapping[str, Any]) -> dict[str, Any]:
    file = part.get("file")
    file = file if isinstance(file, Mapping) else {}
    converted: dict[str, Any] = {"type": "input_file"}
    converted.update({k: file[k] for k in ("filename", "file_data", "file_id") if k in file})
    return converted


def input_parts(content: Any, where: str = "a message") -> list[dict[str, Any]]:
    """Chat Completions content as Responses ``input_*`` parts (audio left out, logged)."""
    if not isinstance(content, list):
        return [{"type": "input_text", "text": _text_of(content)}]
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, Mapping):
            raise TypeError(f"a content part is a {type(part).__name__}, not a dict")
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "input_text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            parts.append(_image_part(part))
        elif kind == "file":
            parts.append(_file_part(part))
        elif kind in ("input_text", "input_image", "input_file"):
            parts.append(dict(part))  # already Responses parts
        elif kind == "input_audio":
            # Raising would make every later turn of the conversation fail too; the
            # model answers the rest, and the developer learns why it heard nothing.
            log.warning(
                "%s has an input_audio part, which the Responses API does not take "
                "(it takes text, images and files): left out; transcribe it, or use "
                "Chat Completions with an audio model",
                where,
            )
        else:
            raise ValueError(
                f"the Responses API takes no {kind!r} content parts in messages "
                "(it takes text, images and files)"
            )
    return parts


def given_back(item: Any) -> dict[str, Any] | None:
    """A kept output item as the input item the API takes back, or None to leave it out."""
    if not isinstance(item, Mapping):
        return None
    kind = item.get("type")
    if kind not in INPUT_ITEM_TYPES:
        return None  # an event kept for display, or an item the API does not take back
    if kind == "reasoning" and not item.get("encrypted_content"):
        # Without its encrypted content a reasoning item stands for one the API stored:
        # with store=False the request fails ("Item with id 'rs_...' not found").
        return None
    return {k: copy.deepcopy(v) for k, v in item.items() if k not in _DISPLAY_FIELDS}


def _assistant_items(plain: Mapping[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kept = plain.get("output_items")
    for output_item in kept if isinstance(kept, list) else []:
        item = given_back(output_item)
        if item is not None:
            items.append(item)
    text = _text_of(plain.get("content")) or str(plain.get("refusal") or "")
    if text:
        items.append({"type": "message", "role": "assistant", "content": text})
    for call in plain.get("tool_calls") or []:
        function = call.get("function") or {}
        items.append(
            {
                "type": "function_call",
                "call_id": str(call.get("id", "")),
                "name": str(function.get("name", "")),
                "arguments": str(function.get("arguments") or ""),
            }
        )
    return items


def chat_to_responses_input(messages: Iterable[Any]) -> list[Any]:
    """Chat Completions messages as Responses API input items.

    ``client.responses.create(input=...)`` takes the result unchanged: system,
    developer and user messages with ``input_text``/``input_image``/``input_file``
    parts; for an assistant message, the reasoning items (with their
    ``encrypted_content``) and built-in tool calls that gptchat kept in its
    ``output_items``, then its text as an assistant message, then its
    ``tool_calls`` as ``function_call`` items; tool results as
    ``function_call_output`` items. So a stateless agent (``store=False``,
    ``include=["reasoning.encrypted_content"]``) gets its reasoning back.
    Display extras (``reasoning_content``, ``annotations``, ``usage``, ...) are
    left out; so is audio, which the Responses API does not take (logged).
    The mapping in full: :mod:`gptchat._responses_input`.

    The items are dicts, typed ``list[Any]`` so that they pass as openai's
    ``ResponseInputParam`` without a cast.

    :raises ValueError: for a role or a content part the Responses API does not take.

    Example::

        chat_to_responses_input([{"role": "user", "content": "Hi"}])
        # [{'type': 'message', 'role': 'user',
        #   'content': [{'type': 'input_text', 'text': 'Hi'}]}]
    """
    items: list[dict[str, Any]] = []
    for number, message in enumerate(messages):
        plain = _plain(message, "the message")
        role = plain.get("role")
        if role == "tool":
            content = plain.get("content")
            output: Any = content if isinstance(content, str) else _text_of(content)
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": str(plain.get("tool_call_id", "")),
                    "output": output,
                }
            )
        elif role == "assistant":
            items += _assistant_items(plain)
        elif role in ("system", "developer", "user"):
            parts = input_parts(plain.get("content"), f"message {number} ({role})")
            if parts:
                items.append({"type": "message", "role": role, "content": parts})
        else:
            raise ValueError(f"a message has role {role!r}, which the Responses API does not take")
    return items
