"""Every example runs unchanged against a fake OpenAI server, with the real openai client."""

from __future__ import annotations

import runpy
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gptchat
from gptchat import ChatApp
from tests.fake_openai import FakeOpenAI
from tests.support import SocketClient, fold_messages, live_server, send

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        yield fake


def load_example(name: str, monkeypatch: pytest.MonkeyPatch) -> ChatApp:
    """Import an example with a fresh ``gptchat.app`` (it does ``from gptchat import app``)."""
    chat = ChatApp(coalesce_interval=0.0)
    monkeypatch.setattr(gptchat, "app", chat)
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="example")
    return chat


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


def test_cli_demo_serves_the_app_offline(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gptchat", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        url = ""
        deadline = time.monotonic() + 20
        assert proc.stdout is not None
        while time.monotonic() < deadline and not url:
            line = proc.stdout.readline()
            if "running on" in line:
                url = line.split("running on ")[1].split()[0].replace("localhost", "127.0.0.1")
        assert url, "the demo did not print its URL"
        with urllib.request.urlopen(url) as response:
            assert "<title>gptchat demo</title>" in response.read().decode()
        client = SocketClient(url.rstrip("/"))
        try:
            send(client, "hi")
            assert client.wait_event("run_finished", timeout=30)["status"] == "done"
            messages = list(fold_messages(client.named("message_delta")).values())
            assert messages[0]["tool_calls"][0]["function"]["name"] == "get_weather"
            assert messages[1]["role"] == "tool"
            assert "## Some code" in messages[2]["content"]
        finally:
            client.close()
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
    assert proc.returncode == 0  # SIGTERM is a clean shutdown
