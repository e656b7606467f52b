"""Message actions and feedback through a real server on 127.0.0.1 and real python-socketio
clients: a click runs its handler as a reply of its own (browser-kept and server-kept
history), and a rating reaches the feedback handler."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gptchat import Action, ActionCall, ChatApp, Feedback
from tests.support import SocketClient, live_server, reply_of, send, send_one, user_client

CID = "conv-actions-0001"


def offer(chat: ChatApp) -> None:
    @chat.handle_send_message
    def on_message(messages: list[dict[str, Any]]) -> None:
        chat.update_message(
            {"role": "assistant", "content": "A haiku about rain."},
            actions=[
                Action(name="again", label="Write another", payload={"topic": "rain"}),
                {"name": "shorter", "label": "Shorter"},
            ],
        )


def branch_of(client: SocketClient) -> list[dict[str, Any]]:
    """The branch a browser shows after its first reply: the user message and the reply."""
    end = client.wait_event("run_finished")
    reply = reply_of(client, end["run_id"])
    return [{"id": "u0", "message": {"role": "user", "content": "go"}}] + [
        {"id": mid, "message": m} for mid, m in reply.items()
    ]


def test_an_action_click_streams_a_reply_of_its_own(chat: ChatApp, client: SocketClient) -> None:
    offer(chat)
    calls: list[ActionCall] = []

    @chat.handle_action("again")
    def again(call: ActionCall) -> Any:
        calls.append(call)
        yield from ("Drops ", "on ", "tin.")

    send(client, "go", CID)
    branch = branch_of(client)
    reply = branch[-1]
    assert reply["message"]["actions"] == [
        {"name": "again", "label": "Write another", "payload": {"topic": "rain"}},
        {"name": "shorter", "label": "Shorter"},
    ]
    client.emit(
        "run_action",
        {"conversation_id": CID, "message_id": reply["id"], "name": "again", "messages": branch},
    )
    started = client.wait_event("run_started", run_id=client.named("run_started")[-1]["run_id"])
    client.wait_for(lambda _: len(client.named("run_finished")) == 2)
    second = client.named("run_started")[-1]
    assert second["parent_id"] == reply["id"] and second is not started
    end = client.named("run_finished")[-1]
    assert end["status"] == "done"
    assert list(reply_of(client, end["run_id"]).values()) == [
        {"role": "assistant", "content": "Drops on tin."}
    ]
    (call,) = calls
    assert call.name == "again" and call.payload == {"topic": "rain"}
    assert call.message_id == reply["id"]
    assert call.message["content"] == "A haiku about rain."
    # The handler gets the conversation as a model takes it: no buttons in it.
    assert call.messages == [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "A haiku about rain."},
    ]


def test_unknown_actions_are_refused(chat: ChatApp, client: SocketClient) -> None:
    offer(chat)

    @chat.handle_action("elsewhere")
    def elsewhere(call: ActionCall) -> str:
        return "never"

    send(client, "go", CID)
    branch = branch_of(client)
    reply_id = branch[-1]["id"]

    def click(name: str, message_id: str = reply_id) -> dict[str, Any]:
        client.events.clear()
        client.emit(
            "run_action",
            {"conversation_id": CID, "message_id": message_id, "name": name, "messages": branch},
        )
        return client.wait_event("error")

    assert click("shorter")["message"] == "no handler for action 'shorter'"
    assert click("elsewhere")["message"] == "this message has no action 'elsewhere'"
    assert click("elsewhere", "u0")["message"] == "this message has no action 'elsewhere'"
    assert "no such message" in click("elsewhere", "nope")["message"]
    assert not client.named("run_started")


def test_actions_must_be_valid(chat: ChatApp, client: SocketClient) -> None:
    problems: list[str] = []

    @chat.handle_send_message
    def on_message(messages: list[dict[str, Any]]) -> str:
        for actions in ([{"name": "has space", "label": "x"}], [{"name": "a"}], "a"):
            try:
                chat.update_message({"role": "assistant", "content": "x"}, actions=actions)  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                problems.append(str(exc))
        return "ok"

    send(client, "go", CID)
    client.wait_event("run_finished")
    assert len(problems) == 3
    assert problems[0].startswith("actions.0.name: String should match pattern")
    assert problems[1] == "actions.0.label: Field required"
    assert problems[2] == "actions= takes a list of gptchat.Action"
    with pytest.raises(ValueError, match="an action name"):
        chat.handle_action("not ok")


def test_an_action_with_the_server_store(hchat: ChatApp, hserver: str) -> None:
    offer(hchat)

    @hchat.handle_action("shorter")
    def shorter(call: ActionCall) -> str:
        return f"Short: {len(call.messages)} messages"

    tab = user_client(hserver, "alice")
    try:
        send_one(tab, CID, "u1", "go")
        end = tab.wait_event("run_finished")
        (reply_id,) = reply_of(tab, end["run_id"])
        tab.emit(
            "run_action",
            {
                "conversation_id": CID,
                "message_id": reply_id,
                "name": "shorter",
                "parent_id": reply_id,
            },
        )
        tab.wait_for(lambda _: len(tab.named("run_finished")) == 2)
        second = tab.named("run_finished")[-1]
        assert second["status"] == "done"
        assert (
            next(iter(reply_of(tab, second["run_id"]).values()))["content"] == "Short: 2 messages"
        )
        assert tab.named("run_started")[-1]["parent_id"] == reply_id

        # The store's final write follows run_finished (RunRecorder, then Run.kept).
        run = hchat.server.runs.get(CID, "alice")
        assert run is not None and run.run_id == second["run_id"] and run.kept.wait(10)
        store = hchat.store
        assert store is not None
        conversation = store.get("alice", CID)
        assert conversation is not None
        kept = {n.id: n for n in conversation.messages}
        last = conversation.messages[-1]
        assert last.parent_id == reply_id and last.message["content"] == "Short: 2 messages"
        assert kept[reply_id].message["actions"][1]["name"] == "shorter"

        # Another user cannot click alice's buttons.
        bob = user_client(hserver, "bob")
        try:
            bob.emit(
                "run_action",
                {
                    "conversation_id": CID,
                    "message_id": reply_id,
                    "name": "shorter",
                    "parent_id": reply_id,
                },
            )
            assert bob.wait_event("error")["code"] == "not_found"
        finally:
            bob.close()
    finally:
        tab.close()


# -- feedback ---------------------------------------------------------------------------


@pytest.fixture
def heard(chat: ChatApp) -> Iterator[list[Feedback]]:
    got: list[Feedback] = []
    arrived = threading.Condition()

    @chat.handle_feedback
    def on_feedback(feedback: Feedback) -> None:
        with arrived:
            got.append(feedback)
            arrived.notify_all()
        if feedback.comment == "boom":
            raise RuntimeError("a feedback handler that fails")

    yield got


def wait_heard(heard: list[Feedback], count: int) -> None:
    import time

    deadline = time.monotonic() + 5
    while len(heard) < count:
        assert time.monotonic() < deadline, heard
        time.sleep(0.01)


def test_feedback_reaches_the_handler(
    chat: ChatApp, heard: list[Feedback], client: SocketClient
) -> None:
    assert client.named("config")[0]["feedback"] is True

    def rate(rating: str | None, comment: str | None = None) -> None:
        client.emit(
            "feedback",
            {"conversation_id": CID, "message_id": "m1", "rating": rating, "comment": comment},
        )

    # One click at a time: each event of a tab is handled in a thread of its own.
    rate("up")
    wait_heard(heard, 1)
    rate("down", "too long")
    wait_heard(heard, 2)
    rate(None)
    wait_heard(heard, 3)
    rate("up", "boom")  # the handler raises: logged, the server goes on
    wait_heard(heard, 4)
    rate("sideways")
    assert client.wait_event("error")["code"] == "invalid_payload"
    assert heard[0] == Feedback(CID, "m1", "up", None, "local")
    assert [(f.rating, f.comment) for f in heard[1:]] == [
        ("down", "too long"),
        (None, None),
        ("up", "boom"),
    ]
    rate("up")
    wait_heard(heard, 5)


def test_no_thumbs_without_a_feedback_handler_or_store(chat: ChatApp, server: str) -> None:
    client = SocketClient(server)
    try:
        assert client.wait_event("config")["feedback"] is False
    finally:
        client.close()


def test_a_second_app_with_feedback(tmp_path: Any) -> None:
    chat = ChatApp(coalesce_interval=0.0)
    chat.handle_feedback(lambda feedback: None)
    with live_server(chat) as url:
        client = SocketClient(url)
        try:
            assert client.wait_event("config")["feedback"] is True
        finally:
            client.close()
