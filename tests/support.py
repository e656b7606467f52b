"""Test helpers: a real gptchat server on 127.0.0.1 and a real Socket.IO client."""

from __future__ import annotations

import importlib.util
import logging
import runpy
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import socketio
from werkzeug.serving import make_server

import gptchat
from gptchat import ChatApp
from gptchat._run_log import Messages, apply_delta_event, apply_snapshot, finished_messages
from gptchat.protocol import PROTOCOL_VERSION

if TYPE_CHECKING:
    import pytest
    from _typeshed.wsgi import WSGIApplication


class _QuietWerkzeug(logging.Filter):
    # Werkzeug logs a "Bad request" line after WebSocket closes: the socket was upgraded.
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "Bad request syntax" not in message and "Bad HTTP/0.9" not in message


logging.getLogger("werkzeug").addFilter(_QuietWerkzeug())
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@contextmanager
def serve_wsgi(app: WSGIApplication) -> Iterator[str]:
    """Serve any WSGI app on a free loopback port; yields its base URL."""
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval makes shutdown take milliseconds, not half a second.
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


@contextmanager
def live_server(chat: ChatApp) -> Iterator[str]:
    """Serve ``chat`` on a free loopback port; yields its base URL."""
    with serve_wsgi(chat.flask_app) as url:
        try:
            yield url
        finally:
            chat._close_runs(timeout=5)


class SocketClient:
    """A python-socketio client that records every event it receives."""

    def __init__(
        self,
        url: str,
        client_key: str | None = "test-client-key-0123456789",
        transport: str = "websocket",
        *,
        protocol: int | None = PROTOCOL_VERSION,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.events: list[tuple[str, Any]] = []
        #: Set when the server closed the connection: a wait then fails at once.
        self.disconnected = threading.Event()
        self._cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)

        @self.sio.on("*")
        def record(event: str, data: Any = None) -> None:
            with self._cond:
                self.events.append((event, data))
                self._cond.notify_all()

        @self.sio.on("disconnect")
        def gone(*_: Any) -> None:
            self.disconnected.set()
            with self._cond:
                self._cond.notify_all()

        # python-socketio hands each received event to a new thread, so arrival order
        # is lost; run handlers on the read loop instead, in the order the server sent.
        trigger = self.sio.eio._trigger_event

        def in_order(event: str, *args: Any, **kwargs: Any) -> Any:
            kwargs["run_async"] = False
            return trigger(event, *args, **kwargs)

        self.sio.eio._trigger_event = in_order
        auth: dict[str, Any] = {}
        if client_key:
            auth["client"] = client_key
        if protocol is not None:
            auth["protocol"] = protocol
        self.sio.connect(
            url, transports=[transport], auth=auth or None, headers=headers or {}, wait_timeout=5
        )

    def emit(self, event: str, data: Any) -> None:
        self.sio.emit(event, data)

    def wait_for(self, pred: Callable[[list[tuple[str, Any]]], bool], timeout: float = 10) -> None:
        """Wait until ``pred(events)`` holds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self.events):
                left = deadline - time.monotonic()
                if left <= 0 or self.disconnected.is_set():
                    why = "disconnected" if self.disconnected.is_set() else "timed out"
                    raise AssertionError(f"{why}; events so far: {self.events!r}"[:3000])
                self._cond.wait(left)

    def wait_event(self, name: str, timeout: float = 10, **match: Any) -> Any:
        """Wait for an event called ``name`` whose payload has the ``match`` items."""

        def found(events: list[tuple[str, Any]]) -> bool:
            return any(self._matches(e, d, name, match) for e, d in events)

        self.wait_for(found, timeout)
        return next(d for e, d in self.events if self._matches(e, d, name, match))

    @staticmethod
    def _matches(event: str, data: Any, name: str, match: dict[str, Any]) -> bool:
        return event == name and all(
            isinstance(data, dict) and data.get(k) == v for k, v in match.items()
        )

    def named(self, name: str) -> list[Any]:
        with self._cond:
            return [d for e, d in self.events if e == name]

    def close(self) -> None:
        ws = getattr(self.sio.eio, "ws", None)
        if ws is not None:
            # websocket-client waits 3 s for the close frame by default.
            close = ws.close
            ws.close = lambda *a, **k: close(timeout=0.2)
        self.sio.disconnect()


def fold_messages(deltas: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Fold ``message_delta`` payloads (in any arrival order) into messages by id.

    Asserts that each message's events cover sequence numbers 1..n with no gap,
    duplicate or overlap, and that every event carries at least one delta.
    """
    by_id: dict[str, dict[int, dict[str, Any]]] = {}
    order: list[str] = []
    for payload in deltas:
        mid = payload["message_id"]
        if mid not in by_id:
            by_id[mid] = {}
            order.append(mid)
        assert 1 <= len(payload["deltas"]) <= payload["count"], payload
        assert payload["seq"] not in by_id[mid], f"duplicate seq {payload['seq']} for {mid}"
        by_id[mid][payload["seq"]] = payload
    messages: Messages = {}
    for mid in order:
        for seq in sorted(by_id[mid]):
            applied = apply_delta_event(messages, by_id[mid][seq])
            assert applied, f"gap or overlap in the seqs of {mid} at {seq}"
    return finished_messages(messages)


def send(
    client: SocketClient,
    text: str,
    conversation_id: str = "conv-test-0001",
    history: list[dict[str, Any]] | None = None,
) -> None:
    """Send a user message in a conversation."""
    messages = list(history or [])
    messages.append({"id": f"u{len(messages)}", "message": {"role": "user", "content": text}})
    client.emit("send_message", {"conversation_id": conversation_id, "messages": messages})


def http_request(
    base: str,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send one raw HTTP request (any Host header, any path); returns status, headers, body."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        headers = dict(headers or {})
        conn.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
        if body is not None:
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            headers["Content-Length"] = str(len(body.encode()))
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body.encode() if body is not None else None)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


class RawSocket:
    """A Socket.IO connection spoken by hand over websocket-client, for hostile cases.

    ``connected`` tells whether the server accepted the Socket.IO connect;
    ``refusal`` holds why not (the HTTP status or the server's message).
    """

    def __init__(
        self,
        base: str,
        *,
        host: str | None = None,
        origin: str | None = None,
        cookie: str | None = None,
        headers: list[str] | None = None,
        auth: dict[str, Any] | None = None,
        sockopt: tuple[Any, ...] = (),
    ) -> None:
        import json

        import websocket

        self.connected = False
        self.refusal: str | None = None
        self.sid: str | None = None
        url = base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        options: dict[str, Any] = {"timeout": 5, "header": list(headers or [])}
        if host is not None:
            options["host"] = host
        if origin is not None:
            options["origin"] = origin
        else:
            options["suppress_origin"] = True
        if cookie is not None:
            options["cookie"] = cookie
        try:
            self.ws = websocket.create_connection(url, sockopt=sockopt, **options)
        except websocket.WebSocketBadStatusException as exc:
            self.refusal = f"HTTP {exc.status_code}"
            return
        opened = self.ws.recv()
        assert opened.startswith("0"), opened
        default = {"client": "raw-client-0123456789ab", "protocol": PROTOCOL_VERSION}
        payload = json.dumps(auth if auth is not None else default)
        self.ws.send("40" + payload)
        self._early: list[str] = []  # events the server sends from its connect handler
        while True:
            answer = self.ws.recv()
            if answer.startswith("42"):
                self._early.append(answer)
                continue
            if answer.startswith("40"):
                self.connected = True
                self.sid = json.loads(answer[2:])["sid"]
            else:
                self.refusal = answer
                self.close()
            break

    def emit(self, event: str, data: Any) -> None:
        import json

        self.ws.send("42" + json.dumps([event, data]))

    def send_text(self, text: str) -> None:
        self.ws.send(text)

    def recv_event(self, timeout: float = 5) -> tuple[str, Any]:
        """The next Socket.IO event (answering engine.io pings on the way)."""
        import json

        self.ws.settimeout(timeout)
        while True:
            frame = self._early.pop(0) if self._early else self.ws.recv()
            if frame == "2":
                self.ws.send("3")
                continue
            if frame.startswith("42"):
                event, *args = json.loads(frame[2:])
                return event, args[0] if args else None

    def wait_event(self, name: str, timeout: float = 5) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            event, data = self.recv_event(max(0.1, deadline - time.monotonic()))
            if event == name:
                return data

    def close(self) -> None:
        if getattr(self, "ws", None) is not None and self.ws.connected:
            self.ws.close(timeout=0.2)


BENCH = Path(__file__).resolve().parents[1] / "bench"


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str, monkeypatch: pytest.MonkeyPatch) -> ChatApp:
    """Run ``examples/<name>.py`` on a fresh ``gptchat.app`` (examples import ``app``)."""
    chat = ChatApp(coalesce_interval=0.0)
    monkeypatch.setattr(gptchat, "app", chat)
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="example")
    return chat


def load_bench(name: str) -> ModuleType:
    """Import ``bench/<name>.py`` (the benchmark is scripts, not a package), for its tests."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- server-kept history ---------------------------------------------------------------


def header_user(request: Any) -> str | None:
    """An ``auth`` callable for tests: the user is whoever the ``X-Test-User`` header names.

    Or the ``test_user`` cookie: a browser sends its cookies with a download, where
    Playwright's extra headers are not sent.
    """
    user: str | None = request.headers.get("X-Test-User") or request.cookies.get("test_user")
    return user


def user_client(url: str, user: str, tab: int = 0, **kwargs: Any) -> SocketClient:
    """A tab of ``user`` (its own browser per ``tab``) on a server using :func:`header_user`."""
    key = f"key-{user}-{tab}-0123456789abcdef"
    return SocketClient(url, client_key=key, headers={"X-Test-User": user}, **kwargs)


def send_one(
    client: SocketClient,
    conversation_id: str,
    message_id: str,
    text: str,
    parent_id: str | None = None,
) -> None:
    """Send a new user message the way a tab does when the server keeps the history."""
    message = {"id": message_id, "message": {"role": "user", "content": text}}
    client.emit(
        "send_message",
        {"conversation_id": conversation_id, "messages": [message], "parent_id": parent_id},
    )


def wait_count(
    client: SocketClient, name: str, count: int, timeout: float = 10, **match: Any
) -> list[Any]:
    """Wait for ``count`` events called ``name`` (with the ``match`` items); all of them."""

    def matching(events: list[tuple[str, Any]]) -> list[Any]:
        return [d for e, d in events if SocketClient._matches(e, d, name, match)]

    client.wait_for(lambda events: len(matching(events)) >= count, timeout)
    return matching(list(client.events))


def reply_of(client: SocketClient, run_id: str) -> dict[str, dict[str, Any]]:
    """The messages of one run as the tab folded them, by id (from its snapshot, if it
    joined the run under way, then the deltas that follow it)."""
    deltas = [d for d in client.named("message_delta") if d["run_id"] == run_id]
    snapshots = [d for d in client.named("run_snapshot") if d["run_id"] == run_id]
    if not snapshots:
        return fold_messages(deltas)
    messages: Messages = {}
    apply_snapshot(messages, snapshots[0])
    for event in sorted(deltas, key=lambda d: d["seq"]):
        apply_delta_event(messages, event)
    return finished_messages(messages)
