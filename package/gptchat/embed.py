"""Mounting a chat into an existing Flask (or any WSGI) application under a URL prefix.

The chat stays its own Flask app with its own Socket.IO endpoint; :func:`mount`
wraps the host app's ``wsgi_app`` so that requests under the prefix reach the
chat and everything else reaches the host app, untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from .chat_app import ChatApp

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Where the built web client opens its socket: the root of the site.
SOCKET_PATH = "/socket.io/"


class _Mount:
    """WSGI middleware: ``prefix/...`` and the socket go to the chat, the rest to ``app``."""

    def __init__(self, app: WSGIApp, chat: WSGIApp, prefix: str) -> None:
        self.app = app
        self.chat = chat
        self.prefix = prefix

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path: str = environ.get("PATH_INFO") or ""
        if path == self.prefix:
            # Relative asset URLs need the trailing slash.
            query = environ.get("QUERY_STRING")
            root = environ.get("SCRIPT_NAME", "")
            location = f"{root}{self.prefix}/" + (f"?{query}" if query else "")
            start_response("308 Permanent Redirect", [("Location", location)])
            return [b""]
        if path.startswith(self.prefix + "/"):
            environ = dict(environ)
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
            environ["PATH_INFO"] = path[len(self.prefix) :]
            return self.chat(environ, start_response)
        if path.startswith(SOCKET_PATH):
            return self.chat(environ, start_response)
        return self.app(environ, start_response)


def mount(chat: ChatApp, flask_app: Flask, url_prefix: str = "/chat") -> None:
    """Serve ``chat`` inside ``flask_app`` at ``url_prefix``.

    The chat page is at ``url_prefix + "/"``; its socket is at ``/socket.io/``,
    where the web client connects, so one host app holds one chat and must not
    run Socket.IO of its own there. Serve the host app with a threaded server
    that supports WebSocket (``flask_app.run()`` does). The chat keeps its
    security checks: it answers only requests for ``localhost`` / ``127.0.0.1``
    unless its :meth:`~gptchat.ChatApp.run_app` was told another host.

    :param chat: the chat to mount, e.g. ``gptchat.app``.
    :param flask_app: the existing application.
    :param url_prefix: where to mount it, like ``"/chat"``; not ``"/"``.
    :raises ValueError: for a bad prefix, or if ``flask_app`` already holds a chat.

    Example::

        from flask import Flask
        from gptchat import app as chat
        from gptchat.embed import mount

        site = Flask(__name__)

        @site.get("/")
        def home():
            return '<a href="/chat/">Chat with us</a>'

        mount(chat, site, "/chat")
        site.run(port=5000)
    """
    prefix = "/" + url_prefix.strip("/")
    if prefix == "/" or any(c in prefix for c in "?#<>\"' "):
        raise ValueError(
            f"url_prefix {url_prefix!r} must be a path like '/chat': to serve the chat at "
            "the root, use chat.flask_app itself"
        )
    if prefix.startswith(SOCKET_PATH.rstrip("/")):
        raise ValueError(f"url_prefix {url_prefix!r} clashes with the socket path {SOCKET_PATH}")
    if "gptchat" in flask_app.extensions:
        raise ValueError(
            "this Flask app already holds a gptchat chat: the web client's socket path "
            f"({SOCKET_PATH}) can serve only one; make one ChatApp and mount it once"
        )
    flask_app.extensions["gptchat"] = chat
    flask_app.wsgi_app = _Mount(flask_app.wsgi_app, chat.flask_app, prefix)  # type: ignore[method-assign]
