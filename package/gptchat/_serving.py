"""Serving a chat as a program: the Werkzeug server, its URL, signals and shutdown.

:meth:`ChatApp.run_app <gptchat.ChatApp.run_app>` delegates here; it sets up only
gptchat's own logger, never the host program's root. The ``gptchat``
command imports an app file with :func:`capture_run_app` active, so that the
file's own ``run_app()`` call is recorded instead of serving, and then serves
the app itself with the options it was given.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from ._auth import exposure_warning, launch_host
from .static import MISSING_BUILD_HELP

if TYPE_CHECKING:
    from .chat_app import ChatApp
    from .server import Server

log = logging.getLogger("gptchat")

#: A ``run_app()`` call recorded by :func:`capture_run_app`: the app and its arguments.
RunAppCall = tuple["ChatApp", dict[str, Any]]

_captured: ContextVar[list[RunAppCall] | None] = ContextVar("gptchat_captured", default=None)


@contextmanager
def capture_run_app() -> Iterator[list[RunAppCall]]:
    """Record ``run_app()`` calls instead of serving, while the block runs.

    Yields the list the calls are appended to, in order. The ``gptchat run``
    command imports an app file inside this block, so the file's own
    ``app.run_app(port=...)`` supplies defaults instead of blocking the import.

    Example::

        with capture_run_app() as calls:
            runpy.run_path("app.py")
        app, options = calls[-1]
    """
    calls: list[RunAppCall] = []
    token = _captured.set(calls)
    try:
        yield calls
    finally:
        _captured.reset(token)


def defer_run_app(app: ChatApp, options: dict[str, Any]) -> bool:
    """Record a ``run_app()`` call if :func:`capture_run_app` is active; whether it was."""
    calls = _captured.get()
    if calls is None:
        return False
    calls.append((app, options))
    return True


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def show_own_logs(debug: bool = False) -> None:
    """Make gptchat's own log lines visible, leaving every other logger as the host set it.

    A library must not configure the host program's root logger: only the
    ``gptchat`` logger is touched. It gets a plain stderr handler when no handler
    would receive its lines (neither its own nor the root's), so a bare script or
    the ``gptchat`` command still shows them; with ``debug`` it logs at DEBUG.
    """
    logger = logging.getLogger("gptchat")
    if debug:
        logger.setLevel(logging.DEBUG)
    if not logger.hasHandlers():
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)


def serve(
    server: Server,
    host: str,
    port: int,
    *,
    debug: bool = False,
    open_browser: bool = False,
    **kwargs: Any,
) -> None:
    """Serve ``server`` on ``host:port`` until Ctrl-C or SIGTERM; see ``ChatApp.run_app``.

    Prints the launch URL (with the access token when the server is exposed
    beyond loopback), and on the way out stops the running replies and lets
    them send what they have. ``kwargs`` go to ``werkzeug.serving.make_server``.
    """
    from werkzeug.serving import make_server

    loopback_only = is_loopback(host)
    server.loopback_only = loopback_only
    token = None if loopback_only else server.guard.expose()
    show_own_logs(debug)
    if server.bundle.dir is None:
        log.warning("warning: %s", MISSING_BUILD_HELP)
    if server.store is not None:
        log.info("gptchat: history is kept in %s", server.store.url)
    else:
        log.info("gptchat: history is kept in each browser (store=None)")
    srv = make_server(host, port, server.flask, threaded=True, **kwargs)
    shown = "localhost" if loopback_only else launch_host(host)
    url = f"http://{shown}:{srv.server_port}/" + (f"?token={token}" if token else "")
    if not loopback_only:
        log.warning("%s", exposure_warning(host, srv.server_port, server.guard))
    print(f"gptchat is running on {url}  (Ctrl-C to quit)")
    sys.stdout.flush()
    if open_browser:
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    def shutdown(*_: Any) -> None:
        threading.Thread(target=srv.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, shutdown)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close_runs()
        srv.server_close()
