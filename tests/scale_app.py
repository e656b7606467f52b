"""A gptchat process of a deployment, for the scale-out tests (run as a program).

``python tests/scale_app.py --redis URL --store URL`` serves on a free loopback
port with ``run_app`` and prints its URL. The handler answers deterministically:

* ``count N MS``: one message of N words ``w0 w1 ...``, one every MS milliseconds;
* ``ask``: asks "Which one?" (a or b), then answers ``you chose <answer>``.

The text is the same whichever process runs it: a test compares it with :func:`expected`.
"""

from __future__ import annotations

import argparse
import faulthandler
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "package")]

from gptchat import ChatApp  # noqa: E402
from tests.support import header_user  # noqa: E402


def expected(count: int) -> str:
    """The text of the reply to ``count N ...``."""
    return "".join(f"w{i} " for i in range(count))


def build(redis_url: str, store: str | None, **options: Any) -> ChatApp:
    """The app of one process."""
    app = ChatApp(
        auth=header_user,
        store=store,
        message_queue=redis_url,
        coalesce_interval=0.0,
        reconnect_grace=2.0,
        **options,
    )

    @app.handle_send_message
    def answer(messages: list[dict[str, Any]]) -> None:
        text = str(messages[-1]["content"])
        if text == "ask":
            choice = app.ask("Which one?", choices=["a", "b"], timeout=30)
            app.update_message({"role": "assistant", "content": f"you chose {choice}"})
            return
        _, n, ms = text.split()
        mid = app.new_id()
        app.update_message({"role": "assistant", "content": ""}, id=mid)
        for i in range(int(n)):
            app.update_message({"content": f"w{i} "}, id=mid)
            time.sleep(int(ms) / 1000)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True)
    parser.add_argument("--store", default=None)
    parser.add_argument("--max-connections", type=int, default=200)
    args = parser.parse_args()
    faulthandler.register(signal.SIGUSR1)  # a hung process tells where (kill -USR1)
    app = build(args.redis, args.store, max_connections=args.max_connections)
    app.run_app(port=0)


if __name__ == "__main__":
    main()
