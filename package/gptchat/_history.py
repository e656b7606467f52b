"""The history store's rules that need no database: a message's text, titles, checks, branches.

Example::

    message_text({"role": "user", "content": [{"type": "text", "text": "Hi"}]})  # "Hi"
    auto_title({"role": "user", "content": "  Plan   a trip "})  # "Plan a trip"
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol, TypeVar

#: The longest title :meth:`Store.set_title` keeps.
TITLE_MAX: Final = 200
#: The length of an automatic title, before its "…".
AUTO_TITLE_LENGTH: Final = 60
#: The states a kept message may be in: ``incomplete`` is a reply cut by a crash.
STATUSES: Final = frozenset({"done", "incomplete", "stopped", "error"})
_ID_MAX: Final = 64
_ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


class _Linked(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...


_N = TypeVar("_N", bound=_Linked)


def plain(text: str) -> str:
    """``text`` as every database stores it: no NUL (Postgres refuses it), valid UTF-8.

    Example::

        plain("a\x00b\ud800")  # "ab?"
    """
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from "\ud800" in JSON
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message: its string content, or its text parts joined by newlines.

    Example::

        message_text({"role": "user", "content": [{"type": "text", "text": "Hi"}]})  # "Hi"
    """
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
            if isinstance(part.get("text"), str)
        ]
        return "\n".join(texts)
    return ""


def search_text(message: Mapping[str, Any]) -> str:
    """What the search reads of a message: its text, plain and lowercased."""
    return plain(message_text(message)).lower()


def auto_title(message: Mapping[str, Any]) -> str | None:
    """The title a user message gives: its first 60 characters, whitespace folded.

    Example::

        auto_title({"role": "user", "content": "  Plan   a trip "})  # "Plan a trip"
    """
    if message.get("role") != "user":
        return None
    text = " ".join(plain(message_text(message)).split())
    if not text:
        return None
    if len(text) > AUTO_TITLE_LENGTH:
        return text[:AUTO_TITLE_LENGTH].rstrip() + "…"
    return text


def like(query: str) -> str:
    """A LIKE pattern for ``query`` anywhere, lowercased (the search columns are)."""
    # Escape LIKE's wildcards (with ESCAPE '\\') so "%" and "_" match themselves.
    escaped = plain(query).lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_id(kind: str, value: object) -> str:
    """``value`` if it is a usable id, else ValueError naming ``kind``."""
    if not isinstance(value, str) or not 0 < len(value) <= _ID_MAX or plain(value) != value:
        raise ValueError(f"{kind} must be a string of 1 to {_ID_MAX} characters, not {value!r:.80}")
    return value


def check_owner(owner: object) -> None:
    """ValueError unless ``owner`` is a usable owner id."""
    if not isinstance(owner, str) or not 0 < len(owner) <= 255 or plain(owner) != owner:
        raise ValueError(f"an owner must be a string of 1 to 255 characters, not {owner!r:.80}")


def check_message(message: object) -> dict[str, Any]:
    """``message`` if it is a dict with an OpenAI role, else ValueError."""
    if not isinstance(message, dict) or message.get("role") not in _ROLES:
        raise ValueError(f"a message must be a dict with a role of {sorted(_ROLES)}")
    return message


def dump(message: Mapping[str, Any]) -> str:
    """The message as compact JSON text; ValueError if it is not JSON."""
    try:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a message must be JSON-serializable: {exc}") from exc
    if plain(text) != text:  # a lone surrogate: \u-escaped, it is kept exactly
        text = json.dumps(message, ensure_ascii=True, separators=(",", ":"))
    return text


def check_status(status: str) -> str:
    """``status`` if it is one of :data:`STATUSES`, else ValueError."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {sorted(STATUSES)}, not {status!r:.40}")
    return status


def check_title(title: str) -> str:
    """The title with its whitespace folded; ValueError if empty or too long."""
    folded = " ".join(plain(title).split()) if isinstance(title, str) else ""
    if not folded:
        raise ValueError("a title must have some text")
    if len(folded) > TITLE_MAX:
        raise ValueError(f"a title may have at most {TITLE_MAX} characters, not {len(folded)}")
    return folded


def branch_to(nodes: Sequence[_N], leaf_id: str) -> list[_N] | None:
    """The nodes from the root down to ``leaf_id``; None if it is not among them."""
    by_id = {n.id: n for n in nodes}
    node = by_id.get(leaf_id)
    if node is None:
        return None
    branch = [node]
    while node.parent_id is not None and len(branch) <= len(by_id):  # bound: a cycle
        parent = by_id.get(node.parent_id)
        if parent is None:
            break
        branch.append(parent)
        node = parent
    branch.reverse()
    return branch


def newest_leaf_of(nodes: Sequence[Any]) -> str | None:
    """From the newest of ``nodes`` (id, parent_id; creation order), its newest children down."""
    if not nodes:
        return None
    newest_child: dict[str | None, str] = {}
    for node in nodes:  # in creation order: the last one written per parent wins
        newest_child[node.parent_id] = node.id
    leaf: str = nodes[-1].id
    for _ in nodes:
        if leaf not in newest_child:
            break
        leaf = newest_child[leaf]
    return leaf
