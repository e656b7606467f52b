"""A handler asks its user and waits: text, choices, forms and approvals, through a real
server on 127.0.0.1 and real python-socketio clients (browser-kept history, except where a
test names a store). Each answer is checked as the handler gets it and as the next model
call would see it."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from gptchat import Approval, AskTimeout, ChatApp, StopGeneration
from tests.support import SocketClient, live_server, reply_of, send, user_client

CID = "conv-asks-0001"
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "send_email", "arguments": '{"to": "bob@example.com", "body": "Hi"}'},
}


class Trip(BaseModel):
    city: Literal["Paris", "Rome"]
    nights: int = Field(ge=1, le=30, title="Nights")
    museum_pass: bool = False
    note: str | None = None


def run_messages(client: SocketClient, timeout: float = 10) -> tuple[str, dict[str, Any]]:
    """The id and the messages so far of the tab's newest run."""
    started = client.wait_event("run_started", timeout)
    return started["run_id"], reply_of(client, started["run_id"])


def pending_ask(client: SocketClient, timeout: float = 10) -> dict[str, Any]:
    """Wait until the tab's run holds a pending question; its ``ask``."""
    found: list[dict[str, Any]] = []

    def has_pending(_: list[tuple[str, Any]]) -> bool:
        runs = client.named("run_started")
        if not runs:
            return False
        messages = reply_of(client, runs[-1]["run_id"])
        found[:] = [
            m["ask"] for m in messages.values() if m.get("ask", {}).get("status") == "pending"
        ]
        return bool(found)

    client.wait_for(has_pending, timeout)
    return found[0]


def answer(client: SocketClient, ask_id: str, value: Any, cid: str = CID) -> None:
    client.emit("answer", {"conversation_id": cid, "ask_id": ask_id, "value": value})


def finished(client: SocketClient, timeout: float = 10) -> tuple[dict[str, Any], list[Any]]:
    """The run's end and its messages in order."""
    end = client.wait_event("run_finished", timeout)
    return end, list(reply_of(client, end["run_id"]).values())


def error_of(client: SocketClient, timeout: float = 5) -> dict[str, Any]:
    return client.wait_event("error", timeout)


@pytest.fixture
def got() -> list[Any]:
    """What the handler's asks returned, or the exception they raised, in order."""
    return []


@pytest.fixture
def seen(chat: ChatApp) -> list[list[dict[str, Any]]]:
    """The conversations handlers were given."""
    return []


def handler_asking(chat: ChatApp, got: list[Any], seen: list[Any], ask: Callable[[], Any]) -> None:
    @chat.handle_send_message
    def on_message(messages: list[dict[str, Any]]) -> str:
        seen.append(messages)
        if messages[-1]["content"] != "go":
            return "no question"
        try:
            value = ask()
        except (AskTimeout, StopGeneration) as exc:
            got.append(exc)
            raise
        got.append(value)
        return f"Got {value!r}"


def test_text_question_answered_becomes_a_user_message(
    chat: ChatApp, got: list[Any], seen: list[Any], client: SocketClient
) -> None:
    handler_asking(chat, got, seen, lambda: chat.ask("Which **city**?", placeholder="A city"))
    send(client, "go", CID)
    ask = pending_ask(client)
    assert ask["kind"] == "text" and ask["placeholder"] == "A city"
    answer(client, ask["id"], "  Lyon ")
    end, messages = finished(client)
    assert end["status"] == "done"
    assert got == ["Lyon"]
    question, reply_to, final = messages
    assert question["content"] == "Which **city**?"
    assert question["ask"]["status"] == "answered" and question["ask"]["answer"] == "Lyon"
    assert reply_to == {"role": "user", "content": "Lyon"}
    assert final["content"] == "Got 'Lyon'"

    # The next turn hands the model the question and the answer, in plain OpenAI format.
    history = [{"id": "u0", "message": {"role": "user", "content": "go"}}]
    history += [{"id": f"m{i}", "message": m} for i, m in enumerate(messages)]
    send(client, "thanks", CID, history)
    client.wait_for(lambda _: len(client.named("run_finished")) == 2)
    assert seen[-1][1] == {"role": "assistant", "content": "Which **city**?"}
    assert seen[-1][2] == {"role": "user", "content": "Lyon"}
    assert all("ask" not in m for m in seen[-1])


def test_choices_refuse_another_value_and_keep_the_question(
    chat: ChatApp, got: list[Any], seen: list[Any], client: SocketClient
) -> None:
    handler_asking(chat, got, seen, lambda: chat.ask("Where?", choices=["Paris", "Rome"]))
    send(client, "go", CID)
    ask = pending_ask(client)
    assert ask["choices"] == ["Paris", "Rome"]
    answer(client, ask["id"], "Oslo")
    error = error_of(client)
    assert error["code"] == "invalid_payload" and "'Paris', 'Rome'" in error["message"]
    assert error["conversation_id"] == CID
    assert pending_ask(client)["id"] == ask["id"]  # still waiting
    answer(client, ask["id"], "Rome")
    end, messages = finished(client)
    assert end["status"] == "done" and got == ["Rome"]
    assert messages[1] == {"role": "user", "content": "Rome"}
    answer(client, ask["id"], "Paris")  # too late: the first answer counted
    assert client.wait_event("error", code="not_found")["conversation_id"] == CID


def test_form_of_a_pydantic_model_is_validated_into_the_model(
    chat: ChatApp, got: list[Any], seen: list[Any], client: SocketClient
) -> None:
    handler_asking(chat, got, seen, lambda: chat.ask("Plan the trip", form=Trip))
    send(client, "go", CID)
    ask = pending_ask(client)
    fields = {f["name"]: f for f in ask["fields"]}
    assert fields["city"]["type"] == "select" and fields["city"]["options"] == ["Paris", "Rome"]
    assert fields["nights"] == {
        "name": "nights",
        "label": "Nights",
        "type": "integer",
        "required": True,
        "minimum": 1,
        "maximum": 30,
    }
    assert fields["museum_pass"]["type"] == "checkbox" and not fields["museum_pass"]["required"]
    assert fields["note"]["type"] == "text" and not fields["note"]["required"]

    answer(client, ask["id"], {"city": "Rome", "nights": 99})
    error = error_of(client)
    assert error["code"] == "invalid_payload" and error["message"].startswith("answer: nights:")
    answer(client, ask["id"], {"city": "Rome", "nights": 3, "extra": 1})
    assert "extra: not a field" in wait_errors(client, 2)[-1]["message"]

    answer(client, ask["id"], {"city": "Rome", "nights": 3, "museum_pass": True})
    end, messages = finished(client)
    assert end["status"] == "done"
    assert got == [Trip(city="Rome", nights=3, museum_pass=True)]
    assert messages[1]["content"] == "City: Rome\nNights: 3\nMuseum Pass: yes"
    assert messages[0]["ask"]["answer"] == {
        "city": "Rome",
        "nights": 3,
        "museum_pass": True,
        "note": None,
    }


def wait_errors(client: SocketClient, count: int) -> list[dict[str, Any]]:
    client.wait_for(lambda _: len(client.named("error")) >= count)
    return client.named("error")


def test_form_of_a_json_schema_gives_a_dict(
    chat: ChatApp, got: list[Any], seen: list[Any], client: SocketClient
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "title": "Your name"},
            "age": {"type": "number", "minimum": 0},
            "size": {"type": "string", "enum": ["S", "M", "L"]},
        },
        "required": ["name", "size"],
    }
    handler_asking(chat, got, seen, lambda: chat.ask("About you", form=schema))
    send(client, "go", CID)
    ask = pending_ask(client)
    assert [f["label"] for f in ask["fields"]] == ["Your name", "Age", "Size"]
    answer(client, ask["id"], {"name": "Ada", "size": "XL"})
    assert error_of(client)["message"].startswith("answer: size:")
    answer(client, ask["id"], {"name": "Ada", "size": "M", "age": "36"})
    finished(client)
    assert got == [{"name": "Ada", "age": 36.0, "size": "M"}]


def test_form_with_an_unsupported_field_is_refused_at_the_ask(chat: ChatApp) -> None:
    class Bad(BaseModel):
        tags: list[str]

    with pytest.raises(ValueError, match="'tags': type 'array' is not supported"):
        from gptchat._forms import Form

        Form(Bad)


def confirm_handler(chat: ChatApp, got: list[Any], **options: Any) -> None:
    @chat.handle_send_message
    def on_message(messages: list[dict[str, Any]]) -> Any:
        got.append(messages)
        if messages[-1].get("content") != "go":
            return "ok"
        chat.update_message({"role": "assistant", "content": None, "tool_calls": [CALL]})
        decision = chat.confirm(CALL, **options)
        got.append(decision)
        if decision.approved:
            chat.update_message(
                {
                    "role": "tool",
                    "tool_call_id": "call_1",
                    "content": f"sent to {decision.args['to']}",
                }
            )
        return "Done." if decision.approved else "I did not send it."


def test_approval_with_edited_arguments_reaches_the_model_as_edited(
    chat: ChatApp, got: list[Any], client: SocketClient
) -> None:
    confirm_handler(chat, got, prompt="Send this email?")
    send(client, "go", CID)
    ask = pending_ask(client)
    assert ask["kind"] == "approve" and ask["tool_call_id"] == "call_1"
    assert ask["name"] == "send_email" and ask["editable"] is True
    assert json.loads(ask["arguments"]) == {"to": "bob@example.com", "body": "Hi"}

    answer(client, ask["id"], {"approved": True, "arguments": "{not json"})
    assert "answer.arguments: not valid JSON" in error_of(client)["message"]
    edited = '{"to": "carol@example.com", "body": "Hi"}'
    answer(client, ask["id"], {"approved": True, "arguments": edited})
    end, messages = finished(client)
    assert end["status"] == "done"
    decision = got[1]
    assert isinstance(decision, Approval) and decision.approved
    assert decision.args == {"to": "carol@example.com", "body": "Hi"}
    call_message, approval, result, final = messages
    assert call_message["tool_calls"][0]["id"] == "call_1"
    assert final["content"] == "Done."
    assert approval["content"] == "Send this email?"
    assert approval["ask"]["answer"] == {"approved": True, "arguments": edited}
    assert result == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "sent to carol@example.com",
    }

    history = [{"id": "u0", "message": {"role": "user", "content": "go"}}]
    history += [{"id": f"m{i}", "message": m} for i, m in enumerate(messages)]
    send(client, "next", CID, history)
    client.wait_for(lambda _: len(client.named("run_finished")) == 2)
    model_input = got[-1]
    # No approval message; the call carries the arguments the user left.
    assert [m["role"] for m in model_input] == ["user", "assistant", "tool", "assistant", "user"]
    assert model_input[1]["tool_calls"][0]["function"]["arguments"] == edited


def test_denied_call_gets_a_result_saying_so(
    chat: ChatApp, got: list[Any], client: SocketClient
) -> None:
    confirm_handler(chat, got, editable=False)
    send(client, "go", CID)
    ask = pending_ask(client)
    assert ask["editable"] is False
    answer(client, ask["id"], {"approved": True, "arguments": '{"to": "eve@example.com"}'})
    assert "may not be edited" in error_of(client)["message"]
    answer(
        client,
        ask["id"],
        {"approved": False, "arguments": CALL["function"]["arguments"], "reason": "wrong person"},
    )
    _, messages = finished(client)
    assert got[1].approved is False
    assert got[1].tool_call_id == "call_1" and got[1].result == messages[2]
    assert messages[2] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "The user denied this call; it was not run. Their reason: wrong person",
    }
    assert messages[3]["content"] == "I did not send it."


def test_stop_while_waiting_cancels_the_question(
    chat: ChatApp, got: list[Any], seen: list[Any], client: SocketClient
) -> None:
    handler_asking(chat, got, seen, lambda: chat.ask("Which city?"))
    send(client, "go", CID)
    ask = pending_ask(client)
    client.emit("stop", {"conversation_id": CID})
    end, messages = finished(client)
    assert end["status"] == "stopped"
    assert isinstance(got[0], StopGeneration)
    assert messages[0]["ask"]["status"] == "cancelled"
    answer(client, ask["id"], "Lyon")
    assert error_of(client)["code"] == "not_found"


def test_timeout_expires_the_question_and_the_handler_goes_on(
    chat: ChatApp, client: SocketClient
) -> None:
    @chat.handle_send_message
    def on_message(messages: list[dict[str, Any]]) -> str:
        try:
            city = chat.ask("Which city?", timeout=0.3)
        except AskTimeout:
            city = "Paris (no answer)"
        return f"Going to {city}"

    send(client, "go", CID)
    end, messages = finished(client)
    assert end["status"] == "done"
    assert messages[0]["ask"]["status"] == "expired"
    assert messages[0]["ask"]["expires_at"] > time.time() - 5
    assert messages[1]["content"] == "Going to Paris (no answer)"


def test_waiting_is_not_the_handler_going_silent() -> None:
    chat = ChatApp(coalesce_interval=0.0, reconnect_grace=1.0, handler_timeout=0.3)

    @chat.handle_send_message
    def on_message(messages: list[dict[str, Any]]) -> str:
        return "Got " + chat.ask("Which city?")

    with live_server(chat) as url:
        client = SocketClient(url)
        try:
            send(client, "go", CID)
            ask = pending_ask(client)
            time.sleep(0.8)  # longer than handler_timeout: the wait does not count
            answer(client, ask["id"], "Rome")
            end, messages = finished(client)
            assert end["status"] == "done" and messages[-1]["content"] == "Got Rome"
        finally:
            client.close()


def test_reconnect_shows_the_pending_question_and_takes_its_answer(
    chat: ChatApp, got: list[Any], seen: list[Any], server: str
) -> None:
    handler_asking(chat, got, seen, lambda: chat.ask("Which city?", choices=["Paris", "Rome"]))
    first = SocketClient(server)
    send(first, "go", CID)
    ask = pending_ask(first)
    first.close()
    again = SocketClient(server)  # same browser (client key), a reload
    try:
        again.emit("resume", {"conversation_id": CID})
        snapshot = again.wait_event("run_snapshot")
        assert snapshot["status"] == "running"
        (question,) = [m for m in snapshot["messages"] if "ask" in m["message"]]
        assert question["message"]["ask"] == ask
        answer(again, ask["id"], "Paris")
        end = again.wait_event("run_finished")
        assert end["status"] == "done" and got == ["Paris"]
    finally:
        again.close()


def test_another_browser_cannot_answer(
    chat: ChatApp, got: list[Any], seen: list[Any], client: SocketClient, server: str
) -> None:
    handler_asking(chat, got, seen, lambda: chat.ask("Which city?"))
    send(client, "go", CID)
    ask = pending_ask(client)
    other = SocketClient(server, client_key="another-browser-key-0123456789")
    try:
        answer(other, ask["id"], "Lyon")
        assert other.wait_event("error")["code"] == "not_found"
    finally:
        other.close()
    assert pending_ask(client)["status"] == "pending"
    answer(client, "ask_unknown", "Lyon")
    assert error_of(client)["code"] == "not_found"
    answer(client, ask["id"], "Lyon")
    assert finished(client)[0]["status"] == "done" and got == ["Lyon"]


def test_async_handler_awaits_ask_and_confirm(chat: ChatApp, client: SocketClient) -> None:
    decisions: list[Any] = []

    @chat.handle_send_message
    async def on_message(messages: list[dict[str, Any]]) -> str:
        await asyncio.sleep(0)
        city = await chat.ask("Which city?", choices=["Paris", "Rome"])
        chat.update_message({"role": "assistant", "content": None, "tool_calls": [CALL]})
        decision = await chat.confirm(CALL)
        decisions.append(decision)
        return f"{city}: {'sent' if decision.approved else 'not sent'}"

    send(client, "go", CID)
    answer(client, pending_ask(client)["id"], "Rome")
    client.wait_for(
        lambda _: any(
            a.get("kind") == "approve" and a.get("status") == "pending"
            for a in [pending_ask_or_none(client)]
        )
    )
    answer(client, pending_ask(client)["id"], {"approved": False, "arguments": "{}"})
    end, messages = finished(client)
    assert end["status"] == "done", end
    assert messages[-1]["content"] == "Rome: not sent"
    assert decisions[0].approved is False


def pending_ask_or_none(client: SocketClient) -> dict[str, Any]:
    runs = client.named("run_started")
    if not runs:
        return {}
    for message in reply_of(client, runs[-1]["run_id"]).values():
        if message.get("ask", {}).get("status") == "pending":
            return message["ask"]
    return {}


def test_async_stop_while_awaiting_cancels(chat: ChatApp, client: SocketClient) -> None:
    stopped = threading.Event()

    @chat.handle_send_message
    async def on_message(messages: list[dict[str, Any]]) -> str:
        try:
            return await chat.ask("Which city?")
        except (asyncio.CancelledError, StopGeneration):
            stopped.set()
            raise

    send(client, "go", CID)
    pending_ask(client)
    client.emit("stop", {"conversation_id": CID})
    end, messages = finished(client)
    assert end["status"] == "stopped" and stopped.is_set()
    assert messages[0]["ask"]["status"] == "cancelled"


def test_bad_arguments_to_ask_and_confirm(chat: ChatApp, client: SocketClient) -> None:
    problems: list[str] = []

    @chat.handle_send_message
    def on_message(messages: list[dict[str, Any]]) -> str:
        for attempt in (
            lambda: chat.ask(""),
            lambda: chat.ask("?", choices=[]),
            lambda: chat.ask("?", choices=["a", "a"]),
            lambda: chat.ask("?", choices=["a"], form=Trip),
            lambda: chat.ask("?", timeout=0),
            lambda: chat.confirm({"id": "x"}),
        ):
            try:
                attempt()
            except (TypeError, ValueError) as exc:
                problems.append(str(exc))
        return "checked"

    send(client, "go", CID)
    assert finished(client)[0]["status"] == "done"
    assert len(problems) == 6
    assert "confirm() takes a tool call" in problems[-1]


# -- with the server's store: tabs of one user ---------------------------------------------


@pytest.fixture
def two_tabs(hchat: ChatApp, hserver: str) -> Iterator[tuple[SocketClient, SocketClient]]:
    a, b = user_client(hserver, "alice", 0), user_client(hserver, "alice", 1)
    yield a, b
    a.close()
    b.close()


def test_two_tabs_first_answer_counts_and_other_users_are_refused(
    hchat: ChatApp, hserver: str, two_tabs: tuple[SocketClient, SocketClient]
) -> None:
    got: list[str] = []

    @hchat.handle_send_message
    def on_message(messages: list[dict[str, Any]]) -> str:
        got.append(hchat.ask("Which city?", choices=["Paris", "Rome"]))
        return "Going to " + got[-1]

    a, b = two_tabs
    a.emit(
        "send_message",
        {
            "conversation_id": CID,
            "messages": [{"id": "u1", "message": {"role": "user", "content": "go"}}],
            "parent_id": None,
        },
    )
    ask = pending_ask(a)
    # The other tab opens the conversation: the question is there, live.
    b.emit("open_conversation", {"conversation_id": CID})
    snapshot = b.wait_event("run_snapshot")
    asks = [m["message"]["ask"] for m in snapshot["messages"] if "ask" in m["message"]]
    assert asks == [ask]

    mallory = user_client(hserver, "mallory", 0)
    try:
        answer(mallory, ask["id"], "Rome")
        assert mallory.wait_event("error")["code"] == "not_found"
    finally:
        mallory.close()

    answer(b, ask["id"], "Rome")
    # The run's tab hears of the answer given in the other tab; its own comes too late.
    a.wait_for(lambda _: not pending_ask_or_none(a) and len(a.named("message_delta")) >= 3)
    answer(a, ask["id"], "Paris")
    assert a.wait_event("error")["code"] == "not_found"
    end = a.wait_event("run_finished")
    assert end["status"] == "done" and got == ["Rome"]
    # The tab that answered saw the rest of the reply live, as the first one did.
    assert b.wait_event("run_finished") == end
    assert reply_of(b, end["run_id"]) == reply_of(a, end["run_id"])

    # run_finished is sent when the run ends; its final write to the store comes after
    # (RunRecorder, then Run.kept): what the store has now may be a checkpoint.
    run = hchat.server.runs.get(CID, "alice")
    assert run is not None and run.run_id == end["run_id"] and run.kept.wait(10)
    store = hchat.store
    assert store is not None
    conversation = store.get("alice", CID)
    assert conversation is not None
    kept = [n.message for n in conversation.messages]
    assert kept[-3]["ask"]["status"] == "answered"
    assert kept[-2] == {"role": "user", "content": "Rome"}
    assert kept[-1]["content"] == "Going to Rome"
