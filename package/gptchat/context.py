"""What a handler knows about the reply it is writing: :class:`RunContext`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class RunContext:
    """The conversation and the user a handler run answers.

    Get it with :meth:`gptchat.ChatApp.context` inside a handler, e.g. to keep
    state per conversation or per user.

    :ivar conversation_id: the conversation's id, stable for its whole life
        (the browser keeps it across reloads).
    :ivar session_id: the user's browser session: the same for every tab of one
        browser profile, different for another browser or user. Derived from the
        browser's secret key, so it is safe to log and store.
    :ivar run_id: this run of the handler (one reply).
    :ivar user_id: who is asking: ``"local"`` on a server with no ``auth``, a
        password or a launch token; the id an ``auth`` callable returned otherwise.
        Conversations belong to it when the server keeps the history.

    Example::

        notes: dict[str, list[str]] = {}

        @app.handle_send_message
        def on_message(messages):
            ctx = app.context()
            notes.setdefault(ctx.conversation_id, []).append(messages[-1]["content"])
    """

    conversation_id: str
    session_id: str
    run_id: str
    user_id: str = "local"


def session_id_for(client_key: str) -> str:
    """A public id for a browser's secret client key (a one-way hash of it).

    Example::

        session_id_for("the-browser-secret")  # 32 hex digits, the same every time
    """
    return hashlib.sha256(f"gptchat-session:{client_key}".encode()).hexdigest()[:32]
