"""What Engine.IO would drop without a word: an answer instead, over a real server.

A message over the transport buffer (more than twice ``max_message_bytes``) and a
polling request of more than 16 packets both get the ``limit`` error the other
limits get, no traceback is logged, and the connection keeps working.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from gptchat import ChatApp
from gptchat.protocol import PROTOCOL_VERSION
from tests.replies import MODEL_REPLY, long_conversation
from tests.support import RawSocket, SocketClient, live_server

LIMIT = 20_000  # max_message_bytes; the transport buffer is 2 * LIMIT + 64 KiB = 105,536


@pytest.fixture
def calls() -> list[list[dict[str, Any]]]:
    return []


@pytest.fixture
def url(calls: list[list[dict[str, Any]]]) -> Iterator[str]:
    chat = ChatApp(coalesce_interval=0.0, max_message_bytes=LIMIT)

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> str:
        calls.append(messages)
        return MODEL_REPLY

    with live_server(chat) as base:
        yield base


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_message_beyond_the_transport_buffer_gets_the_limit_error(
    url: str, calls: list[Any], transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    messages = long_conversation(150_000)
    assert len(json.dumps(messages)) > 105_536  # past the transport buffer, not just the limit
    client = SocketClient(url, "transport-client-0123456789", transport)
    try:
        client.sio.emit("send_message", {"conversation_id": "conv-huge-0001", "messages": messages})
        error = client.wait_event("error")
        assert error["code"] == "limit"
        assert error["message"].startswith("send_message: message too large (")
        assert f"limit {LIMIT:,} bytes" in error["message"]
        assert error["conversation_id"] == "conv-huge-0001"
        assert calls == []

        # The same connection goes on: a normal conversation gets its reply.
        short = [{"id": "u0", "message": {"role": "user", "content": "Dedupe a CSV?"}}]
        client.sio.emit("send_message", {"conversation_id": "conv-next-0001", "messages": short})
        finished = client.wait_event("run_finished", conversation_id="conv-next-0001")
        assert finished["status"] == "done"
        assert not client.disconnected.is_set()
        assert len(calls) == 1
    finally:
        client.close()
    assert not [r for r in caplog.records if r.exc_info], caplog.text


def test_oversized_websocket_message_sent_in_fragments_is_answered(
    url: str, calls: list[Any]
) -> None:
    import websocket

    raw = RawSocket(url)
    try:
        assert raw.connected
        conversation = {"conversation_id": "conv-frag-0001", "messages": long_conversation(150_000)}
        text = "42" + json.dumps(["send_message", conversation])
        pieces = [text[i : i + 10_000] for i in range(0, len(text), 10_000)]
        frames = [websocket.ABNF.create_frame(pieces[0], websocket.ABNF.OPCODE_TEXT, fin=0)]
        frames += [
            websocket.ABNF.create_frame(piece, websocket.ABNF.OPCODE_CONT, fin=0)
            for piece in pieces[1:-1]
        ]
        frames.append(websocket.ABNF.create_frame(pieces[-1], websocket.ABNF.OPCODE_CONT, fin=1))
        for frame in frames:
            raw.ws.send_frame(frame)
        error = raw.wait_event("error")
        assert error["code"] == "limit" and "message too large" in error["message"]
        assert error["conversation_id"] == "conv-frag-0001"
        raw.emit(
            "send_message",
            {
                "conversation_id": "conv-frag-0002",
                "messages": [{"id": "u0", "message": {"role": "user", "content": "Dedupe a CSV?"}}],
            },
        )
        assert raw.wait_event("run_finished")["status"] == "done"
        assert len(calls) == 1
    finally:
        raw.close()


# -- a raw Engine.IO v4 polling client ---------------------------------------------------


class Polling:
    """Engine.IO v4 over HTTP long-polling, spoken by hand."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        status, body = self._request("GET", "/socket.io/?EIO=4&transport=polling")
        assert status == 200 and body.startswith("0"), body
        self.sid = json.loads(body[1:])["sid"]
        auth = {"client": "polling-client-0123456789", "protocol": PROTOCOL_VERSION}
        self.post("40" + json.dumps(auth))
        self._early = self.get()  # the connect answer, and what the server sent with it
        assert any(p.startswith("40") for p in self._early)

    def _request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            headers = {"Content-Type": "text/plain;charset=UTF-8"} if body is not None else {}
            conn.request(
                method, path, body=body.encode() if body is not None else None, headers=headers
            )
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def post(self, payload: str) -> int:
        status, body = self._request("POST", self._path(), payload)
        assert status == 200 and body == "OK", (status, body)
        return status

    def get(self) -> list[str]:
        status, body = self._request("GET", self._path())
        assert status == 200, (status, body)
        return body.split("\x1e")

    def events(self, until: str, polls: int = 20) -> list[tuple[str, Any]]:
        """Events from a few polls (answering pings), up to the first one named ``until``."""
        seen: list[tuple[str, Any]] = []
        for _ in range(polls):
            packets, self._early = self._early or self.get(), []
            for packet in packets:
                if packet == "2":
                    self.post("3")
                elif packet.startswith("42"):
                    name, *args = json.loads(packet[2:])
                    seen.append((name, args[0] if args else None))
            if any(name == until for name, _ in seen):
                return seen
        raise AssertionError(f"no {until!r} in {seen!r}"[:2000])

    def _path(self) -> str:
        return f"/socket.io/?EIO=4&transport=polling&sid={self.sid}"


def event_packet(event: str, data: Any) -> str:
    return "42" + json.dumps([event, data])


def test_polling_request_with_too_many_packets_is_answered_without_a_traceback(
    url: str,
    calls: list[Any],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    client = Polling(url)
    client.events(until="config")
    # What a client that batched while offline might send: one message, then resumes.
    question = [{"id": "u0", "message": {"role": "user", "content": "Dedupe a CSV?"}}]
    packets = [
        event_packet("send_message", {"conversation_id": "conv-batch-001", "messages": question})
    ]
    packets += [
        event_packet("resume", {"conversation_id": f"conv-batch-{i:03}"}) for i in range(2, 18)
    ]
    assert len(packets) == 17
    with caplog.at_level(logging.DEBUG):
        assert client.post("\x1e".join(packets)) == 200
        events = client.events(until="error")
    error = dict(events)["error"]
    assert error["code"] == "limit"
    assert "too many packets in one polling request (17; limit 16)" in error["message"]
    assert error["message"].startswith("send_message: ")
    assert error["conversation_id"] == "conv-batch-001"
    assert calls == []  # none of the 17 was handled

    # Sixteen are fine, and the connection is still up.
    packets[0] = event_packet(
        "send_message", {"conversation_id": "conv-batch-100", "messages": question}
    )
    client.post("\x1e".join(packets[:16]))
    finished = dict(client.events(until="run_finished"))["run_finished"]
    assert finished["status"] == "done" and len(calls) == 1

    logged = caplog.text + capfd.readouterr().err
    assert "Traceback" not in logged and "Too many packets" not in logged, logged
    assert not [r for r in caplog.records if r.exc_info]
