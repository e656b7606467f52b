"""Every example runs unchanged against a fake OpenAI server, with the real openai client."""

from __future__ import annotations

import re
import runpy
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

import gptchat
from gptchat import ChatApp
from tests.fake_openai import THOUGHT, FakeOpenAI
from tests.support import SocketClient, fold_messages, live_server, load_example, send

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def converse(chat: ChatApp, text: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    with live_server(chat) as url:
        client = SocketClient(url)
        try:
            send(client, text)
            finished = client.wait_event("run_finished")
            return finished, fold_messages(client.named("message_delta"))
        finally:
            client.close()


def test_full_message_example(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = load_example("full_message", monkeypatch)
    finished, messages = converse(chat, "Hello there")
    assert finished["status"] == "done"
    (message,) = messages.values()
    assert message["role"] == "assistant"
    assert message["content"].startswith("**Echo:** Hello there")
    assert fake_openai.requests[0]["messages"] == [{"role": "user", "content": "Hello there"}]


def test_streaming_example(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = load_example("streaming", monkeypatch)
    assert chat.config.title == "Streaming example"
    finished, messages = converse(chat, "Stream me")
    assert finished["status"] == "done"
    (message,) = messages.values()
    assert message["content"] == "**Echo:** Stream me\n\n- one\n- two\n"
    assert fake_openai.requests[0]["stream"] is True


def test_tools_example_runs_the_agent_loop(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = load_example("tools", monkeypatch)
    finished, messages = converse(chat, "Weather in Paris?")
    assert finished["status"] == "done"
    call_msg, tool_msg, answer = messages.values()
    (call,) = call_msg["tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"] == call["id"]
    assert '"city": "Paris"' in tool_msg["content"]
    assert answer["content"].startswith("The tool said:")
    # the second request carried the folded call and its result back to the model
    second = fake_openai.requests[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "tool"]
    assert second[1]["tool_calls"][0]["function"]["arguments"] == '{"city": "Paris"}'


def test_generator_example(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = load_example("generator", monkeypatch)
    finished, messages = converse(chat, "Yield me")
    assert finished["status"] == "done"
    assert list(messages.values()) == [
        {"role": "assistant", "content": "**Echo:** Yield me\n\n- one\n- two\n"}
    ]


def test_async_stream_example(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chat = load_example("async_stream", monkeypatch)
    for text in ("First", "Second"):  # the module-level AsyncOpenAI client is reused
        finished, messages = converse(chat, text)
        assert finished["status"] == "done"
        (message,) = messages.values()
        assert message["content"].startswith(f"**Echo:** {text}")
    assert "replied with" in capsys.readouterr().out


def test_agent_tools_example_calls_tools_until_it_answers(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = load_example("agent_tools", monkeypatch)
    finished, messages = converse(chat, "add 2 and 3, and get_weather")
    assert finished["status"] == "done"
    call_msg, add_result, weather_result, answer = messages.values()
    names = [c["function"]["name"] for c in call_msg["tool_calls"]]
    assert names == ["get_weather", "add"]  # two calls in parallel, in one message
    ids = [c["id"] for c in call_msg["tool_calls"]]
    assert {add_result["tool_call_id"], weather_result["tool_call_id"]} == set(ids)
    assert sorted([add_result["content"], weather_result["content"]])[0] == "5"
    assert answer["content"].startswith("The tool said: ")
    offered = [t["function"]["name"] for t in fake_openai.requests[0]["tools"]]
    assert offered == ["get_weather", "add"]
    assert [m["role"] for m in fake_openai.requests[1]["messages"]] == [
        "user",
        "assistant",
        "tool",
        "tool",
    ]


def test_multimodal_example_passes_images_on(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = load_example("multimodal", monkeypatch)
    assert chat.config.allow_upload is True
    pixel = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYAAAAAMA"
        "ASsJTYQAAAAASUVORK5CYII="
    )
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": pixel}},
    ]
    with live_server(chat) as url:
        client = SocketClient(url)
        try:
            message = {"id": "u0", "message": {"role": "user", "content": content}}
            client.emit("send_message", {"conversation_id": "conv-image-01", "messages": [message]})
            assert client.wait_event("run_finished")["status"] == "done"
            (reply,) = fold_messages(client.named("message_delta")).values()
        finally:
            client.close()
    assert "(I see 1 image)" in reply["content"]
    assert fake_openai.requests[0]["messages"][0]["content"] == content


def test_local_model_example_shows_reasoning(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("LOCAL_MODEL_URL", fake_openai.base_url)
    monkeypatch.setenv("LOCAL_MODEL", "deepseek-reasoner")
    chat = load_example("local_model", monkeypatch)
    finished, messages = converse(chat, "Think")
    assert finished["status"] == "done"
    (message,) = messages.values()
    assert message["reasoning_content"] == THOUGHT
    assert message["content"].startswith("**Echo:** Think")
    assert fake_openai.requests[0]["model"] == "deepseek-reasoner"


def test_flask_embed_example_mounts_the_chat_under_a_prefix(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = ChatApp(coalesce_interval=0.0)
    monkeypatch.setattr(gptchat, "app", chat)
    site = runpy.run_path(str(EXAMPLES / "flask_embed.py"), run_name="example")["site"]
    srv = make_server("127.0.0.1", 0, site, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.server_port}"
    try:
        with urllib.request.urlopen(base + "/") as response:
            assert "My site" in response.read().decode()
        with urllib.request.urlopen(base + "/chat") as response:  # redirected to /chat/
            assert response.url == base + "/chat/"
            page = response.read().decode()
        assert "<title>My site&#x27;s assistant</title>" in page
        asset = re.search(r'src="\./(assets/[^"]+\.js)"', page)
        assert asset, page
        with urllib.request.urlopen(f"{base}/chat/{asset.group(1)}") as response:
            # Read it all: a client hanging up mid-body leaves the server's file open.
            assert response.status == 200 and response.read()
        client = SocketClient(base)
        try:
            send(client, "Embedded?")
            assert client.wait_event("run_finished")["status"] == "done"
            (message,) = fold_messages(client.named("message_delta")).values()
            assert message["content"].startswith("**Echo:** Embedded?")
        finally:
            client.close()
    finally:
        chat._close_runs(timeout=5)
        srv.shutdown()
        srv.server_close()
        thread.join(5)
