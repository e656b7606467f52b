"""Every handler style, against a real server and the real openai client on a fake model."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI

from gptchat import ChatApp, RunContext
from gptchat.utils import concat_stream
from tests.fake_openai import THOUGHT, FakeOpenAI
from tests.support import SocketClient, fold_messages, live_server, send

ECHO = "**Echo:** hi\n\n- one\n- two\n"
SLOW_REPLY = ECHO + " ".join(f"word{i}" for i in range(2000))


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def client(fake: FakeOpenAI) -> OpenAI:
    return OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)


def converse(
    chat: ChatApp, text: str = "hi", **send_kwargs: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send one message; the run_finished payload and the messages, in order."""
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, text, **send_kwargs)
            finished = sc.wait_event("run_finished")
            return finished, list(fold_messages(sc.named("message_delta")).values())
        finally:
            sc.close()


def contents(messages: list[dict[str, Any]]) -> list[Any]:
    return [m.get("content") for m in messages]


# -- return style ------------------------------------------------------------------


def test_return_a_message(chat: ChatApp, client: OpenAI) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        response = client.chat.completions.create(model="fake", messages=messages)  # type: ignore[arg-type]
        return response.choices[0].message

    finished, messages = converse(chat)
    assert finished["status"] == "done"
    assert contents(messages) == [ECHO]


def test_return_a_list_text_or_none(chat: ChatApp) -> None:
    replies: list[Any] = [
        [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}],
        "just text",
        None,
    ]

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        return replies.pop(0)

    assert contents(converse(chat)[1]) == ["a", "b"]
    assert converse(chat)[1] == [{"role": "assistant", "content": "just text"}]
    finished, messages = converse(chat)
    assert (finished["status"], messages) == ("done", [])


# -- generator style -----------------------------------------------------------------


def test_generator_of_chunks_is_one_message(chat: ChatApp, client: OpenAI) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        yield from client.chat.completions.create(
            model="fake", messages=messages, stream=True, stream_options={"include_usage": True}
        )

    finished, messages = converse(chat)
    assert finished["status"] == "done"
    # the usage chunk (after the finish_reason) lands on the message it counts
    assert messages == [{"role": "assistant", "content": ECHO, "usage": USAGE}]


def test_generator_of_text_and_deltas(chat: ChatApp) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        yield "Hel"
        yield {"content": "lo"}
        yield {"role": "assistant", "content": "second"}  # a role starts a new message
        yield " message"

    assert contents(converse(chat)[1]) == ["Hello", "second message"]


def test_generator_agent_loop_splits_on_finish_and_tool_results(
    chat: ChatApp, client: OpenAI
) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        while True:
            chunks = []
            for chunk in client.chat.completions.create(
                model="fake",
                messages=messages,
                tools=tools,
                stream=True,  # type: ignore[arg-type]
            ):
                chunks.append(chunk)
                yield chunk
            reply = concat_stream(chunks).message
            messages.append(reply.model_dump(exclude_none=True))
            if not reply.tool_calls:
                return
            for call in reply.tool_calls:
                result = {"role": "tool", "tool_call_id": call.id, "content": "sunny"}
                messages.append(result)
                yield result

    finished, messages = converse(chat)
    assert finished["status"] == "done"
    assert [m["role"] for m in messages] == ["assistant", "tool", "assistant"]
    assert messages[0]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert messages[2]["content"] == "The tool said: `sunny`"


def test_generator_of_complete_messages(chat: ChatApp, client: OpenAI) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        for _ in range(2):
            response = client.chat.completions.create(model="fake", messages=messages)  # type: ignore[arg-type]
            yield response.choices[0].message  # a ChatCompletionMessage is a message of its own

    assert contents(converse(chat)[1]) == [ECHO, ECHO]


def test_generator_yielding_a_whole_completion_names_the_fix(chat: ChatApp, client: OpenAI) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        yield client.chat.completions.create(model="fake", messages=messages)  # type: ignore[arg-type]

    finished, _ = converse(chat)
    assert finished["status"] == "error"
    assert "yield response.choices[0].message" in finished["error"]


def test_generator_with_explicit_ids(chat: ChatApp) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        first, second = chat.new_id(), chat.new_id()
        yield first, {"role": "assistant", "content": "one"}
        yield second, {"role": "assistant", "content": "two"}
        yield first, {"content": " more"}

    assert contents(converse(chat)[1]) == ["one more", "two"]


def test_provider_repeating_role_in_every_delta_is_one_message(
    chat: ChatApp, client: OpenAI
) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        stream = client.chat.completions.create(model="ollama", messages=messages, stream=True)  # type: ignore[arg-type]
        for chunk in stream:
            if chunk.choices:
                yield chunk.choices[0].delta  # ChoiceDelta, with role each time

    assert contents(converse(chat)[1]) == [ECHO]


# -- app.stream() ---------------------------------------------------------------------


def test_stream_relays_and_returns_the_folded_message(chat: ChatApp, client: OpenAI) -> None:
    folded: list[Any] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        stream = client.chat.completions.create(
            model="fake", messages=messages, stream=True, stream_options={"include_usage": True}
        )  # type: ignore[call-overload]
        folded.append(chat.stream(stream))

    finished, messages = converse(chat)
    assert finished["status"] == "done"
    assert contents(messages) == [ECHO]
    (message,) = folded
    assert type(message).__name__ == "ChatCompletionMessage"
    assert message.content == ECHO and message.role == "assistant"


def test_stream_stops_when_the_user_presses_stop(
    chat: ChatApp, client: OpenAI, fake: FakeOpenAI
) -> None:
    after_stream: list[str] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        stream = client.chat.completions.create(model="slow", messages=messages, stream=True)  # type: ignore[arg-type]
        chat.stream(stream)
        after_stream.append("not reached")

    fake.aborted.clear()
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, "hi", conversation_id="conv-stop-0001")
            sc.wait_event("message_delta")
            sc.emit("stop", {"conversation_id": "conv-stop-0001"})
            assert sc.wait_event("run_finished")["status"] == "stopped"
        finally:
            sc.close()
    assert after_stream == []
    assert fake.aborted.wait(10), "the upstream stream was not closed"
    (message,) = fold_messages(sc.named("message_delta")).values()
    assert SLOW_REPLY.startswith(message["content"])  # what was sent before the stop
    assert message["content"] != SLOW_REPLY


def relay_with_stream(chat: ChatApp, client: OpenAI, messages: list[dict[str, Any]]) -> Any:
    chat.stream(client.chat.completions.create(model="stall", messages=messages, stream=True))  # type: ignore[arg-type]


def relay_with_yield_from(chat: ChatApp, client: OpenAI, messages: list[dict[str, Any]]) -> Any:
    yield from client.chat.completions.create(model="stall", messages=messages, stream=True)  # type: ignore[arg-type]


def relay_with_a_loop(chat: ChatApp, client: OpenAI, messages: list[dict[str, Any]]) -> Any:
    stream = client.chat.completions.create(model="stall", messages=messages, stream=True)  # type: ignore[arg-type]
    for chunk in stream:  # as in the README's openai_chat_stream()
        if chunk.choices:
            yield chunk.choices[0]


@pytest.mark.parametrize("relay", [relay_with_stream, relay_with_yield_from, relay_with_a_loop])
def test_stream_from_a_silent_model_is_cut_within_a_second_of_stop(
    chat: ChatApp, client: OpenAI, fake: FakeOpenAI, relay: Any
) -> None:
    """A model thinking in silence sends nothing to wake the relay: stop must cut it."""
    chat.handle_send_message(lambda messages: relay(chat, client, messages))
    fake.aborted.clear()
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, "hi", conversation_id="conv-stall-001")
            sc.wait_event("message_delta")
            t0 = time.monotonic()
            sc.emit("stop", {"conversation_id": "conv-stall-001"})
            assert sc.wait_event("run_finished")["status"] == "stopped"
            assert fake.aborted.wait(5), "the upstream stream was not closed"
            assert time.monotonic() - t0 < 1.5  # within a second, with margin
        finally:
            sc.close()


def press_stop_after_first_delta(chat: ChatApp, conversation_id: str) -> dict[str, Any]:
    """Send a message, press stop once the reply streams; the reply as the tab has it."""
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            send(sc, "hi", conversation_id=conversation_id)
            sc.wait_event("message_delta")
            sc.emit("stop", {"conversation_id": conversation_id})
            assert sc.wait_event("run_finished")["status"] == "stopped"
        finally:
            sc.close()
    (message,) = fold_messages(sc.named("message_delta")).values()
    return message


def test_generator_stops_and_closes_the_stream(
    chat: ChatApp, client: OpenAI, fake: FakeOpenAI
) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        yield from client.chat.completions.create(model="slow", messages=messages, stream=True)  # type: ignore[arg-type]

    fake.aborted.clear()
    message = press_stop_after_first_delta(chat, "conv-stop-0003")
    assert SLOW_REPLY.startswith(message["content"]) and message["content"] != SLOW_REPLY
    assert fake.aborted.wait(10), "the upstream stream was not closed"


def test_a_handler_that_raises_after_stop_ends_stopped_without_a_traceback(
    chat: ChatApp, caplog: pytest.LogCaptureFixture
) -> None:
    # What the SDK does when stop hangs up its stream mid-read: the read raises a
    # connection error instead of ending. The user asked to stop: that is no error.
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        message_id = chat.new_id()
        chat.update_message({"role": "assistant", "content": "Reading the "}, id=message_id)
        while not chat.stop_requested():
            time.sleep(0.01)
        raise ConnectionError("the connection was closed mid-read")

    with caplog.at_level("INFO", logger="gptchat"):
        message = press_stop_after_first_delta(chat, "conv-stop-raise-01")
    assert message["content"] == "Reading the "
    # gptchat's own lines only: Werkzeug logs a harmless "Bad request" after a WebSocket closes.
    errors = [r for r in caplog.records if r.name == "gptchat" and r.levelname == "ERROR"]
    assert not errors, caplog.text


def test_async_generator_stops(chat: ChatApp, fake: FakeOpenAI) -> None:
    aclient = AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)

    @chat.handle_send_message
    async def handler(messages: list[dict[str, Any]]) -> Any:
        stream = await aclient.chat.completions.create(
            model="slow",
            messages=messages,
            stream=True,  # type: ignore[arg-type]
        )
        async for chunk in stream:
            yield chunk

    fake.aborted.clear()
    message = press_stop_after_first_delta(chat, "conv-stop-0004")
    assert SLOW_REPLY.startswith(message["content"]) and message["content"] != SLOW_REPLY
    assert fake.aborted.wait(10), "the upstream stream was not closed"


def test_stream_misuse_names_the_fix(chat: ChatApp, client: OpenAI) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        response = client.chat.completions.create(model="fake", messages=messages)  # type: ignore[arg-type]
        chat.stream(response)  # forgot stream=True

    finished, _ = converse(chat)
    assert finished["status"] == "error"
    assert "stream=True" in finished["error"]


def test_async_stream_in_a_sync_handler_names_the_fix(chat: ChatApp, fake: FakeOpenAI) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        async def chunks() -> Any:
            yield {"content": "x"}

        chat.stream(chunks())

    finished, _ = converse(chat)
    assert finished["status"] == "error"
    assert "await app.stream(stream)" in finished["error"]


# -- async -------------------------------------------------------------------------------


def test_async_handler_with_async_openai(chat: ChatApp, fake: FakeOpenAI) -> None:
    aclient = AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    folded: list[Any] = []

    @chat.handle_send_message
    async def handler(messages: list[dict[str, Any]]) -> None:
        stream = await aclient.chat.completions.create(
            model="fake",
            messages=messages,
            stream=True,  # type: ignore[arg-type]
        )
        folded.append(await chat.stream(stream))

    for _ in range(2):  # one module-level AsyncOpenAI client serves run after run
        finished, messages = converse(chat)
        assert finished["status"] == "done"
        assert contents(messages) == [ECHO]
    assert [m.content for m in folded] == [ECHO, ECHO]


def test_async_generator_handler(chat: ChatApp, fake: FakeOpenAI) -> None:
    aclient = AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)

    @chat.handle_send_message
    async def handler(messages: list[dict[str, Any]]) -> Any:
        stream = await aclient.chat.completions.create(
            model="fake",
            messages=messages,
            stream=True,  # type: ignore[arg-type]
        )
        async for chunk in stream:
            yield chunk

    finished, messages = converse(chat)
    assert finished["status"] == "done"
    assert contents(messages) == [ECHO]


def test_async_handler_returning_a_message(chat: ChatApp) -> None:
    @chat.handle_send_message
    async def handler(messages: list[dict[str, Any]]) -> Any:
        return {"role": "assistant", "content": "async hello"}

    assert contents(converse(chat)[1]) == ["async hello"]


def test_async_stream_stops_when_the_user_presses_stop(chat: ChatApp, fake: FakeOpenAI) -> None:
    aclient = AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)

    @chat.handle_send_message
    async def handler(messages: list[dict[str, Any]]) -> None:
        stream = await aclient.chat.completions.create(
            model="slow",
            messages=messages,
            stream=True,  # type: ignore[arg-type]
        )
        await chat.stream(stream)

    fake.aborted.clear()
    message = press_stop_after_first_delta(chat, "conv-stop-0002")
    assert SLOW_REPLY.startswith(message["content"]) and message["content"] != SLOW_REPLY
    assert fake.aborted.wait(10), "the upstream stream was not closed"


# -- providers: reasoning and usage -----------------------------------------------------

USAGE = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}


@pytest.mark.parametrize(
    ("model", "field"), [("fake-reasoner", "reasoning_content"), ("gpt-oss", "reasoning")]
)
def test_reasoning_is_relayed_as_is(chat: ChatApp, client: OpenAI, model: str, field: str) -> None:
    folded: list[Any] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        stream = client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}
        )  # type: ignore[call-overload]
        folded.append(chat.stream(stream))

    finished, messages = converse(chat)
    assert finished["status"] == "done"
    assert messages == [{"role": "assistant", "content": ECHO, field: THOUGHT, "usage": USAGE}]
    assert getattr(folded[0], field) == THOUGHT
    assert folded[0].model_extra.get("usage") is None  # the folded message is a message


def test_usage_and_reasoning_never_go_back_to_the_model(chat: ChatApp) -> None:
    seen: list[list[dict[str, Any]]] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        seen.append(messages)
        return "ok"

    earlier = {"role": "assistant", "content": "hi", "reasoning": "hmm", "usage": USAGE}
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            history = [
                {"id": "u0", "message": {"role": "user", "content": "a"}},
                {"id": "a1", "message": earlier},
            ]
            send(sc, "b", history=history)
            assert sc.wait_event("run_finished")["status"] == "done"
        finally:
            sc.close()
    assert seen[0][1] == {"role": "assistant", "content": "hi"}


# -- context ---------------------------------------------------------------------------


def test_context_names_the_conversation_and_the_session(chat: ChatApp) -> None:
    seen: list[RunContext] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        seen.append(chat.context())
        return {"role": "assistant", "content": "ok"}

    key_a, key_b = "client-key-a-0123456789", "client-key-b-0123456789"
    with live_server(chat) as url:
        for key, cid in [(key_a, "conv-aaaa-0001"), (key_a, "conv-aaaa-0002"), (key_b, "conv-b")]:
            sc = SocketClient(url, client_key=key)
            try:
                send(sc, "hi", conversation_id=cid.ljust(8, "0"))
                sc.wait_event("run_finished")
            finally:
                sc.close()
    assert [c.conversation_id for c in seen] == ["conv-aaaa-0001", "conv-aaaa-0002", "conv-b00"]
    assert seen[0].session_id == seen[1].session_id != seen[2].session_id
    assert key_a not in seen[0].session_id  # the browser's secret is not handed out
    assert len({c.run_id for c in seen}) == 3


# -- misuse -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "fix"),
    [
        (lambda chat: chat.update_message({"content": "x"}), "id = app.new_id()"),
        (
            lambda chat: chat.update_message({"role": "assistant", "content": object()}),
            "message.content is a object",
        ),
        (lambda chat: 42, "return a message with a role"),
    ],
)
def test_misuse_in_a_handler_names_the_fix(chat: ChatApp, reply: Any, fix: str) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        return reply(chat)

    finished, _ = converse(chat)
    assert finished["status"] == "error"
    assert fix in finished["error"]


def test_generator_yielding_junk_names_the_fix(chat: ChatApp) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        yield 3.5

    finished, _ = converse(chat)
    assert finished["status"] == "error"
    assert "yield text, deltas, chunks or messages" in finished["error"]


def test_handler_sees_plain_json_messages(chat: ChatApp) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        return {"role": "assistant", "content": json.dumps(messages)}

    (message,) = converse(chat, "hi")[1]
    assert json.loads(message["content"]) == [{"role": "user", "content": "hi"}]


def test_earlier_reasoning_is_not_sent_back_to_the_model(chat: ChatApp) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        return {"role": "assistant", "content": json.dumps(messages)}

    earlier = {"role": "assistant", "content": "4", "reasoning_content": "2+2", "reasoning": "x"}
    history = [
        {"id": "u0", "message": {"role": "user", "content": "2+2?"}},
        {"id": "a0", "message": earlier},
    ]
    (message,) = converse(chat, "and 3+3?", history=history)[1]
    assert json.loads(message["content"]) == [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "and 3+3?"},
    ]
