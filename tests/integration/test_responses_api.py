"""The Responses API in every handler style: a real server, socket.io client and openai client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.responses import ResponseInputParam
from pydantic import ConfigDict, TypeAdapter

from gptchat import ChatApp
from gptchat.utils import chat_to_responses_input, concat_response_stream
from tests.fake_responses import (
    CITED,
    FAILURE,
    SOURCE,
    THOUGHT,
    FakeResponses,
    reasoning,
    vector,
)
from tests.openai_types import check_responses
from tests.support import SocketClient, fold_messages, live_server, send

RESPONSES_INPUT = TypeAdapter(ResponseInputParam, config=ConfigDict(extra="forbid"))
USAGE = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
ANSWER = "Hello! How can I help?"
#: The "reasoning" reply: its summary shown, the reasoning item kept to be given back.
REPLY = {
    "role": "assistant",
    "reasoning_content": "\n\n".join(THOUGHT),
    "output_items": [reasoning(THOUGHT)],
    "content": ANSWER,
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeResponses]:
    with FakeResponses() as server:
        yield server


@pytest.fixture
def client(fake: FakeResponses) -> OpenAI:
    return OpenAI(base_url=fake.base_url, api_key="x", max_retries=0)


def converse(
    chat: ChatApp, text: str = "hi", conversation_id: str = "conv-resp-0001"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send one message; the run_finished payload and the messages as the tab folds them."""
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, text, conversation_id=conversation_id)
            finished = sc.wait_event("run_finished")
            return finished, list(fold_messages(sc.named("message_delta")).values())
        finally:
            sc.close()


def test_app_stream_relays_a_responses_stream_and_returns_the_response(
    chat: ChatApp, client: OpenAI, fake: FakeResponses
) -> None:
    returned: list[Any] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        stream = client.responses.create(
            model="reasoning",
            input=chat_to_responses_input(messages),
            stream=True,
        )
        returned.append(chat.stream(stream))

    finished, messages = converse(chat)
    assert finished["status"] == "done", finished
    assert messages == [{**REPLY, "usage": USAGE}]
    (response,) = returned
    assert type(response).__name__ == "Response"
    assert response.status == "completed" and response.output_text == ANSWER
    assert [item.type for item in response.output] == ["reasoning", "message"]
    sent = fake.requests[-1]["input"]
    assert sent == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    ]


def test_await_app_stream_relays_an_async_responses_stream(
    chat: ChatApp, fake: FakeResponses
) -> None:
    aclient = AsyncOpenAI(base_url=fake.base_url, api_key="x", max_retries=0)
    returned: list[Any] = []

    @chat.handle_send_message
    async def handler(messages: list[dict[str, Any]]) -> None:
        stream = await aclient.responses.create(model="citation", input="hi", stream=True)
        returned.append(await chat.stream(stream))

    finished, messages = converse(chat)
    assert finished["status"] == "done", finished
    citation = {
        "type": "url_citation",
        "url_citation": {**SOURCE, "start_index": 0, "end_index": 5},
    }
    assert messages == [
        {"role": "assistant", "content": CITED, "annotations": [citation], "usage": USAGE}
    ]
    assert returned[0].output_text == CITED


def test_a_generator_yielding_events_runs_a_function_calling_agent(
    chat: ChatApp, client: OpenAI, fake: FakeResponses
) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Iterator[Any]:
        conversation = chat_to_responses_input(messages)
        events: list[Any] = []
        for event in client.responses.create(model="function", input=conversation, stream=True):
            events.append(event)
            yield event
        output = concat_response_stream(events)
        (call,) = [item for item in output if item["type"] == "function_call"]
        result = {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}
        yield result
        conversation += [*output, result]
        yield from client.responses.create(model="function", input=conversation, stream=True)

    finished, messages = converse(chat)
    assert finished["status"] == "done", finished
    call = {
        "id": "call_fake_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})},
    }
    assert messages == [
        {"role": "assistant", "content": None, "tool_calls": [call], "usage": USAGE},
        {"role": "tool", "tool_call_id": "call_fake_1", "content": "sunny"},
        {"role": "assistant", "content": "The tool said: `sunny`", "usage": USAGE},
    ]
    second = fake.requests[-1]["input"]
    assert [item.get("type") for item in second] == [
        "message",
        "function_call",
        "function_call_output",
    ]


def test_the_arguments_of_a_function_call_grow_live(chat: ChatApp, client: OpenAI) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Iterator[Any]:
        yield from client.responses.create(model="function", input="hi", stream=True)

    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, "hi", conversation_id="conv-resp-args")
            sc.wait_event("run_finished")
        finally:
            sc.close()
    pieces = [
        call["function"]["arguments"]
        for payload in sc.named("message_delta")
        for delta in payload["deltas"]
        for call in delta.get("tool_calls", [])
        if "id" not in call and "arguments" in call.get("function", {})
    ]
    assert len(pieces) > 2 and "".join(pieces) == json.dumps({"city": "Paris"})


def test_update_message_takes_a_response_and_a_function_call_output(
    chat: ChatApp, client: OpenAI
) -> None:
    ids: list[str] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        response = client.responses.create(model="web_search", input="hi")
        ids.append(chat.update_message(response))
        output = {"type": "function_call_output", "call_id": "call_x", "output": "42"}
        ids.append(chat.update_message(output))

    finished, messages = converse(chat)
    assert finished["status"] == "done", finished
    search = {
        "id": "ws_fake",
        "type": "web_search_call",
        "status": "completed",
        "action": {"type": "search", "query": "capital of France"},
    }
    assert messages == [
        {"role": "assistant", "output_items": [search], "content": CITED},
        {"role": "tool", "tool_call_id": "call_x", "content": "42"},
    ]
    assert len(set(ids)) == 2


def test_returning_a_response_shows_it(chat: ChatApp, client: OpenAI) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        return client.responses.create(model="reasoning", input="hi")

    finished, messages = converse(chat)
    assert finished["status"] == "done", finished
    assert messages == [REPLY]


def test_a_failed_response_ends_the_run_as_an_error_with_the_apis_message(
    chat: ChatApp, client: OpenAI
) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        chat.stream(client.responses.create(model="failed", input="hi", stream=True))

    finished, messages = converse(chat)
    assert finished["status"] == "error"
    assert FAILURE["message"] in finished["error"] and "ResponseFailed" in finished["error"]
    assert messages == []


def test_a_failed_response_yielded_by_a_generator_is_an_error_too(
    chat: ChatApp, client: OpenAI
) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Iterator[Any]:
        yield from client.responses.create(model="failed", input="hi", stream=True)

    finished, _ = converse(chat)
    assert finished["status"] == "error" and FAILURE["message"] in finished["error"]


def test_an_unknown_event_type_is_kept_and_the_reply_goes_on(chat: ChatApp, client: OpenAI) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        chat.stream(client.responses.create(model="unknown", input="hi", stream=True))

    finished, messages = converse(chat)
    assert finished["status"] == "done", finished
    (message,) = messages
    assert message["content"] == "**Echo:** hi"
    (kept,) = message["output_items"]
    assert kept["type"] == "response.future_widget.delta" and kept["widget"] == "spinning"


def test_a_stream_of_event_dicts_returns_the_response_dict(chat: ChatApp) -> None:
    returned: list[Any] = []
    events = vector("04_url_citation")["events"]

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        returned.append(chat.stream(iter(events)))

    finished, messages = converse(chat)
    assert finished["status"] == "done", finished
    assert [m["content"] for m in messages] == [CITED]
    assert returned == [events[-1]["response"]]


def test_an_incomplete_response_is_marked(chat: ChatApp, client: OpenAI) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        response = chat.stream(client.responses.create(model="incomplete", input="hi", stream=True))
        assert response.status == "incomplete"

    finished, messages = converse(chat)
    assert finished["status"] == "done", finished
    assert messages == [
        {
            "role": "assistant",
            "content": "The answer is cut",
            "incomplete_details": {"reason": "max_output_tokens"},
        }
    ]


def stream_it(chat: ChatApp, client: OpenAI, messages: list[dict[str, Any]]) -> None:
    chat.stream(client.responses.create(model="stall", input="hi", stream=True))


def yield_it(chat: ChatApp, client: OpenAI, messages: list[dict[str, Any]]) -> Iterator[Any]:
    yield from client.responses.create(model="stall", input="hi", stream=True)


@pytest.mark.parametrize("relay", [stream_it, yield_it])
def test_stop_closes_the_upstream_responses_stream(
    chat: ChatApp, client: OpenAI, fake: FakeResponses, relay: Any
) -> None:
    chat.handle_send_message(lambda messages: relay(chat, client, messages))
    fake.aborted.clear()
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, "hi", conversation_id="conv-resp-stop1")
            sc.wait_event("message_delta")
            sc.emit("stop", {"conversation_id": "conv-resp-stop1"})
            assert sc.wait_event("run_finished")["status"] == "stopped"
        finally:
            sc.close()
    assert fake.aborted.wait(10), "the upstream stream was not closed"
    (message,) = fold_messages(sc.named("message_delta")).values()
    assert "**Echo:** hi".startswith(message["content"]) and message["content"] != "**Echo:** hi"


def test_stop_closes_an_async_responses_stream(chat: ChatApp, fake: FakeResponses) -> None:
    aclient = AsyncOpenAI(base_url=fake.base_url, api_key="x", max_retries=0)

    @chat.handle_send_message
    async def handler(messages: list[dict[str, Any]]) -> None:
        await chat.stream(await aclient.responses.create(model="stall", input="hi", stream=True))

    fake.aborted.clear()
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, "hi", conversation_id="conv-resp-stop2")
            sc.wait_event("message_delta")
            sc.emit("stop", {"conversation_id": "conv-resp-stop2"})
            assert sc.wait_event("run_finished")["status"] == "stopped"
        finally:
            sc.close()
    assert fake.aborted.wait(10), "the upstream stream was not closed"


def test_update_message_with_each_event_shows_what_app_stream_shows(
    chat: ChatApp, client: OpenAI
) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        for event in client.responses.create(model="reasoning", input="hi", stream=True):
            chat.update_message(event)

    finished, messages = converse(chat)
    assert finished["status"] == "done", finished
    assert messages == [{**REPLY, "usage": USAGE}]


def test_the_next_turn_gets_no_display_extras_back(chat: ChatApp) -> None:
    """Kept built-in items and incomplete marks are gptchat's, not model input."""
    seen: list[list[dict[str, Any]]] = []
    chat.handle_send_message(lambda messages: seen.append(messages))
    earlier = {
        "role": "assistant",
        "content": CITED,
        "output_items": [{"type": "web_search_call", "id": "ws", "status": "completed"}],
        "incomplete_details": {"reason": "max_output_tokens"},
    }
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            history = [
                {"id": "u0", "message": {"role": "user", "content": "hi"}},
                {"id": "a1", "message": earlier},
            ]
            send(sc, "more", conversation_id="conv-resp-next", history=history)
            assert sc.wait_event("run_finished")["status"] == "done"
        finally:
            sc.close()
    (messages,) = seen
    assert messages[1] == {"role": "assistant", "content": CITED}
    RESPONSES_INPUT.validate_python(chat_to_responses_input(messages))


def test_update_message_takes_each_sdk_output_item(chat: ChatApp, client: OpenAI) -> None:
    kinds: list[str] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        for item in client.responses.create(model="reasoning", input="hi").output:
            kinds.append(type(item).__name__)
            chat.update_message(item)
        function = client.responses.create(model="function", input="hi").output[0]
        kinds.append(type(function).__name__)
        chat.update_message(function)

    finished, messages = converse(chat)
    assert finished["status"] == "done", finished
    assert kinds == ["ResponseReasoningItem", "ResponseOutputMessage", "ResponseFunctionToolCall"]
    (message,) = messages
    assert message["reasoning_content"] == "\n\n".join(THOUGHT)
    assert message["content"] == ANSWER
    assert [c["function"]["name"] for c in message["tool_calls"]] == ["get_weather"]


def test_an_async_generator_yielding_events_streams_and_stops(
    chat: ChatApp, fake: FakeResponses
) -> None:
    aclient = AsyncOpenAI(base_url=fake.base_url, api_key="x", max_retries=0)
    models = ["reasoning", "stall"]

    @chat.handle_send_message
    async def handler(messages: list[dict[str, Any]]) -> AsyncIterator[Any]:
        stream = await aclient.responses.create(model=models.pop(0), input="hi", stream=True)
        async for event in stream:
            yield event

    finished, messages = converse(chat, conversation_id="conv-resp-agen1")
    assert finished["status"] == "done", finished
    assert [m["content"] for m in messages] == [ANSWER]

    fake.aborted.clear()
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, "hi", conversation_id="conv-resp-agen2")
            sc.wait_event("message_delta")
            sc.emit("stop", {"conversation_id": "conv-resp-agen2"})
            assert sc.wait_event("run_finished")["status"] == "stopped"
        finally:
            sc.close()
    assert fake.aborted.wait(10), "the upstream stream was not closed"


def test_app_stream_given_a_whole_response_says_what_to_do(chat: ChatApp, client: OpenAI) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        chat.stream(client.responses.create(model="text", input="hi"))

    finished, _ = converse(chat)
    assert finished["status"] == "error"
    assert "stream=True" in finished["error"] and "update_message(response)" in finished["error"]


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        (
            {"type": "response.output_text.delta", "output_index": 0, "delta": 5},
            "malformed response.output_text.delta event: its 'delta' should be a str, "
            "and it is a int",
        ),
        (
            {
                "type": "response.output_item.added",
                "output_index": 1,
                "item": {"type": "function_call", "name": "get_weather", "arguments": ""},
            },
            "malformed function_call item: its 'call_id' should be a str, and it is nothing",
        ),
    ],
)
@pytest.mark.parametrize("style", ["stream", "yield", "update_message"])
def test_a_malformed_event_ends_the_run_with_an_error_naming_its_field(
    chat: ChatApp, bad: dict[str, Any], named: str, style: str
) -> None:
    events = vector("01_plain_text")["events"]
    cut = next(n for n, e in enumerate(events) if e["type"] == "response.output_text.delta")
    broken = [*events[: cut + 2], bad, *events[cut + 2 :]]

    def streamed(messages: list[dict[str, Any]]) -> None:
        chat.stream(iter(broken))

    def yielded(messages: list[dict[str, Any]]) -> Iterator[Any]:
        yield from broken

    def updated(messages: list[dict[str, Any]]) -> None:
        for event in broken:
            chat.update_message(event)

    chat.handle_send_message(
        {"stream": streamed, "yield": yielded, "update_message": updated}[style]
    )
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, "hi", conversation_id="conv-resp-bad01")
            finished = sc.wait_event("run_finished")
            assert finished["status"] == "error"
            assert named in finished["error"]
            # What came before the bad event stays; the server answers the next message.
            (shown,) = fold_messages(sc.named("message_delta")).values()
            assert "**Hello** from the Responses API.".startswith(shown["content"])
            assert shown["content"]
            chat.handle_send_message(lambda messages: "still here")
            sc.events.clear()
            send(sc, "again", conversation_id="conv-resp-bad02")
            assert sc.wait_event("run_finished")["status"] == "done"
        finally:
            sc.close()


def test_an_unknown_event_type_never_ends_the_run_in_any_style(chat: ChatApp) -> None:
    events = vector("07_unknown_event")["events"]
    odd = {"type": "response.future_gadget.done", "gadget": {"nested": [1, 2]}}

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Iterator[Any]:
        yield odd
        yield from events

    finished, messages = converse(chat, conversation_id="conv-resp-odd01")
    assert finished["status"] == "done", finished
    kept = [i["type"] for m in messages for i in m.get("output_items", [])]
    assert kept == ["response.future_gadget.done", "response.future_widget.delta"]
    assert messages[-1]["content"] == "**Echo:** hi"


HISTORY = [
    {"id": "u0", "message": {"role": "user", "content": "hi"}},
    {
        "id": "a1",
        "message": {
            "role": "assistant",
            "content": ANSWER,
            "reasoning_content": "\n\n".join(THOUGHT),
            "output_items": [{**reasoning(THOUGHT), "encrypted_content": "enc:rs_fake"}],
            "actions": [{"name": "more", "label": "More"}],
        },
    },
]
#: The input items a responses-format handler gets for HISTORY and "more".
ITEMS = [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
    {**reasoning(THOUGHT), "encrypted_content": "enc:rs_fake"},
    {"type": "message", "role": "assistant", "content": ANSWER},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "more"}]},
]


def plain_style(chat: ChatApp, client: OpenAI, seen: list[Any]) -> Any:
    def handler(items: list[dict[str, Any]]) -> Any:
        seen.append(items)
        return client.responses.create(model="text", input=items)

    return handler


def generator_style(chat: ChatApp, client: OpenAI, seen: list[Any]) -> Any:
    def handler(items: list[dict[str, Any]]) -> Iterator[Any]:
        seen.append(items)
        yield from client.responses.create(model="text", input=items, stream=True)

    return handler


def async_style(chat: ChatApp, client: OpenAI, seen: list[Any]) -> Any:
    aclient = AsyncOpenAI(base_url=str(client.base_url), api_key="x", max_retries=0)

    async def handler(items: list[dict[str, Any]]) -> None:
        seen.append(items)
        await chat.stream(await aclient.responses.create(model="text", input=items, stream=True))

    return handler


def async_generator_style(chat: ChatApp, client: OpenAI, seen: list[Any]) -> Any:
    aclient = AsyncOpenAI(base_url=str(client.base_url), api_key="x", max_retries=0)

    async def handler(items: list[dict[str, Any]]) -> AsyncIterator[Any]:
        seen.append(items)
        async for event in await aclient.responses.create(model="text", input=items, stream=True):
            yield event

    return handler


@pytest.mark.parametrize(
    "style", [plain_style, generator_style, async_style, async_generator_style]
)
def test_a_responses_format_handler_gets_input_items_in_every_style(
    chat: ChatApp, client: OpenAI, fake: FakeResponses, style: Any
) -> None:
    seen: list[Any] = []
    returned = chat.handle_send_message(format="responses")(style(chat, client, seen))
    assert callable(returned)
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, "more", conversation_id="conv-resp-format", history=HISTORY)
            finished = sc.wait_event("run_finished")
        finally:
            sc.close()
    assert finished["status"] == "done", finished
    assert seen == [ITEMS]
    assert fake.requests[-1]["input"] == ITEMS  # passed to openai unchanged
    check_responses(ITEMS)
    (message,) = fold_messages(sc.named("message_delta")).values()
    assert message["content"] == "**Hello** from the Responses API."


def test_the_decorator_without_parentheses_still_gives_chat_messages(chat: ChatApp) -> None:
    seen: list[Any] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        seen.append(messages)

    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, "more", conversation_id="conv-resp-chatfmt", history=HISTORY)
            assert sc.wait_event("run_finished")["status"] == "done"
        finally:
            sc.close()
    assert seen == [
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": ANSWER},
            {"role": "user", "content": "more"},
        ]
    ]


def test_an_unknown_format_is_refused_when_decorating() -> None:
    chat = ChatApp()
    with pytest.raises(ValueError, match=r"format=\.\.\.\) takes 'chat' or 'responses', not 'xml'"):
        chat.handle_send_message(format="xml")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="handle_action"):
        chat.handle_action("more", format="completions")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exactly one positional argument"):
        chat.handle_send_message(format="responses")(lambda: None)  # type: ignore[arg-type]


def test_an_action_handler_gets_the_format_it_asked_for(chat: ChatApp) -> None:
    calls: list[Any] = []
    chat.handle_send_message(lambda messages: None)

    @chat.handle_action("more", format="responses")
    def more(call: Any) -> str:
        calls.append(call)
        return "More."

    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            payload = {
                "conversation_id": "conv-resp-action",
                "message_id": "a1",
                "name": "more",
                "messages": HISTORY,
            }
            sc.emit("run_action", payload)
            assert sc.wait_event("run_finished")["status"] == "done"
        finally:
            sc.close()
    (call,) = calls
    assert call.messages == ITEMS[:3]
    assert call.message["actions"][0]["name"] == "more"  # the message clicked stays chat
