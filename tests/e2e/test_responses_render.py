"""A Responses API agent as Chromium shows it, through the unchanged browser bundle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI
from playwright.sync_api import expect

from gptchat import ChatApp
from gptchat.utils import chat_to_responses_input, concat_response_stream
from tests.e2e.chat_page import ChatPage
from tests.fake_responses import FAILURE, THOUGHT, FakeResponses


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeResponses]:
    with FakeResponses() as server:
        yield server


@pytest.fixture
def client(fake: FakeResponses) -> OpenAI:
    return OpenAI(base_url=fake.base_url, api_key="x", max_retries=0)


def test_reasoning_summary_shows_as_thinking_above_the_answer(
    chat: ChatApp, client: OpenAI, chat_page: ChatPage
) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        chat.stream(client.responses.create(model="reasoning", input="hi", stream=True))

    chat_page.open().send("hi")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    thinking = reply.locator("details.reasoning")
    expect(thinking.locator("summary")).to_have_text("Thinking")
    thinking.locator("summary").click()
    expect(thinking.locator(".reasoning-text")).to_contain_text(THOUGHT[1])
    expect(reply).to_contain_text("Hello! How can I help?")
    above: bool = reply.evaluate(
        """(el) => {
            const think = el.querySelector("details.reasoning");
            const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
                if (walker.currentNode.textContent.includes("Hello! How can I help?"))
                    return !!(think.compareDocumentPosition(walker.currentNode)
                              & Node.DOCUMENT_POSITION_FOLLOWING);
            }
            return false;
        }"""
    )
    assert above, "the Thinking block is not above the answer"


def test_a_function_calling_agent_shows_its_call_result_and_answer(
    chat: ChatApp, client: OpenAI, chat_page: ChatPage
) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Iterator[Any]:
        conversation = chat_to_responses_input(messages)
        events: list[Any] = []
        for event in client.responses.create(model="function", input=conversation, stream=True):
            events.append(event)
            yield event
        output = concat_response_stream(events)
        call = next(item for item in output if item["type"] == "function_call")
        result = {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}
        yield result
        conversation += [*output, result]
        yield from client.responses.create(model="function", input=conversation, stream=True)

    chat_page.open().send("weather in Paris?")
    chat_page.wait_idle()
    call = chat_page.page.get_by_test_id("tool-call")
    expect(call).to_have_count(1)
    expect(call).to_contain_text("get_weather")
    expect(call).to_have_attribute("data-state", "done")
    call.get_by_test_id("tool-call-header").click()
    expect(call.get_by_test_id("tool-call-arguments")).to_contain_text("Paris")
    expect(call.get_by_test_id("tool-result")).to_contain_text("sunny")
    expect(chat_page.last_assistant()).to_contain_text("The tool said: sunny")


def test_a_failed_response_shows_the_apis_message(
    chat: ChatApp, client: OpenAI, chat_page: ChatPage
) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        chat.stream(client.responses.create(model="failed", input="hi", stream=True))

    chat_page.open().send("hi")
    chat_page.wait_idle()
    expect(chat_page.page.get_by_test_id("run-error")).to_contain_text(FAILURE["message"])
