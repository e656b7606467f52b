"""A conversation over the server's size limit is refused in the browser, with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from gptchat import ChatApp
from tests.e2e.chat_page import ChatPage


@pytest.fixture
def chat() -> ChatApp:
    return ChatApp(coalesce_interval=0.0, max_message_bytes=4000)


def test_too_large_a_conversation_is_refused_before_sending(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    calls: list[int] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> str:
        calls.append(len(messages))
        return "ok"

    chat_page.open().send("short")
    chat_page.wait_idle()
    chat_page.send("x" * 5000)
    error = chat_page.page.get_by_test_id("run-error")
    expect(error).to_contain_text("too large to send")
    expect(chat_page.messages("user").last).to_contain_text("x" * 100)  # kept, not lost
    expect(chat_page.page.get_by_test_id("composer")).to_have_attribute("data-connected", "true")
    assert calls == [1]  # the handler never saw the oversized conversation
