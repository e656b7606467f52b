"""A conversation's messages as a file, and a file back into messages.

:func:`to_json` writes what OpenAI's ``messages=`` takes, and what gptchat shows of a
Responses API reply beyond it (``annotations``, ``output_items``,
``incomplete_details``: citations, built-in tool calls, an incomplete end), so that an
imported conversation looks as it did. gptchat leaves those three out of what a handler
gets (``_handler_styles.history``); a file given to the API directly should drop them.
:func:`to_markdown` writes a document for people, and :func:`parse_import` reads a JSON
file back, checked message by message with :class:`~gptchat.protocol.ChatMessage`. Pure:
no IO, no Flask.

The browser writes the same two formats (``client/src/core/exportFormat.ts``) for
conversations it keeps itself; ``tests/fixtures/export/`` holds cases that both sides'
tests check, so the two writers cannot drift apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ._asks import model_input
from .protocol import ChatMessage, describe_error

# The fields OpenAI's Chat Completions API takes in a message: anything else (usage,
# reasoning text, a stream's call index) is ours or a provider's and would be refused.
_MESSAGE_KEYS = ("role", "name", "content", "refusal", "tool_calls", "tool_call_id")
# What a Responses API reply adds (gptchat._responses), kept as it is after the rest.
_REPLY_LISTS = ("annotations", "output_items")
_REPLY_DETAILS = "incomplete_details"
_ROLE_TITLES = {
    "system": "System",
    "developer": "Developer",
    "user": "User",
    "assistant": "Assistant",
    "tool": "Tool",
    "function": "Function",
}
#: Longest title kept (as ``protocol.Title``).
MAX_TITLE = 200


def openai_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Keep only the fields OpenAI's API accepts, in a fixed order, and after them what
    gptchat shows of a Responses API reply (non-empty ``annotations`` and
    ``output_items`` lists, an ``incomplete_details`` object), as they are.

    ``content`` is always there: null beside calls, else ``""`` for a message that has
    none (the API wants it on every message without calls).

    Example::

        >>> openai_messages([{"role": "assistant", "content": "Hi", "usage": {}}])
        [{'role': 'assistant', 'content': 'Hi'}]
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        clean: dict[str, Any] = {}
        for key in _MESSAGE_KEYS:
            value = message.get(key)
            if key == "tool_calls":
                value = [_clean_call(c) for c in value] if isinstance(value, list) else None
                value = value or None
            if value is not None:
                clean[key] = value
        call = message.get("function_call")
        if isinstance(call, Mapping):
            clean["function_call"] = _clean_function(call)
        for key in _REPLY_LISTS:
            if isinstance(message.get(key), list) and message[key]:
                clean[key] = message[key]
        if isinstance(message.get(_REPLY_DETAILS), Mapping):
            clean[_REPLY_DETAILS] = message[_REPLY_DETAILS]
        if "content" not in clean:
            has_calls = "tool_calls" in clean or "function_call" in clean
            clean["content"] = None if has_calls else ""
        # role first, then content where the API's own examples put it.
        ordered = {"role": clean.pop("role", "user"), "content": clean.pop("content")}
        ordered.update(clean)
        out.append(ordered)
    return out


def _clean_function(fn: Mapping[str, Any]) -> dict[str, Any]:
    name, args = fn.get("name"), fn.get("arguments")
    return {
        "name": name if isinstance(name, str) else "",
        "arguments": args if isinstance(args, str) else "",
    }


def _clean_call(call: Any) -> dict[str, Any]:
    if not isinstance(call, Mapping):
        return {"id": "", "type": "function", "function": _clean_function({})}
    fn = call.get("function")
    call_id = call.get("id")
    return {
        "id": call_id if isinstance(call_id, str) else "",
        "type": "function",
        "function": _clean_function(fn if isinstance(fn, Mapping) else {}),
    }


def to_json(messages: Sequence[Mapping[str, Any]]) -> str:
    """The messages as an OpenAI ``messages=`` list: pretty JSON, UTF-8 as is.

    Example::

        >>> print(to_json([{"role": "user", "content": "Hi"}]))
        [
          {
            "role": "user",
            "content": "Hi"
          }
        ]
        <BLANKLINE>
    """
    return json.dumps(openai_messages(messages), indent=2, ensure_ascii=False) + "\n"


#: The export formats: each one's media type and file extension.
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("application/json", ".json"),
    "markdown": ("text/markdown", ".md"),
}


def render(fmt: str, title: str, messages: Sequence[Mapping[str, Any]]) -> str:
    """The file of ``messages`` in format ``fmt``: ``"json"`` or ``"markdown"``.

    :raises ValueError: another format.

    Example::

        >>> render("json", "Hi", [{"role": "user", "content": "Hi"}]).startswith("[")
        True
    """
    # As a model would take them: approval requests out, edited arguments in.
    messages = model_input([dict(m) for m in messages])
    if fmt == "json":
        return to_json(messages)
    if fmt == "markdown":
        return to_markdown(title, messages)
    raise ValueError(f"format must be json or markdown, not {fmt[:32]!r}")


# -- markdown ---------------------------------------------------------------------


def to_markdown(title: str, messages: Sequence[Mapping[str, Any]]) -> str:
    """A readable document: the title, then one section per message by role.

    Text is kept as is (it is markdown already), images become links (inline
    ``data:`` images a note, not kilobytes of base64), each tool call a fenced JSON
    block under its function's name with its result beneath it, and refusals are
    marked. Of a Responses API reply, its built-in tool calls come first, a line or
    a short block each (the search query, the code run and its output, the
    generated image as a note, the MCP call with its result), then its text, its
    cited sources as a numbered list (as the chat numbers them) and the note of an
    incomplete reply. System and developer messages are included: the file is the
    whole conversation.

    Example::

        >>> print(to_markdown("Hi", [{"role": "user", "content": "Hello"}]))
        # Hi
        <BLANKLINE>
        ## User
        <BLANKLINE>
        Hello
        <BLANKLINE>
    """
    messages = openai_messages(messages)
    results: dict[str, str] = {}
    taken: set[int] = set()
    call_ids = set()
    for i, m in enumerate(messages):
        for call in m.get("tool_calls") or []:
            call_ids.add(call["id"])
        tool_call_id = m.get("tool_call_id")
        # The first result of a call goes under it; a second one keeps its own section.
        if (
            m["role"] == "tool"
            and isinstance(tool_call_id, str)
            and tool_call_id in call_ids
            and tool_call_id not in results
        ):
            results[tool_call_id] = _content_text(m.get("content"))
            taken.add(i)
        # A legacy function call's result is the next message, of role function.
        if m.get("function_call") and i + 1 < len(messages):
            after = messages[i + 1]
            if after["role"] == "function":
                results[f"#{i}"] = _content_text(after.get("content"))
                taken.add(i + 1)

    blocks = [f"# {_one_line(title) or 'Conversation'}"]
    for i, m in enumerate(messages):
        if i in taken:
            continue
        role = m["role"]
        known = _ROLE_TITLES.get(role) if isinstance(role, str) else None
        heading = known or _capitalized(_one_line(str(role)))
        if isinstance(m.get("name"), str) and m["name"]:
            heading += f" ({_one_line(m['name'])})"
        blocks.append(f"## {heading}")
        start = len(blocks)
        for item in _list(m.get("output_items")):
            blocks.extend(_item_blocks(item))
        blocks.extend(_content_blocks(m.get("content"), result=role in ("tool", "function")))
        if isinstance(m.get("refusal"), str) and m["refusal"]:
            blocks.append(_refusal(m["refusal"]))
        for call in m.get("tool_calls") or []:
            blocks.extend(_call_blocks(call["function"], call["id"], results.get(call["id"])))
        if m.get("function_call"):
            blocks.extend(_call_blocks(m["function_call"], "", results.get(f"#{i}")))
        sources = _sources(m.get("annotations"))
        if sources:
            blocks.extend(["**Sources:**", "\n".join(sources)])
        note = _incomplete_note(m.get("incomplete_details"))
        if note:
            blocks.append(f"*{note}*")
        if len(blocks) == start:
            blocks.append("*(empty message)*")
    return "\n\n".join(blocks) + "\n"


# ASCII whitespace only, so that the browser's writer (whose \s differs) says the same.
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip(" ")


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _content_text(content: Any) -> str:
    # A tool result as text: a string, or its text parts joined.
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _content_blocks(content: Any, *, result: bool) -> list[str]:
    if isinstance(content, str):
        if not content:
            return []
        return [_fenced(content)] if result else [content]
    if not isinstance(content, list):
        return []
    blocks: list[str] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            if part["text"]:
                blocks.append(_fenced(part["text"]) if result else part["text"])
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else None
            blocks.append(_image(url if isinstance(url, str) else ""))
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            blocks.append(_refusal(part["refusal"]))
        else:
            name = _one_line(kind) if isinstance(kind, str) and kind.strip() else "unknown"
            blocks.append(f"*[{name} content not shown]*")
    return blocks


def _image(url: str) -> str:
    if url.lower().startswith("data:"):
        header, _, data = url[5:].partition(",")
        media_type = header.split(";", 1)[0].lower() or "unknown type"
        size = len(data) * 3 // 4 - (len(data) - len(data.rstrip("=")))
        return f"*[image: {media_type}, {_size(size)}, embedded data not exported]*"
    # Characters that would end the link early are escaped the way a URL may be.
    safe = re.sub(r"[()<> \t\n\r\f\v]", lambda m: f"%{ord(m.group()):02X}", url)
    return f"![image]({safe})"


def _refusal(text: str) -> str:
    first, *rest = _LINE_BREAK.split(text.rstrip("\r\n"))
    return "\n".join([f"> **Refused:** {first}", *(f"> {line}" for line in rest)])


def _call_blocks(fn: Mapping[str, str], call_id: str, result: str | None) -> list[str]:
    suffix = f" (`{call_id}`)" if call_id and "`" not in call_id else ""
    blocks = [f"**Tool call:** `{_one_line(fn['name'] or '?')}`{suffix}"]
    blocks.append(_fenced(fn["arguments"]))
    if result is not None:
        blocks.append("**Result:**")
        blocks.append(_fenced(result))
    return blocks


# -- what a Responses API reply adds ------------------------------------------------


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _record(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str) and v]


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _destination(url: str) -> str:
    # Characters that would end the link early are escaped the way a URL may be.
    return re.sub(r"[()<> \t\n\r\f\v]", lambda m: f"%{ord(m.group()):02X}", url)


def _link_text(text: str) -> str:
    return re.sub(r"([\\\[\]])", r"\\\1", _one_line(text))


def _sources(annotations: Any) -> list[str]:
    """The url citations as a numbered list: one per URL, in order of first citation.

    The fields are on the annotation (Responses API) or under ``url_citation`` (Chat
    Completions), as the chat's citations.ts reads them.
    """
    titles: dict[str, str] = {}
    for annotation in annotations if isinstance(annotations, list) else []:
        if not isinstance(annotation, Mapping) or annotation.get("type") != "url_citation":
            continue
        nested = annotation.get("url_citation")
        fields = nested if isinstance(nested, Mapping) else annotation
        url = _str(fields.get("url")).strip()
        if not url:
            continue
        title = _str(fields.get("title")).strip()
        if not titles.get(url):
            titles[url] = title
    lines = []
    for n, (url, title) in enumerate(titles.items(), 1):
        if _is_http(url):
            lines.append(f"{n}. [{_link_text(title or url)}]({_destination(url)})")
        else:  # not a web link: named, never linked
            lines.append(f"{n}. {_one_line(title + ' — ' + url if title else url)}")
    return lines


def _incomplete_note(details: Any) -> str | None:
    """The note the chat shows under an incomplete reply (outputItems.ts), or None."""
    if not isinstance(details, Mapping):
        return None
    reason = _one_line(_str(details.get("reason")))
    if reason == "max_output_tokens":
        return "This reply is incomplete: it reached the output token limit."
    if reason == "content_filter":
        return "This reply is incomplete: the content filter stopped it."
    if not reason or reason == "unknown":
        return "This reply is incomplete."
    return f"This reply is incomplete: {reason}."


_IMAGE_TYPES = {"jpg": "jpeg", "svg": "svg+xml"}


def _item_blocks(item: Any) -> list[str]:
    """A built-in tool call (or an item of another type) in a line or a short block."""
    if not isinstance(item, Mapping):
        return []
    kind = _str(item.get("type"))
    if kind == "reasoning":
        return []  # the chat shows its summary as Thinking, which is not exported
    status = _str(item.get("status"))
    mark = f" *({_one_line(status.replace('_', ' '))})*" if status not in ("", "completed") else ""
    if kind == "web_search_call":
        action = _record(item.get("action"))
        url = _one_line(_str(action.get("url")))
        if action.get("type") == "open_page":
            return [f"**Opened a page:** {url}{mark}"]
        if action.get("type") == "find_in_page":
            pattern = _one_line(_str(action.get("pattern")))
            return [f"**Searched a page:** {url} for “{pattern}”{mark}"]
        query = _str(action.get("query")) or ", ".join(_strings(action.get("queries")))
        return [_titled("Web search", _one_line(query), mark)]
    if kind == "file_search_call":
        queries = ", ".join(_strings(item.get("queries")))
        return [_titled("File search", _one_line(queries), mark)]
    if kind == "code_interpreter_call":
        blocks = [f"**Code:**{mark}"]
        if _str(item.get("code")):
            blocks.append(_code(item["code"], "python"))
        for output in map(_record, _list(item.get("outputs"))):
            if output.get("type") == "logs" and _str(output.get("logs")):
                blocks.extend(["**Output:**", _code(output["logs"], "")])
            elif output.get("type") == "image" and _str(output.get("url")):
                blocks.append(_image(output["url"]))
        return blocks
    if kind == "image_generation_call":
        blocks = [_titled("Image generation", _one_line(_str(item.get("revised_prompt"))), mark)]
        if _str(item.get("result")):
            fmt = _str(item.get("output_format")).lower() or "png"
            data = _SPACES.sub("", item["result"])
            blocks.append(_image(f"data:image/{_IMAGE_TYPES.get(fmt, fmt)};base64,{data}"))
        return blocks + _error_blocks(item.get("error"))
    if kind in ("mcp_call", "mcp_approval_request"):
        server, name = _one_line(_str(item.get("server_label"))), _one_line(_str(item.get("name")))
        tool = ".".join(p for p in (server, name) if p) or "?"
        label = "Tool call" if kind == "mcp_call" else "Approval requested"
        blocks = [
            f"**{label}:** `{tool}`{mark}" if "`" not in tool else f"**{label}:** {tool}{mark}"
        ]
        blocks.append(_fenced(_str(item.get("arguments"))))
        if _str(item.get("output")):
            blocks.extend(["**Result:**", _fenced(item["output"])])
        return blocks + _error_blocks(item.get("error"))
    if kind == "mcp_list_tools":
        server = _one_line(_str(item.get("server_label"))) or "a server"
        names = [_one_line(_str(_record(t).get("name"))) for t in _list(item.get("tools"))]
        listed = ", ".join(n for n in names if n)
        return [_titled(f"Tools of {server}", listed, mark), *_error_blocks(item.get("error"))]
    return [f"*[{_one_line(kind) or 'unknown'} not shown]*"]


def _titled(label: str, detail: str, mark: str) -> str:
    return f"**{label}:** {detail}{mark}" if detail else f"**{label}**{mark}"


def _error_blocks(error: Any) -> list[str]:
    # The API's error objects: a message, else a type (an MCP tool's has only content).
    text = _str(error) or _str(_record(error).get("message")) or _str(_record(error).get("type"))
    if not text and isinstance(error, Mapping) and error:
        text = "an error"
    return [f"**Error:** {_one_line(text)}"] if text else []


def _code(text: str, language: str) -> str:
    """Code in a fence longer than any run of backticks inside it, as written."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip(chr(10))}\n{fence}"


def _fenced(text: str) -> str:
    """Text in a code fence longer than any run of backticks inside it.

    JSON (a call's arguments, a result that is JSON) is re-indented and marked as
    such; anything else is kept as it is.
    """
    pretty = reindent_json(text)
    language = "json" if pretty is not None else ""
    body = pretty if pretty is not None else text
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body.rstrip(chr(10))}\n{fence}"


# -- JSON re-indented, its numbers and strings untouched -----------------------------

_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+)', re.DOTALL)


def reindent_json(text: str) -> str | None:
    """``text`` laid out like ``JSON.stringify(value, null, 2)`` if it is JSON, else None.

    Numbers and strings are copied as written, so the browser's writer gives the same
    output without either side rounding a float or re-escaping a string.

    Example::

        >>> print(reindent_json('{"a":[1.50,2]}'))
        {
          "a": [
            1.50,
            2
          ]
        }
    """
    try:
        json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    depth = 0
    for i, token in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in ("{", "["):
            closes = nxt == ("}" if token == "{" else "]")
            depth += 1
            out.append(token if closes else token + "\n" + "  " * depth)
        elif token in ("}", "]"):
            depth -= 1
            prev = tokens[i - 1] if i else ""
            if prev in ("{", "["):
                out.append(token)
            else:
                out.append("\n" + "  " * depth + token)
        elif token == ",":
            out.append(",\n" + "  " * depth)
        elif token == ":":
            out.append(": ")
        else:
            out.append(token)
    return "".join(out)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# -- import -----------------------------------------------------------------------


def parse_import(
    data: str | bytes, *, max_bytes: int, max_messages: int
) -> tuple[str | None, list[dict[str, Any]]]:
    """Read an exported file: a JSON list of messages, or ``{"title": ..., "messages": [...]}``.

    Each message is checked as :class:`~gptchat.protocol.ChatMessage` and returned as
    the file gave it. An object may carry other keys (a saved request body has
    ``model``): they are ignored.

    :raises ValueError: naming where and why: too big, not UTF-8, not JSON, not a
        list of messages, too many, a bad title or the first bad message (numbered
        from 1).

    Example::

        >>> parse_import('[{"role": "user", "content": "Hi"}]', max_bytes=1000, max_messages=10)
        (None, [{'role': 'user', 'content': 'Hi'}])
    """
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ValueError(f"the file is {_size(size)}, over the limit of {_size(max_bytes)}")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"the file is not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(data.removeprefix("\ufeff"), parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"the file is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (ValueError, RecursionError) as exc:
        detail = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ValueError(f"the file is not JSON: {detail}") from None

    title: str | None = None
    if isinstance(value, dict) and "messages" in value:
        title = _title(value.get("title"))
        value = value["messages"]
    elif isinstance(value, dict):
        raise ValueError('the file is a JSON object without "messages"')
    if not isinstance(value, list):
        raise ValueError(
            f'expected a list of messages or {{"title": ..., "messages": [...]}}, '
            f"not {_kind(value)}"
        )
    if not value:
        raise ValueError("the file has no messages")
    if len(value) > max_messages:
        raise ValueError(f"the file has {len(value)} messages, over the limit of {max_messages}")

    messages: list[dict[str, Any]] = []
    for n, raw in enumerate(value, 1):
        if not isinstance(raw, dict):
            raise ValueError(f"message {n}: expected an object, not {_kind(raw)}")
        try:
            message = ChatMessage.model_validate(raw)
        except ValidationError as exc:
            raise ValueError(f"message {n}: {describe_error(exc, raw)}") from None
        messages.append(message.model_dump(mode="json", exclude_unset=True))
    try:
        # "\ud800" is valid JSON but no text: it could be neither stored nor sent as UTF-8.
        json.dumps([title, messages], ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the file has text with an unpaired surrogate (\\ud800-\\udfff)") from None
    return title, messages


def _title(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"title: expected text, not {_kind(value)}")
    title = value.strip()
    if len(title) > MAX_TITLE:
        raise ValueError(f"title: {len(title):,} characters, over the limit of {MAX_TITLE}")
    return title or None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _size(n: int) -> str:
    # Whole units, rounded up with integer math: the browser's writer says the same.
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{-(-n // 1024)} KB"
    return f"{-(-n // (1024 * 1024))} MB"
