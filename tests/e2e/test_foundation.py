"""What a person sees: a message typed in Chromium, the streamed reply, tool calls, errors."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect

from gptchat import ChatApp
from gptchat.demo import DEMO_CONFIG, demo_handler
from tests.e2e.chat_page import ChatPage


def test_demo_weather_reply_streams_tool_calls_and_a_table(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    chat.set_config(DEMO_CONFIG)
    chat.handle_send_message(demo_handler(chat, delay=0.001))
    chat_page.open()
    expect(chat_page.page).to_have_title("gptchat demo")
    chat_page.send("What's the weather in Paris?")
    expect(chat_page.messages("user")).to_have_text("What's the weather in Paris?")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    expect(reply.locator("table td").first).to_have_text("Paris")
    expect(reply.locator("code").first).to_have_text("get_weather")
    expect(reply.locator("blockquote")).to_contain_text("made up")
    expect(chat_page.page.get_by_test_id("tool-call")).to_have_count(3)
    call = chat_page.page.get_by_test_id("tool-call").first
    expect(call).to_have_attribute("data-state", "done")
    header = call.get_by_test_id("tool-call-header")
    expect(header).to_contain_text("Fetching weather...")
    expect(header.locator("strong")).to_have_text("weather")
    call.get_by_test_id("tool-call-header").click()
    expect(call.get_by_test_id("tool-call-arguments")).to_contain_text('"city": "Paris"')
    expect(call.get_by_test_id("tool-result")).to_contain_text("partly cloudy")
    # tool results live inside their call's block, not as messages of their own
    expect(chat_page.messages("tool")).to_have_count(0)
    chat_page.screenshot("demo-reply")


def test_default_tool_header_and_handler_error_inline(chat: ChatApp, chat_page: ChatPage) -> None:
    calls: list[int] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        calls.append(1)
        mid = chat.new_id()
        call = {"index": 0, "id": "call_1", "type": "function"}
        chat.update_message(
            {"role": "assistant", "tool_calls": [{**call, "function": {"name": "lookup"}}]}, id=mid
        )
        chat.update_message(
            {"tool_calls": [{"index": 0, "function": {"arguments": '{"q": "x"}'}}]}, id=mid
        )
        raise RuntimeError("upstream timed out")

    chat_page.open()
    chat_page.send("look it up")
    chat_page.wait_idle()
    expect(chat_page.page.get_by_test_id("run-error")).to_contain_text("upstream timed out")
    call = chat_page.page.get_by_test_id("tool-call")
    expect(call.get_by_test_id("tool-call-header")).to_contain_text("Function call to lookup()")
    expect(call).to_have_attribute("data-state", "error")
    expect(chat_page.messages("user")).to_have_text("look it up")  # nothing lost
    expect(chat_page.input).to_be_editable()  # the composer is usable again
    chat_page.screenshot("handler-error")


def test_markup_in_model_output_renders_as_text(chat: ChatApp, chat_page: ChatPage) -> None:
    evil = (
        'Hi <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> '
        "[click](javascript:window.__pwned=3)"
    )
    chat.handle_send_message(lambda m: {"role": "assistant", "content": evil})
    chat_page.open()
    chat_page.send("<b>bold?</b>")
    chat_page.wait_idle()
    expect(chat_page.messages("user")).to_have_text("<b>bold?</b>")
    reply = chat_page.last_assistant()
    expect(reply).to_contain_text("<script>")
    expect(reply.locator("img, script")).to_have_count(0)
    link = reply.locator("a", has_text="click")
    if link.count():
        assert not (link.get_attribute("href") or "").startswith("javascript:")
        link.click()
    time.sleep(0.2)
    assert chat_page.page.evaluate("window.__pwned") is None


def test_stop_button_keeps_the_partial_reply(chat: ChatApp, chat_page: ChatPage) -> None:
    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        for i in range(2000):
            chat.update_message({"content": f"word{i} "}, id=mid)
            time.sleep(0.005)

    chat_page.open()
    chat_page.send("go on forever")
    expect(chat_page.last_assistant()).to_contain_text("word5")
    chat_page.page.get_by_test_id("stop-button").click()
    chat_page.wait_idle(timeout=3000)
    expect(chat_page.last_assistant()).to_have_attribute("data-status", "stopped")
    expect(chat_page.last_assistant()).to_contain_text("word1")
