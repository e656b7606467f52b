"""``ChatApp``: the public object a developer decorates and runs."""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import logging
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

from flask import Flask

from ._coerce import to_plain
from .config import Config, update_config
from .errors import NoActiveRunError, StopGeneration
from .runs import Run
from .server import Server
from .static import MISSING_BUILD_HELP

log = logging.getLogger("gptchat")

Messages = list[dict[str, Any]]
#: The handler: called with the whole conversation as OpenAI message dicts.
SendMessageHandler = Callable[[Messages], Any]
H = TypeVar("H", bound=SendMessageHandler)

_current_run: ContextVar[Run | None] = ContextVar("gptchat_current_run", default=None)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ChatApp:
    """A chat web app: one handler, a configuration, and a server.

    Creating one does nothing else: the Flask app and its Socket.IO endpoint are
    built on first use (:attr:`flask_app` or :meth:`run_app`), so tests can make a
    fresh ``ChatApp()`` each. Most programs use the ready-made ``gptchat.app``.

    :param reconnect_grace: seconds a run keeps going while its tab is away,
        waiting for a reload or reconnect to resume it.
    :param coalesce_interval: seconds the server gathers deltas for one event
        once a first one has been sent; keeps fast handlers from flooding the socket.

    Example::

        from gptchat import ChatApp

        chat = ChatApp()

        @chat.handle_send_message
        def echo(messages):
            chat.update_message({"role": "assistant", "content": messages[-1]["content"]})
    """

    def __init__(self, *, reconnect_grace: float = 10.0, coalesce_interval: float = 0.016) -> None:
        self._config = Config()
        self._handler: SendMessageHandler | None = None
        self._server: Server | None = None
        self._server_lock = threading.Lock()
        self._reconnect_grace = reconnect_grace
        self._coalesce_interval = coalesce_interval
        self._loopback_only = True

    # -- the handler -------------------------------------------------------------

    def handle_send_message(self, handler: H) -> H:
        """Register the function that answers each message the user sends.

        The handler gets the whole conversation as a list of OpenAI-format
        message dicts (what ``openai`` accepts as ``messages``) and answers by
        calling :meth:`update_message`, or by returning a message or a list of
        messages. It runs in its own thread; ``async def`` handlers run in an
        event loop of that thread. The function is returned unchanged.

        :raises TypeError: if ``handler`` cannot be called with one argument.

        Example::

            @app.handle_send_message
            def on_message(messages):
                app.update_message({"role": "assistant", "content": "Hello!"})
        """
        if not callable(handler):
            raise TypeError("handle_send_message() decorates a function")
        try:
            inspect.signature(handler).bind(["messages"])
        except TypeError:
            raise TypeError(
                f"the handler {getattr(handler, '__name__', handler)!r} must take exactly one "
                "positional argument, the list of messages: def handler(messages): ..."
            ) from None
        except ValueError:
            pass  # no signature to inspect (some builtins): trust the caller
        self._handler = handler
        return handler

    def update_message(self, message: Any, id: str | None = None) -> str:  # noqa: A002
        """Send a message, or a piece of one, to the browser tab being answered.

        ``message`` is a dict in OpenAI format or an openai SDK object: a complete
        message (``ChatCompletionMessage``, a ``{"role": "tool", ...}`` result, ...)
        or a stream delta (``ChoiceDelta``). Updates with the same ``id`` merge into
        one message: text concatenates and tool calls merge by index. Without an
        ``id`` the update must be a complete message (it has a ``role``) and gets
        a fresh id.

        :param message: the message or delta.
        :param id: the message to merge into; see :meth:`new_id`.
        :returns: the message's id.
        :raises NoActiveRunError: if called outside a handler run.
        :raises StopGeneration: if the user pressed stop; let it propagate.
        :raises ValueError: for a delta without an id.
        :raises TypeError: if ``message`` is not a message.

        Example::

            id = app.new_id()
            for chunk in stream:
                if chunk.choices:
                    app.update_message(chunk.choices[0].delta, id=id)
        """
        run = _current_run.get()
        if run is None:
            raise NoActiveRunError(
                "update_message() was called outside a handler run: call it from the "
                "function decorated with @app.handle_send_message, in the same thread"
            )
        delta = to_plain(message)
        if not isinstance(delta, dict):
            raise TypeError(f"update_message() takes one message, not {type(message).__name__}")
        if id is None:
            if "role" not in delta:
                raise ValueError(
                    "update_message() got a delta with no role and no id: pass the id of the "
                    "message it belongs to, e.g. id = app.new_id(); "
                    "app.update_message(delta, id=id)"
                )
            id = self.new_id()  # noqa: A001
        elif not isinstance(id, str) or not id:
            raise TypeError("update_message(): id must be a non-empty string from app.new_id()")
        run.update(id, delta)
        return id

    @staticmethod
    def new_id() -> str:
        """Return a fresh, unique message id.

        Example::

            id = app.new_id()
            app.update_message({"role": "assistant", "content": "Hi"}, id=id)
        """
        return uuid.uuid4().hex

    def stop_requested(self) -> bool:
        """Whether the user asked the current reply to stop (or left for good).

        The next :meth:`update_message` raises :class:`~gptchat.StopGeneration`
        then; a handler doing long work between updates can poll this instead.

        :raises NoActiveRunError: if called outside a handler run.

        Example::

            for step in long_job():
                if app.stop_requested():
                    break
        """
        run = _current_run.get()
        if run is None:
            raise NoActiveRunError("stop_requested() was called outside a handler run")
        return run.stop_requested()

    # -- configuration -----------------------------------------------------------

    def set_config(self, config: Mapping[str, Any]) -> None:
        """Configure the chat window; keys not given keep their value.

        Keys: ``title``, ``agent_name``, ``placeholder``, ``logo`` and ``favicon``
        (a file path or a URL), ``starter_prompts`` (list of str), ``allow_upload``
        (bool), ``messages`` (the messages a new chat starts with), ``functions``
        (``{name: header_markdown}`` or ``{name: {"header": ..., "hide_header": ...,
        "arguments_title": ..., "result_title": ..., "result_type": ...}}``).

        :raises ConfigError: naming the unknown key or the bad value.

        Example::

            app.set_config({
                "title": "Weather bot",
                "messages": [{"role": "assistant", "content": "Ask me about the weather."}],
                "functions": {"get_weather": "Fetching **weather**..."},
            })
        """
        self._config = update_config(self._config, config)

    @property
    def config(self) -> Config:
        """The current configuration (read-only; change it with :meth:`set_config`)."""
        return self._config

    # -- serving -------------------------------------------------------------------

    @property
    def server(self) -> Server:
        """The web server, built on first use."""
        with self._server_lock:
            if self._server is None:
                self._server = Server(
                    lambda: self._config,
                    self._execute,
                    loopback_only=self._loopback_only,
                    reconnect_grace=self._reconnect_grace,
                    coalesce_interval=self._coalesce_interval,
                )
            return self._server

    @property
    def flask_app(self) -> Flask:
        """The Flask application (WSGI), e.g. to serve it with a server of your choice."""
        return self.server.flask

    def run_app(
        self, host: str = "127.0.0.1", port: int = 5000, debug: bool = False, **kwargs: Any
    ) -> None:
        """Serve the chat app until Ctrl-C.

        Binds to 127.0.0.1 unless told otherwise; the Werkzeug debugger console is
        never enabled, ``debug=True`` only turns on debug logging.

        :param host: interface to bind; another than loopback exposes the app.
        :param port: TCP port.
        :param debug: log at DEBUG level.
        :param kwargs: passed to ``werkzeug.serving.make_server``.

        Example::

            app.run_app(port=5002)
        """
        from werkzeug.serving import make_server

        if self._handler is None:
            log.warning("no handler registered: decorate one with @app.handle_send_message")
        self._loopback_only = _is_loopback(host)
        server = self.server
        server.loopback_only = self._loopback_only
        if not self._loopback_only:
            log.warning("gptchat is exposed on %s: anyone who can reach it can chat", host)
        logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, format="%(message)s")
        if server.bundle.dir is None:
            log.warning("warning: %s", MISSING_BUILD_HELP)
        srv = make_server(host, port, server.flask, threaded=True, **kwargs)
        shown = "localhost" if self._loopback_only else host
        print(f"gptchat is running on http://{shown}:{srv.server_port}/  (Ctrl-C to quit)")
        sys.stdout.flush()

        def shutdown(*_: Any) -> None:
            threading.Thread(target=srv.shutdown, daemon=True).start()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, shutdown)
        try:
            srv.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._close_runs()
            srv.server_close()

    def _close_runs(self, timeout: float = 5.0) -> None:
        """Stop in-flight replies and let them send what they have."""
        server = self._server
        if server is None:
            return
        running = server.runs.running()
        for run in running:
            run.request_stop()
        for run in running:
            run.wait(timeout)

    # -- running the handler ----------------------------------------------------

    def _execute(self, run: Run, messages: list[dict[str, Any]]) -> None:
        token = _current_run.set(run)
        try:
            handler = self._handler
            if handler is None:
                raise RuntimeError("no handler: decorate one with @app.handle_send_message")
            result = handler(messages)
            if inspect.isawaitable(result):
                result = asyncio.run(_await(result))
            for message in result if isinstance(result, list) else [result]:
                if message is not None:
                    self.update_message(message)
            run.finish("done")
        except StopGeneration:
            run.finish("stopped")
        except Exception as exc:
            log.exception("the message handler raised")
            run.finish("error", f"{type(exc).__name__}: {exc}")
        finally:
            _current_run.reset(token)


async def _await(awaitable: Any) -> Any:
    return await awaitable
