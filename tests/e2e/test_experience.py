"""The ChatGPT look-alike experience, one behaviour per test, as a person sees it in Chromium."""

from __future__ import annotations

import base64
import re
import threading
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Route, WebSocketRoute, expect

from gptchat import ChatApp
from tests.e2e.chat_page import ChatPage

# A 2x2 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVQI12P8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)

Messages = list[dict[str, Any]]


def reply_with(chat: ChatApp, text: str) -> None:
    """A handler that streams ``text`` a few characters at a time."""

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        mid = chat.new_id()
        for i in range(0, len(text), 7):
            chat.update_message({"role": "assistant", "content": text[i : i + 7]}, id=mid)


# -- messages ---------------------------------------------------------------------------


def test_github_flavoured_markdown(chat: ChatApp, chat_page: ChatPage) -> None:
    reply_with(
        chat,
        "## Plan\n\n"
        "- [x] done task\n- [ ] open task\n\n"
        "~~old~~ new, see https://example.com/docs\n\n"
        "1. first\n   - nested a\n   - nested b\n2. second\n\n"
        "> quoted wisdom\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n",
    )
    chat_page.open().send("markdown please")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    expect(reply.locator("h2")).to_have_text("Plan")
    expect(reply.locator("input[type=checkbox]")).to_have_count(2)
    expect(reply.locator("input[type=checkbox]").first).to_be_checked()
    expect(reply.locator("del")).to_have_text("old")
    expect(reply.locator("a[href='https://example.com/docs']")).to_have_attribute(
        "rel", "noopener noreferrer"
    )
    expect(reply.locator("ol > li ul > li")).to_have_count(2)
    expect(reply.locator("blockquote")).to_have_text("quoted wisdom")
    expect(reply.locator("table td")).to_have_count(2)


def test_code_block_language_label_highlighting_and_copy(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    code = 'def greet(name):\n    return f"hi {name}"'
    reply_with(chat, f"Here:\n\n```python\n{code}\n```\n")
    chat_page.grant_clipboard()
    chat_page.open().send("code")
    chat_page.wait_idle()
    block = chat_page.last_assistant().locator(".md-code")
    expect(block.locator(".md-code-lang")).to_have_text("python")
    expect(block.locator(".hljs-keyword").first).to_have_text("def")
    block.get_by_role("button", name="Copy code").click()
    assert chat_page.clipboard() == code


def test_math_in_every_delimiter(chat: ChatApp, chat_page: ChatPage) -> None:
    reply_with(
        chat,
        "Inline $a^2$ and \\(b_1\\).\n\n$$\\int_0^1 x\\,dx$$\n\n\\[\\sum_{i=1}^n i\\]\n",
    )
    chat_page.open().send("math")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    expect(reply.locator(".katex")).to_have_count(4)
    expect(reply.locator(".katex-display")).to_have_count(2)
    expect(reply).not_to_contain_text("$")


def test_half_streamed_code_fence_renders_as_code_with_a_cursor(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    release = threading.Event()

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        mid = chat.new_id()
        chat.update_message({"role": "assistant", "content": "Intro\n\n```js\nconst x = ["}, id=mid)
        release.wait(10)
        chat.update_message({"content": "1];\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |"}, id=mid)

    chat_page.open().send("stream slowly")
    reply = chat_page.last_assistant()
    expect(reply.locator("pre code")).to_contain_text("const x = [")
    expect(reply.locator(".md-root.streaming")).to_have_count(1)
    chat_page.screenshot("half-streamed")
    release.set()
    chat_page.wait_idle()
    expect(reply.locator("pre code")).to_have_text("const x = [1];")
    expect(reply.locator("table td")).to_have_count(2)
    expect(reply.locator(".md-root.streaming")).to_have_count(0)


def test_parallel_tool_calls_grow_live_and_show_results_in_their_blocks(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    chat.set_config(
        {
            "functions": {
                "get_weather": {
                    "header": "Fetching **weather**...",
                    "arguments_title": "Query",
                    "result_title": "Forecast",
                    "result_type": "json",
                },
                "run_sql": {"hide_header": True, "result_type": "code", "result_language": "sql"},
            }
        }
    )
    release = threading.Event()

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        mid = chat.new_id()
        calls = [
            {"index": 0, "id": "c1", "type": "function", "function": {"name": "get_weather"}},
            {"index": 1, "id": "c2", "type": "function", "function": {"name": "run_sql"}},
        ]
        chat.update_message({"role": "assistant", "tool_calls": calls}, id=mid)
        chat.update_message(
            {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Par'}}]}, id=mid
        )
        release.wait(10)
        chat.update_message(
            {"tool_calls": [{"index": 0, "function": {"arguments": 'is"}'}}]}, id=mid
        )
        chat.update_message(
            {"tool_calls": [{"index": 1, "function": {"arguments": '{"q": "select 1"}'}}]}, id=mid
        )
        chat.update_message({"role": "tool", "tool_call_id": "c1", "content": '{"temp": 18}'})
        chat.update_message({"role": "tool", "tool_call_id": "c2", "content": "SELECT 1;"})
        chat.update_message({"role": "assistant", "content": "It is 18 °C."})

    chat_page.open().send("weather and sql")
    calls = chat_page.page.get_by_test_id("tool-call")
    expect(calls).to_have_count(2)
    weather, sql = calls.nth(0), calls.nth(1)
    expect(weather).to_have_attribute("data-state", "running")
    expect(weather.get_by_test_id("tool-call-header").locator("strong")).to_have_text("weather")
    weather.get_by_test_id("tool-call-header").click()
    # partial JSON arguments already read as indented JSON
    expect(weather.get_by_test_id("tool-call-arguments")).to_contain_text('"city": "Par"')
    expect(weather).to_contain_text("Query")
    release.set()
    chat_page.wait_idle()
    expect(weather).to_have_attribute("data-state", "done")
    expect(sql).to_have_attribute("data-state", "done")
    expect(weather.get_by_test_id("tool-call-arguments")).to_contain_text('"city": "Paris"')
    expect(weather.get_by_test_id("tool-result")).to_contain_text('"temp": 18')
    expect(weather).to_contain_text("Forecast")
    expect(sql.locator(".tool-header")).to_have_count(0)
    sql.get_by_test_id("tool-call-header").click()
    expect(sql.get_by_test_id("tool-result").locator(".md-code-lang")).to_have_text("sql")
    expect(chat_page.messages("tool")).to_have_count(0)
    expect(chat_page.last_assistant()).to_contain_text("It is 18 °C.")
    chat_page.screenshot("tool-calls")


def test_legacy_function_call_with_its_result(chat: ChatApp, chat_page: ChatPage) -> None:
    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        chat.update_message(
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "lookup", "arguments": '{"q": "x"}'},
            }
        )
        chat.update_message({"role": "function", "name": "lookup", "content": "found it"})

    chat_page.open().send("legacy")
    chat_page.wait_idle()
    call = chat_page.page.get_by_test_id("tool-call")
    expect(call).to_have_attribute("data-state", "done")
    expect(call.get_by_test_id("tool-call-header")).to_contain_text("Function call to lookup()")
    call.get_by_test_id("tool-call-header").click()
    expect(call.get_by_test_id("tool-result")).to_have_text("found it")
    expect(chat_page.messages("function")).to_have_count(0)


def test_reasoning_streams_into_a_thinking_block(chat: ChatApp, chat_page: ChatPage) -> None:
    release = threading.Event()

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        mid = chat.new_id()
        chat.update_message({"role": "assistant", "reasoning_content": "The user wants "}, id=mid)
        chat.update_message({"reasoning_content": "a greeting."}, id=mid)
        release.wait(10)
        chat.update_message({"content": "Hello!"}, id=mid)

    chat_page.open().send("hi")
    thinking = chat_page.last_assistant().locator("details.reasoning")
    expect(thinking).to_have_attribute("open", "")  # open while it is all there is
    expect(thinking).to_contain_text("The user wants a greeting.")
    release.set()
    chat_page.wait_idle()
    expect(thinking).not_to_have_attribute("open", "")
    expect(chat_page.last_assistant().locator(".md-root")).to_have_text("Hello!")


def test_user_images_render_and_system_messages_are_hidden_but_sent(
    chat: ChatApp, chat_page: ChatPage, tmp_path: Path
) -> None:
    chat.set_config({"messages": [{"role": "system", "content": "You are terse."}]})
    seen: list[Messages] = []

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        seen.append(messages)
        chat.update_message({"role": "assistant", "content": "A red square."})

    image = tmp_path / "red.png"
    image.write_bytes(PNG)
    chat_page.open()
    chat_page.page.get_by_test_id("composer").locator("input[type=file]").set_input_files(
        str(image)
    )
    expect(chat_page.page.get_by_role("img", name="Attachment 1")).to_be_visible()
    chat_page.send("What is this?")
    chat_page.wait_idle()
    expect(chat_page.messages("user").locator("img.attachment")).to_have_count(1)
    expect(chat_page.messages("user")).to_contain_text("What is this?")
    expect(chat_page.page.get_by_text("You are terse.")).to_have_count(0)
    (messages,) = seen
    assert messages[0] == {"role": "system", "content": "You are terse."}
    text, picture = messages[1]["content"]
    assert text == {"type": "text", "text": "What is this?"}
    assert picture["type"] == "image_url"
    assert picture["image_url"]["url"].startswith("data:image/png;base64,")


def test_refusal_and_empty_assistant_message(chat: ChatApp, chat_page: ChatPage) -> None:
    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        chat.update_message({"role": "assistant", "content": None})
        chat.update_message({"role": "assistant", "refusal": "I can't help with that."})

    chat_page.open().send("something bad")
    chat_page.wait_idle()
    expect(chat_page.page.get_by_test_id("refusal")).to_have_text("I can't help with that.")
    empty = chat_page.messages("assistant").first
    expect(empty).not_to_contain_text("null")
    expect(empty.locator(".status-note")).to_have_count(0)


def test_token_usage_shows_when_configured(chat: ChatApp, chat_page: ChatPage) -> None:
    chat.set_config({"show_usage": True})

    @chat.handle_send_message
    def handler(messages: Messages) -> Any:
        # what an OpenAI stream with stream_options={"include_usage": True} yields
        yield {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Counted."}}]}
        yield {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        usage = {"prompt_tokens": 1200, "completion_tokens": 34, "total_tokens": 1234}
        yield {"choices": [], "usage": usage}

    chat_page.open().send("count")
    chat_page.wait_idle()
    expect(chat_page.last_assistant().get_by_test_id("usage")).to_have_text(
        "1,234 tokens · 1,200 in · 34 out"
    )


def test_copy_a_message_as_markdown(chat: ChatApp, chat_page: ChatPage) -> None:
    reply_with(chat, "**Bold** and `code`.")
    chat_page.grant_clipboard()
    chat_page.open().send("copy me")
    chat_page.wait_idle()
    chat_page.last_assistant().get_by_test_id("copy-message").click()
    assert chat_page.clipboard() == "**Bold** and `code`."


# -- the composer ------------------------------------------------------------------------


def test_composer_keys_ime_and_growth(chat: ChatApp, chat_page: ChatPage) -> None:
    seen: list[str] = []

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        seen.append(messages[-1]["content"])
        chat.update_message({"role": "assistant", "content": "ok"})

    chat_page.open()
    send = chat_page.page.get_by_test_id("send-button")
    expect(send).to_be_disabled()
    box = chat_page.input
    height = box.bounding_box()
    box.type("line one")
    box.press("Shift+Enter")
    box.type("line two")
    box.press("Shift+Enter")
    box.type("line three")
    grown = box.bounding_box()
    assert height and grown and grown["height"] > height["height"]
    # an Enter that ends an IME composition must not send
    box.dispatch_event("keydown", {"key": "Enter", "isComposing": True})
    expect(chat_page.messages("user")).to_have_count(0)
    box.press("Enter")
    chat_page.wait_idle()
    expect(chat_page.messages("user")).to_have_count(1)
    assert seen == ["line one\nline two\nline three"]
    expect(box).to_have_value("")


def test_attachments_by_paste_and_drop_can_be_removed(chat: ChatApp, chat_page: ChatPage) -> None:
    chat_page.open()
    data = list(PNG)
    script = """([kind, bytes]) => {
        const file = new File([new Uint8Array(bytes)], "red.png", { type: "image/png" });
        const dt = new DataTransfer();
        dt.items.add(file);
        const input = document.querySelector('[data-testid="composer-input"]');
        const form = document.querySelector('[data-testid="composer"]');
        if (kind === "paste") {
            input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true }));
        } else {
            form.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true }));
        }
    }"""
    chat_page.page.evaluate(script, ["paste", data])
    chat_page.page.evaluate(script, ["drop", data])
    previews = chat_page.page.locator(".preview img")
    expect(previews).to_have_count(2)
    chat_page.page.get_by_role("button", name="Remove attachment 1").click()
    expect(previews).to_have_count(1)
    expect(chat_page.page.get_by_test_id("send-button")).to_be_enabled()


def test_an_image_type_the_server_refuses_is_not_attached_and_says_why(
    chat: ChatApp, chat_page: ChatPage, tmp_path: Path
) -> None:
    # An SVG is refused by the server (a page that can run script once opened on its own):
    # the composer says so at once instead of letting a send fail.
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>')
    png = tmp_path / "red.png"
    png.write_bytes(PNG)
    chat_page.open()
    chat_page.page.get_by_test_id("composer").locator("input[type=file]").set_input_files(
        [str(svg), str(png)]
    )
    expect(chat_page.page.get_by_role("alert")).to_contain_text(
        "logo.svg: only PNG, JPEG, GIF and WebP images can be attached"
    )
    expect(chat_page.page.locator(".preview img")).to_have_count(1)


def test_uploads_can_be_turned_off(chat: ChatApp, chat_page: ChatPage) -> None:
    chat.set_config({"allow_upload": False})
    chat_page.open()
    expect(chat_page.page.get_by_test_id("attach-button")).to_have_count(0)


# -- the conversation -------------------------------------------------------------------


def counting_handler(chat: ChatApp) -> list[Messages]:
    seen: list[Messages] = []

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        seen.append(messages)
        chat.update_message({"role": "assistant", "content": f"Answer {len(seen)}"})

    return seen


def test_regenerate_the_last_reply(chat: ChatApp, chat_page: ChatPage) -> None:
    seen = counting_handler(chat)
    chat_page.open().send("question")
    chat_page.wait_idle()
    expect(chat_page.last_assistant()).to_have_text(re.compile("Answer 1"))
    chat_page.last_assistant().get_by_test_id("regenerate").click()
    chat_page.wait_idle()
    expect(chat_page.messages("assistant")).to_have_count(1)
    expect(chat_page.last_assistant()).to_contain_text("Answer 2")
    assert seen[1] == [{"role": "user", "content": "question"}]


def test_edit_an_earlier_message_replaces_what_followed(chat: ChatApp, chat_page: ChatPage) -> None:
    seen = counting_handler(chat)
    chat_page.open().send("first")
    chat_page.wait_idle()
    chat_page.send("second")
    chat_page.wait_idle()
    first = chat_page.messages("user").first
    first.hover()
    first.get_by_test_id("edit-message").click()
    editor = chat_page.page.get_by_test_id("edit-input")
    expect(editor).to_be_focused()
    editor.fill("first, better")
    chat_page.page.get_by_test_id("edit-save").click()
    chat_page.wait_idle()
    expect(chat_page.messages("user")).to_have_count(1)
    expect(chat_page.messages("user")).to_have_text("first, better")
    expect(chat_page.last_assistant()).to_contain_text("Answer 3")
    assert seen[2] == [{"role": "user", "content": "first, better"}]


def test_retry_after_an_error(chat: ChatApp, chat_page: ChatPage) -> None:
    attempts: list[int] = []

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("model unavailable")
        chat.update_message({"role": "assistant", "content": "Back online."})

    chat_page.open().send("hello")
    chat_page.wait_idle()
    expect(chat_page.page.get_by_test_id("run-error")).to_contain_text("model unavailable")
    chat_page.page.get_by_test_id("retry").click()
    chat_page.wait_idle()
    expect(chat_page.page.get_by_test_id("run-error")).to_have_count(0)
    expect(chat_page.last_assistant()).to_contain_text("Back online.")


def test_sidebar_new_chat_rename_delete_and_reload(chat: ChatApp, chat_page: ChatPage) -> None:
    seen = counting_handler(chat)
    chat_page.open().send("Plan a trip to Lisbon")
    chat_page.wait_idle()
    chat_page.page.get_by_test_id("new-chat").click()
    expect(chat_page.page.get_by_test_id("empty-state")).to_be_visible()
    chat_page.send("Recipe for bread")
    chat_page.wait_idle()
    # the handler sees only the current conversation
    assert seen[-1] == [{"role": "user", "content": "Recipe for bread"}]
    items = chat_page.page.get_by_test_id("conversation")
    expect(items).to_have_text([re.compile("Recipe for bread"), re.compile("Plan a trip")])
    chat_page.conversation_action("Plan a trip to Lisbon", "Rename")
    chat_page.page.get_by_label("Conversation title").fill("Lisbon")
    chat_page.page.get_by_label("Conversation title").press("Enter")
    expect(items.nth(1)).to_contain_text("Lisbon")
    chat_page.page.reload()
    chat_page.wait_connected()
    expect(items).to_have_text([re.compile("Recipe for bread"), re.compile("Lisbon")])
    items.nth(1).get_by_role("button", name="Lisbon", exact=True).click()
    expect(chat_page.messages("user")).to_have_text("Plan a trip to Lisbon")
    chat_page.conversation_action("Recipe for bread", "Delete")
    expect(items).to_have_count(1)
    chat_page.page.get_by_test_id("sidebar-toggle").click()
    expect(chat_page.page.get_by_test_id("sidebar")).not_to_be_in_viewport()


def test_phone_drawer(chat: ChatApp, chat_page: ChatPage) -> None:
    counting_handler(chat)
    chat_page.phone()
    chat_page.open().send("on my phone")
    chat_page.wait_idle()
    sidebar = chat_page.page.get_by_test_id("sidebar")
    expect(sidebar).not_to_be_in_viewport()
    chat_page.page.get_by_test_id("sidebar-toggle").click()
    expect(sidebar).to_be_in_viewport()
    chat_page.screenshot("phone-drawer")
    sidebar.get_by_role("button", name="on my phone").first.click()
    expect(sidebar).not_to_be_in_viewport()


def test_autoscroll_follows_until_the_reader_scrolls_up(chat: ChatApp, chat_page: ChatPage) -> None:
    pace = threading.Event()

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        mid = chat.new_id()
        for i in range(400):
            chat.update_message({"role": "assistant", "content": f"Line {i}\n\n"}, id=mid)
            if i == 60:
                pace.wait(10)
            time.sleep(0.002)

    chat_page.open().send("long answer")
    expect(chat_page.last_assistant()).to_contain_text("Line 60")
    scroller = chat_page.page.locator(".scroller")
    assert scroller.evaluate("e => e.scrollHeight - e.scrollTop - e.clientHeight") < 48
    scroller.hover()
    chat_page.page.mouse.wheel(0, -600)
    jump = chat_page.page.get_by_test_id("jump-to-latest")
    expect(jump).to_be_visible()
    pace.set()
    chat_page.wait_idle()
    assert scroller.evaluate("e => e.scrollHeight - e.scrollTop - e.clientHeight") > 200
    jump.click()
    expect(jump).to_have_count(0)
    expect(chat_page.last_assistant()).to_contain_text("Line 399")
    expect(chat_page.last_assistant().get_by_text("Line 399")).to_be_in_viewport()


def test_empty_state_with_logo_and_starter_prompts(
    chat: ChatApp, chat_page: ChatPage, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    chat.set_config(
        {
            "title": "Acme Helper",
            "logo": str(logo),
            "favicon": str(logo),
            "placeholder": "Ask Acme anything",
            "starter_prompts": ["What can you do?", "Tell me a joke"],
        }
    )
    counting_handler(chat)
    chat_page.open()
    expect(chat_page.page).to_have_title("Acme Helper")
    empty = chat_page.page.get_by_test_id("empty-state")
    expect(empty.get_by_role("heading")).to_have_text("Acme Helper")
    expect(empty.locator("img")).to_have_js_property("naturalWidth", 2)
    expect(chat_page.input).to_have_attribute("placeholder", "Ask Acme anything")
    icon = chat_page.page.locator("link[rel=icon]")
    expect(icon).to_have_count(1)  # the configured icon replaces the default one
    assert chat_page.page.request.get(chat_page.url + "/" + icon.get_attribute("href")).ok
    chat_page.screenshot("empty-state")
    chat_page.page.get_by_test_id("starter-prompt").nth(1).click()
    chat_page.wait_idle()
    expect(chat_page.messages("user")).to_have_text("Tell me a joke")


def test_reply_renders_even_if_the_markdown_code_fails_to_load_once(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    reply_with(chat, "**Bold** reply.")
    failed: list[str] = []

    def flaky(route: Route) -> None:
        if not failed:
            failed.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    chat_page.page.route(re.compile(r"/assets/render-[^/]+\.js$"), flaky)
    chat_page.open().send("hello")
    chat_page.wait_idle()
    expect(chat_page.last_assistant().locator("strong")).to_have_text("Bold", timeout=10_000)
    assert len(failed) == 1


def test_default_favicon(chat: ChatApp, chat_page: ChatPage) -> None:
    chat_page.open()
    icon = chat_page.page.locator("link[rel=icon]")
    expect(icon).to_have_count(1)
    response = chat_page.page.request.get(chat_page.url + "/" + (icon.get_attribute("href") or ""))
    assert response.ok and response.headers["content-type"].startswith("image/svg+xml")


def test_connection_banner_and_reconnect_lose_nothing(chat: ChatApp, chat_page: ChatPage) -> None:
    words = [f"w{i}" for i in range(300)]
    dropped = threading.Event()

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        mid = chat.new_id()
        for i, word in enumerate(words):
            chat.update_message({"role": "assistant", "content": word + " "}, id=mid)
            if i == 100:
                dropped.wait(10)
            time.sleep(0.002)

    sockets: list[WebSocketRoute] = []
    offline = threading.Event()

    def route(ws: WebSocketRoute) -> None:
        if offline.is_set():
            ws.close()
            return
        ws.connect_to_server()
        sockets.append(ws)

    chat_page.page.route_web_socket(re.compile(r"/socket\.io/"), route)
    chat_page.open().send("keep talking")
    expect(chat_page.last_assistant()).to_contain_text("w100")
    offline.set()
    sockets[-1].close()
    banner = chat_page.page.get_by_test_id("connection-banner")
    expect(banner).to_be_visible()
    chat_page.screenshot("connection-lost")
    dropped.set()  # the server keeps streaming while the tab is away
    time.sleep(0.3)
    offline.clear()
    expect(banner).to_have_count(0, timeout=10_000)
    chat_page.wait_idle()
    expect(chat_page.last_assistant()).to_have_text(" ".join(words))


# -- look --------------------------------------------------------------------------------


def test_theme_toggle_and_screenshots(chat: ChatApp, chat_page: ChatPage) -> None:
    from gptchat.demo import DEMO_CONFIG, demo_handler

    chat.set_config(DEMO_CONFIG)
    chat.handle_send_message(demo_handler(chat, delay=0.0005))
    chat_page.open().send("What's the weather in Paris?")
    chat_page.wait_idle()
    html = chat_page.page.locator("html")
    expect(html).to_have_attribute("data-theme", "light")
    chat_page.page.locator(".scroller").evaluate("e => e.scrollTo(0, 0)")
    chat_page.screenshot("desktop-light")
    chat_page.page.get_by_test_id("theme-toggle").click()
    expect(html).to_have_attribute("data-theme", "dark")
    background = html.evaluate("e => getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(33, 33, 33)"
    chat_page.screenshot("desktop-dark")
    chat_page.phone()
    chat_page.screenshot("phone-dark")
    chat_page.page.get_by_test_id("theme-toggle").click()
    chat_page.screenshot("phone-light")
    chat_page.page.reload()
    expect(html).to_have_attribute("data-theme", "light")  # the choice is remembered


def test_keyboard_only_use_and_landmarks(chat: ChatApp, chat_page: ChatPage) -> None:
    counting_handler(chat)
    chat_page.open()
    page = chat_page.page
    for role, name in [("navigation", "Conversations"), ("main", "Conversation")]:
        expect(page.get_by_role(role, name=name)).to_be_visible()
    expect(page.get_by_role("banner")).to_be_visible()
    expect(page.get_by_role("form", name="Send a message")).to_be_visible()
    # Tab through the page until the composer has focus, then send with the keyboard.
    for _ in range(15):
        page.keyboard.press("Tab")
        if chat_page.input.evaluate("e => e === document.activeElement"):
            break
    expect(chat_page.input).to_be_focused()
    ring = page.evaluate(
        "() => getComputedStyle(document.activeElement.closest('.composer-row')).boxShadow"
    )
    assert ring != "none", "the focused composer shows a focus ring"
    page.keyboard.type("typed by keyboard")
    page.keyboard.press("Enter")
    chat_page.wait_idle()
    expect(page.locator("[aria-live=polite]")).to_contain_text("Answer 1")


CONTRAST = """(selector) => {
    const parse = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = (rgb) => {
        const [r, g, b] = rgb.map((v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const el = document.querySelector(selector);
    let bg = el;
    while (bg && getComputedStyle(bg).backgroundColor === "rgba(0, 0, 0, 0)") bg = bg.parentElement;
    const a = lum(parse(getComputedStyle(el).color));
    const b = lum(parse(getComputedStyle(bg ?? document.body).backgroundColor));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_text_contrast_meets_wcag_aa_in_both_themes(chat: ChatApp, chat_page: ChatPage) -> None:
    chat.set_config({"starter_prompts": ["Hello"]})
    counting_handler(chat)
    chat_page.open()
    selectors = [".empty .muted", ".starter", ".title", ".sidebar li button", "body"]
    for _theme in ("light", "dark"):
        for selector in selectors:
            ratio = chat_page.page.evaluate(CONTRAST, selector)
            assert ratio >= 4.5, f"{selector} contrast {ratio:.2f} in {_theme} theme"
        chat_page.page.get_by_test_id("theme-toggle").click()
