"""What a handler hands its model is what openai's own request types accept, in both formats.

A real server and Socket.IO client send a conversation with every message shape gptchat
keeps; the handler passes it, unchanged, to the real openai client against the fake
servers; the request bodies the fakes received are checked with openai's request types,
an unknown key at any depth failing (tests/openai_types.py).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI

from gptchat import ChatApp
from tests.fake_openai import FakeOpenAI
from tests.fake_responses import THOUGHT, FakeResponses, reasoning, web_search
from tests.openai_types import check_chat, check_responses
from tests.support import SocketClient, fold_messages, live_server, send

PIXEL = "data:image/png;base64,iVBORw0KGgo="
PDF = "data:application/pdf;base64,JVBERi0xLjQK"
#: A WAV of 4 silent samples: a RIFF header and 8 bytes of data.
WAV = base64.b64encode(
    b"RIFF"
    + struct.pack("<I", 44)
    + b"WAVEfmt "
    + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    + b"data"
    + struct.pack("<I", 8)
    + bytes(8)
).decode()
#: Audio is off unless set_config turns it on.
AUDIO_ON = {"attachments": {"audio": {"max_bytes": 1024 * 1024}}}
FILE_PART = {"type": "file", "file": {"filename": "a.pdf", "file_data": PDF}}
AUDIO_PART = {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}}
SPOKEN = {"id": "audio_1", "data": WAV, "transcript": "Hello.", "expires_at": 1, "format": "wav"}
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}
THOUGHT_ITEM = {**reasoning(THOUGHT), "id": "rs_kept", "encrypted_content": "gAAA-opaque"}
#: Every shape of message a conversation in the browser can hold, as the tab sends it.
EVERY_SHAPE: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in these?"},
            {"type": "image_url", "image_url": {"url": PIXEL, "detail": "low"}},
            FILE_PART,
            AUDIO_PART,
        ],
    },
    {"role": "assistant", "content": None, "audio": SPOKEN},
    {"role": "user", "content": [{"type": "text", "text": "And this?"}, FILE_PART]},
    {
        "role": "assistant",
        "content": None,
        "reasoning_content": "\n\n".join(THOUGHT),
        "output_items": [THOUGHT_ITEM],
        "tool_calls": [CALL, {**CALL, "id": "call_2"}],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "19 C"}]},
    {
        "role": "assistant",
        "content": "Sunny, 19 C.",
        "annotations": [
            {"type": "url_citation", "url_citation": {"url": "https://example.com", "title": "t"}}
        ],
        "output_items": [
            web_search("weather Paris"),
            {"type": "response.future_widget.delta", "widget": "spinning"},
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        "incomplete_details": {"reason": "max_output_tokens"},
        "actions": [{"name": "more", "label": "More"}],
    },
    {"role": "user", "content": "Now something harmful."},
    {"role": "assistant", "content": None, "refusal": "I can't help with that."},
]


@pytest.fixture(scope="module")
def fake_responses() -> Iterator[FakeResponses]:
    with FakeResponses() as server:
        yield server


@pytest.fixture(scope="module")
def fake_chat() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def converse(
    chat: ChatApp, history: list[dict[str, Any]], text: str, conversation_id: str
) -> list[dict[str, Any]]:
    """Send ``text`` after ``history``; the reply's messages as the tab folds them."""
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            shaped = [{"id": f"m{n}", "message": m} for n, m in enumerate(history)]
            send(sc, text, conversation_id=conversation_id, history=shaped)
            finished = sc.wait_event("run_finished")
            assert finished["status"] == "done", finished
            return list(fold_messages(sc.named("message_delta")).values())
        finally:
            sc.close()


def test_chat_format_sends_openai_exactly_what_its_types_define(
    chat: ChatApp, fake_chat: FakeOpenAI
) -> None:
    client = OpenAI(base_url=fake_chat.base_url, api_key="x", max_retries=0)

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        return client.chat.completions.create(model="m", messages=messages).choices[0].message

    chat.set_config(AUDIO_ON)
    converse(chat, EVERY_SHAPE, "Thanks", "conv-fidelity-chat1")
    sent = fake_chat.requests[-1]["messages"]
    check_chat(sent)
    assert len(sent) == len(EVERY_SHAPE) + 1
    # Files and audio reach the model as the tab sent them; a spoken reply by its id alone.
    assert sent[1]["content"] == EVERY_SHAPE[1]["content"]
    assert sent[1]["content"][2:] == [FILE_PART, AUDIO_PART]
    assert sent[2] == {"role": "assistant", "audio": {"id": "audio_1"}}
    assert sent[3] == EVERY_SHAPE[3]
    assert sent[4]["tool_calls"] == [CALL, {**CALL, "id": "call_2"}]
    assert sent[7] == {"role": "assistant", "content": "Sunny, 19 C."}
    assert sent[9] == {"role": "assistant", "refusal": "I can't help with that."}


def test_responses_format_sends_openai_exactly_what_its_types_define(
    chat: ChatApp, fake_responses: FakeResponses, caplog: pytest.LogCaptureFixture
) -> None:
    client = OpenAI(base_url=fake_responses.base_url, api_key="x", max_retries=0)

    @chat.handle_send_message(format="responses")
    def handler(items: list[dict[str, Any]]) -> None:
        chat.stream(client.responses.create(model="text", input=items, stream=True))

    chat.set_config(AUDIO_ON)
    converse(chat, EVERY_SHAPE, "Thanks", "conv-fidelity-resp1")
    sent = fake_responses.requests[-1]["input"]
    check_responses(sent)
    kinds = [(i["type"], i.get("role")) for i in sent]
    assert kinds == [
        ("message", "system"),
        ("message", "user"),
        ("message", "user"),  # the spoken reply before it has no place there: dropped
        ("reasoning", None),
        ("function_call", None),
        ("function_call", None),
        ("function_call_output", None),
        ("function_call_output", None),
        ("web_search_call", None),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
    ]
    assert sent[3] == THOUGHT_ITEM  # unmodified: its encrypted_content is opaque
    # A file becomes input_file, its data and name unchanged; audio is left out (logged).
    assert [p["type"] for p in sent[1]["content"]] == ["input_text", "input_image", "input_file"]
    assert sent[1]["content"][2] == {"type": "input_file", "filename": "a.pdf", "file_data": PDF}
    assert sent[2]["content"][1] == sent[1]["content"][2]
    assert "input_audio part, which the Responses API does not take" in caplog.text
    assert sent[11]["content"] == "I can't help with that."


def test_a_stateless_agent_gets_its_reasoning_back_across_turns(
    chat: ChatApp, fake_responses: FakeResponses
) -> None:
    """Turn 1 runs a tool loop whose reasoning is encrypted; turn 2 sends the browser's
    history back, and the fake counts the reasoning items that came back unmodified."""
    client = OpenAI(base_url=fake_responses.base_url, api_key="x", max_retries=0)

    @chat.handle_send_message(format="responses")
    def agent(items: list[dict[str, Any]]) -> None:
        items = list(items)
        while True:
            response = chat.stream(
                client.responses.create(
                    model="encrypted",
                    input=items,
                    store=False,
                    include=["reasoning.encrypted_content"],
                    stream=True,
                )
            )
            items += [item.model_dump(exclude_none=True) for item in response.output]
            calls = [item for item in response.output if item.type == "function_call"]
            if not calls:
                return
            for call in calls:
                result = {"type": "function_call_output", "call_id": call.call_id, "output": "19 C"}
                chat.update_message(result)
                items.append(result)

    first = converse(chat, [], "Weather?", "conv-fidelity-state")
    assert first[-1]["content"] == "The tool said: `19 C`. Reasoning carried back: 1."
    kept = [i for m in first for i in m.get("output_items", [])]
    assert [i["type"] for i in kept] == ["reasoning", "reasoning"]
    assert all(i["encrypted_content"] == f"enc:{i['id']}" for i in kept)

    history = [{"role": "user", "content": "Weather?"}, *first]
    second = converse(chat, history, "And tomorrow?", "conv-fidelity-state")
    # Turn 1's two reasoning items, and turn 2's first: all back, unmodified.
    assert second[-1]["content"] == "The tool said: `19 C`. Reasoning carried back: 3."
    for request in fake_responses.requests[-2:]:
        check_responses(request["input"])
    # The same history in chat format is what Chat Completions takes.
    seen: list[list[dict[str, Any]]] = []
    chat.handle_send_message(lambda messages: seen.append(messages))
    converse(chat, history, "In chat format", "conv-fidelity-state")
    check_chat(seen[0])
