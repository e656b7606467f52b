"""The offline demo through a real server and a real Socket.IO client: each starter prompt
shows what it names, typed text gets a reply of its own, Stop works in every reply."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from gptchat import ChatApp, demo
from gptchat.demo import DEMO_CONFIG, PROMPTS, demo_handler, pick_reply
from tests.support import SocketClient, fold_messages, send

Reply = tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]


@pytest.fixture
def demo_chat(chat: ChatApp) -> ChatApp:
    chat.set_config(DEMO_CONFIG)
    chat.handle_send_message(demo_handler(chat, delay=0))
    return chat


def ask(client: SocketClient, text: str, conversation_id: str) -> Reply:
    """Send ``text`` (again, for a retry) and wait for its run to end.

    Returns the run's ``run_finished``, its folded messages, and its raw delta events.
    """
    before = len(client.named("run_started"))
    send(client, text, conversation_id=conversation_id)
    client.wait_for(lambda _: len(client.named("run_started")) > before)
    run_id = client.named("run_started")[before]["run_id"]
    finished = client.wait_event("run_finished", timeout=30, run_id=run_id)
    events = [d for d in client.named("message_delta") if d["run_id"] == run_id]
    return finished, list(fold_messages(events).values()), events


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["content"] for m in messages if isinstance(m.get("content"), str))


def table_rows(markdown: str) -> int:
    """Body rows of the markdown tables in ``markdown``."""
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    separators = [line for line in rows if re.fullmatch(r"\|[\s:|-]+\|", line)]
    return len(rows) - 2 * len(separators)  # each table has a header and a separator


def test_code_prompt_shows_fenced_code_in_five_languages_with_prose(
    client: SocketClient, demo_chat: ChatApp
) -> None:
    finished, messages, _ = ask(client, PROMPTS["code"], "conv-code")
    assert finished["status"] == "done"
    (reply,) = messages
    text = reply["content"]
    fences = re.findall(r"^```(\w+)$", text, re.M)
    assert set(fences) == {"python", "typescript", "bash", "sql", "rust"}
    assert "def top_words(" in text and "fn main()" in text and "GROUP BY word" in text
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    assert len(prose.split()) > 80 and "## Rust" in prose


def test_math_prompt_shows_inline_and_display_math_with_a_proof(
    client: SocketClient, demo_chat: ChatApp
) -> None:
    _, (reply,), _ = ask(client, PROMPTS["math"], "conv-math")
    text = reply["content"]
    display = re.findall(r"^\$\$\n(.*?)\n\$\$$", text, re.M | re.S)
    assert display[0] == "a^2 + b^2 = c^2"
    assert any("\\begin{aligned}" in block for block in display)
    assert "$c^2 = a^2 + b^2 - 2ab\\cos\\gamma$" in text  # inline
    assert "proof" in text.lower()


def test_table_prompt_shows_a_table_of_26_rows(client: SocketClient, demo_chat: ChatApp) -> None:
    _, (reply,), _ = ask(client, PROMPTS["table"], "conv-table")
    text = reply["content"]
    assert table_rows(text) == 26
    assert "| 1 | **H** | Hydrogen |" in text and "| 26 | **Fe** | Iron |" in text


def test_weather_prompt_makes_parallel_tool_calls_then_answers_from_their_results(
    client: SocketClient, demo_chat: ChatApp
) -> None:
    finished, messages, events = ask(client, PROMPTS["weather"], "conv-weather")
    assert finished["status"] == "done"
    call_message, *results, answer = messages
    calls = call_message["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather"] * 3
    args = [c["function"]["arguments"] for c in calls]
    cities = ("Paris", "Tokyo", "New York")
    assert args == [f'{{"city": "{city}", "unit": "celsius"}}' for city in cities]
    # Each call has its result, as a tool message answering its id.
    assert [r["role"] for r in results] == ["tool"] * 3
    assert [r["tool_call_id"] for r in results] == [c["id"] for c in calls]
    assert '"sky": "light rain"' in results[1]["content"]
    # The arguments streamed in pieces, the calls' pieces interleaved, as OpenAI sends them.
    first = events[0]["message_id"]
    indexes = [
        call["index"]
        for e in events
        if e["message_id"] == first
        for d in e["deltas"]
        for call in d.get("tool_calls", [])
    ]
    assert len(indexes) > 20 and indexes[:4] == [0, 1, 2, 0]
    # The answer uses the results.
    assert "| Tokyo | 24 °C | light rain |" in answer["content"]
    assert "**Tokyo** is the warmest" in answer["content"]


def test_weather_in_a_city_the_user_names_comes_first(
    client: SocketClient, demo_chat: ChatApp
) -> None:
    _, (call_message, *_), _ = ask(client, "What's the weather in London?", "conv-london")
    args = [c["function"]["arguments"] for c in call_message["tool_calls"]]
    assert '"London"' in args[0] and len(args) == 3


def test_think_prompt_streams_reasoning_first_then_the_answer(
    client: SocketClient, demo_chat: ChatApp
) -> None:
    _, (reply,), events = ask(client, PROMPTS["think"], "conv-think")
    assert "12/11 hours" in reply["reasoning_content"]
    assert "**22 times a day**" in reply["content"]
    keys = [key for e in events for d in e["deltas"] for key in d if key != "role"]
    assert keys.index("content") > keys.index("reasoning_content")
    assert "reasoning_content" not in keys[keys.index("content") :]


def test_image_prompt_shows_an_inline_svg_image(client: SocketClient, demo_chat: ChatApp) -> None:
    _, (reply,), _ = ask(client, PROMPTS["image"], "conv-image")
    image = r"!\[([^\]]+)\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)"
    found = re.search(image, reply["content"])
    assert found is not None
    assert "lighthouse" in found.group(1)
    svg = base64.b64decode(found.group(2)).decode()
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert len(found.group(0)) < 4000  # small


def test_long_prompt_streams_thousands_of_tokens_of_structured_prose(
    client: SocketClient, demo_chat: ChatApp
) -> None:
    _, (reply,), events = ask(client, PROMPTS["long"], "conv-long")
    text = reply["content"]
    assert len(text) > 8000
    assert len(re.findall(r"^## ", text, re.M)) >= 10
    assert len(re.findall(r"^(?:- |\d+\. )", text, re.M)) >= 20
    assert sum(e["count"] for e in events) > 2000  # it streamed, token by token


def test_error_prompt_fails_once_then_its_retry_succeeds(
    client: SocketClient, demo_chat: ChatApp
) -> None:
    finished, messages, _ = ask(client, PROMPTS["error"], "conv-error")
    assert finished["status"] == "error"
    assert finished["error"].startswith("ConnectionError: ")
    assert "press Retry" in finished["error"]
    assert text_of(messages).startswith("Let me ask")  # a little text came first
    # Retry sends the same conversation again.
    finished, messages, _ = ask(client, PROMPTS["error"], "conv-error")
    assert finished["status"] == "done"
    assert text_of(messages).startswith("Second time lucky")
    # Another conversation fails first too.
    assert ask(client, PROMPTS["error"], "conv-error-2")[0]["status"] == "error"


def test_failed_turns_are_remembered_up_to_a_bound(
    client: SocketClient, demo_chat: ChatApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "_MAX_REMEMBERED_FAILURES", 2)
    for conversation in ("conv-bound-a", "conv-bound-b", "conv-bound-c"):
        assert ask(client, PROMPTS["error"], conversation)[0]["status"] == "error"
    # The oldest turn was forgotten: its retry fails again; the newest one's succeeds.
    assert ask(client, PROMPTS["error"], "conv-bound-c")[0]["status"] == "done"
    assert ask(client, PROMPTS["error"], "conv-bound-a")[0]["status"] == "error"


def test_free_text_is_quoted_and_pointed_at_the_prompts(
    client: SocketClient, demo_chat: ChatApp
) -> None:
    _, (reply,), _ = ask(client, "What is the capital of Peru?", "conv-free")
    text = reply["content"]
    assert text.startswith("You wrote: “What is the capital of Peru\\?”")
    for prompt in PROMPTS.values():
        assert f"**{prompt}**" in text
    assert "OPENAI_API_KEY" in text


def test_quoted_text_is_short_and_cannot_open_markup(
    client: SocketClient, demo_chat: ChatApp
) -> None:
    typed = "```js\n$x$ <b>hi</b> [a](vbscript:alert(1)) " + "very " * 60
    _, (reply,), _ = ask(client, typed, "conv-markup")
    quoted = reply["content"].split("\n")[0]
    # Every mark escaped: "```" opens no code block, "$x$" no math, "<b>" no tag.
    escaped = r"\`\`\`js \$x\$ \<b\>hi\<\/b\> \[a\]\(vbscript\:alert\(1\)\) very"
    assert quoted.startswith(f"You wrote: “{escaped}")
    assert quoted.endswith(" very…”") and len(quoted) < 200  # on one line, cut short
    assert reply["content"].count("```") == 2  # only the snippet's fence


def test_different_prompts_get_different_replies(client: SocketClient, demo_chat: ChatApp) -> None:
    replies = {}
    for kind in ("code", "math", "table", "long"):
        replies[kind] = text_of(ask(client, PROMPTS[kind], f"conv-diff-{kind}")[1])
    replies["free"] = text_of(ask(client, "hello there", "conv-diff-free")[1])
    assert len(set(replies.values())) == len(replies)


def test_typed_text_matches_by_keyword() -> None:
    assert pick_reply("show me some python") == "code"
    assert pick_reply("Explain the Pythagorean theorem") == "math"
    assert pick_reply("What's the weather in Paris?") == "weather"
    assert pick_reply("make a long table") == "table"
    assert pick_reply("can you reason about this") == "think"
    assert pick_reply("draw me a picture") == "image"
    assert pick_reply("write something long") == "long"
    assert pick_reply("show me an error") == "error"
    assert pick_reply("hello") is None
    assert pick_reply("  Fail, then retry ") == "error"


@pytest.mark.parametrize("kind", [*PROMPTS, "free"])
def test_stop_ends_every_reply(chat: ChatApp, client: SocketClient, kind: str) -> None:
    chat.set_config(DEMO_CONFIG)
    chat.handle_send_message(demo_handler(chat, delay=0.02))
    conversation = f"conv-stop-{kind}"
    send(client, PROMPTS.get(kind, "hello"), conversation_id=conversation)
    client.wait_event("message_delta", conversation_id=conversation)
    client.emit("stop", {"conversation_id": conversation})
    # Every reply lasts seconds at this pace: "stopped", not "done", means Stop cut it short.
    finished = client.wait_event("run_finished", conversation_id=conversation)
    assert finished["status"] == "stopped"


def test_pace_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GPTCHAT_DEMO_PACE", "0")
    assert demo.pace_from_env() == 0
    monkeypatch.setenv("GPTCHAT_DEMO_PACE", "0.02")
    assert demo.pace_from_env() == 0.02
    for bad in ("fast", "-1", "nan"):
        monkeypatch.setenv("GPTCHAT_DEMO_PACE", bad)
        assert demo.pace_from_env() == demo.DEFAULT_PACE
        assert f"ignoring GPTCHAT_DEMO_PACE='{bad}'" in caplog.text
    monkeypatch.delenv("GPTCHAT_DEMO_PACE")
    assert demo.pace_from_env() == demo.DEFAULT_PACE


def pending(client: SocketClient, kind: str, run_id: str | None = None) -> dict[str, Any]:
    """Wait for the tab's newest run to ask a question of ``kind``; its ``ask``."""
    found: list[dict[str, Any]] = []

    def asked(_: list[tuple[str, Any]]) -> bool:
        runs = client.named("run_started")
        rid = run_id or (runs[-1]["run_id"] if runs else None)
        events = [d for d in client.named("message_delta") if d["run_id"] == rid]
        found[:] = [
            m["ask"]
            for m in fold_messages(events).values()
            if m.get("ask", {}).get("kind") == kind and m["ask"]["status"] == "pending"
        ]
        return bool(found)

    client.wait_for(asked, timeout=10)
    return found[0]


def test_agent_asks_then_asks_approval_before_it_acts(
    client: SocketClient, demo_chat: ChatApp
) -> None:
    cid = "conv-agent"
    send(client, PROMPTS["agent"], conversation_id=cid)
    question = pending(client, "choices")
    assert question["choices"] == list(demo.content.AGENT_PEOPLE)
    client.emit(
        "answer", {"conversation_id": cid, "ask_id": question["id"], "value": "Grace Hopper"}
    )
    approval = pending(client, "approve")
    assert approval["name"] == "send_email" and approval["editable"] is True
    arguments = json.loads(approval["arguments"])
    assert arguments["to"] == "grace@example.com"
    arguments["to"] = "grace.hopper@example.com"  # edited before approving
    client.emit(
        "answer",
        {
            "conversation_id": cid,
            "ask_id": approval["id"],
            "value": {"approved": True, "arguments": json.dumps(arguments)},
        },
    )
    finished = client.wait_event("run_finished", conversation_id=cid)
    assert finished["status"] == "done"
    events = [d for d in client.named("message_delta") if d["run_id"] == finished["run_id"]]
    messages = list(fold_messages(events).values())
    assert [m["role"] for m in messages] == [
        "assistant",  # the question
        "user",  # its answer
        "assistant",  # the tool call
        "assistant",  # the approval request
        "tool",
        "assistant",
    ]
    assert json.loads(messages[4]["content"])["to"] == "grace.hopper@example.com"
    assert "grace.hopper@example.com" in messages[5]["content"]
    assert messages[5]["actions"] == [{"name": demo.ANOTHER, "label": "Send another"}]

    # "Send another" runs the agent again, as a reply of its own; this time, denied.
    branch = [{"id": "u0", "message": {"role": "user", "content": PROMPTS["agent"]}}]
    branch += [{"id": mid, "message": m} for mid, m in fold_messages(events).items()]
    client.emit(
        "run_action",
        {
            "conversation_id": cid,
            "message_id": branch[-1]["id"],
            "name": demo.ANOTHER,
            "messages": branch,
        },
    )
    client.wait_for(lambda _: len(client.named("run_started")) == 2)
    second = client.named("run_started")[-1]["run_id"]
    question = pending(client, "choices", second)
    client.emit(
        "answer", {"conversation_id": cid, "ask_id": question["id"], "value": "Alan Turing"}
    )
    approval = pending(client, "approve", second)
    client.emit(
        "answer",
        {
            "conversation_id": cid,
            "ask_id": approval["id"],
            "value": {"approved": False, "arguments": approval["arguments"]},
        },
    )
    finished = client.wait_event("run_finished", run_id=second)
    events = [d for d in client.named("message_delta") if d["run_id"] == second]
    messages = list(fold_messages(events).values())
    assert messages[-2]["role"] == "tool" and "denied" in messages[-2]["content"]
    assert messages[-1]["content"] == demo.content.AGENT_DENIED
