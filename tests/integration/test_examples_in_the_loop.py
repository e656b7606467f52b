"""The agent-in-the-loop examples, sync and async, run unchanged against the fake OpenAI
server with the real openai client, through a real server on 127.0.0.1 and a real
python-socketio client that answers their questions, approves or denies their email,
clicks their "Draft another" button and rates their reply."""

from __future__ import annotations

import json
import runpy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gptchat
from gptchat import ChatApp
from tests.fake_openai import TOOL_ARGUMENTS, FakeOpenAI
from tests.support import SocketClient, live_server, reply_of, send

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CID = "conv-in-the-loop-01"
EMAIL = TOOL_ARGUMENTS["send_email"]
DRAFT_ANOTHER = {"name": "draft_another", "label": "Draft another"}


@pytest.fixture(params=["agent_in_the_loop", "agent_in_the_loop_async"])
def example(
    request: pytest.FixtureRequest, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> tuple[ChatApp, dict[str, Any]]:
    """The example's app (a fresh ``gptchat.app``) and its module globals."""
    chat = ChatApp(coalesce_interval=0.0)
    monkeypatch.setattr(gptchat, "app", chat)
    module = runpy.run_path(str(EXAMPLES / f"{request.param}.py"), run_name="example")
    return chat, module


@pytest.fixture
def client(example: tuple[ChatApp, dict[str, Any]]) -> Iterator[SocketClient]:
    with live_server(example[0]) as url:
        tab = SocketClient(url)
        try:
            yield tab
        finally:
            tab.close()


def pending(client: SocketClient, kind: str, run: int = 0) -> dict[str, Any]:
    """Wait until the tab's run number ``run`` holds a pending question of ``kind``."""
    found: list[dict[str, Any]] = []

    def has(_: list[tuple[str, Any]]) -> bool:
        runs = client.named("run_started")
        if len(runs) <= run:
            return False
        found[:] = [
            m["ask"]
            for m in reply_of(client, runs[run]["run_id"]).values()
            if m.get("ask", {}).get("status") == "pending" and m["ask"]["kind"] == kind
        ]
        return bool(found)

    client.wait_for(has)
    return found[0]


def answer(client: SocketClient, ask: dict[str, Any], value: Any) -> None:
    client.emit("answer", {"conversation_id": CID, "ask_id": ask["id"], "value": value})


def finished(client: SocketClient, count: int = 1) -> tuple[str, dict[str, dict[str, Any]]]:
    """Wait for the tab's run number ``count`` to end done; its id and messages by id."""
    client.wait_for(lambda _: len(client.named("run_finished")) >= count)
    end = client.named("run_finished")[count - 1]
    assert end["status"] == "done", client.named("error")
    return end["run_id"], reply_of(client, end["run_id"])


def test_the_tone_is_asked_and_the_edited_email_sent_once_approved(
    example: tuple[ChatApp, dict[str, Any]], fake_openai: FakeOpenAI, client: SocketClient
) -> None:
    assert client.wait_event("config")["feedback"] is True  # @app.handle_feedback is there
    send(client, "find_contact Bob, then send_email him about lunch", CID)
    tone = pending(client, "choices")
    assert tone["choices"] == ["Friendly", "Formal", "Short"]
    answer(client, tone, "Friendly")

    approval = pending(client, "approve")
    assert (approval["name"], approval["tool_call_id"]) == ("send_email", "call_fake_2")
    assert json.loads(approval["arguments"]) == EMAIL and approval["editable"] is True
    assert example[1]["OUTBOX"] == []  # nothing sent before the click
    edited = json.dumps({**EMAIL, "to": "carol@example.com"})
    answer(client, approval, {"approved": True, "arguments": edited})

    _, messages = finished(client)
    question, tone_answer, calls, contact, approved, sent, final = messages.values()
    assert (question["content"], question["ask"]["answer"]) == (
        "Which tone should the email have?",
        "Friendly",
    )
    assert tone_answer == {"role": "user", "content": "Friendly"}
    assert [c["function"]["name"] for c in calls["tool_calls"]] == ["find_contact", "send_email"]
    # The safe tool ran without asking; the risky one after the approval, as edited.
    assert contact == {
        "role": "tool",
        "tool_call_id": "call_fake_1",
        "content": json.dumps({"name": "Bob", "email": "bob@example.com"}),
    }
    assert approved["ask"]["status"] == "answered" and approved["content"] == "Send this email?"
    assert sent == {
        "role": "tool",
        "tool_call_id": "call_fake_2",
        "content": json.dumps("Sent to carol@example.com."),
    }
    assert example[1]["OUTBOX"] == [{**EMAIL, "to": "carol@example.com"}]
    assert final["content"].startswith("The tool said: ")
    assert final["actions"] == [DRAFT_ANOTHER]

    first, second = fake_openai.requests
    assert first["messages"][0] == {"role": "system", "content": "Write emails in a Friendly tone."}
    assert first["messages"][-1]["content"].startswith("find_contact Bob")
    # The model's second round: the call as the user left it, both results, no question.
    model_calls = second["messages"][-3]["tool_calls"]
    assert model_calls[1]["function"]["arguments"] == edited
    assert [m["role"] for m in second["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
    ]


def test_a_denied_email_is_not_sent_then_draft_another_and_feedback(
    example: tuple[ChatApp, dict[str, Any]],
    fake_openai: FakeOpenAI,
    client: SocketClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outbox = example[1]["OUTBOX"]
    send(client, "send_email to Bob about lunch", CID)
    answer(client, pending(client, "choices"), "Formal")
    approval = pending(client, "approve")
    answer(
        client,
        approval,
        {"approved": False, "arguments": approval["arguments"], "reason": "Not now"},
    )
    run_id, messages = finished(client)
    assert outbox == []
    denial = "The user denied this call; it was not run. Their reason: Not now"
    *_, denied, final = messages.values()
    assert denied == {"role": "tool", "tool_call_id": "call_fake_1", "content": denial}
    assert fake_openai.requests[1]["messages"][-1] == denied  # the model hears why
    assert final["content"] == f"The tool said: `{denial}`"
    assert final["actions"] == [DRAFT_ANOTHER]

    # "Draft another", from the branch the browser shows: another tone, approved as is.
    branch = [{"id": "u0", "message": {"role": "user", "content": "send_email to Bob about lunch"}}]
    branch += [{"id": mid, "message": m} for mid, m in messages.items()]
    final_id = branch[-1]["id"]
    client.emit(
        "run_action",
        {
            "conversation_id": CID,
            "message_id": final_id,
            "name": "draft_another",
            "messages": branch,
        },
    )
    answer(client, pending(client, "choices", run=1), "Short")
    again = pending(client, "approve", run=1)
    answer(client, again, {"approved": True, "arguments": again["arguments"]})
    _, messages = finished(client, 2)
    assert client.named("run_started")[1]["parent_id"] == final_id
    assert outbox == [EMAIL]
    assert list(messages.values())[-1]["actions"] == [DRAFT_ANOTHER]
    third = fake_openai.requests[2]["messages"]
    assert third[0] == {"role": "system", "content": "Write emails in a Short tone."}
    assert third[-1]["content"].startswith("Write another version of that email")
    # What the model got of the first reply: OpenAI messages, no question, no buttons.
    assert not any("ask" in m or "actions" in m for m in third)
    assert denied in third

    # A thumbs down with a comment, then taken back: the example's handler prints each.
    capsys.readouterr()
    for rating, comment in [("down", "Too stiff"), (None, None)]:
        client.emit(
            "feedback",
            {"conversation_id": CID, "message_id": final_id, "rating": rating, "comment": comment},
        )
    printed = wait_printed(capsys, 2)
    assert sorted(printed) == sorted(
        [
            f"feedback from local on {final_id}: down (Too stiff)",
            f"feedback from local on {final_id}: taken back",
        ]
    )
    assert run_id and not client.named("error")


def wait_printed(capsys: pytest.CaptureFixture[str], count: int) -> list[str]:
    """The lines printed (by handlers in threads of their own) once there are ``count``."""
    lines: list[str] = []
    deadline = time.monotonic() + 10
    while len(lines) < count:
        assert time.monotonic() < deadline, lines
        lines += capsys.readouterr().out.splitlines()
        time.sleep(0.01)
    return lines
