"""Every event the server sends goes through :class:`Emitter`, one method per event."""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import time
from collections.abc import Mapping
from typing import Any

from .protocol import ErrorCode, RunStatus, ServerEvent

log = logging.getLogger("gptchat")


class Emitter:
    """Sends typed server events to one Socket.IO client at a time (never broadcasts)."""

    def __init__(self, socketio: Any) -> None:
        self._socketio = socketio

    def _emit(self, event: str, payload: dict[str, Any], sid: str) -> None:
        if not sid:
            # socketio.emit(to=None) would broadcast to every client: never do that.
            raise ValueError("refusing to emit without a target sid")
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

    def config(self, sid: str, payload: dict[str, Any]) -> None:
        """Send the UI configuration."""
        self._emit(ServerEvent.CONFIG, payload, sid)

    def run_started(self, sid: str, conversation_id: str, run_id: str) -> None:
        """Tell the tab that the handler started."""
        self._emit(
            ServerEvent.RUN_STARTED, {"conversation_id": conversation_id, "run_id": run_id}, sid
        )

    def message_delta(
        self,
        sid: str,
        conversation_id: str,
        run_id: str,
        message_id: str,
        seq: int,
        count: int,
        deltas: list[Mapping[str, Any]],
    ) -> None:
        """Send ``count`` consecutive deltas of one message, the first numbered ``seq``,
        folded into ``deltas``."""
        payload = {
            "conversation_id": conversation_id,
            "run_id": run_id,
            "message_id": message_id,
            "seq": seq,
            "count": count,
            "deltas": deltas,
        }
        self._emit(ServerEvent.MESSAGE_DELTA, payload, sid)

    def run_finished(
        self, sid: str, conversation_id: str, run_id: str, status: RunStatus, error: str | None
    ) -> None:
        """Tell the tab that the handler ended, and how."""
        payload = {
            "conversation_id": conversation_id,
            "run_id": run_id,
            "status": status,
            "error": error,
        }
        self._emit(ServerEvent.RUN_FINISHED, payload, sid)

    def run_snapshot(self, sid: str, payload: dict[str, Any]) -> None:
        """Send the folded state of a run to a tab that (re)connected."""
        self._emit(ServerEvent.RUN_SNAPSHOT, payload, sid)

    def error(
        self, sid: str, code: ErrorCode, message: str, conversation_id: str | None = None
    ) -> None:
        """Tell the tab that something it sent was refused."""
        payload = {"code": code, "message": message, "conversation_id": conversation_id}
        self._emit(ServerEvent.ERROR, payload, sid)
