"""The ``gptchat`` command (also ``python -m gptchat``).

::

    gptchat                      chat with OPENAI_API_KEY's endpoint, or the offline demo
    gptchat demo                 the offline showcase
    gptchat chat --model M       chat with an OpenAI-compatible endpoint
    gptchat run app.py --reload  serve your app, restarting when its files change

Every command takes ``--host``, ``--port``, ``--open`` and ``--debug``.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from ._serving import capture_run_app
from ._settings import Settings
from .chat_app import ChatApp, has_handler
from .demo import DEMO_CONFIG, demo_handler

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_PORT = Settings.port


def _add_serve_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On a subcommand the defaults are SUPPRESS, so `gptchat --port 1 demo` keeps port 1.
    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("serving")
    group.add_argument(
        "--host", default=default(None), help=f"interface to bind (default {Settings.host})"
    )
    group.add_argument(
        "--port", type=int, default=default(None), help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    group.add_argument(
        "--open", action="store_true", default=default(False), help="open it in a web browser"
    )
    group.add_argument("--debug", action="store_true", default=default(False), help="debug logging")


def _add_model_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--model",
        default=default(None),
        help=f"model name (default $GPTCHAT_MODEL or {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--base-url",
        default=default(None),
        help="OpenAI-compatible base URL, e.g. http://localhost:11434/v1 for Ollama "
        "(default $OPENAI_BASE_URL, else the OpenAI API)",
    )
    parser.add_argument("--system", default=default(None), help="system prompt")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface.

    Example::

        args = build_parser().parse_args(["chat", "--model", "gpt-4o", "--port", "0"])
    """
    parser = argparse.ArgumentParser(
        prog="gptchat",
        description=(
            "A ChatGPT look-alike web chat. Without a command: chat with the "
            "OpenAI-compatible endpoint of OPENAI_API_KEY (and OPENAI_BASE_URL), or run "
            "the offline demo when no key is set."
        ),
    )
    _add_serve_options(parser, top=True)
    parser.add_argument("--demo", action="store_true", help="run the offline demo")
    _add_model_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="the offline showcase (no key, no network)")
    _add_serve_options(demo, top=False)

    chat = commands.add_parser(
        "chat",
        help="chat with an OpenAI-compatible model",
        description="Chat with OpenAI, or a local server (Ollama, vLLM, LM Studio, "
        "llama.cpp) through its OpenAI-compatible endpoint. Reads OPENAI_API_KEY and "
        "OPENAI_BASE_URL; a local --base-url needs no key.",
    )
    _add_model_options(chat, top=False)
    _add_serve_options(chat, top=False)

    run = commands.add_parser(
        "run",
        help="serve a Python file that defines a handler",
        description="Import APP (a .py file with a @app.handle_send_message handler) and "
        "serve it. Its `app.run_app(...)` call, if any, supplies defaults for the options.",
    )
    run.add_argument("path", metavar="APP", help="path to the app's .py file")
    run.add_argument(
        "--reload", action="store_true", help="restart the server when a .py file changes"
    )
    _add_serve_options(run, top=False)
    return parser


# -- commands --------------------------------------------------------------------


def chat_handler(app: ChatApp, model: str, base_url: str | None, system: str | None = None) -> Any:
    """A handler that streams replies from an OpenAI-compatible endpoint.

    ``system``, if given, is put first in conversations that have no system message.

    Example::

        app.handle_send_message(chat_handler(app, "llama3.2", "http://localhost:11434/v1"))
    """
    from openai import OpenAI

    key = os.environ.get("OPENAI_API_KEY") or "not-needed"  # local servers take any key
    client = OpenAI(base_url=base_url, api_key=key)

    def on_message(messages: list[dict[str, Any]]) -> None:
        if system and not any(m.get("role") == "system" for m in messages):
            messages = [{"role": "system", "content": system}, *messages]
        stream = client.chat.completions.create(
            model=model, messages=cast(Any, messages), stream=True
        )
        app.stream(stream)

    return on_message


def _serve(app: ChatApp, args: argparse.Namespace, defaults: dict[str, Any] | None = None) -> int:
    # Options given on the command line win over the app file's run_app() arguments.
    options = dict(defaults or {})
    host = options.pop("host", Settings.host)
    port = options.pop("port", DEFAULT_PORT)
    debug = options.pop("debug", False)
    open_browser = options.pop("open_browser", False)
    app.run_app(
        host=args.host or host,
        port=args.port if args.port is not None else port,
        debug=args.debug or debug,
        open_browser=args.open or open_browser,
        **options,
    )
    return 0


def _demo(app: ChatApp, args: argparse.Namespace, why: str) -> int:
    app.set_config(DEMO_CONFIG)
    app.handle_send_message(demo_handler(app))
    print(f"gptchat: {why}")
    return _serve(app, args)


def _chat(app: ChatApp, args: argparse.Namespace, require_endpoint: bool) -> int:
    model = args.model or os.environ.get("GPTCHAT_MODEL") or DEFAULT_MODEL
    base_url = args.base_url or os.environ.get("OPENAI_BASE_URL") or None
    if require_endpoint and not os.environ.get("OPENAI_API_KEY") and not base_url:
        print(
            "gptchat chat: set OPENAI_API_KEY (and OPENAI_BASE_URL for another provider), or "
            "pass --base-url for a local server, e.g. --base-url http://localhost:11434/v1",
            file=sys.stderr,
        )
        return 2
    app.set_config({"title": f"gptchat · {model}", "agent_name": model})
    app.handle_send_message(chat_handler(app, model, base_url, args.system))
    print(f"gptchat: chatting with {model} at {base_url or 'the OpenAI API'}")
    return _serve(app, args)


def load_app(path: str | Path) -> tuple[ChatApp, dict[str, Any]]:
    """Import an app file; the app it defines and the arguments of its run_app() call.

    The file runs with ``__name__`` set to ``"__gptchat_app__"`` (so an
    ``if __name__ == "__main__":`` block is skipped), and a ``run_app()`` call it
    makes is recorded instead of serving.

    :raises FileNotFoundError: if there is no such file.
    :raises LookupError: if the file registers no handler.

    Example::

        app, run_kwargs = load_app("examples/streaming.py")
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise FileNotFoundError(f"no such app file: {path}")
    sys.path.insert(0, str(file.parent))
    with capture_run_app() as calls:
        namespace = runpy.run_path(str(file), run_name="__gptchat_app__")
    if calls:
        return calls[-1]
    import gptchat

    candidates = [v for v in namespace.values() if isinstance(v, ChatApp)] + [gptchat.app]
    for candidate in candidates:
        if has_handler(candidate):
            return candidate, {}
    raise LookupError(
        f"{path} registers no handler: decorate a function with @app.handle_send_message "
        "(from gptchat import app)"
    )


def _run(args: argparse.Namespace) -> int:
    if args.reload:
        from ._reload import run_with_reload

        return run_with_reload(args)
    try:
        app, defaults = load_app(args.path)
    except (FileNotFoundError, LookupError) as exc:
        print(f"gptchat run: {exc}", file=sys.stderr)
        return 2
    print(f"gptchat: serving {args.path}")
    return _serve(app, args, defaults)


def main(argv: Sequence[str] | None = None, app: ChatApp | None = None) -> int:
    """Run the command line; returns the exit status.

    Example::

        main(["chat", "--model", "llama3.2", "--base-url", "http://localhost:11434/v1"])
    """
    args = build_parser().parse_args(argv)
    app = app or ChatApp()
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "demo":
            return _demo(app, args, "running the offline demo")
        if args.command == "chat":
            return _chat(app, args, require_endpoint=True)
        if args.demo or not os.environ.get("OPENAI_API_KEY"):
            return _demo(app, args, "no OPENAI_API_KEY set, running the offline demo")
        return _chat(app, args, require_endpoint=False)
    except KeyboardInterrupt:
        return 0
