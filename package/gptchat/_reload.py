"""``gptchat run APP --reload``: serve the app in a child process, restart it on change.

A fresh process per change is the robust way to reload: every module the app
imports is re-imported, and a change that breaks the app cannot take the
watcher down with it. The watcher polls modification times (no dependency, works
on every file system) of the ``.py`` files in the app's folder.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from ._settings import Settings

POLL_INTERVAL = 0.4
MAX_FILES = 2000
SKIP_DIRS = frozenset(
    {"__pycache__", "node_modules", "site-packages", "venv", "env", "build", "dist"}
)


def snapshot(root: Path, app_file: Path) -> dict[str, int]:
    """Modification times of the app file and the ``.py`` files under ``root``."""
    found: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        for name in filenames:
            if name.endswith(".py") and len(found) < MAX_FILES:
                path = os.path.join(dirpath, name)
                try:
                    found[path] = os.stat(path).st_mtime_ns
                except OSError:
                    continue
        if len(found) >= MAX_FILES:
            break
    try:
        found[str(app_file)] = app_file.stat().st_mtime_ns
    except OSError:
        found[str(app_file)] = -1
    return found


def free_port(host: str) -> int:
    """A port that is free on ``host`` now (kept across restarts, unlike port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host.strip("[]"), 0))
        return int(sock.getsockname()[1])


class _Child:
    """The serving process, its output relayed line by line."""

    def __init__(self, argv: list[str], open_browser: bool) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
        self._open = open_browser
        self.opened = threading.Event()
        assert self.proc.stdout is not None
        threading.Thread(target=self._relay, args=(self.proc.stdout,), daemon=True).start()

    def _relay(self, stream: IO[str]) -> None:
        for line in stream:
            sys.stdout.write(line)
            sys.stdout.flush()
            if " is running on http" in line:
                self.opened.set()
                if self._open:
                    import webbrowser

                    webbrowser.open(line.split(" is running on ")[1].split()[0])
        stream.close()

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # run_app treats SIGTERM as a clean shutdown
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_with_reload(args: argparse.Namespace) -> int:
    """Serve ``args.path`` in a child process; restart it whenever a watched file changes."""
    app_file = Path(args.path).resolve()
    if not app_file.is_file():
        print(f"gptchat run: no such app file: {args.path}", file=sys.stderr)
        return 2
    argv = [sys.executable, "-m", "gptchat", "run", str(app_file)]
    if args.host:
        argv += ["--host", args.host]
    if args.port is not None:
        # Port 0 would move on every restart: pick one now and keep it.
        port = args.port or free_port(args.host or Settings.host)
        argv += ["--port", str(port)]
    if args.debug:
        argv.append("--debug")
    root = app_file.parent
    stopping = threading.Event()

    def on_term(*_: Any) -> None:
        stopping.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_term)
    files = snapshot(root, app_file)
    if len(files) >= MAX_FILES:
        print(f"gptchat: watching only the first {MAX_FILES} .py files under {root}")
    print(f"gptchat: watching {root} for changes (Ctrl-C to quit)", flush=True)
    child = _Child(argv, args.open)
    exit_reported = False
    try:
        while not stopping.wait(POLL_INTERVAL):
            if child.proc.poll() is not None and not exit_reported:
                print(
                    f"gptchat: the app exited with status {child.proc.returncode}; "
                    "save a file to restart it",
                    flush=True,
                )
                exit_reported = True
            current = snapshot(root, app_file)
            if current != files:
                changed = sorted(
                    p for p in current.keys() | files.keys() if current.get(p) != files.get(p)
                )
                shown = os.path.relpath(changed[0], root) if changed else "a file"
                print(f"gptchat: {shown} changed, restarting", flush=True)
                files = current
                child.stop()
                child = _Child(argv, open_browser=args.open and not child.opened.is_set())
                exit_reported = False
    except KeyboardInterrupt:
        pass  # the child got the same Ctrl-C
    finally:
        child.stop()
    return 0
