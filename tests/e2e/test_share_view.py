"""In Chromium: a shared link opens read-only, from a real SQLite store, in a chat mounted
under a prefix (the page fetches ``api/share/<token>`` relative to itself).

The built page is served by a small Flask app with the history routes: the shared view
needs no socket, so none of the chat server's wiring.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, Response, send_from_directory
from playwright.sync_api import Page, Request, expect
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from gptchat._history_http import add_history_routes
from gptchat.static import Bundle
from gptchat.store import Store
from tests.e2e.conftest import SCREENSHOTS
from tests.support import serve_wsgi

CONV = "conv-shared-001"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'chat.db'}")
    s.import_messages(
        "local",
        CONV,
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Zürich?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Zürich"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "21 °C, sunny"},
            {"role": "assistant", "content": "It is **sunny** in Zürich."},
        ],
        title="Zürich weather",
    )
    yield s
    s.close()


@pytest.fixture
def site(store: Store) -> Iterator[str]:
    # The built page and its assets (gptchat.static.Bundle, as the server serves them) and
    # the history routes, mounted at /chat/ in another site.
    bundle = Bundle()
    if bundle.dir is None:
        pytest.fail("the client is not built: cd client && npm run build")
    chat = Flask("chat")

    @chat.get("/")
    def index() -> Response:
        return Response(bundle.index_html("Chat", None), mimetype="text/html")

    @chat.get("/<path:filename>")
    def asset(filename: str) -> Response:
        return send_from_directory(bundle.dir, filename)

    add_history_routes(chat, store_of=lambda: store, user_of=lambda _: "local")
    with serve_wsgi(DispatcherMiddleware(Flask("site"), {"/chat": chat})) as url:
        yield url + "/chat/"


def test_a_shared_link_shows_the_conversation_read_only(
    site: str, store: Store, page: Page
) -> None:
    token = store.share("local", CONV)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{site}?share={token}")

    expect(page.get_by_test_id("shared-title")).to_have_text("Zürich weather")
    expect(page.get_by_text("Shared conversation · read-only")).to_be_visible()
    messages = page.get_by_test_id("message")
    # The system message is not shown, and the tool result sits inside its call.
    expect(messages).to_have_count(3)
    expect(messages.nth(0)).to_have_attribute("data-role", "user")
    expect(messages.nth(0)).to_contain_text("Weather in Zürich?")
    expect(page.get_by_test_id("tool-call-header")).to_contain_text("get_weather")
    expect(messages.nth(2).locator("strong")).to_have_text("sunny")  # markdown rendered

    # Read-only: nothing to write with, nothing to change, no other conversation.
    for testid in ["composer", "composer-input", "sidebar", "regenerate", "new-chat"]:
        expect(page.get_by_test_id(testid)).to_have_count(0)
    expect(page.get_by_test_id("edit-message")).to_be_hidden()
    assert not [u for u in requests if "/socket.io/" in u], "the shared view opened a socket"
    assert f"/chat/api/share/{token}" in " ".join(requests)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "shared-view.png"))


def test_what_the_link_shows_does_not_follow_the_owner(site: str, store: Store, page: Page) -> None:
    token = store.share("local", CONV)
    leaf = store.newest_leaf("local", CONV)
    store.add_message("local", CONV, "later-1", leaf, {"role": "user", "content": "And Bern?"})
    store.set_title("local", CONV, "Renamed later")
    page.goto(f"{site}?share={token}")
    expect(page.get_by_test_id("shared-title")).to_have_text("Zürich weather")
    expect(page.get_by_test_id("message")).to_have_count(3)
    expect(page.get_by_text("And Bern?")).to_have_count(0)


@pytest.mark.parametrize("revoked", [True, False])
def test_a_revoked_or_made_up_link_says_so(
    site: str, store: Store, page: Page, revoked: bool
) -> None:
    token = store.share("local", CONV)
    if revoked:
        store.unshare("local", CONV)
    else:
        token = "madeUpToken_0123456789abcdef"
    failed: list[Request] = []
    page.on("requestfailed", lambda r: failed.append(r))
    page.goto(f"{site}?share={token}")
    expect(page.get_by_test_id("shared-gone")).to_contain_text(
        "This link was revoked or never existed."
    )
    expect(page.get_by_test_id("message")).to_have_count(0)
    expect(page.get_by_text("Zürich")).to_have_count(0)
    assert failed == []
