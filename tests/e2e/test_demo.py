"""The offline demo in Chromium: each starter prompt, clicked in a new chat, shows what it
names; typed text gets a reply that quotes it. Each reply is screenshotted in both themes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, expect

from gptchat import ChatApp
from gptchat.demo import DEMO_CONFIG, PROMPTS, demo_handler
from tests.e2e.chat_page import ChatPage


@pytest.fixture
def demo_page(chat: ChatApp, chat_page: ChatPage) -> ChatPage:
    chat.set_config(DEMO_CONFIG)
    chat.handle_send_message(demo_handler(chat, delay=0.0005))
    return chat_page.open()


# The one-word cells of a table whose word wraps onto two lines.
WORDS_BROKEN_IN_CELLS = """(table) => [...table.querySelectorAll("th, td")]
    .filter((cell) => cell.textContent.trim() && !/\\s/.test(cell.textContent.trim()))
    .filter((cell) => {
        const range = document.createRange();
        range.selectNodeContents(cell);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
    })
    .map((cell) => cell.textContent)"""


def click_starter(chat_page: ChatPage, kind: str) -> Locator:
    """Click a starter prompt in a new chat; returns the reply once it is done."""
    page = chat_page.page
    page.get_by_test_id("new-chat").click()
    starters = page.get_by_test_id("starter-prompt")
    expect(starters).to_have_text(list(PROMPTS.values()))
    starters.filter(has_text=PROMPTS[kind]).click()
    expect(chat_page.messages("user")).to_have_text(PROMPTS[kind])
    chat_page.wait_idle()
    return chat_page.last_assistant()


def screenshots(chat_page: ChatPage, name: str, top: Locator | None = None) -> None:
    """Screenshot the reply in the light theme, then the dark one, from ``top`` down."""
    page = chat_page.page
    if top is not None:
        top.evaluate("e => e.scrollIntoView({block: 'start'})")
    html = page.locator("html")
    expect(html).to_have_attribute("data-theme", "light")
    chat_page.screenshot(f"demo-{name}-light")
    page.get_by_test_id("theme-toggle").click()
    expect(html).to_have_attribute("data-theme", "dark")
    chat_page.screenshot(f"demo-{name}-dark")
    page.get_by_test_id("theme-toggle").click()


def test_the_starter_prompts_show_in_a_new_chat(demo_page: ChatPage) -> None:
    expect(demo_page.page.get_by_test_id("starter-prompt")).to_have_text(list(PROMPTS.values()))
    screenshots(demo_page, "starters")
    demo_page.phone()
    demo_page.screenshot("demo-starters-phone")


def test_code_in_five_languages(demo_page: ChatPage) -> None:
    reply = click_starter(demo_page, "code")
    expect(reply.locator(".md-code-lang")).to_have_text(
        ["python", "typescript", "bash", "sql", "rust"]
    )
    for block in reply.locator(".md-code").all():
        # highlighted: keywords of each language in their own spans
        expect(block.locator("code [class^='hljs-']").first).to_be_visible()
        expect(block.get_by_role("button", name="Copy code")).to_be_visible()
    expect(reply.locator("h2")).to_have_count(5)
    expect(reply.locator("p").first).to_contain_text("ten most common words")
    screenshots(demo_page, "code", demo_page.messages("user").last)


def test_math_is_typeset(demo_page: ChatPage) -> None:
    reply = click_starter(demo_page, "math")
    expect(reply.locator(".katex-display")).to_have_count(2)
    expect(reply.locator(".katex").nth(12)).to_be_attached()  # inline math too, typeset lazily
    expect(reply.locator(".katex-display").first).to_contain_text("a2+b2=c2")
    expect(reply.locator(".katex-error")).to_have_count(0)
    expect(reply.locator("ol > li")).to_have_count(3)  # the proof's steps
    screenshots(demo_page, "math", demo_page.messages("user").last)


def test_a_table_of_26_rows(demo_page: ChatPage) -> None:
    reply = click_starter(demo_page, "table")
    rows = reply.locator("table tbody tr")
    expect(rows).to_have_count(26)
    expect(rows.first.locator("td")).to_have_text(
        ["1", "H", "Hydrogen", "1.008", "1", "1", "nonmetal", "gas"]
    )
    expect(rows.last.locator("td").nth(2)).to_have_text("Iron")
    assert reply.locator("table").evaluate(WORDS_BROKEN_IN_CELLS) == []
    screenshots(demo_page, "table", demo_page.messages("user").last)
    # On a phone the table scrolls sideways, its words still whole.
    demo_page.phone()
    table = reply.locator("table")
    # The table keeps its width; the box around it scrolls.
    assert reply.locator(".md-table").evaluate("box => box.scrollWidth > box.clientWidth")
    assert table.evaluate(WORDS_BROKEN_IN_CELLS) == []
    demo_page.screenshot("demo-table-phone")


def test_parallel_tool_calls_with_results(demo_page: ChatPage) -> None:
    reply = click_starter(demo_page, "weather")
    calls = demo_page.page.get_by_test_id("tool-call")
    expect(calls).to_have_count(3)
    for call, city in zip(calls.all(), ("Paris", "Tokyo", "New York"), strict=True):
        expect(call).to_have_attribute("data-state", "done")
        expect(call.get_by_test_id("tool-call-header")).to_have_text("Fetching weather...")
        call.get_by_test_id("tool-call-header").click()
        expect(call.get_by_test_id("tool-call-arguments")).to_contain_text(f'"city": "{city}"')
        expect(call.get_by_test_id("tool-result")).to_contain_text(f'"city": "{city}"')
    expect(demo_page.messages("tool")).to_have_count(0)  # results sit in their calls
    expect(reply.locator("table tbody tr")).to_have_count(3)
    expect(reply).to_contain_text("Tokyo is the warmest at 24 °C")
    screenshots(demo_page, "weather", demo_page.messages("user").last)


def test_reasoning_shows_as_a_thinking_block(demo_page: ChatPage) -> None:
    reply = click_starter(demo_page, "think")
    thinking = reply.locator("details.reasoning")
    expect(thinking.locator("summary")).to_have_text("Thinking")
    expect(thinking).not_to_have_attribute("open", "")  # folded once the answer came
    thinking.locator("summary").click()
    expect(thinking.locator(".reasoning-text")).to_contain_text("every 360/330 = 12/11 hours")
    expect(reply.locator(".md-root strong").first).to_have_text("22 times a day")
    expect(reply.locator("table tbody tr")).to_have_count(11)
    screenshots(demo_page, "think", demo_page.messages("user").last)


def test_an_inline_image(demo_page: ChatPage) -> None:
    reply = click_starter(demo_page, "image")
    image = reply.locator("img")
    expect(image).to_have_count(1)
    expect(image).to_have_attribute(
        "alt", "A lighthouse on a cliff at dusk, its beam sweeping over the sea"
    )
    expect(image).to_have_js_property("naturalWidth", 480)
    expect(reply.locator(".md-image-blocked")).to_have_count(0)
    screenshots(demo_page, "image", demo_page.messages("user").last)
    demo_page.phone()  # the picture shrinks to the column
    assert image.evaluate("i => i.getBoundingClientRect().width <= i.parentElement.clientWidth")
    assert image.evaluate("i => i.getBoundingClientRect().width < 480")
    demo_page.screenshot("demo-image-phone")


def test_a_long_answer(demo_page: ChatPage) -> None:
    reply = click_starter(demo_page, "long")
    expect(reply.locator("h1")).to_have_text(
        "How a streamed reply gets from the model to your screen"
    )
    expect(reply.locator("h2")).to_have_count(11)
    assert reply.locator("li").count() >= 20
    assert len(reply.inner_text()) > 8000
    screenshots(demo_page, "long")  # the end of it: the page followed the stream down


def test_an_error_then_a_retry_that_succeeds(demo_page: ChatPage) -> None:
    click_starter(demo_page, "error")
    error = demo_page.page.get_by_test_id("run-error")
    expect(error).to_contain_text("ConnectionError: the demo's pretend upstream model")
    expect(demo_page.last_assistant()).to_contain_text("Let me ask the upstream model")
    expect(demo_page.last_assistant().locator(".status-note")).to_have_text("Incomplete")
    screenshots(demo_page, "error")
    error.get_by_test_id("retry").click()
    reply = demo_page.last_assistant()
    expect(reply).to_have_attribute("data-status", "done")
    expect(error).to_have_count(0)
    expect(reply).to_contain_text("Second time lucky: this is the retry, and it worked.")
    expect(demo_page.messages("assistant")).to_have_count(1)  # the failed attempt is gone
    screenshots(demo_page, "retry", demo_page.messages("user").last)


def test_typed_text_is_quoted_and_gets_the_prompts(demo_page: ChatPage) -> None:
    demo_page.send("What is the capital of Peru?")
    demo_page.wait_idle()
    reply = demo_page.last_assistant()
    expect(reply.locator("p").first).to_have_text("You wrote: “What is the capital of Peru?”")
    expect(reply.locator("li strong")).to_have_text(list(PROMPTS.values()))
    screenshots(demo_page, "free-text", demo_page.messages("user").last)
    # Markup in the quoted text shows as typed: no code block, no math, no tag.
    demo_page.send("```js $x$ <b>bold</b> **strong**")
    demo_page.wait_idle()
    first = demo_page.last_assistant().locator("p").first
    expect(first).to_have_text("You wrote: “```js $x$ <b>bold</b> **strong**”")
    expect(first.locator("code, .katex, b, strong")).to_have_count(0)


def test_typed_keywords_pick_a_reply(demo_page: ChatPage) -> None:
    demo_page.send("show me some python")
    demo_page.wait_idle()
    expect(demo_page.last_assistant().locator(".md-code-lang").first).to_have_text("python")


def test_stop_cuts_a_reply_short(chat: ChatApp, chat_page: ChatPage) -> None:
    chat.set_config(DEMO_CONFIG)
    chat.handle_send_message(demo_handler(chat, delay=0.01))  # the real pace
    chat_page.open()
    chat_page.page.get_by_test_id("starter-prompt").filter(has_text=PROMPTS["long"]).click()
    reply = chat_page.last_assistant()
    expect(reply.locator("h2").first).to_be_visible()
    chat_page.page.get_by_test_id("stop-button").click()
    expect(reply.get_by_test_id("stopped-note")).to_have_text("Stopped")
    expect(reply.locator("h2")).not_to_have_count(11)  # cut short
