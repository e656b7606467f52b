"""In Chromium: a chat mounted in an existing Flask site, a generator handler, a thinking block."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from gptchat import ChatApp
from tests.e2e.chat_page import ChatPage
from tests.e2e.conftest import SCREENSHOTS
from tests.support import serve_wsgi


@pytest.fixture
def site(chat: ChatApp) -> Iterator[str]:
    host = Flask("site")

    @host.get("/")
    def home() -> str:
        return '<h1>My site</h1><a href="/chat/">chat</a>'

    chat.init_app(host, url_prefix="/chat")
    with serve_wsgi(host) as url:
        try:
            yield url
        finally:
            chat._close_runs(timeout=5)


def test_mounted_chat_streams_a_generator_reply_with_its_thinking(
    chat: ChatApp, site: str, page: Page
) -> None:
    @chat.handle_send_message
    def reply(messages: list[dict[str, Any]]) -> Any:
        yield {"role": "assistant", "content": "", "reasoning_content": "Two plus two."}
        yield from ["**The answer** ", "is ", "four."]

    chat.set_config({"title": "Embedded chat"})
    page.goto(site + "/")
    expect(page.locator("h1")).to_have_text("My site")
    chat_page = ChatPage(page, site + "/chat", SCREENSHOTS).open()
    assert page.url == site + "/chat/"
    expect(page).to_have_title("Embedded chat")
    chat_page.send("2+2?")
    chat_page.wait_idle()
    answer = chat_page.last_assistant()
    expect(answer.locator("strong")).to_have_text("The answer")
    expect(answer).to_contain_text("is four.")
    expect(answer.locator("details.reasoning")).to_contain_text("Two plus two.")
    chat_page.screenshot("embedded-chat")
