"""Limits on what a client may send: each breach is a clear ``error``, and everything stays up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gptchat import ChatApp
from tests.support import RawSocket, SocketClient, live_server, send


@pytest.fixture
def calls() -> list[list[dict[str, Any]]]:
    return []


@pytest.fixture
def small(calls: list[list[dict[str, Any]]]) -> ChatApp:
    chat = ChatApp(
        coalesce_interval=0.0,
        max_message_bytes=20_000,
        max_messages=5,
        max_depth=8,
        max_events_per_second=10,
        max_generations=2,
        max_connections=3,
    )

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> dict[str, Any]:
        calls.append(messages)
        return {"role": "assistant", "content": "ok"}

    return chat


@pytest.fixture
def url(small: ChatApp) -> Iterator[str]:
    with live_server(small) as base:
        yield base


@pytest.fixture
def client(url: str) -> Iterator[SocketClient]:
    c = SocketClient(url)
    yield c
    c.close()


def still_works(client: SocketClient, conversation_id: str = "conv-alive-01") -> None:
    """The connection and the server stay up: a normal message gets its reply."""
    send(client, "still there?", conversation_id=conversation_id)
    finished = client.wait_event("run_finished", conversation_id=conversation_id)
    assert finished["status"] == "done"


def user(text: Any, i: int = 0) -> dict[str, Any]:
    return {"id": f"m{i}", "message": {"role": "user", "content": text}}


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([user("x" * 30_000)], "message too large (30,"),
        (
            [user(f"m{i}", i) for i in range(6)],
            "too many messages in the conversation (6; limit 5)",
        ),
        (
            [user([{"type": "text", "text": "hi", "extra": [[[[[[["deep"]]]]]]]}])],
            "nesting too deep (limit 8 levels)",
        ),
    ],
    ids=["size", "count", "depth"],
)
def test_limit_breach_is_a_clear_error_and_handler_is_not_called(
    client: SocketClient, calls: list[Any], messages: list[Any], fragment: str
) -> None:
    client.emit("send_message", {"conversation_id": "conv-limits-01", "messages": messages})
    error = client.wait_event("error")
    assert error["code"] == "limit"
    assert fragment in error["message"]
    assert error["conversation_id"] == "conv-limits-01"
    assert calls == []
    still_works(client)


def test_nesting_too_deep_to_decode_is_answered(url: str, calls: list[Any]) -> None:
    raw = RawSocket(url)
    try:
        deep = "[" * 5_000 + "]" * 5_000  # beyond what the JSON decoder can recurse
        raw.send_text(f'42["send_message",{{"conversation_id":"conv-deep-001","messages":{deep}}}]')
        error = raw.wait_event("error")
        assert error["code"] == "limit" and "nesting too deep" in error["message"]
        raw.emit("send_message", {"conversation_id": "conv-deep-002", "messages": [user("hi")]})
        assert raw.wait_event("run_finished")["status"] == "done"
        assert len(calls) == 1
    finally:
        raw.close()


def test_event_flood_is_refused_with_one_error_and_connection_stays(
    client: SocketClient,
) -> None:
    for _ in range(60):
        client.emit("stop", {"conversation_id": "conv-flood-001"})
    error = client.wait_event("error")
    assert error["code"] == "limit"
    assert "too many events (limit 10 per second per connection)" in error["message"]
    threading.Event().wait(0.3)  # let the bucket refill a few tokens
    still_works(client)
    # One warning per second at most, not one per refused event (about 40 were refused).
    assert 1 <= len([e for e in client.named("error") if e["code"] == "limit"]) <= 2


def test_concurrent_generations_per_connection_are_capped(small: ChatApp, url: str) -> None:
    release = threading.Event()

    @small.handle_send_message
    def slow(messages: list[dict[str, Any]]) -> None:
        release.wait(5)

    c = SocketClient(url)
    try:
        for i in range(3):
            send(c, "go", conversation_id=f"conv-gen-00{i}")
        error = c.wait_event("error", conversation_id="conv-gen-002")
        assert error["code"] == "limit"
        assert "too many replies at once on this connection (limit 2)" in error["message"]
        assert [d["conversation_id"] for d in c.named("run_started")] == [
            "conv-gen-000",
            "conv-gen-001",
        ]
        release.set()
        c.wait_event("run_finished", conversation_id="conv-gen-001")
        c.wait_event("run_finished", conversation_id="conv-gen-000")
        send(c, "again", conversation_id="conv-gen-002")  # a slot is free again
        assert c.wait_event("run_finished", conversation_id="conv-gen-002")["status"] == "done"
    finally:
        release.set()
        c.close()


def test_concurrent_sockets_are_capped(url: str) -> None:
    sockets = [RawSocket(url) for _ in range(3)]
    try:
        assert all(s.connected for s in sockets)
        extra = RawSocket(url)
        assert not extra.connected
        assert "too many connections (limit 3)" in (extra.refusal or "")
        sockets.pop().close()
        for _ in range(50):  # the server notices the close
            again = RawSocket(url)
            if again.connected:
                sockets.append(again)
                break
            threading.Event().wait(0.05)
        assert sockets[-1].connected and len(sockets) == 3
    finally:
        for s in sockets:
            s.close()


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="max_messages"):
        ChatApp(max_messages=0)
    with pytest.raises(ValueError, match="handler_timeout"):
        ChatApp(handler_timeout=-1)
