"""examples/file_attachment.py unchanged, against the fake OpenAI server with the real
openai client: it reads the attached file, and the model gets the file part as it came."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gptchat import ChatApp
from tests.fake_openai import FakeOpenAI
from tests.openai_types import check_chat
from tests.support import SocketClient, fold_messages, live_server, load_example

NOTES = b"Shopping list\nmilk\neggs\nbread\nbutter\n"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


@pytest.fixture
def example(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> ChatApp:
    return load_example("file_attachment", monkeypatch)


def send_parts(chat: ChatApp, content: list[dict[str, Any]]) -> tuple[dict[str, Any], list[Any]]:
    with live_server(chat) as url:
        client = SocketClient(url)
        try:
            message = {"id": "u0", "message": {"role": "user", "content": content}}
            client.emit("send_message", {"conversation_id": "conv-files-1", "messages": [message]})
            finished = client.wait_event("run_finished")
            return finished, list(fold_messages(client.named("message_delta")).values())
        finally:
            client.close()


def test_the_example_reads_a_text_file_and_hands_the_model_the_part_unchanged(
    example: ChatApp, fake_openai: FakeOpenAI
) -> None:
    part = {
        "type": "file",
        "file": {"filename": "notes.txt", "file_data": data_url("text/plain", NOTES)},
    }
    content = [{"type": "text", "text": "What should I buy?"}, part]
    finished, (reply,) = send_parts(example, content)
    assert finished["status"] == "done", finished
    assert reply["content"].startswith(
        f"Received **notes.txt** (text/plain, {len(NOTES)} bytes). It begins:\n\n"
        "```\nShopping list\nmilk\neggs\n```\n\n**Echo:** What should I buy?"
    )
    (request,) = fake_openai.requests
    assert request["messages"][-1] == {"role": "user", "content": content}
    check_chat(request["messages"])


def test_a_pdf_is_named_not_quoted(example: ChatApp, fake_openai: FakeOpenAI) -> None:
    part = {
        "type": "file",
        "file": {"filename": "a.pdf", "file_data": data_url("application/pdf", PDF)},
    }
    finished, (reply,) = send_parts(example, [part])
    assert finished["status"] == "done", finished
    assert reply["content"].startswith(
        f"Received **a.pdf** (application/pdf, {len(PDF)} bytes).\n\n"
    )
    assert fake_openai.requests[-1]["messages"][-1]["content"] == [part]


def test_a_file_over_the_example_limit_is_refused_before_the_handler(
    example: ChatApp, fake_openai: FakeOpenAI
) -> None:
    big = data_url("text/plain", b"x" * (2 * 1024 * 1024 + 1))
    with live_server(example) as url:
        client = SocketClient(url)
        try:
            part = {"type": "file", "file": {"filename": "big.txt", "file_data": big}}
            message = {"id": "u0", "message": {"role": "user", "content": [part]}}
            client.emit("send_message", {"conversation_id": "conv-files-2", "messages": [message]})
            error = client.wait_event("error")
        finally:
            client.close()
    assert error["code"] == "limit"
    assert "messages.0.message.content.0.file.file_data: too large" in error["message"]
    assert fake_openai.requests == []
