"""Server-kept history, who sees what: two users at once on one server and one SQLite file,
the tabs of one user kept in step, and a tab of another protocol version told to reload.

Real server on 127.0.0.1, real python-socketio clients, the users told apart by an ``auth``
callable reading ``X-Test-User`` from the socket's handshake headers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gptchat import ChatApp
from gptchat.protocol import PROTOCOL_VERSION
from gptchat.store import Store, StoreError
from tests.support import (
    SocketClient,
    live_server,
    reply_of,
    send_one,
    user_client,
    wait_count,
)

CID = "alice-conv-0001"


@pytest.fixture
def store_url(any_store_url: str) -> str:
    """Each test on a SQLite file and on a real Postgres (a fresh database)."""
    return any_store_url


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Held shut, a reply asked for with "slow" streams until the test opens it."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def seen(hchat: ChatApp, gate: threading.Event) -> list[list[dict[str, Any]]]:
    """What the handler was given, run by run; it answers "Re: <the last message>"."""
    calls: list[list[dict[str, Any]]] = []

    @hchat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        calls.append(messages)
        assert hchat.context().user_id == "alice"  # only alice gets replies in these tests
        text = messages[-1]["content"]
        mid = hchat.new_id()
        hchat.update_message({"role": "assistant", "content": "Re: "}, id=mid)
        if text == "title me":
            hchat.set_title("Named by the handler")
        while text == "slow" and not gate.wait(0.05):
            hchat.update_message({"content": "."}, id=mid)
        hchat.update_message({"content": text}, id=mid)

    return calls


def exchange(client: SocketClient, cid: str, mid: str, text: str, parent: str | None) -> str:
    """Send one message and wait for its reply; the reply's id."""
    before = len(client.named("run_finished"))
    send_one(client, cid, mid, text, parent)
    done = wait_count(client, "run_finished", before + 1, conversation_id=cid)[-1]
    assert done["status"] == "done", done
    (reply_id,) = reply_of(client, done["run_id"])
    return reply_id


def errors(client: SocketClient, code: str) -> list[dict[str, Any]]:
    return [e for e in client.named("error") if e["code"] == code]


def test_the_config_says_where_history_is_kept(hserver: str, seen: list[Any], server: str) -> None:
    kept = user_client(hserver, "alice")
    try:
        config = kept.wait_event("config")
        assert (config["history"], config["protocol"]) == ("server", PROTOCOL_VERSION)
    finally:
        kept.close()
    browser = SocketClient(server)
    try:
        assert browser.wait_event("config")["history"] == "browser"
    finally:
        browser.close()


def test_two_users_never_see_each_others_conversations(
    hserver: str, hchat: ChatApp, seen: list[list[dict[str, Any]]]
) -> None:
    alice = user_client(hserver, "alice")
    bob = user_client(hserver, "bob")
    try:
        reply = exchange(alice, CID, "u1", "my secret plan", None)
        calls = len(seen)
        # Every event that names alice's conversation, sent by bob who guessed its id.
        stolen: list[tuple[str, dict[str, Any]]] = [
            ("open_conversation", {"conversation_id": CID}),
            ("regenerate", {"conversation_id": CID, "parent_id": "u1"}),
            ("rename_conversation", {"conversation_id": CID, "title": "pwned"}),
            ("share_conversation", {"conversation_id": CID, "shared": True}),
            ("share_conversation", {"conversation_id": CID, "shared": False}),
            ("delete_conversation", {"conversation_id": CID}),
            ("resume", {"conversation_id": CID}),
            ("stop", {"conversation_id": CID}),
            (
                "import_conversation",
                {"conversation_id": CID, "messages": [{"role": "user", "content": "x"}]},
            ),
        ]
        for event, payload in stolen:
            bob.emit(event, payload)
        send_one(bob, CID, "b1", "add mine", reply)
        send_one(bob, CID, "b2", "as a root", None)
        found = wait_count(bob, "error", len(stolen) + 2)
        assert [(e["code"], e["conversation_id"]) for e in found] == [("not_found", CID)] * (
            len(stolen) + 2
        )
        # The same answer as for an id nobody has: a guess learns nothing.
        bob.emit("open_conversation", {"conversation_id": "nobody-conv-0001"})
        nobody = wait_count(bob, "error", len(stolen) + 3)[-1]
        assert {e["message"] for e in found if e["conversation_id"] == CID} <= {
            nobody["message"],
            "no reply to resume",
        }
        bob.emit("list_conversations", {})
        assert bob.wait_event("conversation_list")["items"] == []
        assert not bob.named("conversation_changed") and not bob.named("conversation")
        assert len(seen) == calls  # no run started for bob

        alice.emit("list_conversations", {})
        (item,) = alice.wait_event("conversation_list")["items"]
        assert (item["conversation_id"], item["title"]) == (CID, "my secret plan")
        alice.emit("open_conversation", {"conversation_id": CID})
        conversation = alice.wait_event("conversation")
        assert [(m["id"], m["parent_id"]) for m in conversation["messages"]] == [
            ("u1", None),
            (reply, "u1"),
        ]
        assert conversation["share_token"] is None
    finally:
        alice.close()
        bob.close()
    # And in the database: still alice's alone.
    store = hchat.store
    assert store is not None and store.owner_of(CID) == "alice"
    assert store.conversations("bob").items == []


def test_a_stolen_id_cannot_stop_resume_or_watch_a_running_reply(
    hserver: str, seen: list[Any], gate: threading.Event
) -> None:
    alice = user_client(hserver, "alice")
    bob = user_client(hserver, "bob")
    phone = user_client(hserver, "alice", tab=1)
    try:
        send_one(alice, CID, "u1", "slow")
        started = alice.wait_event("run_started", conversation_id=CID)
        assert started["parent_id"] == "u1"
        bob.emit("stop", {"conversation_id": CID})
        bob.emit("resume", {"conversation_id": CID})
        bob.emit("open_conversation", {"conversation_id": CID})
        assert [e["code"] for e in wait_count(bob, "error", 3)] == ["not_found"] * 3
        assert not bob.named("run_snapshot") and not bob.named("message_delta")
        # Alice's other device sees the conversation; the reply streams on in her tab.
        phone.emit("open_conversation", {"conversation_id": CID})
        assert phone.wait_event("conversation")["conversation_id"] == CID
        gate.set()
        done = alice.wait_event("run_finished", conversation_id=CID)
        assert done["status"] == "done"  # bob's stop did not stop it
        (text,) = [m["content"] for m in reply_of(alice, done["run_id"]).values()]
        assert text.startswith("Re: ") and text.endswith("slow")
    finally:
        for c in (alice, bob, phone):
            c.close()


def test_every_tab_of_the_user_hears_every_change_and_no_one_else_does(
    hserver: str, hchat: ChatApp, seen: list[Any]
) -> None:
    laptop = user_client(hserver, "alice")
    phone = user_client(hserver, "alice", tab=1)
    bob = user_client(hserver, "bob")
    try:
        reply = exchange(laptop, CID, "u1", "title me", None)
        # the new conversation (and its first message), set_title, the end of the run
        changes = wait_count(phone, "conversation_changed", 3, conversation_id=CID)
        assert changes[-1]["title"] == "Named by the handler"
        exchange(laptop, CID, "u2", "and another", reply)
        assert wait_count(phone, "conversation_changed", 5, conversation_id=CID)
        # The handler's title stays: a later user message does not replace it.
        assert phone.named("conversation_changed")[-1]["title"] == "Named by the handler"

        laptop.emit("rename_conversation", {"conversation_id": CID, "title": "  Trip  plans "})
        assert phone.wait_event("conversation_changed", title="Trip plans")
        laptop.emit("share_conversation", {"conversation_id": CID, "shared": True})
        phone.wait_for(
            lambda ev: any(e == "conversation_changed" and d["share_token"] for e, d in ev)
        )
        token = [d for d in phone.named("conversation_changed") if d["share_token"]][-1]
        store = hchat.store
        assert store is not None
        link = store.shared(token["share_token"])
        assert link is not None and link.messages[0]["content"] == "title me"
        laptop.emit(
            "import_conversation",
            {
                "conversation_id": "alice-imported-01",
                "title": "From a file",
                "messages": [
                    {"role": "user", "content": "old question"},
                    {"role": "assistant", "content": "old answer"},
                ],
            },
        )
        assert phone.wait_event("conversation_changed", conversation_id="alice-imported-01")
        laptop.emit("delete_conversation", {"conversation_id": CID})
        assert phone.wait_event("conversation_deleted", conversation_id=CID)
        assert laptop.wait_event("conversation_deleted", conversation_id=CID)
        assert store.get("alice", CID) is None
        assert store.shared(token["share_token"]) is None
        phone.emit("list_conversations", {})
        listed = phone.wait_event("conversation_list")["items"]
        assert [i["conversation_id"] for i in listed] == ["alice-imported-01"]
    finally:
        laptop.close()
        phone.close()
        bob.close()
    assert not bob.named("conversation_changed") and not bob.named("conversation_deleted")


def test_opening_a_conversation_in_a_second_tab_streams_its_reply_in_both(
    hserver: str, gate: threading.Event, seen: list[Any]
) -> None:
    laptop = user_client(hserver, "alice")
    phone = user_client(hserver, "alice", tab=1)
    try:
        send_one(laptop, CID, "u1", "slow", None)
        started = laptop.wait_event("run_started")
        laptop.wait_event("message_delta")
        phone.emit("open_conversation", {"conversation_id": CID})
        kept = phone.wait_event("conversation")
        assert [m["id"] for m in kept["messages"]] == ["u1"]
        snapshot = phone.wait_event("run_snapshot")
        assert snapshot["run_id"] == started["run_id"] and snapshot["status"] == "running"
        before = len(phone.named("message_delta"))
        phone.wait_for(lambda _: len(phone.named("message_delta")) > before + 2)
        gate.set()
        done = laptop.wait_event("run_finished")
        assert done["status"] == "done"
        assert phone.wait_event("run_finished") == done
        # Both tabs folded the same reply, every delta once (the phone from its snapshot).
        (text,) = [m["content"] for m in reply_of(laptop, started["run_id"]).values()]
        assert text.startswith("Re: .") and text.endswith("slow")
        assert reply_of(phone, started["run_id"]) == reply_of(laptop, started["run_id"])
    finally:
        laptop.close()
        phone.close()


def test_a_watching_tab_takes_over_when_the_first_closes(
    hserver: str, gate: threading.Event, seen: list[Any]
) -> None:
    laptop = user_client(hserver, "alice")
    phone = user_client(hserver, "alice", tab=1)
    try:
        send_one(laptop, CID, "u1", "slow", None)
        started = laptop.wait_event("run_started")
        phone.emit("open_conversation", {"conversation_id": CID})
        phone.wait_event("run_snapshot")
        laptop.close()
        # Longer than the reconnect grace (1 s): the reply was not abandoned.
        time.sleep(1.5)
        gate.set()
        done = phone.wait_event("run_finished")
        assert done["status"] == "done"
        (text,) = [m["content"] for m in reply_of(phone, started["run_id"]).values()]
        assert text.startswith("Re: .") and text.endswith("slow")
    finally:
        phone.close()


def test_a_tab_of_another_protocol_is_told_to_reload_and_heard_no_further(
    hserver: str, seen: list[Any]
) -> None:
    for protocol in (PROTOCOL_VERSION - 1, None):
        old = user_client(hserver, "alice", protocol=protocol)
        try:
            old.wait_for(lambda ev: len(ev) >= 2)
            assert [e for e, _ in old.events[:2]] == ["config", "error"]
            error = old.events[1][1]
            assert (error["code"], error["message"]) == (
                "outdated",
                "This page is out of date: reload it.",
            )
            send_one(old, CID, "u1", "hello")
            old.emit("list_conversations", {})
            assert [e["code"] for e in wait_count(old, "error", 3)] == ["outdated"] * 3
            assert not old.named("run_started") and not old.named("conversation_list")
        finally:
            old.close()
    assert seen == []


def test_users_named_by_a_callable_in_browser_mode_still_own_their_runs(tmp_path: Any) -> None:
    # Without a store the browser keeps the history: a run belongs to the browser, and
    # app.context() names the user all the same.
    from tests.support import header_user

    chat = ChatApp(store=None, auth=header_user, coalesce_interval=0.0)
    users: list[str] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> str:
        users.append(chat.context().user_id)
        return "ok"

    with live_server(chat) as url:
        tab = user_client(url, "carol")
        try:
            tab.emit(
                "send_message",
                {
                    "conversation_id": "carol-conv-0001",
                    "messages": [{"id": "c1", "message": {"role": "user", "content": "hi"}}],
                },
            )
            done = tab.wait_event("run_finished")
            assert done["status"] == "done"
            assert tab.named("run_started")[0]["parent_id"] == "c1"
        finally:
            tab.close()
    assert users == ["carol"]
    assert chat.store is None


def test_a_store_instance_is_used_as_given(store_url: str) -> None:
    store = Store(store_url)
    try:
        chat = ChatApp(store=store)
        assert chat.store is store
    finally:
        store.close()


def test_a_store_that_is_not_one_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="store must be a database URL"):
        ChatApp(store=42)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="not a database URL"):
        _ = ChatApp(store="no url at all").store
