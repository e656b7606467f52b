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
from tests.fake_responses import FAILURE, LOGS, SOURCE, THOUGHT, TINY_PNG, FakeResponses


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


def _stream(chat: ChatApp, client: OpenAI, model: str) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        chat.stream(client.responses.create(model=model, input="hi", stream=True))


def _themes(chat_page: ChatPage, name: str) -> None:
    """Screenshots of the last reply: light and dark at 1280 px, light at 390 px."""
    page = chat_page.page
    html = page.locator("html")
    chat_page.last_assistant().scroll_into_view_if_needed()
    expect(html).to_have_attribute("data-theme", "light")
    chat_page.screenshot(f"responses-{name}-light")
    page.get_by_test_id("theme-toggle").click()
    expect(html).to_have_attribute("data-theme", "dark")
    chat_page.screenshot(f"responses-{name}-dark")
    page.get_by_test_id("theme-toggle").click()
    expect(html).to_have_attribute("data-theme", "light")
    chat_page.phone()
    chat_page.last_assistant().scroll_into_view_if_needed()
    report = chat_page.cut_off()
    assert report["cut"] == [], report
    assert report["page"][0] <= report["page"][1], report
    chat_page.screenshot(f"responses-{name}-390")
    page.set_viewport_size({"width": 1280, "height": 860})


def _open_items(chat_page: ChatPage) -> None:
    for header in chat_page.page.get_by_test_id("output-item-header").all():
        if header.evaluate("el => !el.parentElement.open"):
            header.click()


def test_built_in_tool_calls_show_as_blocks_with_title_status_and_body(
    chat: ChatApp, client: OpenAI, chat_page: ChatPage
) -> None:
    models = ["web_search", "code_interpreter", "image_generation", "file_search", "mcp"]
    state = {"model": models[0]}

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        chat.stream(client.responses.create(model=state["model"], input="hi", stream=True))

    chat_page.open()
    items = chat_page.page.get_by_test_id("output-item")
    expected = {
        "web_search": ["Searched the web: capital of France"],
        "code_interpreter": ["Ran code"],
        "image_generation": ["Generated an image"],
        "file_search": ["File search: refund policy"],
        "mcp": ["Listed tools of deepwiki", "Called deepwiki.ask_question"],
    }
    for model in models:
        state["model"] = model
        chat_page.send(f"use {model}")
        chat_page.wait_idle()
        reply = chat_page.last_assistant()
        blocks = reply.get_by_test_id("output-item")
        expect(blocks.get_by_test_id("output-item-title")).to_have_text(expected[model])
        for block in blocks.all():
            expect(block).to_have_attribute("data-state", "done")
            expect(block.locator(".tool-icon")).to_have_attribute("aria-label", "Completed")
    _open_items(chat_page)
    page = chat_page.page
    code = page.locator('[data-type="code_interpreter_call"]')
    expect(code.get_by_test_id("output-item-code")).to_contain_text("print(math.sqrt(2))")
    expect(code.locator(".md-code-lang")).to_have_text("python")
    expect(code.locator("pre").last).to_have_text(LOGS.strip())
    image = page.locator('[data-type="image_generation_call"] img')
    expect(image).to_have_attribute("src", f"data:image/png;base64,{TINY_PNG}")
    files = page.locator('[data-type="file_search_call"]')
    expect(files).to_contain_text("policy.pdf")
    expect(files).to_contain_text("Refunds are accepted within 30 days.")
    tools = page.locator('[data-type="mcp_list_tools"]')
    expect(tools).to_contain_text("ask_question")
    expect(tools).to_contain_text("Ask about a repository.")
    call = page.locator('[data-type="mcp_call"]')
    expect(call).to_contain_text("openai/openai-python")
    expect(call).to_contain_text("It is the official Python library.")
    assert items.count() == 6
    _themes(chat_page, "tools")
    # The web search reply, scrolled to, for its block's look.
    page.locator('[data-type="code_interpreter_call"]').scroll_into_view_if_needed()
    chat_page.screenshot("responses-code-light")


def test_citations_give_a_numbered_list_of_working_links(
    chat: ChatApp, client: OpenAI, chat_page: ChatPage
) -> None:
    _stream(chat, client, "citation")
    chat_page.open().send("capital?")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    sources = reply.get_by_test_id("source")
    expect(sources).to_have_count(1)
    link = sources.locator("a")
    expect(link).to_have_text(SOURCE["title"])
    expect(link).to_have_attribute("href", SOURCE["url"])
    expect(sources).to_contain_text("example.com")
    marker = reply.locator(".md-root a", has_text="[1]")
    expect(marker).to_have_attribute("href", SOURCE["url"])
    expect(reply.locator(".md-root")).to_contain_text("Paris[1] is the capital of France.")
    _themes(chat_page, "citation")


def test_an_incomplete_reply_shows_its_note(
    chat: ChatApp, client: OpenAI, chat_page: ChatPage
) -> None:
    _stream(chat, client, "incomplete")
    chat_page.open().send("hi")
    chat_page.wait_idle()
    note = chat_page.last_assistant().get_by_test_id("incomplete-note")
    expect(note).to_have_text("This reply is incomplete: it reached the output token limit.")
    _themes(chat_page, "incomplete")


def test_an_unknown_item_type_shows_a_generic_block_and_the_run_finishes(
    chat: ChatApp, client: OpenAI, chat_page: ChatPage
) -> None:
    _stream(chat, client, "unknown")
    chat_page.open().send("hi")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    block = reply.get_by_test_id("output-item")
    expect(block.get_by_test_id("output-item-title")).to_have_text("response.future_widget.delta")
    block.get_by_test_id("output-item-header").click()
    expect(block.get_by_test_id("output-item-body")).to_contain_text('"widget": "spinning"')
    expect(reply).to_contain_text("Echo: hi")
    expect(chat_page.page.get_by_test_id("run-error")).to_have_count(0)
