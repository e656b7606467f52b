"""Serving a chat as a program: the Werkzeug server, its URL, signals and shutdown.

:meth:`ChatApp.run_app <gptchat.ChatApp.run_app>` delegates here; it sets up only
gptchat's own logger, never the host program's root. The ``gptchat``
command imports an app file with :func:`capture_run_app` active, so that the
file's own ``run_app()`` call is recorded instead of serving, and then serves
the app itself with the options it was given.

Under gunicorn (``gptchat.gunicorn_conf``), :func:`prepare_gunicorn_worker`
readies each worker's app: exposed (a proxy is in front), its launch URL, and
:func:`drain` on SIGTERM, so the replies under way finish before it exits.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import sys
import threading
import time
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


#: How many proxies in front set ``X-Forwarded-For`` (0, the default: trust none).
TRUSTED_PROXIES_ENV = "GPTCHAT_TRUSTED_PROXIES"
#: What :func:`drain` keeps back from gunicorn's ``graceful_timeout`` for stopping the
#: replies still running then (their handlers get ``shutdown_timeout``) and sending
#: their last events, so the worker exits before gunicorn kills it.
DRAIN_MARGIN = 2.0


def drain(app: ChatApp, grace: float) -> None:
    """Let the replies under way finish for up to ``grace`` seconds, then close every socket.

    The replies still running at the deadline are stopped (each handler gets the
    settings' ``shutdown_timeout`` to end; its text so far is kept and the tab
    sees it stopped). Then every Engine.IO connection is closed, not disconnected
    at the Socket.IO level: a browser reconnects after a closed transport (to
    another process, behind a proxy) but not after a Socket.IO disconnect. With
    the connections gone, gunicorn's threaded worker has no request left and exits.

    The one call gunicorn's SIGTERM makes (``gptchat.gunicorn_conf``).

    Example::

        drain(app, grace=20.0)  # in a worker that is about to exit
    """
    server = app.server
    deadline = time.monotonic() + grace
    # A tab still connected may start a reply meanwhile: look again until none runs.
    while (running := server.runs.running()) and time.monotonic() < deadline:
        for run in running:
            run.wait(max(0.0, deadline - time.monotonic()))
    server.close_runs()
    server.emitter.transport.drain(1.0)
    engineio = server.socketio.server.eio if server.socketio.server is not None else None
    if engineio is not None:
        engineio.disconnect()


def prepare_gunicorn_worker(worker: Any) -> None:
    """Ready a gunicorn worker's app (``gptchat.gunicorn_conf``'s ``post_worker_init``).

    The app is served exposed, as by ``run_app(host="0.0.0.0")``: behind a proxy
    it is reachable from beyond this machine whatever gunicorn binds, so it needs
    ``auth`` or the launch token (printed here, by the first worker; the same in
    every process that shares ``$GPTCHAT_SECRET_KEY``). SIGTERM then drains the
    worker (:func:`drain`) within gunicorn's ``graceful_timeout``.
    ``$GPTCHAT_TRUSTED_PROXIES`` (a number) makes ``X-Forwarded-For`` count as the
    client's address (the login throttle's key) for that many proxies.

    :param worker: the ``gunicorn.workers.base.Worker`` whose ``wsgi`` is a ChatApp.
    """
    from .server import Server

    app = worker.wsgi
    server = getattr(app, "server", None)
    if not isinstance(server, Server):
        log.warning(
            "gptchat.gunicorn_conf: the app served is not a gptchat.ChatApp but %s: serve "
            "the ChatApp itself ('myapp:app') so that SIGTERM lets its replies finish",
            type(app).__name__,
        )
        return
    show_own_logs()
    if server.bundle.dir is None:
        log.warning("warning: %s", MISSING_BUILD_HELP)
    token = server.guard.expose()
    if worker.cfg.workers > 1 and getattr(server.settings, "message_queue", None) is None:
        log.warning(
            "gptchat: %d workers share no replies: a tab that reconnects to another worker "
            "cannot resume its reply. Run one worker per process (-w 1), or set message_queue",
            worker.cfg.workers,
        )
    if worker.age == 1:  # once per gunicorn, not once per worker
        where = ", ".join(str(b) for b in worker.cfg.bind)
        log.info(
            "gptchat is served on %s%s%s",
            where,
            f"; open it (through your proxy) with ?token={token}" if token else "",
            "" if server.store is None else f"; history is kept in {server.store.url}",
        )
    hops = _trusted_proxies()
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Only the address: gunicorn already takes X-Forwarded-Proto from its
        # forwarded_allow_ips, and Host comes from the proxy as the browser sent it.
        worker.wsgi = ProxyFix(app, x_for=hops, x_proto=0, x_host=0, x_port=0, x_prefix=0)
    grace = max(0.0, float(worker.cfg.graceful_timeout) - server.settings.shutdown_timeout)
    grace = max(0.0, grace - DRAIN_MARGIN)
    previous = signal.getsignal(signal.SIGTERM)
    started = threading.Event()

    def on_sigterm(signum: int, frame: Any) -> None:
        if not started.is_set():
            started.set()
            threading.Thread(target=drain, args=(app, grace), daemon=True).start()
        if callable(previous):
            previous(signum, frame)  # gunicorn's own: stop accepting, wait for requests

    signal.signal(signal.SIGTERM, on_sigterm)


def _trusted_proxies() -> int:
    raw = os.environ.get(TRUSTED_PROXIES_ENV, "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise ValueError(f"${TRUSTED_PROXIES_ENV} must be a number of proxies, not {raw!r:.40}")
    return int(raw)
