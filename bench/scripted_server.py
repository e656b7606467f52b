"""The benchmark's gptchat server: a scripted handler, run as its own process.

Started by ``bench/render.py`` (so the server's memory can be measured alone); prints
its URL on stdout. The user message is a command: ``bench <mode> <tokens> <rate>
<marker>``. ``stream`` calls ``update_message`` once per ~4-character token (``rate``
tokens per second, 0 for as fast as accepted); ``once`` sends the whole reply in one
call. The time of every call is kept for ``GET /_bench/run/<marker>``, and the two
limit pages are served from ``bench/.build/`` under ``/_bench/``; so is, for a paced
run, when the server sent each ``message_delta`` event (``sends``: time, first seq,
count), to tell the server's share of a token's lag from the browser's.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from flask import Response, jsonify, send_from_directory

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from workload import reply_text, tokens_of  # noqa: E402

from gptchat import ChatApp  # noqa: E402
from gptchat.static import Bundle  # noqa: E402
from tests.support import live_server  # noqa: E402

PAGES = ROOT / "bench" / ".build"


def make_app() -> tuple[ChatApp, dict[str, dict[str, Any]]]:
    """A ChatApp answering bench commands, and the record of its runs by marker."""
    # No history store: these figures compare with earlier runs (the store's cost is
    # bench/history_stream.py's), and a benchmark must not write to the data folder.
    chat = ChatApp(store=None)
    runs: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    # message id -> [time.time(), seq, count] per event, for the paced runs only.
    sends: dict[str, list[tuple[float, int, int]]] = {}
    emitter = chat.server.emitter
    send_delta = emitter.message_delta

    def timed_message_delta(
        sid: str, cid: str, run_id: str, message_id: str, seq: int, count: int, deltas: Any
    ) -> None:
        send_delta(sid, cid, run_id, message_id, seq, count, deltas)
        sent = sends.get(message_id)
        if sent is not None:
            sent.append((time.time(), seq, count))

    emitter.message_delta = timed_message_delta  # type: ignore[method-assign]

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        _, mode, n, rate, marker = str(messages[-1]["content"]).split()
        text = reply_text(int(n), marker)
        mid = chat.new_id()
        emits: list[float] = []
        if mode != "once" and float(rate) > 0:
            sends[mid] = []
        start = time.perf_counter()
        if mode == "once":
            chat.update_message({"role": "assistant", "content": text}, id=mid)
            emits.append(time.time())
        else:
            interval = 1 / float(rate) if float(rate) > 0 else 0.0
            chat.update_message({"role": "assistant", "content": ""}, id=mid)
            t0 = time.perf_counter()
            for i, token in enumerate(tokens_of(text)):
                if interval:
                    delay = t0 + i * interval - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                chat.update_message({"content": token}, id=mid)
                emits.append(time.time())
        spent = time.perf_counter() - start
        # Every call's time is kept for paced runs (W3's lag per token); a flood keeps its
        # last, so this record does not weigh on the server memory being measured.
        kept = emits if mode != "once" and float(rate) > 0 else emits[-1:]
        with lock:
            runs[marker] = {
                "emits": kept,
                "handler_s": spent,
                "calls": len(emits),
                "sends": sends.get(mid, []),  # filled on: the last event may be on its way
            }

    app = chat.flask_app
    bundle = os.environ.get("GPTCHAT_BENCH_BUNDLE")
    if bundle:  # profiling: serve another build of the client (e.g. unminified)
        chat.server.bundle = Bundle(Path(bundle))

    @app.get("/_bench/run/<marker>")
    def run_record(marker: str) -> Response:
        with lock:
            record = runs.get(marker)
        return jsonify(record)

    @app.get("/_bench/<path:filename>")
    def bench_page(filename: str) -> Response:
        return send_from_directory(PAGES, filename)

    return chat, runs


def main() -> int:
    chat, _ = make_app()
    with live_server(chat) as url:
        print(url, flush=True)
        # Serve until the parent closes our stdin (or goes away).
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
