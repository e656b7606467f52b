"""What a reply is made of, as Chromium shows it: content parts, HTML tool results, a stop.

Remote loads are counted by a real HTTP server on 127.0.0.1 (another port than the app's),
so "nothing loads before a click" is checked where it matters: at the host.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Frame, Locator, expect

from gptchat import ChatApp
from tests.e2e.chat_page import ChatPage

# A 2x2 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVQI12P8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)
DATA_PNG = "data:image/png;base64," + base64.b64encode(PNG).decode()
Messages = list[dict[str, Any]]
# Long enough for a frame's or an image's load to have reached a loopback server.
SETTLE_S = 0.6


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # Chromium opens several connections at once


class Logger:
    """A loopback HTTP server that counts the requests it gets, by path."""

    def __init__(self) -> None:
        hits: Counter[str] = Counter()
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    hits[self.path] += 1
                body, kind = (PNG, "image/png")
                if self.path.endswith(".css"):
                    body, kind = (b"body { background: url(/from-css.png) }", "text/css")
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.hits = hits
        self._lock = lock
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,))
        self._thread.daemon = True
        self._thread.start()

    def seen(self) -> dict[str, int]:
        with self._lock:
            return dict(self.hits)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


@pytest.fixture
def logger() -> Iterator[Logger]:
    server = Logger()
    yield server
    server.close()


def settle(chat_page: ChatPage) -> None:
    """Let every load the page has started reach its server (or fail)."""
    chat_page.page.wait_for_load_state("load")
    time.sleep(SETTLE_S)


def html_frame(call: Locator) -> Frame:
    """The content frame of a tool call's HTML result, once its document has loaded."""
    frame = call.locator("iframe").element_handle().content_frame()
    assert frame is not None
    frame.wait_for_load_state("load")
    return frame


# A model's reply as text parts: prose, a table, code, math and a link.
PART_ONE = (
    "## Paris this week\n\n"
    "Mild and mostly dry. Here are the numbers:\n\n"
    "| Day | High | Low |\n|---|---:|---:|\n| Mon | 18 °C | 11 °C |\n| Tue | 20 °C | 12 °C |\n\n"
    "To fetch it yourself:\n\n"
    "```python\nimport requests\n\nr = requests.get('https://api.example.com/paris')\n"
    "print(r.json()['high'])\n```"
)
PART_TWO = (
    "The mean high is $\\bar{t} = 19$ °C. Sources: "
    "[Météo-France](https://meteofrance.com) and the `requests` docs."
)


# -- 1. content parts ------------------------------------------------------------------


def test_assistant_content_parts_render_copy_and_go_back_to_the_handler_unchanged(
    chat: ChatApp, chat_page: ChatPage, logger: Logger
) -> None:
    content: list[dict[str, Any]] = [
        {"type": "text", "text": PART_ONE},
        {"type": "text", "text": PART_TWO},
        {"type": "image_url", "image_url": {"url": DATA_PNG}},
        {"type": "image_url", "image_url": {"url": f"{logger.url}/chart.png"}},
        {"type": "refusal", "refusal": "I can't share the raw station data."},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "computer_screenshot", "image_url": DATA_PNG},
    ]
    seen: list[Messages] = []

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        seen.append(messages)
        if len(seen) == 1:
            chat.update_message({"role": "assistant", "content": content})
        else:
            chat.update_message({"role": "assistant", "content": "Glad it helped."})

    chat_page.grant_clipboard()
    chat_page.open().send("Weather in Paris this week?")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    expect(reply.locator("h2")).to_have_text("Paris this week")
    expect(reply.locator("table tbody tr")).to_have_count(2)
    expect(reply.locator(".md-code-lang")).to_have_text("python")
    expect(reply.locator(".md-math")).to_have_count(1)
    expect(reply.locator("a[href='https://meteofrance.com']")).to_have_text("Météo-France")
    # The two text parts are one markdown document, in order.
    text = reply.inner_text()
    assert text.index("Paris this week") < text.index("mean high")
    # A data: image shows at once; a remote one waits for a click, as in markdown.
    expect(reply.locator("img[src^='data:image/png']")).to_have_js_property("naturalWidth", 2)
    blocked = reply.locator(".md-image-blocked")
    expect(blocked).to_contain_text(f"from 127.0.0.1:{logger.server.server_port}")
    expect(reply.get_by_test_id("refusal")).to_have_text("I can't share the raw station data.")
    # Audio plays from its own data; a part gptchat does not know is named.
    expect(reply.get_by_test_id("audio-part")).to_have_attribute("src", re.compile("^blob:"))
    expect(reply.get_by_test_id("unsupported-part")).to_have_text(
        "Unsupported content: computer_screenshot"
    )
    settle(chat_page)
    assert logger.seen() == {}
    chat_page.screenshot("content-parts")
    blocked.click()
    expect(reply.locator(f"img[src='{logger.url}/chart.png']")).to_have_js_property(
        "naturalWidth", 2
    )
    assert logger.seen() == {"/chart.png": 1}

    reply.get_by_test_id("copy-message").click()
    expect(reply.get_by_test_id("copy-message")).to_have_attribute("aria-label", "Copied")
    assert chat_page.clipboard() == f"{PART_ONE}\n\n{PART_TWO}"

    chat_page.send("Thanks!")
    chat_page.wait_idle()
    assert len(seen) == 2
    assert seen[1][1] == {"role": "assistant", "content": content}


def test_tool_result_made_of_text_parts_shows_their_text(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    forecast = {"city": "Paris", "days": [{"day": "Mon", "high": 18}, {"day": "Tue", "high": 20}]}

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        call = {"id": "call_1", "type": "function"}
        chat.update_message(
            {
                "role": "assistant",
                "tool_calls": [
                    {**call, "function": {"name": "forecast", "arguments": '{"city":"Paris"}'}}
                ],
            }
        )
        chat.update_message(
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": [
                    {"type": "text", "text": "Forecast for Paris (source: Météo-France)"},
                    {"type": "text", "text": json.dumps(forecast)},
                ],
            }
        )
        chat.update_message({"role": "assistant", "content": "Mild: **18-20 °C**."})

    chat_page.open().send("forecast")
    chat_page.wait_idle()
    call = chat_page.page.get_by_test_id("tool-call")
    call.get_by_test_id("tool-call-header").click()
    result = call.get_by_test_id("tool-result")
    expect(result).to_contain_text("Forecast for Paris (source: Météo-France)")
    expect(result).to_contain_text('"high": 20')
    expect(result).not_to_contain_text('"type"')
    expect(call).to_have_attribute("data-state", "done")


def test_streamed_content_parts_replace_each_other_and_render(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    # The merge rules: a list is not text, so the latest list wins (each delta carries
    # the whole list so far), unlike string content, which concatenates.
    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        mid = chat.new_id()
        for end in range(20, len(PART_ONE) + 1, 20):
            parts = [{"type": "text", "text": PART_ONE[:end]}]
            chat.update_message({"role": "assistant", "content": parts}, id=mid)
        parts = [{"type": "text", "text": PART_ONE}, {"type": "text", "text": PART_TWO}]
        chat.update_message({"content": parts}, id=mid)

    chat_page.open().send("stream parts")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    expect(reply.locator("h2")).to_have_count(1)
    expect(reply.locator("table tbody tr")).to_have_count(2)
    expect(reply).to_contain_text("The mean high is")


# -- 2. remote loads -------------------------------------------------------------------


def html_report(remote: str) -> str:
    """An HTML tool result that refers to ``remote`` in every way a page can load from it."""
    return f"""<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<link rel="stylesheet" href="{remote}/linked.css">
<link rel="preload" as="image" href="{remote}/preload.png">
<style>
  @import url("{remote}/imported.css");
  @font-face {{ font-family: Brand; src: url("{remote}/font.woff2") format("woff2"); }}
  h1 {{ font-family: Brand, sans-serif; }}
  .hero {{ background: #eef url("{remote}/style-bg.png"); height: 40px; }}
  ul {{ list-style-image: url("{remote}/bullet.png"); }}
</style>
<meta http-equiv="refresh" content="0; url={remote}/refresh">
</head><body background="{remote}/body-bg.png">
<h1>Quarterly report</h1>
<div class="hero">Revenue is up 12%.</div>
<p style="background-image: url('{remote}/inline-bg.png')">Inline styled paragraph.</p>
<img src="{remote}/pixel.png" alt="tracking pixel" width="20" height="20">
<img srcset="{remote}/srcset.png 1x, {remote}/srcset2.png 2x" alt="chart">
<picture><source srcset="{remote}/source.png"><img src="{DATA_PNG}" alt="fallback"></picture>
<video poster="{remote}/poster.png" src="{remote}/video.mp4" width="40"></video>
<audio src="{remote}/audio.mp3"></audio>
<object data="{remote}/object.svg" type="image/svg+xml"></object>
<embed src="{remote}/embed.svg">
<iframe src="{remote}/inner.html"></iframe>
<input type="image" src="{remote}/input.png" alt="go">
<svg width="10" height="10"><image href="{remote}/svg-image.png" width="10" height="10"/></svg>
<ul><li>One</li><li>Two</li></ul>
<img src="{DATA_PNG}" alt="inline chart" data-testid="inline">
</body></html>"""


def tool_handler(chat: ChatApp, result: str, answer: str = "Report ready.") -> None:
    """A handler that calls ``report`` and shows ``result`` as its result."""

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        chat.update_message(
            {
                "role": "assistant",
                "content": "Let me build the report.",
                "tool_calls": [
                    {
                        "id": "call_r",
                        "type": "function",
                        "function": {"name": "report", "arguments": '{"quarter": "Q3"}'},
                    }
                ],
            }
        )
        chat.update_message({"role": "tool", "tool_call_id": "call_r", "content": result})
        chat.update_message({"role": "assistant", "content": answer})


def test_html_tool_result_loads_nothing_remote(
    chat: ChatApp, chat_page: ChatPage, logger: Logger
) -> None:
    chat.set_config({"functions": {"report": {"result_type": "html"}}})
    tool_handler(chat, html_report(logger.url))
    chat_page.open().send("Build the Q3 report")
    chat_page.wait_idle()
    call = chat_page.page.get_by_test_id("tool-call")
    html_frame(call)  # closed: an iframe in a closed block loads all the same
    settle(chat_page)
    assert logger.seen() == {}
    call.get_by_test_id("tool-call-header").click()
    frame = html_frame(call)
    expect(frame.locator("h1")).to_have_text("Quarterly report")
    # Inline styles and data: images still work.
    expect(frame.locator(".hero")).to_have_css("background-color", "rgb(238, 238, 255)")
    expect(frame.get_by_test_id("inline")).to_have_js_property("naturalWidth", 2)
    settle(chat_page)
    assert logger.seen() == {}
    note = call.get_by_test_id("remote-images")
    expect(note).to_contain_text(f"127.0.0.1:{logger.server.server_port}")
    chat_page.screenshot("html-result-blocked")


def test_html_tool_result_loads_its_remote_images_on_a_click_and_nothing_else(
    chat: ChatApp, chat_page: ChatPage, logger: Logger
) -> None:
    chat.set_config({"functions": {"report": {"result_type": "html"}}})
    remote = logger.url
    tool_handler(
        chat,
        f'<style>@import url("{remote}/imported.css");</style>'
        f'<link rel="stylesheet" href="{remote}/linked.css">'
        "<h1>Sales</h1><p>Chart:</p>"
        f'<img src="{remote}/chart.png" alt="chart" width="40" height="40">'
        f'<object data="{remote}/object.svg"></object>',
    )
    chat_page.open().send("Chart the sales")
    chat_page.wait_idle()
    call = chat_page.page.get_by_test_id("tool-call")
    call.get_by_test_id("tool-call-header").click()
    html_frame(call)
    settle(chat_page)
    assert logger.seen() == {}
    note = call.get_by_test_id("remote-images")
    expect(note).to_contain_text("1 image")
    note.get_by_role("button").click()
    frame = html_frame(call)
    expect(frame.locator("img")).to_have_js_property("naturalWidth", 2)
    settle(chat_page)
    assert logger.seen() == {"/chart.png": 1}
    expect(call.get_by_test_id("remote-images")).to_have_count(0)


def test_html_tool_result_images_from_allowed_hosts_load_at_once(
    chat: ChatApp, chat_page: ChatPage, logger: Logger
) -> None:
    # "localhost" is allowed, 127.0.0.1 is not: the same logger behind two host names.
    port = logger.server.server_port
    chat.set_config(
        {"functions": {"report": {"result_type": "html"}}, "image_hosts": ["localhost"]}
    )
    tool_handler(
        chat,
        f'<h1>Sales</h1><img src="http://localhost:{port}/allowed.png" width="20">'
        f'<img src="http://127.0.0.1:{port}/other.png" width="20">',
    )
    chat_page.open().send("Chart the sales")
    chat_page.wait_idle()
    call = chat_page.page.get_by_test_id("tool-call")
    call.get_by_test_id("tool-call-header").click()
    frame = html_frame(call)
    expect(frame.locator("img").first).to_have_js_property("naturalWidth", 2)
    settle(chat_page)
    assert logger.seen() == {"/allowed.png": 1}


def test_markdown_images_in_a_reply_and_a_markdown_result_wait_for_a_click(
    chat: ChatApp, chat_page: ChatPage, logger: Logger
) -> None:
    chat.set_config({"functions": {"report": {"result_type": "markdown"}}})
    tool_handler(
        chat,
        f"## Q3\n\n| Region | Sales |\n|---|---|\n| EU | 12 |\n\n![sales]({logger.url}/result.png)",
        answer=f"Here is the chart:\n\n![chart]({logger.url}/reply.png)\n\nSales grew **12%**.",
    )
    chat_page.open().send("Chart the sales")
    chat_page.wait_idle()
    call = chat_page.page.get_by_test_id("tool-call")
    call.get_by_test_id("tool-call-header").click()
    settle(chat_page)
    assert logger.seen() == {}
    call.locator(".md-image-blocked").click()
    expect(call.locator("img")).to_have_js_property("naturalWidth", 2)
    chat_page.last_assistant().locator(".md-image-blocked").click()
    expect(chat_page.last_assistant().locator("img")).to_have_js_property("naturalWidth", 2)
    settle(chat_page)
    assert logger.seen() == {"/result.png": 1, "/reply.png": 1}


# -- 3. a stopped reply ----------------------------------------------------------------

WEATHER_ARGS = '{"city": "Paris", "unit": "celsius"}'
TABLE_HEAD = "| | Now | Tonight |\n|---|---|---|\n"
ROWS = ["| Temperature | 18 °C | 12 °C |\n", "| Sky | partly cloudy | clear |\n"]


def stopping_handler(chat: ChatApp, tail: str, second_call: bool) -> threading.Event:
    """Stream a reply like a model would, end it with ``tail``, then wait for the stop.

    The first message calls ``get_weather`` and gets its result; the second streams prose
    and a table row by row, ends with ``tail`` (half a row, say) and, if ``second_call``,
    a ``get_forecast`` call whose arguments stop halfway. Returns an event set once the
    handler waits.
    """
    waiting = threading.Event()

    def text(mid: str, value: str) -> None:
        for i in range(0, len(value), 6):
            chat.update_message({"content": value[i : i + 6]}, id=mid)

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        first = chat.new_id()
        chat.update_message({"role": "assistant", "content": None}, id=first)
        header = {"index": 0, "id": "call_w", "type": "function"}
        chat.update_message(
            {"tool_calls": [{**header, "function": {"name": "get_weather"}}]}, id=first
        )
        for i in range(0, len(WEATHER_ARGS), 5):
            piece = WEATHER_ARGS[i : i + 5]
            chat.update_message(
                {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, id=first
            )
        weather = {"temperature_c": 18, "sky": "partly cloudy"}
        chat.update_message(
            {"role": "tool", "tool_call_id": "call_w", "content": json.dumps(weather)}
        )
        second = chat.new_id()
        chat.update_message({"role": "assistant", "content": ""}, id=second)
        text(second, "Here is the weather in **Paris** right now:\n\n")
        text(second, TABLE_HEAD)
        for row in ROWS[:1]:
            text(second, row)
        text(second, tail)
        if second_call:
            call = {"index": 0, "id": "call_f", "type": "function"}
            chat.update_message(
                {
                    "tool_calls": [
                        {**call, "function": {"name": "get_forecast", "arguments": '{"ci'}}
                    ]
                },
                id=second,
            )
        waiting.set()
        while not chat.stop_requested():
            time.sleep(0.02)
        chat.update_message({"content": "never shown"}, id=second)

    return waiting


def stop(chat_page: ChatPage, waiting: threading.Event) -> None:
    # Deltas queued before the stop are still sent, before the run ends: once the handler
    # waits, where the reply stops is known.
    assert waiting.wait(10)
    chat_page.page.get_by_test_id("stop-button").click()
    chat_page.wait_idle()


def no_pipe_paragraphs(reply: Locator) -> None:
    texts = reply.locator(".md-root p").all_inner_texts()
    assert [t for t in texts if t.strip().startswith("|")] == [], texts


@pytest.mark.parametrize(
    ("tail", "rows"),
    [("| Sky |  cl", 2), ("|", 1)],
    ids=["mid-row", "row-just-begun"],
)
def test_a_reply_stopped_mid_table_and_mid_tool_call(
    chat: ChatApp, chat_page: ChatPage, tail: str, rows: int
) -> None:
    chat.set_config({"functions": {"get_weather": "Fetching **weather**..."}})
    waiting = stopping_handler(chat, tail, second_call=True)
    chat_page.open().send("What's the weather in Paris?")
    stop(chat_page, waiting)
    calls = chat_page.page.get_by_test_id("tool-call")
    expect(calls).to_have_count(2)
    expect(calls.nth(0)).to_have_attribute("data-state", "done")
    cancelled = calls.nth(1)
    expect(cancelled).to_have_attribute("data-state", "cancelled")
    expect(cancelled.get_by_test_id("tool-call-header")).to_contain_text("Cancelled")
    expect(chat_page.page.get_by_text("Stopped", exact=True)).to_have_count(1)
    reply = chat_page.last_assistant()
    expect(reply.get_by_test_id("stopped-note")).to_have_count(1)
    expect(reply.locator("table tbody tr")).to_have_count(rows)
    no_pipe_paragraphs(reply)
    assert "never shown" not in reply.inner_text()
    chat_page.screenshot(f"stopped-{rows}-light")
    chat_page.page.get_by_test_id("theme-toggle").click()
    expect(chat_page.page.locator("html")).to_have_attribute("data-theme", "dark")
    chat_page.screenshot(f"stopped-{rows}-dark")


def test_a_reply_stopped_while_a_table_header_streams_shows_no_pipes(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    waiting = stopping_handler(chat, "\nAnd tonight:\n\n| When | Sky |\n|--", second_call=False)
    chat_page.open().send("What's the weather in Paris?")
    stop(chat_page, waiting)
    reply = chat_page.last_assistant()
    expect(reply.locator("table")).to_have_count(1)  # the finished table, not the new one
    expect(reply).to_contain_text("And tonight:")
    no_pipe_paragraphs(reply)
    expect(chat_page.page.get_by_text("Stopped", exact=True)).to_have_count(1)


def test_a_reply_stopped_during_its_tool_call_shows_the_call_cancelled(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    waiting = threading.Event()

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        mid = chat.new_id()
        chat.update_message({"role": "assistant", "content": "Let me check the weather."}, id=mid)
        call = {"index": 0, "id": "call_w", "type": "function"}
        chat.update_message(
            {"tool_calls": [{**call, "function": {"name": "get_weather", "arguments": '{"ci'}}]},
            id=mid,
        )
        waiting.set()
        while not chat.stop_requested():
            time.sleep(0.02)

    chat_page.open().send("What's the weather in Paris?")
    stop(chat_page, waiting)
    call = chat_page.page.get_by_test_id("tool-call")
    expect(call).to_have_attribute("data-state", "cancelled")
    expect(call.get_by_label("Cancelled")).to_have_count(1)
    expect(chat_page.page.get_by_text("Stopped", exact=True)).to_have_count(1)
