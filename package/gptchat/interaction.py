"""The public types of a user in the loop: answers, feedback and message actions.

:class:`Approval` is what :meth:`gptchat.ChatApp.confirm` returns,
:class:`Feedback` what a ``@app.handle_feedback`` function gets, :class:`Action`
a button for ``update_message(..., actions=[...])`` and :class:`ActionCall` what
a ``@app.handle_action(name)`` function gets when it is clicked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from . import protocol
from .protocol import MessageAction as Action

__all__ = ["Action", "ActionCall", "Approval", "Feedback"]


class Approval(protocol.Approval):
    """The user's decision on a tool call, as :meth:`gptchat.ChatApp.confirm` returns it.

    ``approved``; ``arguments`` as the user left them (JSON text) and ``args``
    parsed; the user's ``reason``, if any. Denied, ``result`` is the call's result
    gptchat added to the chat (``{"role": "tool", ...}`` saying it was not run):
    add it to the messages you send the model next, so every call has its result.

    Example::

        decision = app.confirm(call)
        if decision.approved:
            messages.append(run_tool(call, decision.args))
        else:
            messages.append(decision.result)
    """

    tool_call_id: str
    result: dict[str, Any] | None = None


@dataclass(frozen=True)
class Feedback:
    """A user's thumbs up or down on a reply, as ``@app.handle_feedback`` gets it.

    ``rating`` is None when the user took their rating back. Each change comes
    again (a second click changes the rating; a comment comes with it).

    Example::

        @app.handle_feedback
        def on_feedback(feedback: Feedback):
            log.info("%s rated %s %s: %s", feedback.user_id, feedback.message_id,
                     feedback.rating, feedback.comment)
    """

    conversation_id: str
    message_id: str
    rating: Literal["up", "down"] | None
    comment: str | None
    user_id: str


@dataclass(frozen=True)
class ActionCall:
    """A click on a message's button, as ``@app.handle_action(name)`` gets it.

    ``messages`` is the conversation (OpenAI format, as a send handler gets it);
    the function answers it like a send handler does (``update_message``,
    return, yield), as a reply of its own. Without a server store the browser
    sends the conversation back, ``payload`` included: treat it as input.

    Example::

        @app.handle_action("shorter")
        def shorter(call: ActionCall):
            return f"In short: {call.message['content'][:80]}"
    """

    name: str
    payload: Any
    message_id: str
    message: dict[str, Any]
    messages: list[dict[str, Any]]
