"""gptchat under a real gunicorn for tests: ``tests/serving_app.py`` in a process of its own.

:class:`Gunicorn` starts ``python -m gunicorn -c python:gptchat.gunicorn_conf`` on a
free loopback port (a process group of its own: the master and its worker), waits
until the worker has its app ready, and collects its output. Every process of a
test shares :data:`SECRET`, so the launch token and sign-in hold across them.

Example::

    with Gunicorn.start() as g:
        urlopen(f"{g.url}/?token={TOKEN}")
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gptchat._auth import SECRET_ENV, derive
from tests.nginx_server import free_port

ROOT = Path(__file__).resolve().parents[1]
#: The secret every gunicorn of a test shares (``$GPTCHAT_SECRET_KEY``).
SECRET = "serving-tests-shared-secret-0123456789"
#: The launch token each of them hands out, the same in all (``Guard.expose``).
TOKEN = derive(SECRET, "launch token")[:32]
#: The line the first worker logs once its app is ready.
READY = "gptchat is served on"


class Gunicorn:
    """A running gunicorn serving ``tests.serving_app:app``; :attr:`url` is its address."""

    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.port = port
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        with self._cond:
            return "".join(self.lines)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_line(self, text: str, timeout: float = 20.0) -> str:
        """Wait until a line of its output holds ``text``; that line."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"gunicorn never said {text!r}:\n{''.join(self.lines)}")
                self._cond.wait(min(left, 0.2))

    def terminate(self) -> None:
        """SIGTERM to the master: gunicorn's graceful stop (a deploy does this)."""
        self.proc.send_signal(signal.SIGTERM)

    def worker_pids(self) -> list[int]:
        """The pids of its workers (the children of the master)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    @classmethod
    @contextmanager
    def start(
        cls,
        *,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        graceful_timeout: int = 10,
        config: bool = True,
        app: str = "tests.serving_app:app",
    ) -> Iterator[Gunicorn]:
        """Run gunicorn (with gptchat's config unless ``config=False``); stop it after."""
        port = free_port()
        argv = [sys.executable, "-m", "gunicorn"]
        if config:
            argv += ["-c", "python:gptchat.gunicorn_conf"]
        argv += [
            "-b",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            str(graceful_timeout),
            # gunicorn 23+ opens a control socket in the home folder by default: one per
            # machine, which several test servers (and a real one) would fight over.
            "--no-control-socket",
            "--pythonpath",
            str(ROOT),
            *args,
            app,
        ]
        full_env = {
            **os.environ,
            SECRET_ENV: SECRET,
            "GPTCHAT_STORE": "none",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=full_env,
            cwd=ROOT,
            start_new_session=True,
        )
        server = cls(proc, port)
        try:
            if config:
                server.wait_line(READY)
            else:
                server.wait_line("Booting worker")
            server._wait_listening()
            yield server
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            server._reader.join(5)
            assert proc.stdout is not None
            proc.stdout.close()

    def _wait_listening(self, timeout: float = 20.0) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"gunicorn not listening on {self.port}:\n{self.output}")
