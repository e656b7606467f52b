"""A real Redis for tests: Debian's ``redis-server`` on a free loopback port, in a temp folder.

:class:`RedisServer` runs ``redis-server`` with no persistence (``--save ''
--appendonly no``), so a :meth:`RedisServer.restart` on the same port comes back
empty, as a Redis restarted without a disk does. The :func:`redis_server`
fixture starts one per test; without ``redis-server`` it skips, except under
``CI``, where it fails the run.

Example::

    with RedisServer.start() as server:
        url = server.url  # "redis://127.0.0.1:PORT/0"
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REDIS_SERVER = "/usr/bin/redis-server"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A running ``redis-server`` on 127.0.0.1; :attr:`url` for ``message_queue=``."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def _spawn(self) -> None:
        log = open(self.root / "redis.log", "ab")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--protected-mode",
                "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.root / "redis.log").read_text(errors="replace"))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer in 10 s")

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL); its data goes with it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        """Stop it, wait ``down_for`` seconds, start it again, empty, on the same port."""
        self.stop()
        time.sleep(down_for)
        self._spawn()

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[RedisServer]:
        """Run one in a new temporary folder; stop it and remove the folder after."""
        root = Path(tempfile.mkdtemp(prefix="gptchat-redis-"))
        server = cls(root, free_port())
        try:
            server._spawn()
            yield server
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh Redis for one test; skipped without ``redis-server``, except under ``CI``."""
    if not Path(REDIS_SERVER).exists():
        reason = f"redis-server is not installed ({REDIS_SERVER})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI must run the Redis tests (.ci/run installs it)")
        pytest.skip(f"{reason}; install Debian's redis-server package to run these tests")
    with RedisServer.start() as server:
        yield server
