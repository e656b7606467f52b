"""Everything that knows Engine.IO's internals: the transport and two guards.

:class:`EngineIOTransport` is the :class:`~gptchat._transport.Transport` over
Flask-SocketIO: it reads a connection's queue for its backlog and closes one
that stopped reading. :func:`install_guards` puts :class:`CappedWebSocket` and
:class:`PollingGuard` below Socket.IO, so that what Engine.IO would drop without
a word gets a ``limit`` error (see ``_limits``).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import queue
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final
from urllib.parse import parse_qs, quote

import simple_websocket  # type: ignore[import-untyped]
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from engineio.payload import Payload
from wsproto.events import BytesMessage, Event, Message, TextMessage

from ._limits import TRANSPORT_LIMIT_EVENT

log = logging.getLogger("gptchat")


class EngineIOTransport:
    """Sends to one Socket.IO client at a time, through Flask-SocketIO (never broadcasts).

    With a message queue (``queued``), an event for a tab of this process goes
    straight to its socket, as without one (a run's deltas: no Redis round trip);
    one for a tab of another process, or a room (a user's tabs), goes through the
    queue, to whichever process holds it.
    """

    def __init__(self, socketio: Any, *, queued: bool = False) -> None:
        self._socketio = socketio
        self._queued = queued

    def send(self, sid: str, event: str, payload: dict[str, Any]) -> None:
        """Queue ``event`` for ``sid`` (a tab, or with a message queue a room)."""
        if not sid:
            # socketio.emit(to=None) would broadcast to every client: never do that.
            raise ValueError("refusing to emit without a target sid")
        if self._queued:
            server = self._socketio.server
            local = server is not None and server.manager.is_connected(sid, "/")
            self._socketio.emit(event, payload, to=sid, ignore_queue=local)
            return
        self._socketio.emit(event, payload, to=sid)

    def _engineio_socket(self, sid: str) -> Any:
        server = self._socketio.server
        if server is None:
            return None
        try:
            eio_sid = server.manager.eio_sid_from_sid(sid, "/")
        except (KeyError, AttributeError):
            return None
        return server.eio.sockets.get(eio_sid) if eio_sid else None

    def backlog(self, sid: str) -> int:
        """Events queued for ``sid`` that its connection has not taken yet."""
        sock = self._engineio_socket(sid)
        return sock.queue.qsize() if sock is not None else 0

    def drain(self, timeout: float) -> bool:
        """Wait until every connection has taken what is queued for it (for shutdown)."""
        server = self._socketio.server
        if server is None:
            return True
        deadline = time.monotonic() + timeout
        while any(not s.closed and s.queue.qsize() for s in list(server.eio.sockets.values())):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        time.sleep(0.05)  # the writer threads send what they took
        return True

    def drop(self, sid: str, why: str) -> None:
        """Close the connection of a client that stopped reading, without waiting.

        Frees what is queued for it at once and shuts its TCP socket, so the
        threads serving it end; the usual disconnect handling (detach runs, the
        reconnect grace) follows.
        """
        server = self._socketio.server
        sock = self._engineio_socket(sid)
        if server is None or sock is None:
            return
        log.warning("dropping a client that %s (%d events waiting)", why, sock.queue.qsize())
        environ = server.environ.get(sock.sid) or {}
        sock.close(wait=False, abort=True, reason=server.eio.reason.SERVER_DISCONNECT)
        server.eio.sockets.pop(sock.sid, None)
        with contextlib.suppress(queue.Empty):
            while True:
                sock.queue.get_nowait()
                sock.queue.task_done()
        sock.queue.put(None)  # lets the writer thread end
        raw = environ.get("werkzeug.socket")
        if isinstance(raw, socket.socket):
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_RDWR)


def install_guards(socketio: Any, flask: Any, max_bytes: int) -> None:
    """Answer, rather than drop, what is over Engine.IO's limits.

    Engine.IO drops a message over its buffer size, and a polling request of
    more than 16 packets, without a word to the client: :class:`CappedWebSocket`
    and :class:`PollingGuard` answer them instead.
    """
    eio = socketio.server.eio
    eio._async = {**eio._async, "websocket": CappedWebSocket}
    flask.wsgi_app = PollingGuard(
        flask.wsgi_app,
        max_bytes=max_bytes,
        max_packets=lambda: int(Payload.max_decode_packets),
    )


# -- the guards: what Engine.IO would drop without a word ----------------------------
#
# Engine.IO closes a connection whose message exceeds ``max_http_buffer_size`` and
# logs a traceback for a polling request of more than 16 packets, answering nothing
# either way. Both are caught here, before Engine.IO sees them, and replaced with a
# small event of our own that the server answers with a ``limit`` error. The
# oversized bytes are read and discarded, never held beyond the buffer size nor
# decoded, so memory stays bounded and the connection stays usable.

# How a message of ours starts: Engine.IO "4" (message), Socket.IO "2" (event) with
# an optional ack id, then the event name and the conversation id as the web client
# and python-socketio send them. Read from the first bytes only, to name both in
# the error; the rest of an oversized message is never decoded.
_HEAD_RE = re.compile(
    r'^42\d*\[\s*"([A-Za-z_]{1,32})"\s*,\s*\{\s*"conversation_id"\s*:\s*"([A-Za-z0-9_-]{8,64})"'
)
_HEAD_CHARS: Final = 256
_DRAIN_CHUNK: Final = 64 * 1024


def transport_limit_packet(head: str = "", *, size: int = 0, packets: int = 0) -> str:
    """The Engine.IO packet that stands in for a message or request over a transport limit.

    :param head: the start of the refused data, to name its event and conversation.
    :param size: its size, when it was too large.
    :param packets: how many packets it held, when there were too many.
    """
    found = _HEAD_RE.match(head)
    info: dict[str, Any] = {"size": size, "packets": packets}
    if found:
        info["event"], info["conversation_id"] = found.groups()
    return "42" + json.dumps([TRANSPORT_LIMIT_EVENT, info], separators=(",", ":"))


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PollingGuard:
    """WSGI middleware for Engine.IO polling POSTs over its size or packet-count limit.

    Such a request's body is replaced with one :func:`transport_limit_packet`:
    an oversized one is read in chunks and discarded (so the connection stays
    usable and the client gets its answer on its next poll), one with too many
    packets is dropped whole, as Engine.IO would, but answered.

    :param max_bytes: Engine.IO's ``max_http_buffer_size``.
    :param max_packets: called per request, so a change of Engine.IO's
        ``Payload.max_decode_packets`` is followed.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        max_bytes: int,
        max_packets: Callable[[], int],
        path: str = "/socket.io/",
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_packets = max_packets
        self.path = path

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Serve one request, replacing the body of a polling POST over a limit."""
        if environ.get("REQUEST_METHOD") != "POST" or not str(
            environ.get("PATH_INFO", "")
        ).startswith(self.path):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self.app(environ, start_response)
        if length <= 0:
            return self.app(environ, start_response)
        stream = environ["wsgi.input"]
        if length > self.max_bytes:
            head = stream.read(_HEAD_CHARS)
            left = length - len(head)
            while left > 0:
                chunk = stream.read(min(_DRAIN_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
            body = self._replace(head, transport_limit_packet(_text(head), size=length))
        else:
            body = stream.read(length)
            payload = _jsonp_payload(body)
            packets = payload.count("\x1e") + 1
            if packets > self.max_packets():
                body = self._replace(body, transport_limit_packet(payload, packets=packets))
        environ = dict(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    @staticmethod
    def _replace(original: bytes, packet: str) -> bytes:
        # A JSONP client posts the payload form-encoded as d=...; answer in kind.
        if original.startswith(b"d="):
            return b"d=" + quote(packet).encode()
        return packet.encode()


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _jsonp_payload(body: bytes) -> str:
    text = _text(body)
    if text.startswith("d="):
        return parse_qs(text).get("d", [""])[0]
    return text


class _CappedMessages:
    """A WebSocket connection's events, each message whole and at most ``max_size`` long.

    Stands in for ``wsproto``'s ``events()``: fragments are held back until their
    message is complete, so a message over the limit can be swapped, unheld,
    for a :func:`transport_limit_packet` once its last fragment has been read.
    """

    def __init__(self, events: Callable[[], Iterator[Event]], max_size: int) -> None:
        self._events = events
        self._max = max_size
        self._parts: list[str | bytes] = []
        self._head = ""
        self._size = 0

    def __call__(self) -> Iterator[Event]:
        for event in self._events():
            if not isinstance(event, Message):
                yield event
                continue
            if self._size == 0:
                first = event.data[:_HEAD_CHARS]
                self._head = first if isinstance(first, str) else _text(first)
            self._size += len(event.data)
            if self._size <= self._max:
                self._parts.append(event.data)
            else:
                self._parts.clear()
            if not event.message_finished:
                continue
            if self._size > self._max:
                yield TextMessage(data=transport_limit_packet(self._head, size=self._size))
            elif isinstance(event, TextMessage):
                yield TextMessage(data="".join(p for p in self._parts if isinstance(p, str)))
            else:
                yield BytesMessage(data=b"".join(p for p in self._parts if not isinstance(p, str)))
            self._parts, self._head, self._size = [], "", 0


class _CappedServer(simple_websocket.Server):  # type: ignore[misc]
    def __init__(self, environ: dict[str, Any], *, max_size: int, **kwargs: Any) -> None:
        self._max_size = max_size
        super().__init__(environ, **kwargs)

    def handshake(self) -> None:
        # The reader thread starts after the handshake, so every message passes through.
        self.ws.events = _CappedMessages(self.ws.events, self._max_size)
        super().handshake()


class CappedWebSocket(SimpleWebSocketWSGI):  # type: ignore[misc]
    """Engine.IO's threading WebSocket, with messages over its limit answered, not fatal.

    Engine.IO's own wrapper lets simple-websocket hold a message of any size and
    then closes the connection if it is over ``max_http_buffer_size``; this one
    never holds more than that and hands Engine.IO a :func:`transport_limit_packet`
    instead. Install it as the Engine.IO server's ``_async["websocket"]``.
    """

    def __init__(self, handler: Callable[..., Any], server: Any, **kwargs: Any) -> None:
        super().__init__(handler, server, **kwargs)
        self.max_size: int = server.max_http_buffer_size

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Accept the WebSocket and run Engine.IO's handler on it (as the base class does)."""
        self.ws = _CappedServer(environ, max_size=self.max_size, **self.server_args)
        ret = self.app(self)
        if self.ws.mode == "gunicorn":
            raise StopIteration()
        if self.ws.mode == "werkzeug":
            raise ConnectionError()
        return ret
