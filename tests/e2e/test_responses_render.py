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
    for header in chat_page.page.locator("details > summary[data-testid=output-item-header]").all():
        if header.evaluate("el => !el.parentElement.open"):
            header.click()


def _shot(chat_page: ChatPage, locator: Any, name: str) -> None:
    """A screenshot of one element (with a margin of page around it)."""
    chat_page.screenshots.mkdir(parents=True, exist_ok=True)
    box = locator.bounding_box()
    assert box is not None
    clip = {
        "x": max(0, box["x"] - 16),
        "y": max(0, box["y"] - 16),
        "width": box["width"] + 32,
        "height": box["height"] + 32,
    }
    chat_page.page.screenshot(path=str(chat_page.screenshots / f"{name}.png"), clip=clip)


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
    # A web search without sources is a line, not a block that opens on nothing.
    search = page.locator('[data-type="web_search_call"]')
    expect(search.locator("details")).to_have_count(0)
    expect(search.get_by_test_id("output-item-body")).to_have_count(0)
    arrow = search.get_by_test_id("output-item-header").evaluate(
        "el => getComputedStyle(el, '::after').content"
    )
    assert arrow in ("none", "normal", ""), arrow
    # The image is in view under a compact block; the block opens on the prompt only.
    generated = page.locator('[data-type="image_generation_call"]')
    expect(generated.locator("details")).to_have_count(0)  # no prompt: nothing to open
    expect(generated.get_by_test_id("output-item-figure").locator("img")).to_be_visible()
    width = generated.get_by_test_id("output-item-figure").evaluate("el => el.clientWidth")
    assert 300 <= width <= 420, width
    _themes(chat_page, "tools")
    # The code block's look, then the web search line and the generated image.
    page.locator('[data-type="code_interpreter_call"]').scroll_into_view_if_needed()
    chat_page.screenshot("responses-code-light")
    replies = chat_page.messages("assistant")
    _shot(chat_page, replies.nth(0), "responses-web-search-line")
    replies.nth(2).scroll_into_view_if_needed()
    _shot(chat_page, replies.nth(2), "responses-image-light")


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
    # The marker: a small raised pill with the number, linking to the source.
    marker = reply.locator(".md-root sup.md-cite > a.md-cite-link")
    expect(marker).to_have_count(1)
    expect(marker).to_have_text("1")
    expect(marker).to_have_attribute("href", SOURCE["url"])
    expect(marker).to_have_attribute("aria-label", "Source 1")
    expect(reply.locator(".md-root")).to_have_text("Paris1 is the capital of France.")
    look = marker.evaluate(
        """(a) => {
            const p = a.closest("p");
            const range = document.createRange();
            range.setStart(p.firstChild, 0);
            range.setEnd(p.firstChild, 5);
            const word = range.getBoundingClientRect();
            const pill = a.getBoundingClientRect();
            const style = getComputedStyle(a);
            return {
                wordTop: word.top, wordBottom: word.bottom, wordHeight: word.height,
                pillTop: pill.top, pillBottom: pill.bottom, pillHeight: pill.height,
                pFont: parseFloat(getComputedStyle(p).fontSize),
                font: parseFloat(style.fontSize), radius: parseFloat(style.borderTopLeftRadius),
                underline: style.textDecorationLine, background: style.backgroundColor,
                pHeight: p.getBoundingClientRect().height,
                lineHeight: parseFloat(getComputedStyle(p).lineHeight),
            };
        }"""
    )
    assert look["font"] < 0.8 * look["pFont"], look  # small
    assert look["pillHeight"] < look["wordHeight"], look
    assert look["pillTop"] < look["wordTop"] + 0.25 * look["wordHeight"], look  # raised
    assert look["pillBottom"] < look["wordBottom"], look
    assert look["underline"] == "none" and look["radius"] > 4, look  # a pill, not a link
    assert look["background"] not in ("rgba(0, 0, 0, 0)", "transparent"), look
    assert look["pHeight"] <= look["lineHeight"] + 1, look  # the line is no taller for it
    _shot(chat_page, reply, "responses-citation-marker-light")
    marker.hover()
    _shot(chat_page, reply, "responses-citation-marker-hover")
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


def test_an_mcp_approval_request_shows_as_its_own_block_and_a_handler_answers_it(
    chat: ChatApp, client: OpenAI, chat_page: ChatPage
) -> None:
    """The README's way: the handler asks (app.ask) and sends an mcp_approval_response."""

    @chat.handle_send_message(format="responses")
    def handler(items: list[Any]) -> None:
        items = list(items)
        while True:
            response = chat.stream(
                client.responses.create(model="mcp_approval", input=items, stream=True)
            )
            items += [item.model_dump(exclude_none=True) for item in response.output]
            asks = [item for item in response.output if item.type == "mcp_approval_request"]
            if not asks:
                return
            for item in asks:
                choice = chat.ask(
                    f"Allow `{item.server_label}.{item.name}`?", choices=["Allow", "Deny"]
                )
                items.append(
                    {
                        "type": "mcp_approval_response",
                        "approval_request_id": item.id,
                        "approve": choice == "Allow",
                    }
                )

    chat_page.open().send("ask deepwiki")
    page = chat_page.page
    block = page.locator('[data-type="mcp_approval_request"]')
    expect(block.get_by_test_id("output-item-title")).to_have_text(
        "Wants to call deepwiki.ask_question"
    )
    expect(block).to_have_attribute("data-state", "waiting")
    expect(block.get_by_test_id("output-item-status")).to_have_text("Approval needed")
    block.get_by_test_id("output-item-header").click()
    body = block.get_by_test_id("output-item-body")
    expect(body).to_contain_text("deepwiki")
    expect(body).to_contain_text("ask_question")
    expect(body).to_contain_text('"repo": "openai/openai-python"')
    expect(chat_page.last_assistant()).to_contain_text("Allow deepwiki.ask_question?")
    expect(page.get_by_test_id("ask-choice")).to_have_text(["Allow", "Deny"])
    chat_page.screenshot("responses-mcp-approval-light")
    page.get_by_test_id("ask-choice").filter(has_text="Allow").click()
    chat_page.wait_idle()
    call = page.locator('[data-type="mcp_call"]')
    expect(call.get_by_test_id("output-item-title")).to_have_text("Called deepwiki.ask_question")
    expect(chat_page.last_assistant()).to_contain_text("It is the official library.")
    # A request of the past once the reply ended: no longer "needed".
    expect(block.get_by_test_id("output-item-status")).to_have_text("Approval requested")
    chat_page.screenshot("responses-mcp-approved-light")
