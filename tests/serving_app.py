"""The app the serving tests and ``bench/scale.py`` run under gunicorn.

Its handler answers ``stream N PACE`` with N words, one ``update_message`` each,
PACE seconds apart, after a first one naming the process (``[pid 1234] ``), so a
test can tell which process answered; ``stamps N PACE`` sends each delta as the
wall-clock time of its ``update_message`` call (``1765000000.123456 ``), so a client
can measure how long each took to reach it.

The environment chooses the rest: ``GPTCHAT_TEST_AUTH=open`` lets anyone in
(``auth`` returns True: the benchmark's clients), ``password:<it>`` asks for a
password, otherwise the launch token is needed; ``GPTCHAT_TEST_MAX_CONNECTIONS``
raises ``max_connections``.

Example::

    gunicorn -c python:gptchat.gunicorn_conf --pythonpath . 'tests.serving_app:app'
"""

from __future__ import annotations

import os
import time
from typing import Any

from gptchat import ChatApp

_AUTH = os.environ.get("GPTCHAT_TEST_AUTH", "")

app = ChatApp(
    auth=(lambda request: True)
    if _AUTH == "open"
    else _AUTH.removeprefix("password:")
    if _AUTH.startswith("password:")
    else None,
    max_connections=int(os.environ.get("GPTCHAT_TEST_MAX_CONNECTIONS", "200")),
    max_generations=3,
    reconnect_grace=5.0,
)


@app.handle_send_message
def answer(messages: list[dict[str, Any]]) -> None:
    kind, count, pace = str(messages[-1]["content"]).split()
    mid = app.new_id()
    app.update_message({"role": "assistant", "content": f"[pid {os.getpid()}] "}, id=mid)
    for i in range(int(count)):
        if float(pace):
            time.sleep(float(pace))
        word = f"{time.time():.6f} " if kind == "stamps" else f"w{i} "
        app.update_message({"content": word}, id=mid)


def expected(count: int) -> str:
    """The words of a ``stream`` reply of ``count`` words, after its ``[pid ...]``."""
    return "".join(f"w{i} " for i in range(count))
