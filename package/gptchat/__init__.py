"""gptchat: a ChatGPT look-alike web UI for your Python LLM handler.

Example::

    from gptchat import app

    @app.handle_send_message
    def on_message(messages):
        app.update_message({"role": "assistant", "content": "Hello!"})

    app.run_app(port=5002)
"""

from __future__ import annotations

from .chat_app import ChatApp, SendMessageHandler
from .context import RunContext
from .errors import (
    AskTimeout,
    ConfigError,
    GPTChatError,
    NoActiveRunError,
    ResponseFailed,
    StopGeneration,
)
from .interaction import Action, ActionCall, Approval, Feedback

__all__ = [
    "Action",
    "ActionCall",
    "Approval",
    "AskTimeout",
    "ChatApp",
    "ConfigError",
    "Feedback",
    "GPTChatError",
    "NoActiveRunError",
    "ResponseFailed",
    "RunContext",
    "SendMessageHandler",
    "StopGeneration",
    "__version__",
    "app",
]

__version__ = "0.1.0"

#: The ready-made app most programs use.
app = ChatApp()
