"""Feedback kept with the message by the server's store: what ``History.save_feedback``
keeps is what ``open_conversation`` answers, for the user and for no one else.

Real server on 127.0.0.1 (a SQLite file and a real Postgres), real python-socketio
clients, users told apart by ``X-Test-User``; the server's own History object keeps the
rating, and so does the ``feedback`` socket event."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gptchat import ChatApp, Feedback
from gptchat._history_events import BrowserHistory, History
from gptchat.protocol import GiveFeedback, StoredConversation
from tests.support import SocketClient, reply_of, send_one, user_client, wait_count

CID = "alice-conv-0001"


@pytest.fixture
def store_url(any_store_url: str) -> str:
    """Each test on a SQLite file and on a real Postgres (a fresh database)."""
    return any_store_url


@pytest.fixture
def echo(hchat: ChatApp) -> None:
    @hchat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        hchat.update_message({"role": "assistant", "content": f"Re: {messages[-1]['content']}"})


def exchange(client: SocketClient, mid: str, text: str, parent: str | None) -> str:
    """Send one message in CID and wait for its reply; the reply's id."""
    before = len(client.named("run_finished"))
    send_one(client, CID, mid, text, parent)
    done = wait_count(client, "run_finished", before + 1, conversation_id=CID)[-1]
    assert done["status"] == "done", done
    (reply_id,) = reply_of(client, done["run_id"])
    return reply_id


def opened(client: SocketClient) -> dict[str, Any]:
    """Open CID in the tab; the conversation as it arrived, checked against the protocol."""
    before = len(client.named("conversation"))
    client.emit("open_conversation", {"conversation_id": CID})
    payload: dict[str, Any] = wait_count(client, "conversation", before + 1)[-1]
    StoredConversation.model_validate(payload)
    return payload


def rate(mid: str, rating: str | None, comment: str | None = None) -> GiveFeedback:
    return GiveFeedback.model_validate(
        {"conversation_id": CID, "message_id": mid, "rating": rating, "comment": comment}
    )


def test_feedback_is_kept_and_comes_back_with_the_open_conversation(
    hserver: str, hchat: ChatApp, echo: None
) -> None:
    history = hchat.server.history
    assert isinstance(history, History)
    laptop = user_client(hserver, "alice")
    phone = user_client(hserver, "alice", tab=1)
    try:
        first = exchange(laptop, "u1", "first", None)
        second = exchange(laptop, "u2", "second", first)
        assert [m["feedback"] for m in opened(phone)["messages"]] == [None] * 4

        assert history.save_feedback("alice", rate(first, "up")) is True
        assert history.save_feedback("alice", rate(second, "down", "Too short")) is True
        by_id = {m["id"]: m for m in opened(phone)["messages"]}
        assert by_id[first]["feedback"] == {"rating": "up", "comment": None}
        assert by_id[second]["feedback"] == {"rating": "down", "comment": "Too short"}
        assert by_id["u1"]["feedback"] is None and by_id["u2"]["feedback"] is None
        # The messages themselves are as they were: a rating is not part of them.
        assert by_id[second]["message"] == {"role": "assistant", "content": "Re: second"}

        assert history.save_feedback("alice", rate(first, "down")) is True  # the other thumb
        assert history.save_feedback("alice", rate(second, None)) is True  # taken back
        by_id = {m["id"]: m for m in opened(laptop)["messages"]}
        assert by_id[first]["feedback"] == {"rating": "down", "comment": None}
        assert by_id[second]["feedback"] is None

        # The handler still gets OpenAI messages only.
        exchange(laptop, "u3", "third", second)
        assert hchat.store is not None
        exported = hchat.store.export("alice", CID)
        assert exported is not None and all(set(m) == {"role", "content"} for m in exported)
    finally:
        laptop.close()
        phone.close()


def test_feedback_on_another_users_or_an_unknown_message_is_refused(
    hserver: str, hchat: ChatApp, echo: None
) -> None:
    history = hchat.server.history
    alice = user_client(hserver, "alice")
    try:
        reply = exchange(alice, "u1", "mine", None)
        assert history.save_feedback("bob", rate(reply, "down", "pwned")) is False
        assert history.save_feedback("bob", rate(reply, None)) is False
        assert history.save_feedback("alice", rate("no-such-message", "up")) is False
        other = GiveFeedback(conversation_id="nobody-conv-0001", message_id=reply, rating="up")
        assert history.save_feedback("alice", other) is False
        assert [m["feedback"] for m in opened(alice)["messages"]] == [None, None]
    finally:
        alice.close()


def test_browser_history_keeps_nothing_and_accepts(chat: ChatApp) -> None:
    history = chat.server.history
    assert isinstance(history, BrowserHistory)
    assert history.save_feedback("alice", rate("m1", "up", "nice")) is True


def test_the_feedback_event_keeps_the_rating_for_every_tab_of_the_user(
    hserver: str, hchat: ChatApp, echo: None
) -> None:
    heard: list[Feedback] = []
    hchat.handle_feedback(heard.append)
    laptop = user_client(hserver, "alice")
    phone = user_client(hserver, "alice", tab=1)
    bob = user_client(hserver, "bob")
    try:
        assert laptop.wait_event("config")["feedback"] is True
        reply = exchange(laptop, "u1", "rate me", None)

        def click(tab: SocketClient, rating: str | None, comment: str | None = None) -> None:
            payload = {"conversation_id": CID, "message_id": reply, "rating": rating}
            tab.emit("feedback", {**payload, "comment": comment})

        # One click at a time: the server handles each event in a thread of its own, so
        # two clicks sent at once may be kept in either order.
        click(laptop, "up")
        wait_heard(heard, 1)
        click(laptop, "down", "Off topic")
        wait_heard(heard, 2)
        click(bob, "up", "pwned")
        assert bob.wait_event("error")["code"] == "not_found"
        by_id = {m["id"]: m for m in opened(phone)["messages"]}
        assert by_id[reply]["feedback"] == {"rating": "down", "comment": "Off topic"}

        click(phone, None)  # taken back from the other device
        wait_heard(heard, 3)
        by_id = {m["id"]: m for m in opened(laptop)["messages"]}
        assert by_id[reply]["feedback"] is None
        assert [(f.rating, f.comment, f.user_id) for f in heard] == [
            ("up", None, "alice"),
            ("down", "Off topic", "alice"),
            (None, None, "alice"),
        ]
        assert not laptop.named("error") and not phone.named("error")
    finally:
        for tab in (laptop, phone, bob):
            tab.close()


def wait_heard(heard: list[Feedback], count: int) -> None:
    """Wait until the feedback handler (run in a thread of its own) heard ``count``."""
    deadline = time.monotonic() + 10
    while len(heard) < count:
        assert time.monotonic() < deadline, heard
        time.sleep(0.01)
