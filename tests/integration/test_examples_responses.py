"""The Responses API agent examples, sync and async, unchanged against the fake Responses
server with the real openai client: the loop, the results in the chat, and the reasoning
given back on the next turn."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gptchat import ChatApp
from tests.fake_responses import FakeResponses
from tests.openai_types import check_responses
from tests.support import SocketClient, fold_messages, live_server, load_example, send

WEATHER = json.dumps({"city": "Paris", "temperature_c": 18, "sky": "partly cloudy"})


@pytest.fixture(params=["responses_agent", "responses_agent_async"])
def example(
    request: pytest.FixtureRequest, fake_responses: FakeResponses, monkeypatch: pytest.MonkeyPatch
) -> ChatApp:
    return load_example(request.param, monkeypatch)


def turn(chat: ChatApp, history: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            shaped = [{"id": f"m{n}", "message": m} for n, m in enumerate(history)]
            send(sc, text, conversation_id="conv-example-resp", history=shaped)
            finished = sc.wait_event("run_finished")
            assert finished["status"] == "done", finished
            return list(fold_messages(sc.named("message_delta")).values())
        finally:
            sc.close()


def test_the_agent_calls_shows_the_result_and_answers_then_keeps_its_reasoning(
    example: ChatApp, fake_responses: FakeResponses
) -> None:
    call, result, answer = turn(example, [], "What's the weather in Paris?")
    (tool_call,) = call["tool_calls"]
    assert tool_call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert call["reasoning_content"] and call["output_items"][0]["type"] == "reasoning"
    assert result == {"role": "tool", "tool_call_id": tool_call["id"], "content": WEATHER}
    assert answer["content"] == f"The tool said: `{WEATHER}`. Reasoning carried back: 1."
    first, second = fake_responses.requests
    assert first["store"] is False and first["include"] == ["reasoning.encrypted_content"]
    assert [i["type"] for i in second["input"]] == [
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
    ]

    history = [{"role": "user", "content": "What's the weather in Paris?"}, call, result, answer]
    *_, again = turn(example, history, "And in Rome?")
    assert again["content"].endswith("Reasoning carried back: 3.")
    for request in fake_responses.requests:
        check_responses(request["input"])
