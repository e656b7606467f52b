"""A real Postgres server for tests: Debian's ``postgresql`` binaries, a temporary data folder.

:class:`PostgresServer` runs ``initdb`` in a fresh folder and ``postgres`` on a free
loopback port (its socket in the same folder), as a non-root user when the tests run
as root (Postgres refuses to run as root), and hands out fresh databases. The
:func:`postgres_server` fixture starts one per session; without Postgres installed it
skips, except under ``CI``, where a missing Postgres fails the run.

Example::

    with PostgresServer.start() as server:
        url = server.create_database()  # "postgresql+psycopg://gptchat@127.0.0.1:PORT/db_1"
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

#: The database superuser initdb creates; tests connect as it, trusted on loopback.
DB_USER = "gptchat"
#: The OS user that runs Postgres when the tests run as root.
OS_USER = "gptchat-test"


def find_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` that holds ``postgres`` and ``initdb``."""
    found = [
        Path(d)
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if (Path(d) / "postgres").exists() and (Path(d) / "initdb").exists()
    ]
    return max(found, key=lambda d: int(d.parent.name), default=None) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> list[str]:
    """The command prefix that runs a program as a non-root user (none if we are not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER],
            check=True,
            capture_output=True,
        )
    return ["runuser", "-u", OS_USER, "--"]


class PostgresServer:
    """A running Postgres on 127.0.0.1; :meth:`create_database` gives a fresh database's URL."""

    def __init__(self, bindir: Path, root: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.bindir = bindir
        self.root = root
        self.port = port
        self.proc = proc
        self._names = itertools.count(1)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://{DB_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """Create an empty database; its URL."""
        import psycopg

        name = f"db_{next(self._names)}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={DB_USER} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    @classmethod
    @contextmanager
    def start(cls, bindir: Path | None = None) -> Iterator[PostgresServer]:
        """Run ``initdb`` and ``postgres`` in a new temporary folder; stop and remove after."""
        bindir = bindir or find_bin()
        if bindir is None:
            raise RuntimeError("no Postgres in /usr/lib/postgresql/*/bin")
        prefix = _run_as()
        # Straight under /tmp (not pytest's tmp_path, which root keeps to itself): the
        # Postgres user must reach its folder.
        root = Path(tempfile.mkdtemp(prefix="gptchat-pg-"))
        try:
            if prefix:
                shutil.chown(root, OS_USER, OS_USER)
            log = root / "postgres.log"
            subprocess.run(
                [
                    *prefix,
                    str(bindir / "initdb"),
                    "-D",
                    str(root / "data"),
                    "-U",
                    DB_USER,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
            )
            port = _free_port()
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [
                        *prefix,
                        str(bindir / "postgres"),
                        "-D",
                        str(root / "data"),
                        "-k",
                        str(root),
                        "-p",
                        str(port),
                        "-h",
                        "127.0.0.1",
                        # A throwaway server: durability buys nothing, speed does.
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                        "-c",
                        "max_connections=200",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            server = cls(bindir, root, port, proc)
            try:
                server._wait_ready(log)
                yield server
            finally:
                server._stop(prefix)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def _wait_ready(self, log: Path, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited at start:\n{log.read_text(errors='replace')}")
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres not ready in {timeout} s:\n{log.read_text(errors='replace')}")

    def _stop(self, prefix: list[str]) -> None:
        # Fast mode: end open sessions (a failed test may leave one) rather than wait for them.
        subprocess.run(
            [*prefix, str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast"],
            check=False,
            capture_output=True,
            timeout=60,
        )
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One Postgres for the test session; skipped without Postgres, except under ``CI``."""
    bindir = find_bin()
    if bindir is None:
        reason = "Postgres is not installed (no /usr/lib/postgresql/*/bin/postgres)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI must run the Postgres tests (.ci/run installs it)")
        pytest.skip(f"{reason}; install Debian's postgresql package to run these tests")
    with PostgresServer.start(bindir) as server:
        yield server
