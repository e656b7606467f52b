"""A page object for the chat window: what a person does and sees, by data-testid."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect


class ChatPage:
    def __init__(self, page: Page, url: str, screenshots: Path) -> None:
        self.page = page
        self.url = url
        self.screenshots = screenshots

    def open(self) -> ChatPage:
        self.page.goto(self.url)
        self.wait_connected()
        return self

    def wait_connected(self) -> None:
        expect(self.input).to_be_visible()
        # Sending waits for the socket (the send button stays disabled until then).
        expect(self.page.get_by_test_id("composer")).to_have_attribute("data-connected", "true")
        expect(self.page.get_by_test_id("connection-banner")).to_have_count(0)

    def phone(self) -> None:
        """A 390 px wide phone screen."""
        self.page.set_viewport_size({"width": 390, "height": 844})

    def grant_clipboard(self) -> None:
        self.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=self.url)

    def clipboard(self) -> str:
        text: str = self.page.evaluate("() => navigator.clipboard.readText()")
        return text

    @property
    def input(self) -> Locator:
        return self.page.get_by_test_id("composer-input")

    def send(self, text: str) -> None:
        """Type and send a message; returns once it shows in the thread."""
        before = self.messages("user").count()
        self.input.fill(text)
        self.input.press("Enter")
        # The stop button and the message appear on the same frame: waiting for the
        # message makes a following wait_idle() mean "this reply is done".
        expect(self.messages("user")).to_have_count(before + 1)

    def messages(self, role: str) -> Locator:
        return self.page.locator(f'[data-testid="message"][data-role="{role}"]')

    def last_assistant(self) -> Locator:
        return self.messages("assistant").last

    def wait_idle(self, timeout: float = 15_000) -> None:
        """Wait until no reply is generating (the send button is back)."""
        expect(self.page.get_by_test_id("stop-button")).to_have_count(0, timeout=timeout)

    def screenshot(self, name: str) -> Path:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path
