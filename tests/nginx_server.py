"""A real nginx for tests, running ``deploy/nginx.conf`` itself with test ports and paths.

:func:`render` replaces, in the committed config, the listen address, the upstream's
servers, the bundle's folder and the system paths (pid, logs, temporary files) with a
temporary folder's; every other line runs as written, so a change there is tested.
:class:`NginxServer` runs Debian's ``/usr/sbin/nginx -p <tmp> -c <conf> -g 'daemon off;'``
on a free loopback port and stops it after. The :func:`nginx_available` check skips
without nginx, except under ``CI`` (``.ci/run`` installs it), where it fails.

Example::

    with NginxServer.start([8001, 8002]) as nginx:
        urlopen(nginx.url)  # "http://127.0.0.1:PORT", balanced over 8001 and 8002
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from gptchat.static import find_build_dir

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "nginx.conf"
NGINX = "/usr/sbin/nginx"
#: The user deploy/nginx.conf runs nginx's workers as (when started as root).
WORKER_USER = "www-data"

_UPSTREAM_SERVERS = re.compile(
    r"(upstream gptchat \{.*?)((?:\n\s*server 127\.0\.0\.1:\d+;)+)", re.S
)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _replace(text: str, old: str, new: str) -> str:
    if old not in text:
        raise AssertionError(
            f"deploy/nginx.conf no longer has {old!r}: update tests/nginx_server.py too"
        )
    return text.replace(old, new)


def render(port: int, upstreams: Sequence[int], folder: Path, bundle: Path) -> str:
    """``deploy/nginx.conf`` with the test's port, upstream ports and paths put in.

    :raises AssertionError: if a line this replaces is no longer in the config.
    """
    text = CONFIG.read_text()
    text = _replace(text, "listen 80;", f"listen 127.0.0.1:{port};")
    text = _replace(text, "pid /run/nginx.pid;", f"pid {folder}/nginx.pid;")
    text = _replace(text, "/var/log/nginx/", f"{folder}/")
    text = _replace(text, "/var/lib/nginx/", f"{folder}/")
    text = _replace(text, "root /srv/gptchat/build;", f"root {bundle};")
    found = _UPSTREAM_SERVERS.search(text)
    if found is None:
        raise AssertionError("deploy/nginx.conf: no 'server 127.0.0.1:PORT;' lines in upstream")
    servers = "".join(f"\n        server 127.0.0.1:{p};" for p in upstreams)
    return text[: found.start(2)] + servers + text[found.end(2) :]


class NginxServer:
    """A running nginx on 127.0.0.1; :attr:`url` is its address."""

    def __init__(self, folder: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.folder = folder
        self.port = port
        self.proc = proc

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        """nginx's error log and output so far (for an assertion's message)."""
        parts = [p.read_text(errors="replace") for p in sorted(self.folder.glob("*.log"))]
        return "\n".join(parts)

    @classmethod
    @contextmanager
    def start(cls, upstreams: Sequence[int]) -> Iterator[NginxServer]:
        """Run nginx, balancing over gptchat processes on ``upstreams``; stop it after."""
        bundle = find_build_dir()
        if bundle is None:
            raise RuntimeError("no client bundle in package/build: run npm run build in client/")
        # In the system's temporary folder, readable: as root, nginx's workers are www-data.
        folder = Path(tempfile.mkdtemp(prefix="gptchat-nginx-"))
        try:
            port = free_port()
            conf = folder / "nginx.conf"
            conf.write_text(render(port, upstreams, folder, bundle))
            if os.geteuid() == 0:
                folder.chmod(0o755)
                for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                    (folder / name).mkdir()
                    shutil.chown(folder / name, WORKER_USER)
            with open(folder / "output.log", "wb") as out:
                proc = subprocess.Popen(
                    [NGINX, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            server = cls(folder, port, proc)
            try:
                server._wait_ready()
                yield server
            finally:
                server._stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited at start:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx not listening in {timeout} s:\n{self.log()}")

    def _stop(self) -> None:
        # SIGTERM, nginx's fast stop: its graceful one (SIGQUIT) waits for open WebSockets.
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def nginx_available() -> None:
    """Skip the test without nginx installed, except under ``CI``, where that fails."""
    if Path(NGINX).exists():
        return
    reason = f"nginx is not installed ({NGINX})"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI must run the serving tests (.ci/run installs it)")
    pytest.skip(f"{reason}; install Debian's nginx package to run these tests")
