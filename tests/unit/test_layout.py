"""Where code lives: ChatApp holds the API, serving has its module, the CLI uses public hooks."""

from __future__ import annotations

import ast
from pathlib import Path

from gptchat import ChatApp
from gptchat._serving import capture_run_app
from gptchat.chat_app import has_handler

PACKAGE = Path(__file__).resolve().parents[2] / "package" / "gptchat"


def tree(name: str) -> ast.Module:
    return ast.parse((PACKAGE / name).read_text())


def imported_modules(module: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_chat_app_holds_no_serving_code() -> None:
    # Signals, the Werkzeug server and the browser are _serving.py's.
    assert not imported_modules(tree("chat_app.py")) & {"signal", "webbrowser", "werkzeug.serving"}


def test_no_module_configures_the_root_logger() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "basicConfig":
                raise AssertionError(f"{path.name}:{node.lineno} calls logging.basicConfig")


def test_the_cli_reaches_no_private_names() -> None:
    for name in ("cli.py", "_reload.py"):
        for node in ast.walk(tree(name)):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{name}:{node.lineno} imports {private}"
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                owner = node.value.id if isinstance(node.value, ast.Name) else None
                dunder = node.attr.startswith("__") and node.attr.endswith("__")
                assert dunder or owner == "self", f"{name}:{node.lineno} reaches .{node.attr}"


def test_capture_run_app_records_the_call_instead_of_serving() -> None:
    chat = ChatApp()
    assert not has_handler(chat)

    @chat.handle_send_message
    def answer(messages: list[dict[str, object]]) -> dict[str, str]:
        return {"role": "assistant", "content": "Sunny in **Paris**, 19 °C."}

    assert has_handler(chat)
    with capture_run_app() as calls:
        chat.run_app(port=5002, debug=True, passthrough_errors=False)  # recorded, not served
    options = {"host": "127.0.0.1", "port": 5002, "debug": True, "passthrough_errors": False}
    assert calls == [(chat, options)]
    assert chat._server is None  # nothing was built, nothing bound
