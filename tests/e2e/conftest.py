"""Browser fixtures: Debian's Chromium driven by Playwright, pages served on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.chat_page import ChatPage
from tests.e2e.chromium import ARGS, CHROMIUM

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


@pytest.fixture
def chat_page(server: str, page: Page) -> ChatPage:
    # The server first, so the page closes before it: no fetch of a closing page fails.
    return ChatPage(page, server, SCREENSHOTS)


#: Opens a browser of a user on the history server: ``tab("alice", width=390)``.
UserTab = Callable[..., ChatPage]


@pytest.fixture
def user_tab(browser: Browser, hserver: str) -> Iterator[UserTab]:
    """New browsers (contexts) of users of ``hserver``, at a size; page errors fail the test.

    The user is named by ``X-Test-User`` (``tests.support.header_user``): a header on the
    page's requests, and a cookie too, for downloads, which carry no extra headers.
    """
    contexts = []
    errors: list[str] = []

    def make(user: str = "alice", width: int = 1280, height: int = 860) -> ChatPage:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            extra_http_headers={"X-Test-User": user},
            accept_downloads=True,
        )
        context.add_cookies([{"name": "test_user", "value": user, "url": hserver}])
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return ChatPage(page, hserver, SCREENSHOTS)

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"
