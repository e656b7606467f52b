"""The Socket.IO protocol through a real server on 127.0.0.1 and a real client."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from gptchat import ChatApp, StopGeneration
from tests.support import SocketClient, fold_messages, live_server, send


def run_events(client: SocketClient, conversation_id: str = "conv-test-0001") -> dict[str, Any]:
    """Wait for the run of ``conversation_id`` to finish; return its folded messages."""
    finished = client.wait_event("run_finished", conversation_id=conversation_id)
    deltas = [d for d in client.named("message_delta") if d["conversation_id"] == conversation_id]
    return {"finished": finished, "messages": fold_messages(deltas)}


def test_config_is_sent_on_connect(chat: ChatApp) -> None:
    chat.set_config({"title": "My bot", "functions": {"f": "Calling **f**"}})
    with live_server(chat) as url:
        c = SocketClient(url)
        try:
            config = c.wait_event("config")
        finally:
            c.close()
    assert config["title"] == "My bot"
    assert config["functions"]["f"]["header"] == "Calling **f**"


def test_streamed_reply_arrives_in_order_and_handler_gets_clean_messages(
    chat: ChatApp, client: SocketClient
) -> None:
    seen: list[list[dict[str, Any]]] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        seen.append(messages)
        mid = chat.new_id()
        for piece in ["Hel", "lo", " **wor", "ld**"]:
            chat.update_message({"content": piece}, id=mid)

    send(client, "hi")
    result = run_events(client)
    assert result["finished"]["status"] == "done"
    (message,) = result["messages"].values()
    assert message == {"role": "assistant", "content": "Hello **world**"}
    assert seen == [[{"role": "user", "content": "hi"}]]
    started = client.named("run_started")
    assert started[0]["run_id"] == result["finished"]["run_id"]


def test_full_message_without_id_gets_one(chat: ChatApp, client: SocketClient) -> None:
    ids: list[str] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        ids.append(chat.update_message({"role": "assistant", "content": "whole"}))

    send(client, "hi")
    result = run_events(client)
    assert list(result["messages"]) == ids
    assert result["messages"][ids[0]]["content"] == "whole"


def test_return_value_is_sent(chat: ChatApp, client: SocketClient) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"role": "assistant", "content": "returned"}

    send(client, "hi")
    (message,) = run_events(client)["messages"].values()
    assert message["content"] == "returned"


def test_handler_error_is_reported_and_server_keeps_serving(
    chat: ChatApp, client: SocketClient, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        calls.append(1)
        chat.update_message({"role": "assistant", "content": "partial"})
        if len(calls) == 1:
            raise RuntimeError("model exploded")

    send(client, "one", conversation_id="conv-error-01")
    result = run_events(client, "conv-error-01")
    assert result["finished"]["status"] == "error"
    assert "RuntimeError: model exploded" in result["finished"]["error"]
    assert "Traceback" not in result["finished"]["error"]
    assert [m["content"] for m in result["messages"].values()] == ["partial"]
    assert "model exploded" in caplog.text  # logged with its traceback on the server
    send(client, "two", conversation_id="conv-error-02")
    assert run_events(client, "conv-error-02")["finished"]["status"] == "done"


def test_delta_without_id_is_a_clear_error(chat: ChatApp, client: SocketClient) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        chat.update_message({"content": "no id"})

    send(client, "hi")
    finished = run_events(client)["finished"]
    assert finished["status"] == "error"
    assert "ValueError" in finished["error"] and "app.new_id()" in finished["error"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ("not a dict", "send_message: payload"),
        ({"conversation_id": "conv-test-0001"}, "messages: Field required"),
        ({"conversation_id": "x", "messages": []}, "conversation_id"),
        (
            {
                "conversation_id": "conv-test-0001",
                "messages": [{"id": "a", "message": {"role": "robot"}}],
            },
            "messages.0.message.role",
        ),
        (
            {
                "conversation_id": "conv-test-0001",
                "messages": [{"id": "a", "message": {"role": "user", "content": 5}}],
            },
            "messages.0.message.content",
        ),
    ],
)
def test_malformed_send_gets_an_error_and_handler_is_not_called(
    chat: ChatApp, client: SocketClient, payload: Any, fragment: str
) -> None:
    calls = []
    chat.handle_send_message(lambda messages: calls.append(messages))
    client.emit("send_message", payload)
    error = client.wait_event("error")
    assert error["code"] == "invalid_payload"
    assert fragment in error["message"]
    send(client, "still alive")  # the connection and the server stay up
    assert run_events(client)["finished"]["status"] == "done"
    assert len(calls) == 1


def test_unknown_event_gets_an_error(chat: ChatApp, client: SocketClient) -> None:
    client.emit("rm_rf", {})
    error = client.wait_event("error")
    assert error["code"] == "unknown_event" and "rm_rf" in error["message"]


def test_stop_ends_a_plain_loop_handler_cleanly(chat: ChatApp, client: SocketClient) -> None:
    stopped = threading.Event()

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        try:
            for i in range(1000):
                chat.update_message({"content": f"{i} "}, id=mid)
                time.sleep(0.01)
        except StopGeneration:
            stopped.set()
            raise

    send(client, "count")
    client.wait_event("message_delta")
    t0 = time.monotonic()
    client.emit("stop", {"conversation_id": "conv-test-0001"})
    result = run_events(client)
    assert time.monotonic() - t0 < 1.0
    assert stopped.is_set()
    assert result["finished"]["status"] == "stopped"
    (message,) = result["messages"].values()
    assert message["content"].startswith("0 1 ")  # the partial reply is kept


def test_second_send_while_running_is_refused(chat: ChatApp, client: SocketClient) -> None:
    release = threading.Event()

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        release.wait(5)

    send(client, "one")
    client.wait_event("run_started")
    send(client, "two")
    assert client.wait_event("error")["code"] == "busy"
    release.set()
    run_events(client)


def test_two_clients_at_once_see_only_their_own_replies(chat: ChatApp, server: str) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        text = messages[-1]["content"]
        for ch in text * 20:
            chat.update_message({"content": ch}, id=mid)
            time.sleep(0.001)

    a = SocketClient(server, client_key="client-a-0123456789abcdef")
    b = SocketClient(server, client_key="client-b-0123456789abcdef")
    try:
        send(a, "a", conversation_id="conv-aaaaaaaa")
        send(b, "b", conversation_id="conv-bbbbbbbb")
        ra = run_events(a, "conv-aaaaaaaa")
        rb = run_events(b, "conv-bbbbbbbb")
        assert [m["content"] for m in ra["messages"].values()] == ["a" * 20]
        assert [m["content"] for m in rb["messages"].values()] == ["b" * 20]
        assert all(d["conversation_id"] == "conv-aaaaaaaa" for d in a.named("message_delta"))
        assert all(d["conversation_id"] == "conv-bbbbbbbb" for d in b.named("message_delta"))
    finally:
        a.close()
        b.close()


def test_reconnect_resumes_with_no_gap_and_no_duplicate(chat: ChatApp, server: str) -> None:
    go_on = threading.Event()
    words = [f"w{i} " for i in range(60)]

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        for i, w in enumerate(words):
            if i == 20:
                go_on.wait(5)
            chat.update_message({"content": w}, id=mid)

    key = "same-browser-0123456789abc"
    first = SocketClient(server, client_key=key)
    send(first, "go")
    first.wait_for(lambda ev: sum(d["count"] for e, d in ev if e == "message_delta") >= 20)
    first.close()  # the tab reloads mid-stream
    second = SocketClient(server, client_key=key)
    try:
        second.emit("resume", {"conversation_id": "conv-test-0001"})
        snapshot = second.wait_event("run_snapshot")
        go_on.set()
        second.wait_event("run_finished")
        (snap,) = snapshot["messages"]
        assert snapshot["status"] == "running" and snap["seq"] >= 20
        later = [d for d in second.named("message_delta")]
        text = snap["message"]["content"]
        for d in sorted(later, key=lambda d: d["seq"]):
            # Events never straddle the snapshot: each is wholly in it or wholly after.
            assert d["seq"] > snap["seq"] or d["seq"] + d["count"] - 1 <= snap["seq"]
            if d["seq"] > snap["seq"]:
                text += "".join(delta["content"] for delta in d["deltas"])
        assert text == "".join(words)
    finally:
        second.close()


def test_resume_is_refused_to_another_client(chat: ChatApp, server: str) -> None:
    chat.handle_send_message(lambda m: {"role": "assistant", "content": "secret"})
    owner = SocketClient(server, client_key="owner-0123456789abcdefgh")
    thief = SocketClient(server, client_key="thief-0123456789abcdefgh")
    try:
        send(owner, "hi")
        run_events(owner)
        thief.emit("resume", {"conversation_id": "conv-test-0001"})
        assert thief.wait_event("error")["code"] == "not_found"
        assert thief.named("run_snapshot") == []
    finally:
        owner.close()
        thief.close()


def test_tab_that_never_comes_back_stops_the_handler(server: str, chat: ChatApp) -> None:
    stopped = threading.Event()

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        try:
            while True:
                chat.update_message({"content": "."}, id=mid)
                time.sleep(0.01)
        except StopGeneration:
            stopped.set()
            raise

    c = SocketClient(server)
    send(c, "forever")
    c.wait_event("message_delta")
    c.close()
    assert stopped.wait(5)  # the fixture's grace period is 1 s
