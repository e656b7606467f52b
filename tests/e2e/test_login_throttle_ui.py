"""The sign-in form in Chromium: wrong passwords, the lock-out message, then signing in."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from gptchat import ChatApp
from gptchat._auth import LoginThrottle
from tests.e2e.chat_page import ChatPage
from tests.e2e.conftest import SCREENSHOTS
from tests.replies import MODEL_REPLY

PASSWORD = "correct horse battery staple"


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def chat(clock: Clock) -> ChatApp:
    chat = ChatApp(coalesce_interval=0.0, auth=PASSWORD)
    chat.server.guard.throttle = LoginThrottle(clock=clock)

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> str:
        return MODEL_REPLY

    return chat


def submit(page: Page, password: str) -> int:
    field = page.get_by_label("Password")
    field.fill(password)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Sign in").click()
    response = navigation.value
    return response.status if response else 0


def test_sign_in_form_says_when_to_try_again(server: str, page: Page, clock: Clock) -> None:
    page.goto(server)
    for i in range(4):
        assert submit(page, f"Tr0ub4dor&{i}") == 401
        expect(page.get_by_role("alert")).to_have_text("Wrong password.")
    assert submit(page, "Tr0ub4dor&4") == 429
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Too many wrong passwords. Try again in 1 minute.")
    expect(page.get_by_label("Password")).to_be_visible()
    ChatPage(page, server, SCREENSHOTS).screenshot("login-locked-out")

    # Even the right password waits out the lock-out...
    assert submit(page, PASSWORD) == 429
    expect(alert).to_contain_text("Try again in 1 minute.")
    clock.now += 45
    page.reload()
    expect(page.get_by_role("alert")).to_have_text(
        "Too many wrong passwords. Try again in 15 seconds."
    )

    # ...and then signs in to a working chat.
    clock.now += 16
    submit(page, PASSWORD)
    chat = ChatPage(page, server, SCREENSHOTS)
    chat.wait_connected()
    chat.send("How would you deduplicate a CSV of 10 million rows?")
    chat.wait_idle()
    expect(chat.last_assistant()).to_contain_text("The hash approach is the usual choice")
