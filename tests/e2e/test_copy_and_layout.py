"""Copying code from a reply, and the thread on a phone, in Chromium.

The replies are what a model writes (prose, tables, several code blocks, math, links),
streamed from a real handler about four characters at a time, as ``gptchat.demo`` does.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from gptchat import ChatApp
from gptchat.demo import tokens
from tests.e2e.chat_page import ChatPage
from tests.e2e.chromium import ARGS, CHROMIUM
from tests.e2e.conftest import SCREENSHOTS
from tests.support import live_server, serve_wsgi

Messages = list[dict[str, Any]]

CODE = "print('copy-me-42')"
# The reply of the report (16.7) whose code copy button was said to copy the whole message.
REPLY = (
    "Intro PROSE-MARK with **bold** words.\n\n"
    "| Name | Value |\n|---|---|\n| alpha | 1 |\n| beta | 2 |\n\n"
    f"```python\n{CODE}\n```\n\n"
    "Inline math $a^2 + b^2 = c^2$, and on display:\n\n"
    "$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$\n\n"
    "End MD-DONE"
)
INSTALL = "python -m venv .venv\n. .venv/bin/activate\npip install gptchat"
SERVE = (
    "from gptchat import app\n\n\n"
    "@app.handle_send_message\n"
    "def on_message(messages):\n"
    '    app.update_message({"role": "assistant", "content": "Hello!"})\n\n\n'
    "app.run_app()"
)
TWO_BLOCKS = (
    "Two steps get you a chat window, see [the README](https://example.com/gptchat#readme).\n\n"
    f"1. Install it:\n\n```bash\n{INSTALL}\n```\n\n"
    f"2. Write a handler:\n\n```python\n{SERVE}\n```\n\n"
    "Run it and open the address it prints; each reply costs $O(n)$ in its length."
)


def stream(chat: ChatApp, text: str, delay: float = 0.0) -> None:
    """Stream ``text`` as one assistant message, a token of about 4 characters at a time."""
    mid = chat.new_id()
    for i, piece in enumerate(tokens(text)):
        delta: dict[str, Any] = {"content": piece}
        if i == 0:
            delta["role"] = "assistant"
        chat.update_message(delta, id=mid)
        if delay:
            time.sleep(delay)


def replies(chat: ChatApp, by_prompt: dict[str, str], delay: float = 0.0) -> None:
    """A handler that streams the reply filed under the last user message."""

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        stream(chat, by_prompt[messages[-1]["content"]], delay)


def copied(chat_page: ChatPage, before: str) -> str:
    """The clipboard once a copy started by a click has changed it (or what it holds)."""
    deadline = time.monotonic() + 5
    text = chat_page.clipboard()
    while text == before and time.monotonic() < deadline:
        chat_page.page.wait_for_timeout(20)
        text = chat_page.clipboard()
    return text


def set_clipboard(chat_page: ChatPage, text: str) -> None:
    chat_page.page.evaluate("(t) => navigator.clipboard.writeText(t)", text)


# -- the copy buttons (10.1, 16.7) -------------------------------------------------------------


def test_each_code_copy_button_copies_its_own_block_and_the_message_button_the_message(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    replies(chat, {"show me": REPLY, "how do I start": TWO_BLOCKS})
    chat_page.grant_clipboard()
    chat_page.open().send("show me")
    chat_page.wait_idle()
    first = chat_page.messages("assistant").nth(0)  # a locator: .last would move on
    expect(first.locator(".md-math[data-done]")).to_have_count(2)
    # The message first, so that a code button that wrote nothing would leave its text.
    first.get_by_test_id("copy-message").click()
    assert copied(chat_page, "") == REPLY
    first.get_by_role("button", name="Copy code").click()
    assert copied(chat_page, REPLY) == CODE
    expect(first.locator(".md-copy")).to_have_text("Copied")

    chat_page.send("how do I start")
    chat_page.wait_idle()
    second = chat_page.messages("assistant").nth(1)
    buttons = second.get_by_role("button", name="Copy code")
    expect(buttons).to_have_count(2)
    expect(second.locator(".md-code-lang")).to_have_text(["bash", "python"])
    buttons.nth(1).click()
    assert copied(chat_page, CODE) == SERVE
    buttons.nth(0).click()
    assert copied(chat_page, SERVE) == INSTALL
    second.get_by_test_id("copy-message").click()
    assert copied(chat_page, INSTALL) == TWO_BLOCKS
    # The earlier reply's button still copies its own block, not the newest reply's.
    first.get_by_role("button", name="Copy code").click()
    assert copied(chat_page, TWO_BLOCKS) == CODE


LINES = [f"print('line {i}: the open block is rendered again on every update')" for i in range(9)]
SLOW = (
    "Intro PROSE-MARK with **bold** words.\n\n"
    "| Step | Cost |\n|---|---|\n| lex | $O(n)$ |\n\n"
    "```python\n" + "\n".join(LINES) + "\n```\n\nEnd MD-DONE"
)


def test_code_copy_while_its_block_is_still_streaming(chat: ChatApp, chat_page: ChatPage) -> None:
    """A press on the copy button of the block being streamed, held over a re-render."""
    replies(chat, {"stream it": SLOW}, delay=0.03)
    chat_page.grant_clipboard()
    chat_page.open().send("stream it")
    page = chat_page.page
    reply = chat_page.last_assistant()
    expect(reply.locator("code")).to_contain_text("line 1:")
    expect(reply).to_have_attribute("data-status", "streaming")
    set_clipboard(chat_page, "BEFORE")
    page.evaluate(
        """() => { document.addEventListener("pointerdown", (e) => {
            window.pressedOn = e.target.className;
        }, true) }"""
    )
    code = "document.querySelector('[data-role=assistant] .md-code code')"
    # Each new button sits where the last one did: read the place in one go (in the page).
    x, y = page.evaluate(
        """() => {
            const button = document.querySelector("[data-role=assistant] .md-copy");
            const r = button.getBoundingClientRect();
            return [r.x + r.width / 2, r.y + r.height / 2];
        }"""
    )
    page.mouse.move(x, y)
    page.mouse.down()
    shown = page.evaluate(f"() => {code}.textContent.length")
    # The block streams on and is rendered anew: the button pressed is replaced.
    page.wait_for_function(f"(n) => {code}.textContent.length > n", arg=shown, polling=20)
    page.mouse.up()
    assert page.evaluate("() => window.pressedOn") == "md-copy"
    text = copied(chat_page, "BEFORE")
    assert text.startswith(LINES[0]) and CODE not in text, text
    assert ("```python\n" + text) in SLOW, "a prefix of the code, without label or button text"
    expect(reply).to_have_attribute("data-status", "streaming")  # still on its way
    chat_page.wait_idle()
    reply.get_by_role("button", name="Copy code").click()
    assert copied(chat_page, text) == "\n".join(LINES)


def test_code_copy_in_a_code_tool_result(chat: ChatApp, chat_page: ChatPage) -> None:
    result = "def area(r):\n    return 3.14159 * r * r\n\nprint(area(2))"
    chat.set_config(
        {
            "functions": {
                "write_code": {"result_type": "code", "result_language": "python"},
            }
        }
    )

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        mid = chat.new_id()
        call = {"index": 0, "id": "call_1", "type": "function"}
        chat.update_message({"role": "assistant", "content": None, "tool_calls": [call]}, id=mid)
        for piece in tokens('{"task": "area of a circle"}'):
            chat.update_message(
                {
                    "tool_calls": [
                        {"index": 0, "function": {"name": "write_code", "arguments": piece}}
                    ]
                },
                id=mid,
            )
        chat.update_message({"role": "tool", "tool_call_id": "call_1", "content": result})
        stream(chat, "The function above computes $\\pi r^2$:\n\n```python\nprint(area(1))\n```")

    chat_page.grant_clipboard()
    chat_page.open().send("code tool")
    chat_page.wait_idle()
    reply = chat_page.page.locator('[data-testid="message"][data-role="assistant"]').first
    reply.get_by_test_id("tool-call-header").click()
    tool_result = reply.get_by_test_id("tool-result")
    expect(tool_result.locator(".md-code-lang")).to_have_text("python")
    tool_result.get_by_role("button", name="Copy code").click()
    assert copied(chat_page, "") == result
    chat_page.last_assistant().get_by_role("button", name="Copy code").last.click()
    assert copied(chat_page, result) == "print(area(1))"


@pytest.fixture
def lan_browser(browser: Browser) -> Iterator[Browser]:
    """Chromium that reaches the loopback server by a LAN-style name (``chat.test``).

    A page over plain http under a name other than localhost is not a secure context:
    the Clipboard API is missing there, as on a phone that opens the chat by the
    computer's address. The name still resolves to 127.0.0.1 only.
    """
    rules = (
        "--host-resolver-rules=MAP chat.test 127.0.0.1 , MAP * ~NOTFOUND"
        " , EXCLUDE localhost, EXCLUDE 127.0.0.1"
    )
    args = [a for a in ARGS if not a.startswith("--host-resolver-rules")] + [rules]
    lan = browser.browser_type.launch(executable_path=CHROMIUM, args=args, headless=True)
    yield lan
    lan.close()


def test_copy_buttons_work_over_plain_http_from_another_device(lan_browser: Browser) -> None:
    chat = ChatApp(coalesce_interval=0.0, reconnect_grace=1.0, allowed_hosts=["chat.test"])
    replies(chat, {"how do I start": TWO_BLOCKS})
    with live_server(chat) as url:
        phone = lan_browser.new_context(
            viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
        )
        reader = lan_browser.new_context()  # reads the shared clipboard from a secure page
        reader.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        try:
            page = phone.new_page()
            chat_page = ChatPage(page, url.replace("127.0.0.1", "chat.test"), SCREENSHOTS)
            chat_page.open().send("how do I start")
            chat_page.wait_idle()
            assert page.evaluate("() => [isSecureContext, 'clipboard' in navigator]") == [
                False,
                False,
            ]
            clipboard = ChatPage(reader.new_page(), url, SCREENSHOTS)
            clipboard.page.goto(url + "/no-such-page")  # any page of a secure origin
            set_clipboard(clipboard, "BEFORE")
            reply = chat_page.last_assistant()
            reply.get_by_role("button", name="Copy code").nth(1).tap()
            assert copied(clipboard, "BEFORE") == SERVE
            expect(reply.locator(".md-copy").nth(1)).to_have_text("Copied")
            reply.get_by_test_id("copy-message").tap()
            assert copied(clipboard, SERVE) == TWO_BLOCKS
            expect(reply.get_by_test_id("copy-message")).to_have_attribute("aria-label", "Copied")
        finally:
            phone.close()
            reader.close()
            chat._close_runs(timeout=5)


# -- the thread on a phone (10.2, 16.6) -----------------------------------------------------


def png(width: int, height: int) -> bytes:
    """A plain PNG of the given size, the kind of chart a tool saves."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + b"\x3b\x82\xf6" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def images() -> Iterator[str]:
    """A second loopback site serving a 1200 px wide chart."""
    site = Flask("images")
    chart = png(1200, 300)

    @site.get("/chart.png")
    def serve_chart() -> tuple[bytes, int, dict[str, str]]:
        return chart, 200, {"Content-Type": "image/png"}

    with serve_wsgi(site) as url:
        yield url


LONG_URL = (
    "https://docs.example.com/guides/deployment/containers/kubernetes/"
    "configuring-horizontal-pod-autoscaling-with-custom-metrics?utm_source=chat&ref=assistant"
)
LONG_CODE = (
    "df = pd.read_csv('https://data.example.com/exports/2024/sales_by_region_and_quarter.csv', "
    "parse_dates=['order_date'], dtype={'region': 'category', 'units': 'int32'})"
)


def wide_reply(images: str) -> str:
    """A model's answer about regional sales: a wide table, long code, a long URL, a chart."""
    regions = ["North America", "Europe", "Asia Pacific", "Latin America"]
    quarters = "| Region | Q1 2024 | Q2 2024 | Q3 2024 | Q4 2024 | Total | Growth | Notes |"
    rows = "\n".join(
        f"| {r} | $1.{i}M | $1.{i + 2}M | $1.{i + 4}M | $2.{i}M | $6.{i}M | +{12 + i}% "
        f"| steady demand in {r.lower()} |"
        for i, r in enumerate(regions)
    )
    return (
        "Here is the **quarterly breakdown** you asked for, from the export of the sales "
        f"database (see {LONG_URL} for how it is produced).\n\n"
        f"{quarters}\n|---|---:|---:|---:|---:|---:|---:|---|\n{rows}\n\n"
        f"Load it with pandas:\n\n```python\nimport pandas as pd\n\n{LONG_CODE}\n"
        "print(df.groupby('region')['units'].sum())\n```\n\n"
        f"![Units per region]({images}/chart.png)\n\n"
        "The growth rate is $g = \\frac{q_4 - q_1}{q_1}$, and the yearly total is\n\n"
        "$$T = \\sum_{i=1}^{4} q_i$$\n\n"
        "Ask me for a per-country split if you need one; the identifier "
        "`sales_by_region_and_quarter_normalised_v2` names the table."
    )


def user_text() -> str:
    return f"Please summarise {LONG_URL} and also thisisaverylongunbrokenwordthatnobodywouldtype"


class Phone:
    """A touch phone of a given width and colour scheme, its chat page and page errors."""

    def __init__(self, context: BrowserContext, server: str, width: int, scheme: str) -> None:
        self.width = width
        self.scheme = scheme
        page: Page = context.new_page()
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.chat_page = ChatPage(page, server, SCREENSHOTS)


@pytest.fixture
def phone(browser: Browser, server: str, request: pytest.FixtureRequest) -> Iterator[Phone]:
    """A phone of the parametrized ``(width, scheme)``: touch, mobile viewport."""
    width, scheme = request.param
    context = browser.new_context(
        viewport={"width": width, "height": 844},
        has_touch=True,
        is_mobile=True,
        color_scheme=scheme,
    )
    phone = Phone(context, server, width, scheme)
    yield phone
    context.close()
    assert phone.errors == [], f"uncaught errors in the page: {phone.errors}"


@pytest.mark.parametrize(
    "phone",
    [(390, "light"), (390, "dark"), (320, "light"), (320, "dark")],
    indirect=True,
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def test_nothing_reaches_past_the_right_edge_of_a_phone(
    chat: ChatApp, images: str, phone: Phone
) -> None:
    chat.set_config({"image_hosts": ["127.0.0.1"]})
    replies(chat, {user_text(): wide_reply(images)})
    chat_page, width, scheme = phone.chat_page, phone.width, phone.scheme
    chat_page.open()
    assert chat_page.cut_off()["page"] == [width, width], "the empty chat fits"
    chat_page.screenshot(f"phone-{width}-{scheme}-empty")
    chat_page.send(user_text())
    chat_page.wait_idle()
    answer = chat_page.last_assistant()
    expect(answer.locator(".md-math[data-done]")).to_have_count(2)
    chart = answer.locator("img[alt='Units per region']")
    expect(chart).to_have_js_property("complete", True)
    assert chart.evaluate("i => i.naturalWidth") == 1200
    report = chat_page.cut_off()
    assert report["cut"] == [], report
    assert report["list"][0] <= report["list"][1], f"the thread scrolls sideways: {report}"
    assert report["page"][0] <= report["page"][1], f"the page scrolls sideways: {report}"
    # What is wider than the screen scrolls in a box of its own, which the reader can swipe.
    for selector in (".md-table", ".md-code pre"):
        box = answer.locator(selector).first
        assert box.evaluate("e => e.scrollWidth > e.clientWidth"), selector
        assert box.evaluate("e => e.getBoundingClientRect().right") <= width
    bubble = chat_page.messages("user").last.locator(".bubble")
    assert bubble.evaluate("e => e.getBoundingClientRect().right") <= width
    answer.locator(".markdown table").evaluate("e => e.scrollIntoView({ block: 'start' })")
    chat_page.screenshot(f"phone-{width}-{scheme}-wide")
    answer.locator(".md-code").evaluate("e => e.scrollIntoView({ block: 'start' })")
    chat_page.screenshot(f"phone-{width}-{scheme}-wide-code")


COLUMNS = 25
TABLE_25 = (
    "These are the 25 features of the data set, one column each, with the first rows:\n\n"
    + "| "
    + " | ".join(f"column{i}" for i in range(COLUMNS))
    + " |\n|"
    + "---|" * COLUMNS
    + "\n"
    + "\n".join(
        "| " + " | ".join(f"{(r + 1) * (c + 3) % 97}.{c}" for c in range(COLUMNS)) + " |"
        for r in range(3)
    )
    + "\n\nThe values of `column0` are identifiers; see "
    + LONG_URL
    + " for the others.\n\n```python\nprint(df.describe())\n```"
)


@pytest.mark.parametrize("phone", [(390, "light"), (390, "dark")], indirect=True, ids=str)
def test_a_wide_table_on_a_phone_keeps_readable_columns_and_scrolls_in_its_box(
    chat: ChatApp, phone: Phone
) -> None:
    replies(chat, {"describe the data": TABLE_25})
    chat_page = phone.chat_page
    chat_page.open().send("describe the data")
    chat_page.wait_idle()
    box = chat_page.last_assistant().locator(".md-table")
    table = box.locator("table")
    headers = table.locator("th")
    expect(headers).to_have_count(COLUMNS)
    # Each header on one line: the text "column0" is not broken into letters.
    lines = headers.evaluate_all(
        """hs => hs.map(h => {
            const range = document.createRange();
            range.selectNodeContents(h);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            return [h.textContent, tops.size, Math.round(h.getBoundingClientRect().width)];
        })"""
    )
    assert all(n == 1 for _, n, _ in lines), lines
    assert min(w for _, _, w in lines) >= 60, lines
    assert box.evaluate("b => b.scrollWidth > b.clientWidth"), "the table scrolls in its box"
    report = chat_page.cut_off()
    assert report["cut"] == [] and report["list"][0] <= report["list"][1], report
    # A swipe along the table moves the table, not the thread.
    box.evaluate("b => b.scrollBy(200, 0)")
    assert box.evaluate("b => b.scrollLeft") > 0
    assert chat_page.page.locator(".scroller").evaluate("s => s.scrollLeft") == 0
    box.evaluate("b => b.scrollTo(0, 0)")
    chat_page.screenshot(f"phone-390-{phone.scheme}-table")
