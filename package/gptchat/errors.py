"""Exceptions raised by gptchat.

Hierarchy::

    GPTChatError
    ├── ConfigError (also ValueError)       set_config() got an unknown key or a bad value
    │   └── MessageQueueError               ChatApp(message_queue=...) names no reachable Redis
    ├── NoActiveRunError (also RuntimeError) update_message() called outside a handler run
    ├── StopGeneration                       the user pressed stop or left: unwind the handler
    ├── AskTimeout (also TimeoutError)       ask()/confirm() got no answer within its timeout
    └── ResponseFailed                       a Responses API stream reported a failure

Misuse of the API (a handler with the wrong signature, a delta with no id, an
object that is not a message) raises plain ``TypeError``/``ValueError``.
"""

from __future__ import annotations

from typing import Any


class GPTChatError(Exception):
    """Base class of every exception gptchat raises on purpose."""


class ConfigError(GPTChatError, ValueError):
    """``set_config()`` got an unknown key or a value of the wrong type."""


class MessageQueueError(ConfigError):
    """``ChatApp(message_queue=...)`` (or ``$GPTCHAT_MESSAGE_QUEUE``) cannot be used.

    Raised when the server is built (``run_app``, ``flask_app``), not at the first
    message: the URL is not a Redis URL, the ``redis`` package is missing
    (``pip install gptchat[redis]``), or no Redis answers there. The message names the URL.

    Example::

        try:
            ChatApp(message_queue="redis://127.0.0.1:6390/0").flask_app
        except MessageQueueError as exc:
            print(exc)  # no Redis answers at redis://127.0.0.1:6390/0 (...)
    """


class NoActiveRunError(GPTChatError, RuntimeError):
    """A call that needs a running handler was made outside one."""


class StopGeneration(GPTChatError):
    """Raised by ``update_message()`` once the reply should stop.

    That is when the user pressed stop, or the browser left and did not come back
    within the reconnect grace period. A handler written as a plain loop of
    ``update_message()`` calls needs no code for it: gptchat catches this
    exception around the handler and finishes the reply as *stopped*, keeping
    what was sent so far. A handler that must clean up can catch it (and
    re-raise), or poll :meth:`gptchat.ChatApp.stop_requested`.
    """


class AskTimeout(GPTChatError, TimeoutError):
    """Raised by ``ask()`` and ``confirm()`` when the user did not answer within ``timeout``.

    The question shows as unanswered; the handler may catch this and go on.

    Example::

        try:
            city = app.ask("Which city?", timeout=60)
        except AskTimeout:
            city = "Paris"
    """


class ResponseFailed(GPTChatError):
    """A Responses API stream reported a failure (``response.failed`` or an ``error`` event).

    Raised by ``app.stream()`` and by generator handlers yielding the events;
    the reply ends as an error showing the API's message.

    :ivar code: the API's error code, if it gave one.
    :ivar param: the request parameter the error is about (``error`` events).
    :ivar response: the failed ``Response`` as a dict (``response.failed``).

    Example::

        try:
            app.stream(client.responses.create(model="gpt-5", input=..., stream=True))
        except ResponseFailed as exc:
            print("the model failed:", exc, exc.code)
            raise
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        response: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.param = param
        self.response = response
