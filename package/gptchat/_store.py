"""Where conversations are kept: the seam a history store plugs into.

A :class:`ConversationStore` answers for the conversations of one owner (the
client key of a browser today, a user id once there are users): it lists and
loads them, gives the conversation a handler answers when a message arrives,
keeps what a run added, renames and deletes. The server calls it at two
points: :meth:`~ConversationStore.history` when a ``send_message`` arrives,
and :meth:`~ConversationStore.append` when the run ends.

Today's behaviour is :class:`BrowserStore`: the browser keeps every
conversation (localStorage) and sends the whole of it with each message, and
the server keeps nothing past a run. A store on the server (SQLite or Postgres)
implements the same protocol and becomes the source of the conversation a
handler gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .protocol import SendMessage


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation as a list shows it: its id, title and last change (Unix time)."""

    id: str
    title: str
    updated_at: float


class ConversationStore(Protocol):
    """The conversations of each owner; every method is scoped to ``owner``.

    A conversation of another owner does not exist for a caller: ``load`` gives
    None and ``delete`` False, whatever the id.
    """

    def conversations(
        self, owner: str, *, limit: int = 50, before: float | None = None
    ) -> list[ConversationSummary]:
        """The owner's conversations, newest first, ``limit`` at most, older than ``before``."""
        ...

    def load(self, owner: str, conversation_id: str) -> list[dict[str, Any]] | None:
        """The conversation's messages in OpenAI format, or None if the owner has none such."""
        ...

    def history(self, owner: str, message: SendMessage) -> list[dict[str, Any]]:
        """The conversation a handler answers for ``message``, ending with the new message."""
        ...

    def append(self, owner: str, conversation_id: str, messages: Sequence[dict[str, Any]]) -> None:
        """Keep the messages a run added to the conversation, in order."""
        ...

    def rename(self, owner: str, conversation_id: str, title: str) -> bool:
        """Give the conversation a title; whether the owner has it."""
        ...

    def delete(self, owner: str, conversation_id: str) -> bool:
        """Remove the conversation and its messages; whether the owner had it."""
        ...


class BrowserStore:
    """The browser keeps the conversations; the server only relays them.

    :meth:`history` is what the browser sent; the rest keeps nothing, since the
    browser has it all already.

    Example::

        store = BrowserStore()
        store.history("client-key", send_message)  # the messages the tab sent
    """

    def conversations(
        self, owner: str, *, limit: int = 50, before: float | None = None
    ) -> list[ConversationSummary]:
        """Nothing: the browser lists its own."""
        return []

    def load(self, owner: str, conversation_id: str) -> list[dict[str, Any]] | None:
        """None: the server keeps no conversation."""
        return None

    def history(self, owner: str, message: SendMessage) -> list[dict[str, Any]]:
        """The conversation as the browser sent it, in OpenAI format."""
        return [m.message.model_dump(mode="json", exclude_none=True) for m in message.messages]

    def append(self, owner: str, conversation_id: str, messages: Sequence[dict[str, Any]]) -> None:
        """Nothing to keep: the browser folds the run's events into its own copy."""

    def rename(self, owner: str, conversation_id: str, title: str) -> bool:
        """False: titles live in the browser."""
        return False

    def delete(self, owner: str, conversation_id: str) -> bool:
        """False: the browser deletes its own."""
        return False
