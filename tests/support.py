"""Test helpers: a real gptchat server on 127.0.0.1 and a real Socket.IO client."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import socketio
from werkzeug.serving import make_server

from gptchat import ChatApp
from gptchat._merge import finish_message, merge_delta, new_message


class _QuietWerkzeug(logging.Filter):
    # Werkzeug logs a "Bad request" line after WebSocket closes: the socket was upgraded.
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "Bad request syntax" not in message and "Bad HTTP/0.9" not in message


logging.getLogger("werkzeug").addFilter(_QuietWerkzeug())
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@contextmanager
def live_server(chat: ChatApp) -> Iterator[str]:
    """Serve ``chat`` on a free loopback port; yields its base URL."""
    srv = make_server("127.0.0.1", 0, chat.flask_app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        chat._close_runs(timeout=5)
        srv.shutdown()
        srv.server_close()
        thread.join(5)


class SocketClient:
    """A python-socketio client that records every event it receives."""

    def __init__(self, url: str, client_key: str | None = "test-client-key-0123456789") -> None:
        self.events: list[tuple[str, Any]] = []
        self._cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)

        @self.sio.on("*")
        def record(event: str, data: Any = None) -> None:
            with self._cond:
                self.events.append((event, data))
                self._cond.notify_all()

        # python-socketio hands each received event to a new thread, so arrival order
        # is lost; run handlers on the read loop instead, in the order the server sent.
        trigger = self.sio.eio._trigger_event

        def in_order(event: str, *args: Any, **kwargs: Any) -> Any:
            kwargs["run_async"] = False
            return trigger(event, *args, **kwargs)

        self.sio.eio._trigger_event = in_order
        auth = {"client": client_key} if client_key else None
        self.sio.connect(url, transports=["websocket"], auth=auth, wait_timeout=5)

    def emit(self, event: str, data: Any) -> None:
        self.sio.emit(event, data)

    def wait_for(self, pred: Callable[[list[tuple[str, Any]]], bool], timeout: float = 10) -> None:
        """Wait until ``pred(events)`` holds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self.events):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; events so far: {self.events!r}"[:3000])
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

    Asserts that each message's sequence numbers are 1..n with no gap or duplicate.
    """
    by_id: dict[str, dict[int, dict[str, Any]]] = {}
    order: list[str] = []
    for payload in deltas:
        mid = payload["message_id"]
        if mid not in by_id:
            by_id[mid] = {}
            order.append(mid)
        for offset, delta in enumerate(payload["deltas"]):
            seq = payload["seq"] + offset
            assert seq not in by_id[mid], f"duplicate seq {seq} for {mid}"
            by_id[mid][seq] = delta
    result = {}
    for mid in order:
        seqs = sorted(by_id[mid])
        assert seqs == list(range(1, len(seqs) + 1)), f"gap in seqs of {mid}: {seqs}"
        acc = new_message()
        for seq in seqs:
            merge_delta(acc, by_id[mid][seq])
        result[mid] = finish_message(acc)
    return result


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
