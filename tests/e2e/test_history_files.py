"""Export, import and shared links as a person uses them in Chromium: the conversation
menu downloads the kept conversation (JSON and Markdown), an exported file imports back
as a new conversation, and a shared link opens read-only in another user's browser,
unchanged by what the owner does after, until it is revoked.

A real server on 127.0.0.1 with its own SQLite file; users are told apart by an ``auth``
callable reading ``X-Test-User``, which each browser context sends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from gptchat import ChatApp
from tests.e2e.chat_page import ChatPage
from tests.e2e.conftest import UserTab

Tab = UserTab


@pytest.fixture
def seen(hchat: ChatApp) -> list[list[dict[str, Any]]]:
    calls: list[list[dict[str, Any]]] = []

    @hchat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> dict[str, Any]:
        calls.append(messages)
        text = messages[-1]["content"]
        return {"role": "assistant", "content": f"Here is **{text}**:\n\n```py\nprint(1)\n```"}

    return calls


@pytest.fixture
def tab(user_tab: UserTab, seen: list[Any]) -> UserTab:
    """A user's browser, once the handler is in place."""
    return user_tab


def download(chat: ChatPage, title: str, action: str, into: Path) -> Path:
    with chat.page.expect_download() as info:
        chat.conversation_action(title, action)
    path = into / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_export_then_import_gives_the_same_conversation(
    tab: Tab, tmp_path: Path, seen: list[Any]
) -> None:
    chat = tab("alice")
    chat.open().send("a plan")
    chat.wait_idle()
    expect(chat.page.locator(".conv-title")).to_have_text(["a plan"])

    exported = download(chat, "a plan", "Export JSON", tmp_path)
    assert exported.name == "a-plan.json"
    messages = json.loads(exported.read_text())
    assert messages == [
        {"role": "user", "content": "a plan"},
        {"role": "assistant", "content": "Here is **a plan**:\n\n```py\nprint(1)\n```"},
    ]
    markdown = download(chat, "a plan", "Export Markdown", tmp_path).read_text()
    assert "a plan" in markdown and "print(1)" in markdown

    # The file imports back as a second conversation, shown at once, that answers on.
    chat.page.get_by_test_id("import-file").set_input_files(str(exported))
    expect(chat.page.locator(".conv-title")).to_have_count(2)
    expect(chat.messages("assistant").locator(".md-root code").first).to_have_text("print(1)")
    chat.send("more")
    chat.wait_idle()
    assert seen[-1] == [*messages, {"role": "user", "content": "more"}]

    # A file that is not a conversation says why and imports nothing.
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}')
    chat.page.get_by_test_id("import-file").set_input_files(str(bad))
    expect(chat.page.get_by_test_id("import-error")).to_contain_text("notes.json")
    expect(chat.page.locator(".conv-title")).to_have_count(2)


def test_a_shared_link_opens_read_only_for_another_user(tab: Tab) -> None:
    owner = tab("alice")
    owner.open().send("share this")
    owner.wait_idle()
    owner.conversation_action("share this", "Share link…")
    link = owner.page.get_by_test_id("share-link")
    expect(link).to_be_visible()
    url = link.input_value()
    assert "?share=" in url
    owner.screenshot("share-menu-1280-light")

    reader = tab("bob", width=390, height=844)
    reader.page.goto(url)
    expect(reader.page.get_by_test_id("shared-title")).to_have_text("share this")
    expect(reader.messages("assistant").locator(".md-root code").first).to_have_text("print(1)")
    # Read-only: nothing to type in, no edit, no regenerate, nothing of alice's sidebar.
    expect(reader.page.get_by_test_id("composer")).to_have_count(0)
    expect(reader.page.get_by_test_id("edit-message")).to_have_count(0)
    expect(reader.page.get_by_test_id("regenerate")).to_have_count(0)
    expect(reader.page.get_by_test_id("sidebar")).to_have_count(0)
    reader.screenshot("share-view-390-light")

    # What alice says next is not in the link; revoking it ends it.
    owner.page.keyboard.press("Escape")
    owner.send("private follow-up")
    owner.wait_idle()
    reader.page.reload()
    expect(reader.page.get_by_test_id("shared-title")).to_have_text("share this")
    expect(reader.page.get_by_text("private follow-up")).to_have_count(0)
    owner.conversation_action("share this", "Stop sharing")
    reader.page.reload()
    expect(reader.page.get_by_test_id("shared-gone")).to_contain_text("revoked")
