"""The Responses API agent examples as a person sees them in Chromium: the Thinking block,
the call's block with its result, and the answer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from gptchat import ChatApp
from tests.e2e.chat_page import ChatPage
from tests.fake_responses import THOUGHT, FakeResponses
from tests.support import load_example


@pytest.fixture(params=["responses_agent", "responses_agent_async"])
def chat(
    request: pytest.FixtureRequest, fake_responses: FakeResponses, monkeypatch: pytest.MonkeyPatch
) -> ChatApp:
    return load_example(request.param, monkeypatch)


def test_the_agent_shows_its_thinking_its_call_and_result_and_the_answer(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    chat_page.open().send("What's the weather in Paris?")
    chat_page.wait_idle()
    expect(chat_page.page.get_by_test_id("run-error")).to_have_count(0)
    call = chat_page.page.get_by_test_id("tool-call")
    expect(call).to_have_count(1)
    expect(call).to_have_attribute("data-state", "done")
    expect(call).to_contain_text("Fetching weather")
    call.get_by_test_id("tool-call-header").click()
    expect(call.get_by_test_id("tool-call-arguments")).to_contain_text("Paris")
    expect(call.get_by_test_id("tool-result")).to_contain_text("partly cloudy")
    reply = chat_page.last_assistant()
    expect(reply).to_have_attribute("data-status", "done")
    expect(reply).to_contain_text("Reasoning carried back: 1.")
    thinking = chat_page.page.locator("details.reasoning").first
    thinking.locator("summary").click()
    expect(thinking.locator(".reasoning-text")).to_contain_text(THOUGHT[0])
