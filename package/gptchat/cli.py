"""The ``gptchat`` command: the offline demo, or a chat with an OpenAI-compatible model."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any, cast

from .chat_app import ChatApp
from .demo import DEMO_CONFIG, demo_handler


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="gptchat",
        description=(
            "Run a ChatGPT look-alike chat. With OPENAI_API_KEY set it chats with that "
            "OpenAI-compatible endpoint; without it (or with --demo) it runs an offline demo."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument("--demo", action="store_true", help="run the offline demo")
    parser.add_argument("--model", default=os.environ.get("GPTCHAT_MODEL", "gpt-4o-mini"))
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible base URL")
    parser.add_argument("--system", default=None, help="system prompt")
    parser.add_argument("--debug", action="store_true", help="debug logging")
    return parser


def chat_handler(app: ChatApp, model: str, base_url: str | None) -> Any:
    """A handler that streams replies from an OpenAI-compatible endpoint."""
    from openai import OpenAI

    client = OpenAI(base_url=base_url) if base_url else OpenAI()

    def on_message(messages: list[dict[str, Any]]) -> None:
        stream = client.chat.completions.create(
            model=model, messages=cast(Any, messages), stream=True
        )
        id = app.new_id()  # noqa: A001
        with stream:
            for chunk in stream:
                if chunk.choices:
                    app.update_message(chunk.choices[0].delta, id=id)

    return on_message


def main(argv: Sequence[str] | None = None, app: ChatApp | None = None) -> int:
    """Run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    app = app or ChatApp()
    use_demo = args.demo or not os.environ.get("OPENAI_API_KEY")
    if use_demo:
        app.set_config(DEMO_CONFIG)
        app.handle_send_message(demo_handler(app))
        print("gptchat: no OPENAI_API_KEY set, running the offline demo")
    else:
        config: dict[str, Any] = {"title": f"gptchat · {args.model}"}
        if args.system:
            config["messages"] = [{"role": "system", "content": args.system}]
        app.set_config(config)
        app.handle_send_message(chat_handler(app, args.model, args.base_url))
        print(f"gptchat: chatting with {args.model} at {args.base_url or 'the OpenAI API'}")
    app.run_app(host=args.host, port=args.port, debug=args.debug)
    return 0
