"""Every example, unchanged, against the fake OpenAI server, as a person sees it in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from gptchat import ChatApp
from tests.e2e.chat_page import ChatPage
from tests.fake_openai import FakeOpenAI
from tests.support import load_example

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# flask_embed mounts gptchat into another Flask app; the agents in the loop wait for
# answers this test does not give. Their own tests cover them.
SKIPPED = {
    "flask_embed",
    "agent_in_the_loop",
    "agent_in_the_loop_async",
    # On the Responses API: tests/e2e/test_responses_agent_render.py runs them.
    "responses_agent",
    "responses_agent_async",
}
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.py") if p.stem not in SKIPPED)


@pytest.fixture(params=NAMES)
def chat(
    request: pytest.FixtureRequest, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> ChatApp:
    """The example's app: it does ``from gptchat import app``, so hand it a fresh one."""
    return load_example(request.param, monkeypatch)


def test_example_renders_its_reply(chat: ChatApp, chat_page: ChatPage) -> None:
    chat_page.open().send("What's the weather in Paris?")
    chat_page.wait_idle()
    expect(chat_page.page.get_by_test_id("run-error")).to_have_count(0)
    reply = chat_page.last_assistant()
    expect(reply).to_have_attribute("data-status", "done")
    expect(reply.locator(".md-root")).not_to_be_empty()
    calls = chat_page.page.get_by_test_id("tool-call")
    for i in range(calls.count()):
        expect(calls.nth(i)).to_have_attribute("data-state", "done")
