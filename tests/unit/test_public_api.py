"""The public surface is small and deliberate: changing it should be a conscious act."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import gptchat
from gptchat import ChatApp, ConfigError, NoActiveRunError

ROOT = Path(__file__).resolve().parents[2]


def test_all_is_pinned() -> None:
    assert sorted(gptchat.__all__) == [
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


def test_chat_app_public_methods_are_pinned() -> None:
    public = sorted(n for n in dir(ChatApp) if not n.startswith("_"))
    assert public == [
        "ask",
        "config",
        "confirm",
        "context",
        "export",
        "flask_app",
        "handle_action",
        "handle_feedback",
        "handle_send_message",
        "init_app",
        "new_id",
        "run_app",
        "server",
        "set_config",
        "set_title",
        "shutdown",
        "stop_requested",
        "store",
        "stream",
        "update_message",
    ]


def test_every_public_name_has_a_docstring_with_an_example() -> None:
    for name in (
        "handle_send_message",
        "update_message",
        "new_id",
        "set_config",
        "run_app",
        "stop_requested",
        "stream",
        "context",
        "init_app",
        "set_title",
        "export",
        "ask",
        "confirm",
        "handle_feedback",
        "handle_action",
        "shutdown",
    ):
        doc = inspect.getdoc(getattr(ChatApp, name)) or ""
        assert "Example::" in doc, name
    from gptchat import utils

    assert "Example::" in (inspect.getdoc(utils.concat_stream) or "")
    assert "Example::" in (inspect.getdoc(utils.parse_partial_json) or "")
    assert "Example::" in (inspect.getdoc(gptchat.RunContext) or "")
    for public in (gptchat.Feedback, gptchat.ActionCall, gptchat.AskTimeout):
        assert "Example::" in (inspect.getdoc(public) or ""), public
    assert "Example::" in (inspect.getdoc(gptchat.Approval.args) or "")
    from gptchat import embed

    assert "Example::" in (inspect.getdoc(embed.mount) or "")


def test_importing_does_nothing() -> None:
    # No server, no Flask app and no socket exist until first use.
    code = "import gptchat; print(gptchat.app._server is None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    chat = ChatApp()
    assert chat._server is None
    assert chat.flask_app is chat.flask_app  # built once, on first use


def test_handler_must_take_one_argument() -> None:
    chat = ChatApp()
    with pytest.raises(TypeError, match="exactly one positional argument"):
        chat.handle_send_message(lambda: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exactly one positional argument"):
        chat.handle_send_message(lambda a, b: None)  # type: ignore[arg-type]

    def handler(messages: list[dict[str, object]]) -> None:
        pass

    assert chat.handle_send_message(handler) is handler


def test_update_message_outside_a_run_is_a_clear_error() -> None:
    chat = ChatApp()
    with pytest.raises(NoActiveRunError, match="outside a handler run"):
        chat.update_message({"role": "assistant", "content": "x"})
    with pytest.raises(RuntimeError):
        chat.stop_requested()


def test_new_id_is_unique() -> None:
    ids = {ChatApp.new_id() for _ in range(1000)}
    assert len(ids) == 1000


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"titel": "x"}, "unknown key 'titel'"),
        ({"title": 5}, "'title'"),
        ({"functions": {"f": 5}}, "'functions.f"),
        ({"messages": [{"role": "robot"}]}, "'messages.0.role'"),
        ({"starter_prompts": "hi"}, "'starter_prompts'"),
        ({"logo": "/no/such/file.png"}, "'logo'"),
    ],
)
def test_set_config_errors_name_the_key(config: dict[str, object], match: str) -> None:
    chat = ChatApp()
    with pytest.raises(ConfigError, match=match):
        chat.set_config(config)
    assert chat.config.title == "gptchat"  # nothing half-applied


def test_set_config_keeps_other_keys() -> None:
    chat = ChatApp()
    chat.set_config({"title": "A"})
    chat.set_config({"placeholder": "Ask"})
    assert (chat.config.title, chat.config.placeholder) == ("A", "Ask")


def test_protocol_typescript_is_generated_from_python() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protocol.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_handler_format_is_a_keyword_with_chat_the_default() -> None:
    for name in ("handle_send_message", "handle_action"):
        parameter = inspect.signature(getattr(ChatApp, name)).parameters["format"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameter.default == "chat", name
    chat = ChatApp()

    def handler(messages: list[dict[str, object]]) -> None:
        pass

    assert chat.handle_send_message(handler) is handler
    assert chat.handle_send_message(format="responses")(handler) is handler
    with pytest.raises(ValueError, match="'chat' or 'responses'"):
        chat.handle_send_message(format="Responses")  # type: ignore[call-overload]
