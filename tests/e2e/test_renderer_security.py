"""Model and tool output is untrusted: what reaches the page cannot run, leak or navigate."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Request, expect

from gptchat import ChatApp
from tests.e2e.chat_page import ChatPage

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVQI12P8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)
Messages = list[dict[str, Any]]


def stream(chat: ChatApp, *pieces: str) -> None:
    """A handler that streams ``pieces`` as deltas of one message."""

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        mid = chat.new_id()
        for piece in pieces:
            chat.update_message({"role": "assistant", "content": piece}, id=mid)


def no_script_ran(chat_page: ChatPage) -> None:
    assert chat_page.page.evaluate("() => window.__pwned ?? null") is None


def test_a_tag_split_across_deltas_never_executes(chat: ChatApp, chat_page: ChatPage) -> None:
    stream(
        chat,
        "Look: <img src=x onerr",
        'or="window.__pwned=1"> and <scr',
        "ipt>window.__pwned=2</script>",
    )
    chat_page.open().send("split")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    expect(reply).to_contain_text('<img src=x onerror="window.__pwned=1">')
    expect(reply.locator("img, script")).to_have_count(0)
    no_script_ran(chat_page)


def test_code_fence_label_cannot_inject_markup(chat: ChatApp, chat_page: ChatPage) -> None:
    stream(chat, '```"><img src=x onerror=window.__pwned=1>\nprint(1)\n```\n')
    chat_page.open().send("fence")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    expect(reply.locator("img")).to_have_count(0)
    expect(reply.locator("pre code")).to_have_text("print(1)")
    no_script_ran(chat_page)


def test_dangerous_links_are_inert_and_safe_links_show_their_destination(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    stream(
        chat,
        "[a](javascript:window.__pwned=1) [b](data:text/html,<script>alert(1)</script>) "
        "[c](vbscript:msgbox) [docs](https://example.com/real)",
    )
    chat_page.open().send("links")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    links = reply.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.com/real")
    expect(links).to_have_attribute("target", "_blank")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    expect(links).to_have_attribute("title", "https://example.com/real")
    for text in ("a", "b", "c"):
        reply.get_by_text(text, exact=True).click()
    no_script_ran(chat_page)
    assert chat_page.page.url.startswith(chat_page.url)


def test_remote_images_wait_for_a_click_unless_their_host_is_allowed(
    chat: ChatApp, chat_page: ChatPage, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    chat.set_config({"logo": str(logo)})
    port = urlsplit(chat_page.url).port
    # "localhost" is another host than the page's 127.0.0.1: a remote image as far as the
    # page is concerned, yet on loopback.
    image = f"http://localhost:{port}/_gptchat/logo"
    stream(chat, f"A chart: ![sales]({image}) done.")
    requests: list[str] = []

    def seen(request: Request) -> None:
        if request.url.startswith("http://localhost"):
            requests.append(request.url)

    chat_page.page.on("request", seen)
    chat_page.open().send("chart")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    placeholder = reply.locator(".md-image-blocked")
    expect(placeholder).to_contain_text(f"“sales” from localhost:{port}")
    expect(reply.locator("img")).to_have_count(0)
    assert requests == []
    placeholder.click()
    expect(reply.locator("img")).to_have_js_property("naturalWidth", 2)
    assert requests == [image]


def test_allowlisted_image_hosts_load_directly(
    chat: ChatApp, chat_page: ChatPage, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    chat.set_config({"logo": str(logo), "image_hosts": ["localhost"]})
    port = urlsplit(chat_page.url).port
    stream(chat, f"![sales](http://localhost:{port}/_gptchat/logo)")
    chat_page.open().send("chart")
    chat_page.wait_idle()
    img = chat_page.last_assistant().locator("img")
    expect(img).to_have_js_property("naturalWidth", 2)
    expect(img).to_have_attribute("referrerpolicy", "no-referrer")


def test_html_tool_results_render_in_a_sandbox(chat: ChatApp, chat_page: ChatPage) -> None:
    chat.set_config({"functions": {"report": {"result_type": "html"}}})

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        call = {"index": 0, "id": "c1", "type": "function"}
        chat.update_message(
            {"role": "assistant", "tool_calls": [{**call, "function": {"name": "report"}}]}
        )
        chat.update_message(
            {
                "role": "tool",
                "tool_call_id": "c1",
                "content": "<h1>Rich report</h1><script>parent.__pwned = 1;"
                "localStorage.setItem('x', 1)</script>",
            }
        )

    chat_page.open().send("report")
    chat_page.wait_idle()
    call = chat_page.page.get_by_test_id("tool-call")
    call.get_by_test_id("tool-call-header").click()
    frame = call.locator("iframe")
    expect(frame).to_have_attribute("sandbox", "")
    expect(frame.content_frame.locator("h1")).to_have_text("Rich report")
    no_script_ran(chat_page)
    # The frame has an opaque origin: the page's storage is out of its reach.
    origin = frame.content_frame.locator("h1").evaluate("() => self.origin")
    assert origin == "null"
