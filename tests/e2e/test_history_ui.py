"""Server-kept history as a person sees it in Chromium: the sidebar from the server, two
browsers of one user in step, branches, reload, the upload of what a browser kept, the
out-of-date banner, and a 1,000-message conversation.

A real server on 127.0.0.1 with a SQLite file of the test's own; the users are told apart
by an ``auth`` callable reading ``X-Test-User``, which each browser context sends."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, expect

import gptchat.server
from gptchat import ChatApp
from gptchat.store import Store
from tests.e2e.chat_page import ChatPage
from tests.e2e.conftest import SCREENSHOTS, UserTab
from tests.support import live_server, load_bench

Tab = UserTab


@pytest.fixture
def seen(hchat: ChatApp) -> list[list[dict[str, Any]]]:
    """What the handler was given, run by run; it answers "Reply N: <the last message>"."""
    calls: list[list[dict[str, Any]]] = []

    @hchat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> dict[str, Any]:
        calls.append(messages)
        return {"role": "assistant", "content": f"Reply {len(calls)}: {messages[-1]['content']}"}

    return calls


@pytest.fixture
def store(hchat: ChatApp) -> Store:
    found = hchat.store
    assert found is not None
    return found


@pytest.fixture
def tab(user_tab: UserTab, seen: list[Any]) -> UserTab:
    """A user's browser, once the handler is in place."""
    return user_tab


def items(chat: ChatPage) -> Locator:
    return chat.page.get_by_test_id("conversation")


def titles(chat: ChatPage) -> Locator:
    return chat.page.locator('[data-testid="conversation"] .conv-title')


def reply(chat: ChatPage) -> Locator:
    """The text of the last reply (without its actions and version switcher)."""
    return chat.last_assistant().locator(".md-root")


def asked(chat: ChatPage) -> Locator:
    """The text of each user message shown."""
    return chat.messages("user").locator(".bubble")


def open_chat(chat: ChatPage, title: str) -> None:
    chat.page.locator(".conv-title", has_text=title).click()
    expect(chat.page.get_by_test_id("conversation-loading")).to_have_count(0)


def seed(store: Store, owner: str, cid: str, title: str, at: float, *texts: str) -> None:
    """A conversation of ``owner``: the texts as user, assistant, user, ... messages."""
    roles = ("user", "assistant")
    messages = [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)]
    store.import_messages(owner, cid, messages, title=title, updated_at=at)


def test_history_comes_from_the_server_paged_and_searchable(store: Store, tab: Tab) -> None:
    for i in range(35):
        seed(store, "alice", f"alice-conv-{i:04}", f"Topic {i:02}", 1000 + i, f"Q{i}", f"A{i}")
    seed(store, "alice", "alice-sourdough", "Bread", 900, "How do I feed a sourdough starter?")
    seed(store, "bob", "bob-conv-00001", "Bob's secret", 5000, "bob only")
    chat = tab("alice")
    chat.open()
    # A fresh browser: the list is the server's, newest first, one page of 30.
    expect(items(chat)).to_have_count(30)
    expect(titles(chat).first).to_have_text("Topic 34")
    expect(chat.page.get_by_text("Bob's secret")).to_have_count(0)
    titles(chat).last.scroll_into_view_if_needed()
    chat.page.get_by_test_id("sidebar").evaluate("(el) => el.scrollTo(0, el.scrollHeight)")
    expect(items(chat)).to_have_count(36)
    expect(titles(chat).last).to_have_text("Bread")
    chat.screenshot("history-sidebar-1280-light")
    open_chat(chat, "Topic 10")
    expect(chat.messages("assistant").locator(".md-root")).to_have_text("A10")
    # Search titles and text; clearing it brings the list back.
    chat.page.get_by_test_id("search").fill("sourdough")
    expect(items(chat)).to_have_count(1)
    expect(titles(chat)).to_have_text("Bread")
    chat.page.get_by_role("button", name="Clear search").click()
    expect(items(chat)).to_have_count(30)


def test_a_second_browser_sees_rename_reply_and_delete_without_reload(
    store: Store, tab: Tab
) -> None:
    seed(store, "alice", "alice-trip-0001", "Trip plan", 1000, "Where to?", "Rome.")
    one, two = tab("alice"), tab("alice")
    for chat in (one, two):
        chat.open()
        open_chat(chat, "Trip plan")
        expect(chat.messages("assistant").locator(".md-root")).to_have_text("Rome.")
    one.conversation_action("Trip plan", "Rename")
    one.page.get_by_label("Conversation title").fill("Roman holiday")
    one.page.get_by_label("Conversation title").press("Enter")
    expect(titles(two)).to_have_text(["Roman holiday"])
    one.send("And then?")
    one.wait_idle()
    expect(reply(one)).to_have_text("Reply 1: And then?")
    # The reply made in the other browser appears here, in the open conversation.
    expect(reply(two)).to_have_text("Reply 1: And then?")
    expect(asked(two)).to_have_text(["Where to?", "And then?"])
    one.conversation_action("Roman holiday", "Delete")
    expect(items(two)).to_have_count(0)
    expect(two.page.get_by_test_id("empty-state")).to_be_visible()
    assert store.get("alice", "alice-trip-0001") is None


def switcher(message: Locator) -> Locator:
    """The "< 2 / 3 >" switcher of a message (just after it, not part of its text)."""
    return message.locator("xpath=following-sibling::*[1][@data-testid='versions']")


def versions_of(message: Locator) -> Locator:
    return switcher(message).get_by_test_id("version-label")


def test_branches_after_edit_and_regenerate_and_a_reload(
    tab: Tab, seen: list[list[dict[str, Any]]]
) -> None:
    chat = tab("alice")
    chat.open()
    page = chat.page
    chat.send("Name a colour")
    chat.wait_idle()
    expect(reply(chat)).to_have_text("Reply 1: Name a colour")
    chat.last_assistant().get_by_test_id("regenerate").click()
    expect(reply(chat)).to_have_text("Reply 2: Name a colour")
    chat.wait_idle()
    expect(versions_of(chat.last_assistant())).to_have_text("2 / 2")
    # The handler got the branch shown: the user message alone, not the first reply.
    assert [m["content"] for m in seen[1]] == ["Name a colour"]
    switcher(chat.last_assistant()).get_by_role("button", name="Previous version").click()
    expect(reply(chat)).to_have_text("Reply 1: Name a colour")
    expect(versions_of(chat.last_assistant())).to_have_text("1 / 2")

    user = chat.messages("user").first
    user.hover()
    user.get_by_test_id("edit-message").click()
    page.get_by_test_id("edit-input").fill("Name a fruit")
    page.get_by_test_id("edit-save").click()
    expect(reply(chat)).to_have_text("Reply 3: Name a fruit")
    chat.wait_idle()
    assert [m["content"] for m in seen[2]] == ["Name a fruit"]
    expect(versions_of(chat.messages("user").first)).to_have_text("2 / 2")
    chat.screenshot("history-branches-1280-light")
    page.get_by_test_id("theme-toggle").click()
    chat.screenshot("history-branches-1280-dark")

    # Back to the first version: below it, the reply last seen there.
    switcher(chat.messages("user").first).get_by_role("button", name="Previous version").click()
    expect(asked(chat)).to_have_text(["Name a colour"])
    expect(reply(chat)).to_have_text("Reply 1: Name a colour")
    chat.send("Why?")
    chat.wait_idle()
    assert [m["content"] for m in seen[3]] == ["Name a colour", "Reply 1: Name a colour", "Why?"]

    # A reload reopens the conversation, on its newest branch.
    page.reload()
    chat.wait_connected()
    expect(asked(chat)).to_have_text(["Name a colour", "Why?"])
    expect(reply(chat)).to_have_text("Reply 4: Why?")
    chat.phone()
    chat.screenshot("history-branches-390-dark")
    page.get_by_test_id("theme-toggle").click()
    chat.screenshot("history-branches-390-light")
    page.get_by_test_id("sidebar-toggle").click()
    chat.screenshot("history-sidebar-390-light")


def test_a_new_chat_starts_from_the_configured_messages(
    hchat: ChatApp, store: Store, tab: Tab, seen: list[list[dict[str, Any]]]
) -> None:
    hchat.set_config({"messages": [{"role": "system", "content": "Answer like a pirate."}]})
    chat = tab("alice")
    chat.open()
    chat.send("Where is the treasure?")
    chat.wait_idle()
    # The tab and the server name the initial message alike: the user message follows it.
    assert seen[0] == [
        {"role": "system", "content": "Answer like a pirate."},
        {"role": "user", "content": "Where is the treasure?"},
    ]
    [item] = store.conversations("alice").items
    kept = store.get("alice", item.id)
    assert kept is not None
    assert [(n.id, n.parent_id) for n in kept.messages][:1] == [("init-0", None)]
    assert kept.messages[1].parent_id == "init-0"
    chat.send("And then?")
    chat.wait_idle()
    assert [m["content"] for m in seen[1]] == [
        "Answer like a pirate.",
        "Where is the treasure?",
        "Reply 1: Where is the treasure?",
        "And then?",
    ]


def test_an_interrupted_reply_offers_a_retry(store: Store, tab: Tab, seen: list[Any]) -> None:
    store.start("alice", "alice-story-001", [])
    store.add_message(
        "alice", "alice-story-001", "u1", None, {"role": "user", "content": "A story?"}
    )
    store.save_run(
        "alice",
        "alice-story-001",
        "u1",
        [("a1", {"role": "assistant", "content": "Once upon a"})],
        "incomplete",
    )
    chat = tab("alice")
    chat.open()
    titles(chat).first.click()
    expect(chat.page.get_by_test_id("conversation-loading")).to_have_count(0)
    expect(chat.page.get_by_test_id("interrupted-note")).to_be_visible()
    chat.screenshot("history-interrupted-1280-light")
    expect(reply(chat)).to_contain_text("Once upon a")
    chat.page.get_by_test_id("retry-interrupted").click()
    expect(reply(chat)).to_have_text("Reply 1: A story?")
    chat.wait_idle()
    assert [m["content"] for m in seen[0]] == ["A story?"]
    expect(versions_of(chat.last_assistant())).to_have_text("2 / 2")


V1_CONVERSATION = {
    "id": "c0ffee00c0ffee00",
    "title": "Kept in the browser",
    "updatedAt": 1_700_000_000_000,
    "running": False,
    "runId": None,
    "error": None,
    "messages": [
        {"id": "u", "message": {"role": "user", "content": "Old question"}, "status": "done"},
        {"id": "a", "message": {"role": "assistant", "content": "Old answer"}, "status": "done"},
    ],
}


def test_conversations_this_browser_kept_are_uploaded_once(store: Store, tab: Tab) -> None:
    chat = tab("alice")
    # What a browser kept before the server did: there before the page's first script.
    kept = json.dumps(json.dumps([V1_CONVERSATION]))
    chat.page.add_init_script(
        "if (!sessionStorage.getItem('seeded')) {"
        f" localStorage.setItem('gptchat:v1:conversations', {kept});"
        " sessionStorage.setItem('seeded', '1'); }"
    )
    chat.open()
    expect(titles(chat)).to_have_text(["Kept in the browser"])
    uploaded = store.get("alice", "c0ffee00c0ffee00")
    assert uploaded is not None
    assert [n.message["content"] for n in uploaded.messages] == ["Old question", "Old answer"]
    deadline = time.monotonic() + 5
    while chat.page.evaluate("() => localStorage.getItem('gptchat:v1:conversations')"):
        assert time.monotonic() < deadline, "the browser's copy was not removed"
        time.sleep(0.05)
    chat.page.reload()
    chat.wait_connected()
    expect(titles(chat)).to_have_text(["Kept in the browser"])
    open_chat(chat, "Kept in the browser")
    expect(chat.messages("assistant").locator(".md-root")).to_have_text("Old answer")
    assert len(store.conversations("alice").items) == 1


def test_an_out_of_date_page_asks_for_a_reload(
    tab: Tab, seen: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server moved on to a protocol this bundle does not speak.
    monkeypatch.setattr(gptchat.server, "PROTOCOL_VERSION", 99)
    chat = tab("alice")
    chat.page.goto(chat.url)
    banner = chat.page.get_by_test_id("outdated-banner")
    expect(banner).to_contain_text("This page is out of date")
    expect(banner.get_by_role("button", name="Reload")).to_be_visible()
    expect(chat.page.get_by_test_id("list-loading")).to_have_count(0)
    chat.screenshot("history-outdated-1280-light")
    chat.input.fill("Hello?")
    chat.input.press("Enter")
    time.sleep(0.3)
    assert seen == []
    expect(chat.messages("user")).to_have_count(0)


def test_a_thousand_message_conversation_opens_at_its_end_and_scrolls_back(
    store: Store, tab: Tab
) -> None:
    # Its figures (time to paint, frames while scrolling) are bench/history_ui.py's.
    bench = load_bench("history_ui")
    block = "A paragraph with **bold**, `code` and a list:\n\n- one\n- two\n\n```py\nprint(1)\n```"
    texts = [f"Question {i}" if i % 2 == 0 else f"Answer {i}. {block}" for i in range(1000)]
    seed(store, "alice", "alice-long-0001", "Long one", 2000, *texts)
    seed(store, "alice", "alice-short-001", "Short one", 1000, "hi", "hello")
    chat = tab("alice")
    chat.open()
    open_chat(chat, "Short one")
    expect(chat.messages("assistant").locator(".md-root")).to_have_text("hello")
    bench.open_long(chat.page, "Long one", "Answer 999.")
    expect(reply(chat)).to_contain_text("Answer 999.")
    # Only the end is in the page at first; scrolling up brings the rest, in order.
    first = chat.page.get_by_test_id("message").count()
    assert 0 < first < 200
    frames = bench.scroll_frames(chat.page)
    assert frames["rendered"] > first
    shown = chat.messages("user").locator(".bubble").all_inner_texts()
    numbers = [int(t.split()[-1]) for t in shown]
    assert numbers == sorted(numbers) and numbers[-1] == 998


def test_a_store_that_cannot_write_is_said_once_and_the_reply_still_shows(
    browser: Browser, tmp_path: Path
) -> None:
    path = tmp_path / "history.db"
    writable = Store(f"sqlite:///{path}")
    seed(writable, "local", "local-conv-0001", "Kept before", 1000, "Hello", "Hi there")
    writable.close()
    # The same file opened read-only: every write fails, as on a full or read-only disk.
    chat = ChatApp(store=f"sqlite:///file:{path}?mode=ro&uri=true", coalesce_interval=0.0)
    chat.handle_send_message(lambda messages: {"role": "assistant", "content": "Still here"})
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        with live_server(chat) as url:
            page = ChatPage(context.new_page(), url, SCREENSHOTS)
            page.open()
            open_chat(page, "Kept before")
            page.send("Are you there?")
            page.wait_idle()
            expect(reply(page)).to_have_text("Still here")
            notice = page.page.get_by_role("alert").filter(has_text="read-only")
            expect(notice).to_have_count(1)
            page.screenshot("history-store-notice-1280-light")
            notice.get_by_role("button", name="Dismiss").click()
            # A new chat's reply is not kept either: it still shows, and the trouble is
            # not said again.
            page.page.get_by_test_id("new-chat").click()
            page.send("A new chat?")
            page.wait_idle()
            expect(reply(page)).to_have_text("Still here")
            time.sleep(0.3)
            expect(page.page.get_by_role("alert")).to_have_count(0)
    finally:
        context.close()
        if chat._server is not None and chat._server.store is not None:
            chat._server.store.close()
