"""A page object for the chat window: what a person does and sees, by data-testid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

# Everything in the thread that reaches past the right edge of the screen without a box of
# its own that scrolls (a table, a code block) to hold it: what a reader cannot see.
_CUT_OFF = """(width) => {
    const scroller = document.querySelector(".scroller");
    const scrolls = (el) => ["auto", "scroll", "hidden"].includes(getComputedStyle(el).overflowX);
    const cut = [];
    for (const el of document.querySelectorAll(".thread *")) {
        const right = el.getBoundingClientRect().right;
        if (right <= width + 0.5) continue;
        let box = el.parentElement;
        while (box && box !== scroller && !scrolls(box)) box = box.parentElement;
        if (box && box !== scroller && box.getBoundingClientRect().right <= width + 0.5) continue;
        cut.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(right)}`);
    }
    return {
        cut: cut.slice(0, 10),
        list: scroller && [scroller.scrollWidth, scroller.clientWidth],
        page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
    };
}"""


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

    def cut_off(self) -> dict[str, Any]:
        """What reaches past the viewport's right edge, and the list's and page's widths.

        ``cut`` names the elements nothing scrolls to; ``list`` and ``page`` are
        ``[scrollWidth, clientWidth]`` of the message list and of the page.
        """
        size = self.page.viewport_size
        assert size is not None
        report: dict[str, Any] = self.page.evaluate(_CUT_OFF, size["width"])
        return report

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

    def conversation_action(self, title: str, action: str) -> None:
        """Choose ``action`` ("Rename", "Delete", "Export JSON", ...) in a conversation's menu."""
        self.page.get_by_role("button", name=f"Options for {title}").click()
        self.page.get_by_role("menuitem", name=action, exact=True).click()

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
