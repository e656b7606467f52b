"""gptchat processes of one deployment for the scale-out tests: ``tests/scale_app.py``
run as real subprocesses, each on its own free loopback port, sharing a Redis and a
SQLite history file; and the checks a tab's events must pass.

Example::

    with deployment(redis_server.url, tmp_path, 2) as (a, b):
        tab = user_client(a.url, "alice")
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from gptchat._run_log import Messages, apply_delta_event, apply_snapshot, finished_messages

APP = Path(__file__).resolve().parent / "scale_app.py"
_URL = re.compile(r"running on http://localhost:(\d+)/")


class Process:
    """One gptchat process; :attr:`url` once it serves."""

    def __init__(self, redis_url: str, store: str | None, log: Path, *extra: str) -> None:
        args = [sys.executable, str(APP), "--redis", redis_url, *extra]
        if store is not None:
            args += ["--store", store]
        self.log = log
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._port = threading.Event()
        self.port = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with open(self.log, "a") as out:
            for line in self.proc.stdout:
                out.write(line)
                out.flush()
                self.output.append(line)
                found = _URL.search(line)
                if found:
                    self.port = int(found.group(1))
                    self._port.set()
        self._port.set()

    def wait_ready(self, timeout: float = 20) -> None:
        """Wait until it serves; fail with its output if it exits first."""
        if not self._port.wait(timeout) or not self.port:
            raise AssertionError(f"gptchat did not start:\n{''.join(self.output)}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no goodbye, no cleanup."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> None:
        """SIGTERM, as a deploy sends it."""
        self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextmanager
def deployment(
    redis_url: str, folder: Path, count: int, *extra: str, store: bool = True
) -> Iterator[list[Process]]:
    """``count`` processes sharing ``redis_url`` and a SQLite store in ``folder``."""
    url = f"sqlite:///{folder / 'history.db'}" if store else None
    with ExitStack() as stack:
        procs = []
        for i in range(count):
            proc = Process(redis_url, url, folder / f"gptchat-{i}.log", *extra)
            stack.callback(proc.stop)
            procs.append(proc)
        for proc in procs:
            proc.wait_ready()
        yield procs


def strict_reply(events: list[tuple[str, Any]], run_id: str) -> tuple[dict[str, Any], str]:
    """Fold one tab's session of a run: its first snapshot, then each delta in arrival
    order, every one of which must follow the last (no gap, no duplicate); the messages
    and the run's end status ("" while it runs)."""
    messages: Messages = {}
    snapped = False
    status = ""
    for name, data in events:
        if not isinstance(data, dict) or data.get("run_id") != run_id:
            continue
        if name == "run_snapshot":
            if not snapped:
                apply_snapshot(messages, data)
                snapped = True
            else:  # a later snapshot must not be ahead of what the deltas brought
                for snap in data["messages"]:
                    held = messages.get(snap["message_id"])
                    assert held is not None and held.seq >= snap["seq"], "a gap the deltas left"
            if data["status"] != "running":
                status = data["status"]
        elif name == "message_delta":
            assert apply_delta_event(messages, data), f"gap or duplicate at {data['seq']}"
        elif name == "run_finished":
            assert not status, "run_finished twice"
            status = data["status"]
    return finished_messages(messages), status


def text_of(messages: dict[str, Any]) -> str:
    """The assistant text of a reply's messages."""
    return "".join(
        str(m.get("content") or "") for m in messages.values() if m.get("role") == "assistant"
    )


def wait_until(predicate: Any, timeout: float = 10, what: str = "a condition") -> None:
    """Poll ``predicate`` (for state outside any event: a process, a file)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
