"""Each limit and default is written once, in ``Settings``; the docs say the same."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest

from gptchat import ChatApp
from gptchat._auth import LoginThrottle
from gptchat._settings import Settings
from gptchat.cli import DEFAULT_PORT
from gptchat.config import Config, to_ui_config
from gptchat.server import Server

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Settings)}


def _value(text: str) -> Any:
    """A default as the docs write it: ``10``, ``0.016``, ``8 MiB``, ``None``, ``()``."""
    text = text.strip()
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if text == "None":
        return None
    if text == "()":
        return ()
    units = {"KiB": 1024, "MiB": 1024**2}
    number, _, unit = text.partition(" ")
    return float(number) * units[unit] if unit else float(number)


def test_a_chat_app_without_arguments_has_the_default_settings() -> None:
    chat = ChatApp()
    assert chat._settings == Settings()
    assert chat.server.settings is chat._settings


def test_chat_app_signature_defaults_are_the_settings_defaults() -> None:
    params = inspect.signature(ChatApp).parameters
    assert list(params) == [
        "reconnect_grace",
        "coalesce_interval",
        "handler_timeout",
        "auth",
        "allowed_hosts",
        "allowed_origins",
        "max_message_bytes",
        "max_messages",
        "max_events_per_second",
        "max_generations",
        "max_connections",
        "max_depth",
        "send_timeout",
        "store",
        "message_queue",
    ]
    for name, param in params.items():
        assert param.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert param.default == DEFAULTS[name], name
    run_app = inspect.signature(ChatApp.run_app).parameters
    assert run_app["host"].default == Settings.host
    assert run_app["port"].default == Settings.port == DEFAULT_PORT


def test_every_chat_app_option_reaches_the_settings() -> None:
    given = {
        "reconnect_grace": 3.0,
        "coalesce_interval": 0.05,
        "handler_timeout": None,
        "auth": "hunter2",
        "allowed_hosts": ["chat.internal"],
        "allowed_origins": ["https://docs.example.com"],
        "max_message_bytes": 1024,
        "max_messages": 7,
        "max_events_per_second": 2.5,
        "max_generations": 1,
        "max_connections": 9,
        "max_depth": 8,
        "send_timeout": 4.0,
        "store": None,
        "message_queue": "redis://127.0.0.1:6379/0",
    }
    settings = ChatApp(**given)._settings
    for name, value in given.items():
        expected = tuple(value) if isinstance(value, list) else value
        assert getattr(settings, name) == expected, name


def test_the_server_guard_and_throttle_default_to_the_settings() -> None:
    server = Server(Config, lambda run, messages: None)
    assert server.settings == Settings()
    throttle = LoginThrottle()
    assert (
        throttle.free_tries,
        throttle.first_lockout,
        throttle.max_lockout,
        throttle.forget_after,
        throttle.max_addresses,
    ) == (
        Settings.login_free_tries,
        Settings.login_first_lockout,
        Settings.login_max_lockout,
        Settings.login_forget_after,
        Settings.login_max_addresses,
    )
    custom = dataclasses.replace(Settings(), login_free_tries=2, login_max_addresses=50)
    built = LoginThrottle.from_settings(custom)
    assert (built.free_tries, built.max_addresses) == (2, 50)


def test_the_docstring_defaults_are_the_settings_defaults() -> None:
    doc = inspect.getdoc(ChatApp) or ""
    params = re.findall(r":param (\w+):(.*?)(?=\n:param |\n\n)", doc, re.S)
    documented = {}
    for name, text in params:
        found = re.search(r"Default ([^.]+(?:\.\d+)?)\.", " ".join(text.split()))
        if found:
            documented[name] = _value(found.group(1))
    assert set(documented) == {
        "handler_timeout",
        "max_message_bytes",
        "max_messages",
        "max_events_per_second",
        "max_generations",
        "max_connections",
        "max_depth",
        "send_timeout",
    }
    for name, value in documented.items():
        assert value == DEFAULTS[name], name


def test_the_readme_option_list_matches_the_settings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("`ChatApp(...)` options, with their defaults:")
    paragraph = readme[start : readme.index("\n\n", start)]
    listed = dict(re.findall(r"`(\w+)=([^`]+)`", paragraph))
    assert set(listed) == set(inspect.signature(ChatApp).parameters)
    for name, text in listed.items():
        assert _value(text) == DEFAULTS[name], name


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_messages": 0}, "max_messages must be a positive number"),
        ({"send_timeout": True}, "send_timeout must be a positive number"),
        ({"handler_timeout": -1}, "handler_timeout must be a positive number or None"),
    ],
)
def test_bad_settings_are_refused_by_name(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Settings(**options)
    with pytest.raises(ValueError, match=match):
        ChatApp(**options)


def test_the_browser_default_config_is_generated_from_python() -> None:
    # The browser shows DEFAULT_CONFIG until the server's config event arrives: it is
    # set_config()'s defaults with the default message limit, as the server sends them.
    generated = (ROOT / "client" / "src" / "protocol.gen.ts").read_text(encoding="utf-8")
    found = re.search(r"export const DEFAULT_CONFIG: UIConfig = (\{.*?\n\});", generated, re.S)
    assert found, "protocol.gen.ts has no DEFAULT_CONFIG: run python scripts/gen_protocol.py"
    assert json.loads(found.group(1)) == to_ui_config(Config(), Settings().max_message_bytes)
    # ... and the client uses it rather than a hand-written copy.
    sources = {
        path: path.read_text(encoding="utf-8")
        for pattern in ("*.ts", "*.svelte")
        for path in (ROOT / "client" / "src").rglob(pattern)
        if path.name != "protocol.gen.ts"
    }
    assert not [p for p, text in sources.items() if "const DEFAULT_CONFIG" in text]
    importing = re.compile(r"import \{[^}]*\bDEFAULT_CONFIG\b[^}]*\} from \"[./]*protocol\.gen\"")
    assert [p for p, text in sources.items() if importing.search(text)]
