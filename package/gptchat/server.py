"""Flask and Socket.IO wiring: pages, static files, socket events and run dispatch.

Each tab (sid) has a client key (its browser's secret), a user (who ``auth``
says it is) and a protocol version. A tab of another version is told it is
out of date and heard no further. With a store, conversations and runs belong
to the user; without one, the browser keeps the conversations and sends the
branch with each message. Either way ``_history_events`` answers the history
events, and a run is written into the store (``_store.RunRecorder``) if there is one.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from engineio.payload import Payload
from flask import Flask, Response, abort, request, send_file
from flask_socketio import ConnectionRefusedError as SocketRefused
from flask_socketio import SocketIO, join_room
from pydantic import BaseModel, ValidationError
from socketio.packet import Packet

from ._asks import AnswerRefused
from ._auth import LOCAL_USER, Guard
from ._engineio import EngineIOTransport, install_guards
from ._history_events import BrowserHistory, History, Keeper
from ._history_http import add_history_routes
from ._limits import (
    TOO_DEEP_EVENT,
    TRANSPORT_LIMIT_EVENT,
    GuardedJSON,
    RateLimiter,
    check_attachments,
    check_payload,
    describe_transport_limit,
)
from ._settings import Settings
from .config import (
    FAVICON_URL,
    LOGO_URL,
    Config,
    asset_url,
    attachment_rules,
    to_ui_config,
)
from .emitter import Emitter
from .interaction import ActionCall, Feedback
from .protocol import (
    CLIENT_PAYLOADS,
    PROTOCOL_VERSION,
    Answer,
    ClientEvent,
    DeleteConversation,
    GiveFeedback,
    ImportConversation,
    ListConversations,
    OpenConversation,
    Regenerate,
    RenameConversation,
    Resume,
    RunAction,
    SendMessage,
    ShareConversation,
    Stop,
    describe_error,
)
from .runs import BusyError, QueueUnavailable, Run, RunRegistry, TooManyRunsError
from .static import MISSING_BUILD_HELP, Bundle
from .store import Store, StoreError

if TYPE_CHECKING:
    from ._remote_runs import RemoteRun, SharedRuns

log = logging.getLogger("gptchat")

RunCallback = Callable[[Run, list[dict[str, Any]]], None]


class Hooks(Protocol):
    """What the server asks of the app beyond its send handler."""

    def feedback_wanted(self) -> bool:
        """Whether a feedback handler listens (thumbs show then, or with a store)."""
        ...

    def on_feedback(self, feedback: Feedback) -> None:
        """Hand a rating to the app's feedback handler (in a thread of its own)."""
        ...

    def has_action(self, name: str) -> bool:
        """Whether the app has a handler for action ``name``."""
        ...

    def run_action(self, run: Run, call: ActionCall) -> None:
        """Run the action's handler as ``run`` (in the run's thread)."""
        ...


P = TypeVar("P", bound=BaseModel)
#: A client event's handler: the tab's sid and the event's validated payload.
EventHandler = Callable[[str, P], None]

_CLIENT_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_OUTDATED = "This page is out of date: reload it."
_DRAINING = "this server is shutting down: send again in a moment"


def _user_room(user: str) -> str:
    # With a message queue, a user's tabs are a room: every process reaches its own.
    return f"gptchat-user:{user}"


# Remote images: the renderer shows a placeholder until the reader clicks (or the host is
# allowlisted in set_config), and configured logos may be URLs; so img-src allows http(s).
# Audio players play blob: URLs the page makes from a message's own audio data.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob: http: https:; font-src 'self' data:; connect-src 'self'; "
        "frame-src 'self' blob:; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _sid() -> str:
    """The Socket.IO session id of the event being handled."""
    sid: str = request.sid  # type: ignore[attr-defined]
    return sid


class _Packet(Packet):  # type: ignore[misc]
    # Socket.IO packets decoded with a JSON that survives absurd nesting.
    json = GuardedJSON


class Server:
    """One gptchat web server: a Flask app, its Socket.IO endpoint and its runs."""

    def __init__(
        self,
        get_config: Callable[[], Config],
        on_run: RunCallback,
        *,
        guard: Guard | None = None,
        settings: Settings | None = None,
        bundle: Bundle | None = None,
        store: Store | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        self._get_config = get_config
        self._on_run = on_run
        self._hooks = hooks
        #: Where conversations are kept: None for the browser (it sends them each time).
        self.store = store
        #: Every limit and default; :class:`Settings`' defaults when not given.
        self.settings = settings or Settings()
        self.guard = guard or Guard.from_settings(self.settings)
        self.bundle = bundle or Bundle()
        self.flask = Flask("gptchat")
        queue_url = self.settings.message_queue
        queue_options: dict[str, Any] = {}
        if queue_url:
            from ._redis_bus import connect

            redis_client = connect(queue_url)  # a clear error now, not at the first message
            queue_options = {"message_queue": queue_url, "channel": "gptchat:socketio"}
        self.socketio = SocketIO(
            self.flask,
            async_mode="threading",
            cors_allowed_origins=self._engineio_origin_allowed,
            max_http_buffer_size=self.settings.transport_buffer_bytes,
            serializer=_Packet,
            logger=False,
            engineio_logger=False,
            **queue_options,
        )
        install_guards(self.socketio, self.flask, self.settings.transport_buffer_bytes)
        self.emitter = Emitter(EngineIOTransport(self.socketio, queued=bool(queue_url)))
        #: With a message queue: the deployment's runs in Redis; None in a process of its own.
        self.shared: SharedRuns | None = None
        self._draining = False
        if queue_url:
            self.shared = self._share(redis_client, queue_url, keeps=store is not None)
        self.runs = RunRegistry(
            self.emitter,
            reconnect_grace=self.settings.reconnect_grace,
            coalesce_interval=self.settings.coalesce_interval,
            handler_timeout=self.settings.handler_timeout,
            send_timeout=self.settings.send_timeout,
            keep_finished=self.settings.keep_finished,
            shared=self.shared,
        )
        self._client_keys: dict[str, str] = {}
        self._users: dict[str, str] = {}
        self._outdated: set[str] = set()
        self._rates: dict[str, RateLimiter] = {}
        self._keys_lock = threading.Lock()
        #: The history events: the server's store, or the browser keeps the conversations.
        self.history: Keeper = (
            History(
                store,
                self.emitter,
                self.runs,
                self.settings,
                tabs_of=self.tabs_of,
                initial=self._initial_messages,
            )
            if store is not None
            else BrowserHistory(self.emitter)
        )
        self._add_routes()
        self._add_socket_handlers()
        if self.shared is not None:
            self.shared.bus.start()

    def _share(self, client: Any, url: str, *, keeps: bool) -> SharedRuns:
        from ._redis_bus import RedisBus
        from ._remote_runs import SharedRuns

        def on_command(command: dict[str, Any]) -> None:
            if self.shared is not None:
                self.shared.on_command(command)

        bus = RedisBus(
            client,
            url,
            interval=self.settings.heartbeat_interval,
            timeout=self.settings.heartbeat_timeout,
            on_command=on_command,
        )
        shared = SharedRuns(
            bus, self.emitter, keep_finished=self.settings.keep_finished, keeps=keeps
        )
        shared.on_interrupted = self._interrupted
        bus.on_beat(lambda pipe: bus.refresh_tabs(pipe, self._tab_members()))
        return shared

    def _tab_members(self) -> list[str]:
        assert self.shared is not None
        with self._keys_lock:
            return [f"{self.shared.bus.proc}:{sid}" for sid in self._client_keys]

    def _interrupted(self, run: RemoteRun, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """A run of a process that died: keep its text so far, ended as an error."""
        if self.store is None or not messages or not isinstance(self.history, History):
            return
        try:
            summary = self.store.save_run(
                run.owner, run.conversation_id, run.parent_id, messages, "error"
            )
        except (StoreError, ValueError, PermissionError) as exc:
            log.error("history store: could not keep an interrupted reply: %s", exc)
            return
        self.history.changed(run.owner, summary)

    @property
    def loopback_only(self) -> bool:
        """Whether the server is reachable from this machine only."""
        return self.guard.loopback_only

    @loopback_only.setter
    def loopback_only(self, value: bool) -> None:
        self.guard.loopback_only = value

    def host_allowed(self, host: str | None) -> bool:
        """Whether a request's Host header names this server (DNS-rebinding guard)."""
        return self.guard.host_allowed(host)

    def connections(self) -> int:
        """Socket.IO connections open now."""
        with self._keys_lock:
            return len(self._client_keys)

    def close_runs(self, timeout: float | None = None) -> None:
        """Stop every running reply and let each send what it has (for shutdown).

        A handler that does not end within ``timeout`` (by default the settings'
        ``shutdown_timeout``) is left behind; its reply is finished as *stopped*
        all the same. With a message queue this is :meth:`shutdown`: the
        replies are let finish first, within ``timeout``.
        """
        if self.shared is not None:
            self.shutdown(timeout)
            return
        self._stop_runs(timeout)

    def shutdown(self, grace: float | None = None) -> None:
        """Leave the deployment: let running replies finish, within ``grace`` seconds.

        For a process of several behind one URL (a rolling restart, SIGTERM):
        new messages are refused (the tab sends again, to another process), the
        tabs of this process are disconnected so they reconnect to another one
        and resume their replies there (they keep streaming from here, through
        Redis), the handlers running here get ``grace`` seconds (by default the
        settings' ``shutdown_timeout``) to finish, and those that have not are
        stopped (finished as *stopped*, their text kept). Then the process
        leaves Redis. Without a message queue it is :meth:`close_runs`.

        Example::

            def worker_int(worker):            # a gunicorn hook
                app.shutdown(grace=30)
        """
        if grace is None:
            grace = self.settings.shutdown_timeout
        if self.shared is None:
            self._stop_runs(grace)
            return
        self._draining = True
        running = self.runs.running()
        with self._keys_lock:
            sids = list(self._client_keys)
        for sid in sids:
            self.emitter.transport.drop(sid, "is on a server shutting down")
        deadline = time.monotonic() + grace
        for run in running:
            run.ended.wait(max(0.0, deadline - time.monotonic()))
        self._stop_runs(1.0)
        for run in running:  # written to Redis (and kept) before the process leaves it
            run.wait(5.0)
        self.shared.close()
        self.shared.bus.close()

    def _stop_runs(self, timeout: float | None) -> None:
        if timeout is None:
            timeout = self.settings.shutdown_timeout
        running = self.runs.running()
        for run in running:
            run.request_stop(grace=timeout)
        for run in running:
            run.wait(timeout + 1.0)
        if self.store is not None:
            for run in running:  # each stopped reply is kept as such before the exit
                run.kept.wait(timeout)
        if running:
            # The last events reach the tabs before the process exits.
            self.emitter.transport.drain(1.0)

    def _engineio_origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        return self.guard.origin_allowed(origin, environ.get("HTTP_HOST"))

    # -- HTTP ------------------------------------------------------------------

    def _add_routes(self) -> None:
        app = self.flask
        add_history_routes(app, store_of=lambda: self.store, user_of=self.guard.user_id)

        @app.before_request
        def check_access() -> Response | None:
            if not self.host_allowed(request.host):
                abort(403)
            return self.guard.login(request, self._get_config().title)

        @app.after_request
        def security_headers(response: Response) -> Response:
            response.headers.update(_SECURITY_HEADERS)
            return response

        @app.get("/")
        def index() -> Response:
            config = self._get_config()
            page = self.bundle.index_html(config.title, asset_url(config.favicon, FAVICON_URL))
            if page is None:
                return Response(MISSING_BUILD_HELP, status=503, mimetype="text/plain")
            response = Response(page, mimetype="text/html")
            response.headers["Cache-Control"] = "no-cache"
            return response

        @app.get(f"/{LOGO_URL}")
        def logo() -> Response:
            return self._send_config_file(self._get_config().logo)

        @app.get(f"/{FAVICON_URL}")
        def favicon() -> Response:
            return self._send_config_file(self._get_config().favicon)

        @app.get("/<path:filename>")
        def static_file(filename: str) -> Response:
            if self.bundle.dir is None:
                abort(404)
            body = None
            if "gzip" in request.headers.get("Accept-Encoding", ""):
                body = self.bundle.gzipped(filename)
            mimetype = mimetypes.guess_type(filename)[0]
            if body is not None:
                # Halves to a third of the bytes a first visit loads.
                response = Response(body, mimetype=mimetype)
                response.headers["Content-Encoding"] = "gzip"
            else:
                plain = self.bundle.read(filename)
                if plain is None:
                    abort(404)
                response = Response(plain, mimetype=mimetype)
            response.headers["Vary"] = "Accept-Encoding"
            if filename.startswith("assets/"):
                response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            return response

    @staticmethod
    def _send_config_file(value: str | None) -> Response:
        if value is None or not Path(value).is_file():
            abort(404)
        return send_file(Path(value).resolve())

    # -- Socket.IO -------------------------------------------------------------

    def client_key(self, sid: str) -> str:
        """The secret the tab's browser identifies itself with (one per browser profile)."""
        with self._keys_lock:
            return self._client_keys.get(sid, sid)

    def user_of(self, sid: str) -> str:
        """The user the tab signed in as (``"local"`` without an ``auth`` callable)."""
        with self._keys_lock:
            return self._users.get(sid, LOCAL_USER)

    def owner_of(self, sid: str) -> str:
        """Who the tab's runs belong to: its user with a store, its browser without."""
        return self.history.owner(self.client_key(sid), self.user_of(sid))

    def tabs_of(self, user: str) -> list[str]:
        """The sids of the user's open tabs (with a message queue, their room:
        tabs of every process)."""
        if self.shared is not None:
            return [_user_room(user)]
        with self._keys_lock:
            return [sid for sid, who in self._users.items() if who == user]

    def set_title(self, run: Run, title: str) -> None:
        """Give the run's conversation a title and tell the user's tabs (a handler asked).

        With no store the browser keeps the title: only the run's tab hears of it.
        """
        self.history.set_title(run, title)

    def _initial_messages(self) -> list[dict[str, Any]]:
        return [m.model_dump(mode="json", exclude_none=True) for m in self._get_config().messages]

    def _refuse(self, why: str) -> None:
        log.warning("refused a socket: %s", why)
        raise SocketRefused(why)

    def _accept(self, sid: str, auth: Any) -> bool:
        """Admit the tab (or refuse it); whether it speaks this protocol version."""
        if not self.host_allowed(request.host):
            self._refuse(f"Host {request.host!r} is not allowed")
        if not self.guard.origin_allowed(request.headers.get("Origin"), request.host):
            self._refuse(f"Origin {request.headers.get('Origin')!r} is not allowed")
        user = self.guard.user_id(request)
        if user is None:
            self._refuse("not signed in: open the link printed where the server started")
        version = auth.get("protocol") if isinstance(auth, dict) else None
        current = type(version) is int and version == PROTOCOL_VERSION
        key = auth.get("client") if isinstance(auth, dict) else None
        if not isinstance(key, str) or not _CLIENT_KEY_RE.match(key):
            key = secrets.token_urlsafe(24)
        shared_full = False
        if self.shared is not None:
            # Deployment-wide: every process counts its tabs in Redis.
            try:
                shared_full = not self.shared.bus.admit(
                    f"{self.shared.bus.proc}:{sid}", self.settings.max_connections
                )
            except Exception as exc:
                self._refuse(f"the message queue does not answer ({exc}); try again later")
        with self._keys_lock:
            if shared_full or len(self._client_keys) >= self.settings.max_connections:
                full = True
            else:
                full = False
                self._client_keys[sid] = key
                self._users[sid] = user or LOCAL_USER
                if not current:
                    self._outdated.add(sid)
                self._rates[sid] = RateLimiter(self.settings.max_events_per_second)
        if full:
            self._refuse(
                f"too many connections (limit {self.settings.max_connections}); try again later"
            )
        return current

    def _admit(self, sid: str, event: str, data: Any) -> bool:
        """Rate and size limits, checked before anything else looks at an event."""
        with self._keys_lock:
            rate = self._rates.get(sid)
        if rate is not None and not rate.admit():
            if rate.should_warn():
                self.emitter.error(
                    sid,
                    "limit",
                    f"too many events (limit {self.settings.max_events_per_second:g} per second "
                    "per connection); some were ignored",
                )
            return False
        problem = check_payload(event, data, self.settings) or check_attachments(
            event, data, attachment_rules(self._get_config())
        )
        if problem is not None:
            cid = data.get("conversation_id") if isinstance(data, dict) else None
            self.emitter.error(sid, "limit", problem, cid if isinstance(cid, str) else None)
            return False
        return True

    def _event(self, event: str) -> Callable[[EventHandler[P]], EventHandler[P]]:
        """Register ``handler(sid, payload)`` for the client event ``event``.

        Before the handler runs, the event is admitted (rate and size limits,
        :meth:`_admit`) and its data validated with the event's model in
        ``protocol.CLIENT_PAYLOADS`` (:meth:`_validate`); either answers the tab
        with an ``error`` and drops the event. The handler gets the tab's sid and
        the validated payload. Every client event must be registered this way:
        the server refuses to start with one left out.

        Example::

            @self._event(ClientEvent.STOP)
            def on_stop(sid: str, stop: Stop) -> None: ...
        """
        model = CLIENT_PAYLOADS[event]

        def register(handler: EventHandler[P]) -> EventHandler[P]:
            # One positional argument, as before: a client sending more gets the
            # generic error from on_error_default.
            def on_event(data: Any = None) -> None:
                sid = _sid()
                if not self._admit(sid, event, data):
                    return
                with self._keys_lock:
                    outdated = sid in self._outdated
                if outdated:
                    self.emitter.error(sid, "outdated", _OUTDATED)
                    return
                payload = self._validate(sid, event, data)
                if isinstance(payload, model):
                    try:
                        handler(sid, cast(P, payload))
                    except StoreError as exc:
                        cid = getattr(payload, "conversation_id", None)
                        self.history.failed(sid, exc, cid)

            self.socketio.on(event)(on_event)
            self._handled_events.add(event)
            return handler

        return register

    def _add_socket_handlers(self) -> None:
        sio = self.socketio
        self._handled_events: set[str] = set()

        @sio.on("connect")
        def on_connect(auth: Any = None) -> bool:
            sid = _sid()
            current = self._accept(sid, auth)
            ui = to_ui_config(self._get_config(), self.settings.max_message_bytes)
            ui["history"] = "browser" if self.store is None else "server"
            ui["feedback"] = self.store is not None or (
                self._hooks is not None and self._hooks.feedback_wanted()
            )
            self.emitter.config(sid, ui)
            if not current:
                self.emitter.error(sid, "outdated", _OUTDATED)
            if self.shared is not None:
                join_room(_user_room(self.user_of(sid)))
            return True

        @sio.on("disconnect")
        def on_disconnect(*_: Any) -> None:
            sid = _sid()
            self.runs.disconnected(sid)
            if self.shared is not None:
                self.shared.bus.release(f"{self.shared.bus.proc}:{sid}")
            with self._keys_lock:
                self._client_keys.pop(sid, None)
                self._users.pop(sid, None)
                self._outdated.discard(sid)
                self._rates.pop(sid, None)

        @self._event(ClientEvent.SEND_MESSAGE)
        def on_send_message(sid: str, payload: SendMessage) -> None:
            self._on_send_message(sid, payload)

        @self._event(ClientEvent.REGENERATE)
        def on_regenerate(sid: str, payload: Regenerate) -> None:
            self._on_regenerate(sid, payload)

        @self._event(ClientEvent.STOP)
        def on_stop(sid: str, stop: Stop) -> None:
            cid = stop.conversation_id
            if not self.history.may_stop(sid, self.user_of(sid), cid):
                return
            run = self.runs.get(cid, self.owner_of(sid))
            if run is not None:
                run.request_stop()

        @self._event(ClientEvent.RESUME)
        def on_resume(sid: str, resume: Resume) -> None:
            run = self.runs.get(resume.conversation_id, self.owner_of(sid))
            if run is None:
                self.emitter.error(sid, "not_found", "no reply to resume", resume.conversation_id)
            else:
                run.attach(sid)

        @self._event(ClientEvent.LIST_CONVERSATIONS)
        def on_list(sid: str, payload: ListConversations) -> None:
            self.history.on_list(sid, self.user_of(sid), payload)

        @self._event(ClientEvent.OPEN_CONVERSATION)
        def on_open(sid: str, payload: OpenConversation) -> None:
            self.history.on_open(sid, self.user_of(sid), payload)

        @self._event(ClientEvent.RENAME_CONVERSATION)
        def on_rename(sid: str, payload: RenameConversation) -> None:
            self.history.on_rename(sid, self.user_of(sid), payload)

        @self._event(ClientEvent.DELETE_CONVERSATION)
        def on_delete(sid: str, payload: DeleteConversation) -> None:
            self.history.on_delete(sid, self.user_of(sid), payload)

        @self._event(ClientEvent.IMPORT_CONVERSATION)
        def on_import(sid: str, payload: ImportConversation) -> None:
            self.history.on_import(sid, self.user_of(sid), payload)

        @self._event(ClientEvent.SHARE_CONVERSATION)
        def on_share(sid: str, payload: ShareConversation) -> None:
            self.history.on_share(sid, self.user_of(sid), payload)

        @self._event(ClientEvent.ANSWER)
        def on_answer(sid: str, payload: Answer) -> None:
            cid = payload.conversation_id
            run = self.runs.get(cid, self.owner_of(sid))
            try:
                if run is None:
                    raise AnswerRefused(
                        "not_found", "answer: no question is waiting in this conversation"
                    )
                run.answer(payload.ask_id, payload.value, reply_to=sid)
            except AnswerRefused as exc:
                self.emitter.error(sid, exc.code, str(exc), cid)

        @self._event(ClientEvent.FEEDBACK)
        def on_feedback(sid: str, payload: GiveFeedback) -> None:
            self._on_feedback(sid, payload)

        @self._event(ClientEvent.RUN_ACTION)
        def on_run_action(sid: str, payload: RunAction) -> None:
            self._on_run_action(sid, payload)

        missing = set(CLIENT_PAYLOADS) - self._handled_events
        if missing:
            raise RuntimeError(f"client events without a handler: {sorted(missing)}")

        # Events of our own, standing in for what could not be decoded: no payload
        # model, but the same rate limit as the rest.

        @sio.on(TOO_DEEP_EVENT)
        def on_too_deep(*_: Any) -> None:
            sid = _sid()
            if self._admit(sid, TOO_DEEP_EVENT, None):
                self.emitter.error(
                    sid,
                    "limit",
                    f"nesting too deep to decode (limit {self.settings.max_depth} levels)",
                )

        @sio.on(TRANSPORT_LIMIT_EVENT)
        def on_transport_limit(data: Any = None) -> None:
            sid = _sid()
            if self._admit(sid, TRANSPORT_LIMIT_EVENT, None):
                message, cid = describe_transport_limit(
                    data, self.settings, int(Payload.max_decode_packets)
                )
                self.emitter.error(sid, "limit", message, cid)

        @sio.on("*")
        def on_unknown(event: str, *_: Any) -> None:
            sid = _sid()
            if not self._admit(sid, "unknown", None):
                return
            known = ", ".join(CLIENT_PAYLOADS)
            self.emitter.error(
                sid, "unknown_event", f"unknown event {event[:64]!r} (known: {known})"
            )

        @sio.on_error_default
        def on_error(exc: BaseException) -> None:
            log.error("error in a socket event", exc_info=exc)
            sid = getattr(request, "sid", None)
            if sid:
                self.emitter.error(sid, "invalid_payload", "the server could not handle that event")

    def _validate(self, sid: str, event: str, data: Any) -> BaseModel | None:
        try:
            return CLIENT_PAYLOADS[event].model_validate(data)
        except ValidationError as exc:
            conversation_id = data.get("conversation_id") if isinstance(data, dict) else None
            self.emitter.error(
                sid,
                "invalid_payload",
                f"{event}: {describe_error(exc, data)}",
                conversation_id if isinstance(conversation_id, str) else None,
            )
            return None

    def _on_send_message(self, sid: str, payload: SendMessage) -> None:
        cid = payload.conversation_id
        owner = self.owner_of(sid)
        if not self._may_start(sid, cid, owner):
            return
        prepared = self.history.prepare_send(sid, owner, payload)
        if prepared is not None:
            parent_id, messages, failed = prepared
            self._start_run(sid, cid, owner, parent_id, messages, store_failed=failed)

    def _on_regenerate(self, sid: str, payload: Regenerate) -> None:
        cid = payload.conversation_id
        owner = self.owner_of(sid)
        messages = self.history.prepare_regenerate(sid, owner, cid, payload.parent_id)
        if messages is not None and self._may_start(sid, cid, owner):
            self._start_run(sid, cid, owner, payload.parent_id, messages)

    def _on_feedback(self, sid: str, payload: GiveFeedback) -> None:
        user = self.user_of(sid)
        if not self.history.save_feedback(user, payload):
            self.emitter.error(
                sid, "not_found", "feedback: no such message here", payload.conversation_id
            )
            return
        if self._hooks is not None and self._hooks.feedback_wanted():
            feedback = Feedback(
                payload.conversation_id, payload.message_id, payload.rating, payload.comment, user
            )
            self.socketio.start_background_task(self._hooks.on_feedback, feedback)

    def _on_run_action(self, sid: str, payload: RunAction) -> None:
        cid = payload.conversation_id
        owner = self.owner_of(sid)
        if self._hooks is None or not self._hooks.has_action(payload.name):
            self.emitter.error(sid, "not_found", f"no handler for action {payload.name!r}", cid)
            return
        found = self._action_branch(sid, owner, payload)
        if found is None:
            return
        leaf, messages, message = found
        action = next(
            (a for a in message.get("actions") or [] if a.get("name") == payload.name), None
        )
        if action is None:
            self.emitter.error(
                sid, "not_found", f"this message has no action {payload.name!r}", cid
            )
            return
        if not self._may_start(sid, cid, owner):
            return
        call = ActionCall(payload.name, action.get("payload"), payload.message_id, message, [])
        hooks = self._hooks

        def job(run: Run, branch: list[dict[str, Any]]) -> None:
            hooks.run_action(run, replace(call, messages=branch))

        self._start_run(sid, cid, owner, leaf, messages, job=job)

    def _action_branch(
        self, sid: str, owner: str, payload: RunAction
    ) -> tuple[str, list[dict[str, Any]], dict[str, Any]] | None:
        """The branch an action's reply follows: its last id, its messages, and the
        message clicked; None if refused (the tab was told why)."""
        cid = payload.conversation_id
        if self.store is None:
            if not payload.messages:
                self.emitter.error(sid, "invalid_payload", "run_action: send the branch", cid)
                return None
            ids = [m.id for m in payload.messages]
            messages = [
                m.message.model_dump(mode="json", exclude_none=True) for m in payload.messages
            ]
            leaf = ids[-1]
        else:
            if payload.parent_id is None:
                self.emitter.error(
                    sid, "invalid_payload", "run_action: parent_id names the branch", cid
                )
                return None
            nodes = self.history.branch(sid, owner, cid, payload.parent_id)
            if nodes is None:
                return None
            ids = [n[0] for n in nodes]
            messages = [n[1] for n in nodes]
            leaf = payload.parent_id
        if payload.message_id not in ids:
            self.emitter.error(sid, "not_found", "run_action: no such message here", cid)
            return None
        return leaf, messages, messages[ids.index(payload.message_id)]

    def _may_start(self, sid: str, cid: str, owner: str) -> bool:
        """Whether a run could start now; if not, the tab is told why (nothing is kept)."""
        if self._draining:
            self.emitter.error(sid, "busy", _DRAINING, cid)
            return False
        try:
            self.runs.check(cid, owner, sid, self.settings.max_generations)
        except BusyError as exc:
            self.emitter.error(sid, "busy", str(exc), cid)
        except TooManyRunsError as exc:
            self.emitter.error(sid, "limit", str(exc), cid)
        except QueueUnavailable as exc:
            self.emitter.error(sid, "busy", str(exc), cid)
        except PermissionError:
            self.emitter.error(sid, "not_found", "unknown conversation", cid)
        else:
            return True
        return False

    def _start_run(
        self,
        sid: str,
        cid: str,
        owner: str,
        parent_id: str,
        messages: list[dict[str, Any]],
        *,
        store_failed: bool = False,
        job: RunCallback | None = None,
    ) -> None:
        """Start a run answering ``messages`` with the send handler, or ``job``."""
        recorder = self.history.recorder(sid, owner, cid, parent_id, failed=store_failed)
        try:
            run = self.runs.start(
                cid,
                owner,
                sid,
                max_per_sid=self.settings.max_generations,
                client_key=self.client_key(sid),
                user_id=self.user_of(sid),
                parent_id=parent_id,
            )
        except BusyError as exc:
            self.emitter.error(sid, "busy", str(exc), cid)
            return
        except TooManyRunsError as exc:
            self.emitter.error(sid, "limit", str(exc), cid)
            return
        except QueueUnavailable as exc:
            self.emitter.error(sid, "busy", str(exc), cid)
            return
        except PermissionError:
            self.emitter.error(sid, "not_found", "unknown conversation", cid)
            return
        if recorder is not None:
            recorder.watch(run)
        self.socketio.start_background_task(job or self._on_run, run, messages)
