"""The user in the loop, as a person sees it in Chromium: questions a reply asks (text,
choices, a form), approvals on a tool call's block, a reload or a stop while a question
waits, two tabs answering at once, thumbs on a reply, and an action's button.

A real server on 127.0.0.1 (browser-kept history, or a SQLite store of the test's own
where a test names ``user_tab``); the handlers are fakes of a model that asks."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from playwright.sync_api import Locator, WebSocketRoute, expect
from pydantic import BaseModel, Field

from gptchat import ActionCall, AskTimeout, ChatApp, Feedback
from tests.e2e.chat_page import ChatPage
from tests.e2e.conftest import UserTab

Messages = list[dict[str, Any]]

CALL: dict[str, Any] = {
    "id": "call_1",
    "type": "function",
    "function": {
        "name": "send_email",
        "arguments": json.dumps({"to": "bob@example.com", "subject": "Lunch", "body": "Noon?"}),
    },
}


class Trip(BaseModel):
    city: Literal["Paris", "Rome", "Lisbon"] = Field(title="City")
    nights: int = Field(ge=1, le=30, title="Nights")
    museum_pass: bool = Field(default=False, title="Museum pass")
    note: str | None = Field(default=None, title="Note", description="Anything we should know")


def asking_handler(chat: ChatApp, seen: list[Messages] | None = None) -> list[Any]:
    """A handler that asks what its message names ("text", "choices", "form", "email")
    and replies with what it got; returns what its questions returned, in order. ``seen``
    gets the conversation each run was given."""
    got: list[Any] = []

    @chat.handle_send_message
    def on_message(messages: Messages) -> str:
        if seen is not None:
            seen.append(messages)
        kind = messages[-1]["content"]
        if kind == "text":
            value: Any = chat.ask("Which **city** are you flying to?", placeholder="A city")
        elif kind == "choices":
            value = chat.ask("Window or aisle?", choices=["Window", "Aisle", "No preference"])
        elif kind == "form":
            trip = chat.ask("Tell me about the **trip**.", form=Trip)
            value = trip.model_dump()
        elif kind == "email":
            # Each run's call has an id of its own, as a model's calls do.
            call = {**CALL, "id": f"call_{len(got) + 1}"}
            chat.update_message({"role": "assistant", "content": None, "tool_calls": [call]})
            decision = chat.confirm(call, prompt="Send this **email**?")
            got.append(decision)
            if not decision.approved:
                return "I did not send it."
            to = decision.args["to"]
            chat.update_message(
                {"role": "tool", "tool_call_id": call["id"], "content": f"sent to {to}"}
            )
            return f"Sent to {to}."
        else:
            return f"You said {kind}."
        got.append(value)
        return f"Got {value!r}"

    return got


def card(chat: ChatPage) -> Locator:
    return chat.page.get_by_test_id("ask-card")


def question(chat: ChatPage) -> Locator:
    """The message that holds the (newest) question."""
    return chat.messages("assistant").filter(has=chat.page.get_by_test_id("ask-card")).last


def status_note(chat: ChatPage) -> Locator:
    return chat.page.get_by_test_id("ask-status")


def themes(chat: ChatPage, name: str, target: Locator) -> None:
    """Screenshots of ``target`` in view: light and dark at 1280 px, and light at 390 px."""
    page = chat.page
    html = page.locator("html")
    target.scroll_into_view_if_needed()
    expect(html).to_have_attribute("data-theme", "light")
    chat.screenshot(f"interaction-{name}-light")
    page.get_by_test_id("theme-toggle").click()
    expect(html).to_have_attribute("data-theme", "dark")
    chat.screenshot(f"interaction-{name}-dark")
    page.get_by_test_id("theme-toggle").click()
    expect(html).to_have_attribute("data-theme", "light")
    chat.phone()
    target.scroll_into_view_if_needed()
    report = chat.cut_off()
    assert report["cut"] == [], report
    assert report["page"][0] <= report["page"][1], report
    chat.screenshot(f"interaction-{name}-390")
    page.set_viewport_size({"width": 1280, "height": 860})


class SlowNews:
    """A page's socket on a slow network: while held, what the server sends it waits
    (its replies to what the page sends, ``error``, still come), and comes in order on
    release."""

    def __init__(self, chat: ChatPage) -> None:
        self.held = False
        self.queue: list[str | bytes] = []
        self.page: WebSocketRoute | None = None
        chat.page.route_web_socket(re.compile(r"/socket\.io/"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        self.page = ws
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            news = str(message).startswith("42[") and not str(message).startswith('42["error"')
            if self.held and news:
                self.queue.append(message)
            else:
                ws.send(message)

        server.on_message(to_page)

    def hold(self) -> None:
        self.held = True

    def release(self) -> None:
        self.held = False
        assert self.page is not None
        for message in self.queue:
            self.page.send(message)
        self.queue.clear()


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set to let a handler that waits after its answer finish."""
    event = threading.Event()
    yield event
    event.set()


def test_a_text_question_is_answered_with_enter(chat: ChatApp, chat_page: ChatPage) -> None:
    got = asking_handler(chat)
    chat_page.open().send("text")
    box = chat_page.page.get_by_test_id("ask-input")
    expect(box).to_be_visible()
    expect(box).to_have_attribute("placeholder", "A city")
    # The question is the message's text, rendered like a reply (markdown and all).
    expect(question(chat_page).locator(".md-root strong")).to_have_text("city")
    # It can be answered at once: the box has the focus.
    expect(box).to_be_focused()
    expect(chat_page.input).to_have_attribute("placeholder", "Answer the question above")
    themes(chat_page, "text", card(chat_page))
    box.fill("Lyon")
    box.press("Enter")
    chat_page.wait_idle()
    expect(card(chat_page)).to_have_count(0)
    expect(status_note(chat_page)).to_have_text("Answered")
    expect(chat_page.messages("user").last).to_have_text("Lyon")
    expect(chat_page.last_assistant().locator(".md-root")).to_have_text("Got 'Lyon'")
    expect(chat_page.input).to_have_attribute("placeholder", "Message")
    assert got == ["Lyon"]


def test_choices_are_buttons_and_the_answer_shows(chat: ChatApp, chat_page: ChatPage) -> None:
    got = asking_handler(chat)
    chat_page.open().send("choices")
    choices = chat_page.page.get_by_test_id("ask-choice")
    expect(choices).to_have_text(["Window", "Aisle", "No preference"])
    expect(choices.first).to_be_focused()
    themes(chat_page, "choices", card(chat_page))
    choices.nth(1).click()
    chat_page.wait_idle()
    expect(status_note(chat_page)).to_have_text("Answered")
    expect(chat_page.messages("user").last).to_have_text("Aisle")
    assert got == ["Aisle"]


def test_a_form_checks_its_fields_and_sends_typed_values(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    got = asking_handler(chat)
    chat_page.open().send("form")
    form = chat_page.page.get_by_test_id("ask-form")
    expect(form).to_be_visible()
    page = chat_page.page
    city = form.get_by_label("City")
    expect(city.locator("option")).to_have_text(["Choose…", "Paris", "Rome", "Lisbon"])
    nights = form.get_by_label("Nights")
    expect(nights).to_have_attribute("min", "1")
    expect(nights).to_have_attribute("max", "30")
    expect(form.get_by_text("Anything we should know")).to_be_visible()
    themes(chat_page, "form", card(chat_page))
    # Checked in the browser first: nothing is sent until the form is right.
    form.get_by_test_id("ask-submit").click()
    expect(page.get_by_test_id("ask-error")).to_have_text("City is required.")
    city.select_option("Rome")
    nights.fill("40")
    form.get_by_test_id("ask-submit").click()
    expect(page.get_by_test_id("ask-error")).to_have_text("Nights must be at most 30.")
    nights.fill("3")
    form.get_by_label("Museum pass").check()
    nights.press("Enter")  # Enter in a field submits, as in any form
    chat_page.wait_idle()
    expect(status_note(chat_page)).to_have_text("Answered")
    assert got == [{"city": "Rome", "nights": 3, "museum_pass": True, "note": None}]
    expect(chat_page.messages("user").last).to_contain_text("Rome")


def approval(chat: ChatPage) -> Locator:
    return chat.page.get_by_test_id("approval")


def test_an_approval_with_edited_arguments_then_a_denial(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    seen: list[Messages] = []
    got = asking_handler(chat, seen)
    page = chat_page.page
    chat_page.open().send("email")
    # On the block of the call it is about, not a message of its own.
    group = page.get_by_test_id("tool-group")
    expect(group.get_by_test_id("approval")).to_be_visible()
    expect(group.get_by_test_id("tool-call")).to_have_attribute("data-state", "waiting")
    expect(approval(chat_page)).to_contain_text("Send this email?")
    args = page.get_by_test_id("approval-arguments")
    expect(args).to_be_focused()
    assert json.loads(args.input_value()) == json.loads(CALL["function"]["arguments"])
    assert "\n" in args.input_value()  # pretty, to edit
    themes(chat_page, "approval", group)
    # Not JSON: said here, and nothing is sent.
    args.fill('{"to": "carol@example.com",')
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("ask-error")).to_have_text("The arguments are not valid JSON.")
    expect(group.get_by_test_id("tool-call")).to_have_attribute("data-state", "waiting")
    args.fill('{"to": "carol@example.com", "subject": "Lunch", "body": "Noon?"}')
    page.get_by_test_id("approve").click()
    chat_page.wait_idle()
    expect(status_note(chat_page)).to_have_text("Approved · edited")
    call = group.get_by_test_id("tool-call")
    expect(call).to_have_attribute("data-state", "done")
    call.get_by_test_id("tool-call-header").click()
    expect(call.get_by_test_id("tool-result")).to_have_text("sent to carol@example.com")
    # The block shows the arguments the call ran with: the edited ones.
    expect(call.get_by_test_id("tool-call-arguments")).to_contain_text("carol@example.com")
    expect(chat_page.last_assistant().locator(".md-root")).to_have_text(
        "Sent to carol@example.com."
    )
    assert got[0].approved and got[0].args["to"] == "carol@example.com"
    # The next run's model input has the call as the user left it, and no approval.
    chat_page.send("thanks")
    chat_page.wait_idle()
    assert [m["role"] for m in seen[-1]] == ["user", "assistant", "tool", "assistant", "user"]
    ran = seen[-1][1]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(ran)["to"] == "carol@example.com"

    chat_page.send("email")
    expect(page.get_by_test_id("approve")).to_be_visible()
    page.get_by_test_id("deny").click()
    chat_page.wait_idle()
    denied = page.get_by_test_id("tool-group").last
    expect(denied.get_by_test_id("ask-status")).to_have_text("Denied")
    expect(denied.get_by_test_id("tool-call")).to_have_attribute("data-state", "denied")
    expect(chat_page.last_assistant().locator(".md-root")).to_have_text("I did not send it.")
    assert got[1].approved is False
    themes(chat_page, "approval-answered", denied)


def test_a_question_waiting_through_a_reload_can_be_answered(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    got = asking_handler(chat)
    chat_page.open().send("choices")
    expect(chat_page.page.get_by_test_id("ask-choice")).to_have_count(3)
    chat_page.page.reload()
    expect(chat_page.page.get_by_test_id("composer")).to_have_attribute("data-connected", "true")
    choices = chat_page.page.get_by_test_id("ask-choice")
    expect(choices).to_have_count(3)
    choices.first.click()
    chat_page.wait_idle()
    expect(chat_page.last_assistant().locator(".md-root")).to_have_text("Got 'Window'")
    assert got == ["Window"]


def test_stop_while_a_question_waits(chat: ChatApp, chat_page: ChatPage) -> None:
    asking_handler(chat)
    chat_page.open().send("text")
    expect(chat_page.page.get_by_test_id("ask-input")).to_be_visible()
    chat_page.page.get_by_test_id("stop-button").click()
    chat_page.wait_idle()
    expect(card(chat_page)).to_have_count(0)
    expect(status_note(chat_page)).to_have_text("Not answered: the reply was stopped")
    # The question's message carries the note; no "Interrupted" is said beside it.
    expect(chat_page.page.get_by_test_id("interrupted-note")).to_have_count(0)


def test_a_question_not_answered_in_time(chat: ChatApp, chat_page: ChatPage) -> None:
    @chat.handle_send_message
    def on_message(messages: Messages) -> str:
        try:
            chat.ask("Quick: heads or tails?", choices=["Heads", "Tails"], timeout=6.0)
        except AskTimeout:
            return "Too late, I picked heads."
        return "Thanks."

    chat_page.open().send("Flip")
    expect(chat_page.page.get_by_test_id("ask-choice")).to_have_count(2)
    # The time left shows while it waits.
    expect(chat_page.page.get_by_test_id("ask-deadline")).to_have_text(re.compile(r"^\d s left$"))
    chat_page.wait_idle()
    expect(card(chat_page)).to_have_count(0)
    expect(status_note(chat_page)).to_have_text("Not answered in time")
    expect(chat_page.last_assistant().locator(".md-root")).to_have_text("Too late, I picked heads.")


def test_a_question_leaves_a_draft_in_the_composer_alone(
    chat: ChatApp, chat_page: ChatPage, release: threading.Event
) -> None:
    @chat.handle_send_message
    def on_message(messages: Messages) -> str:
        release.wait(10)
        return str(chat.ask("Which size?", choices=["S", "M", "L"]))

    chat_page.open().send("A shirt")
    composer = chat_page.input
    composer.click()
    composer.type("Also a ha")
    release.set()
    expect(chat_page.page.get_by_test_id("ask-choice")).to_have_count(3)
    # The user is writing: the question does not take their keystrokes.
    composer.type("t")
    expect(composer).to_be_focused()
    expect(composer).to_have_value("Also a hat")
    chat_page.page.get_by_test_id("ask-choice").nth(1).click()
    chat_page.wait_idle()
    expect(composer).to_have_value("Also a hat")


def test_an_approval_of_a_call_not_shown_stands_on_its_own(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    @chat.handle_send_message
    def on_message(messages: Messages) -> str:
        decision = chat.confirm(CALL, editable=False)
        return "Sent." if decision.approved else "Not sent."

    chat_page.open().send("Go")
    box = approval(chat_page)
    expect(box).to_have_class(re.compile(r"\bstandalone\b"))
    expect(box).to_contain_text("send_email()")
    # Not editable: the arguments show, read-only.
    expect(chat_page.page.get_by_test_id("approval-arguments")).to_have_count(0)
    expect(box.locator("pre")).to_contain_text('"to": "bob@example.com"')
    # The first control has the focus: Deny, so a stray Enter sends nothing.
    expect(chat_page.page.get_by_test_id("deny")).to_be_focused()
    themes(chat_page, "approval-standalone", box)
    chat_page.page.get_by_test_id("approve").click()
    chat_page.wait_idle()
    expect(box.get_by_test_id("ask-status")).to_have_text("Approved")
    expect(chat_page.last_assistant().locator(".md-root")).to_have_text("Sent.")


class Booking(BaseModel):
    name: str = Field(title="Name", max_length=8)


def test_an_answer_waits_for_the_server_and_a_refusal_is_said_by_the_question(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    @chat.handle_send_message
    def on_message(messages: Messages) -> str:
        booking = chat.ask("Whose name?", form=Booking)
        assert isinstance(booking, Booking)
        return "Booked for " + booking.name

    news = SlowNews(chat_page)
    chat_page.open().send("Book")
    field = chat_page.page.get_by_label("Name")
    submit = chat_page.page.get_by_test_id("ask-submit")
    # A limit the form does not show: the server's model refuses, the question stays.
    field.fill("Bartholomew")
    submit.click()
    expect(chat_page.page.get_by_test_id("ask-error")).to_contain_text("name")
    expect(submit).to_be_enabled()
    field.fill("Bart")
    news.hold()
    submit.click()
    # Sent, not confirmed yet: the controls wait.
    expect(submit).to_be_disabled()
    expect(field).to_be_disabled()
    expect(chat_page.page.get_by_test_id("ask-error")).to_have_count(0)
    news.release()
    chat_page.wait_idle()
    expect(status_note(chat_page)).to_have_text("Answered")
    expect(chat_page.last_assistant().locator(".md-root")).to_have_text("Booked for Bart")


# -- two tabs, server store --------------------------------------------------------------


def test_two_tabs_the_first_answer_counts(
    hchat: ChatApp, user_tab: UserTab, release: threading.Event
) -> None:
    got: list[str] = []

    @hchat.handle_send_message
    def on_message(messages: Messages) -> str:
        got.append(hchat.ask("Which city?", choices=["Paris", "Rome"]))
        release.wait(15)  # the run goes on: the other tab still shows the question
        return "Going to " + got[-1]

    one = user_tab("alice")
    one.open()
    one.send("Plan a trip")
    expect(one.page.get_by_test_id("ask-choice")).to_have_count(2)
    two = user_tab("alice")
    # The second tab hears of the first one's answer at once and shows it answered; on a
    # slow network (its news held back) it may answer too late.
    news = SlowNews(two)
    two.open()
    # The store keeps the question (checkpointed) as the reply runs in the first tab.
    deadline = time.monotonic() + 10
    while True:
        two.page.locator(".conv-title", has_text="Plan a trip").click()
        try:
            expect(two.page.get_by_test_id("ask-choice")).to_have_count(2, timeout=1000)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            two.page.reload()
            two.wait_connected()
    news.hold()
    one.page.get_by_test_id("ask-choice").first.click()
    expect(one.page.get_by_test_id("ask-status")).to_have_text("Answered")
    two.page.get_by_test_id("ask-choice").last.click()
    # Too late: said beside the question, which the other tab answered.
    expect(two.page.get_by_test_id("ask-error")).to_have_text(
        "This question is no longer waiting for an answer."
    )
    # A question still waiting offers nothing to copy or regenerate.
    expect(two.page.get_by_test_id("regenerate")).to_have_count(0)
    two.screenshot("interaction-two-tabs-refused")
    # The news comes: the question there shows the first tab's answer, and no error.
    news.release()
    expect(two.page.get_by_test_id("ask-status")).to_have_text("Answered")
    expect(two.page.get_by_test_id("ask-error")).to_have_count(0)
    expect(two.messages("user").last).to_have_text("Paris")
    release.set()
    one.wait_idle()
    expect(one.last_assistant().locator(".md-root")).to_have_text("Going to Paris")
    assert got == ["Paris"]
    expect(two.last_assistant().locator(".md-root")).to_have_text("Going to Paris")


# -- feedback ----------------------------------------------------------------------------


def thumbs(chat: ChatPage) -> tuple[Locator, Locator]:
    reply = chat.last_assistant()
    return reply.get_by_test_id("thumb-up"), reply.get_by_test_id("thumb-down")


def test_thumbs_and_a_comment_are_heard_and_kept_across_a_reload(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    heard: list[Feedback] = []
    lock = threading.Lock()

    @chat.handle_feedback
    def on_feedback(feedback: Feedback) -> None:
        with lock:
            heard.append(feedback)

    @chat.handle_send_message
    def on_message(messages: Messages) -> str:
        return "Here is a **short** answer."

    def wait_heard(n: int) -> list[tuple[str | None, str | None]]:
        deadline = time.monotonic() + 5
        while len(heard) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        with lock:
            return [(f.rating, f.comment) for f in heard]

    chat_page.open().send("Hello")
    chat_page.wait_idle()
    up, down = thumbs(chat_page)
    expect(up).to_have_attribute("title", "Good response")
    expect(down).to_have_attribute("title", "Bad response")
    expect(up).to_have_attribute("aria-pressed", "false")
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    box = chat_page.page.get_by_test_id("feedback-comment")
    expect(box).to_be_focused()
    themes(chat_page, "feedback", chat_page.last_assistant())
    box.fill("Clear and short")
    chat_page.page.get_by_test_id("feedback-send").click()
    expect(box).to_have_count(0)
    assert wait_heard(2) == [("up", None), ("up", "Clear and short")]
    # Kept with the message in this browser: still pressed after a reload.
    chat_page.page.reload()
    chat_page.wait_connected()
    up, down = thumbs(chat_page)
    expect(up).to_have_attribute("aria-pressed", "true")
    down.click()
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    chat_page.page.get_by_test_id("feedback-dismiss").click()
    expect(chat_page.page.get_by_test_id("feedback-box")).to_have_count(0)
    down.click()  # the same thumb again takes it back
    expect(down).to_have_attribute("aria-pressed", "false")
    assert wait_heard(4)[2:] == [("down", None), (None, None)]


def test_feedback_is_kept_by_the_server_store(hchat: ChatApp, user_tab: UserTab) -> None:
    @hchat.handle_send_message
    def on_message(messages: Messages) -> str:
        return "Stored answer."

    chat = user_tab("alice")
    chat.open()
    chat.send("Hello")
    chat.wait_idle()
    up, _ = thumbs(chat)
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    chat.page.get_by_test_id("feedback-comment").fill("Good")
    chat.page.get_by_test_id("feedback-send").click()
    # Another browser of the same user sees the rating the store kept.
    other = user_tab("alice")
    other.open()
    other.page.locator(".conv-title", has_text="Hello").click()
    expect(other.last_assistant().locator(".md-root")).to_have_text("Stored answer.")
    up, down = thumbs(other)
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(down).to_have_attribute("aria-pressed", "false")


def test_a_question_waiting_through_a_reload_with_the_server_store(
    hchat: ChatApp, user_tab: UserTab
) -> None:
    @hchat.handle_send_message
    def on_message(messages: Messages) -> str:
        return "Going to " + str(hchat.ask("Which city?", choices=["Paris", "Rome"]))

    chat = user_tab("alice")
    chat.open()
    chat.send("Plan a trip")
    expect(chat.page.get_by_test_id("ask-choice")).to_have_count(2)
    chat.page.reload()
    chat.wait_connected()
    choices = chat.page.get_by_test_id("ask-choice")
    expect(choices).to_have_count(2)
    choices.last.click()
    expect(chat.last_assistant().locator(".md-root")).to_have_text("Going to Rome")
    expect(chat.page.get_by_test_id("ask-status")).to_have_text("Answered")


# -- actions -----------------------------------------------------------------------------


def test_an_action_button_streams_a_reply(chat: ChatApp, chat_page: ChatPage) -> None:
    calls: list[ActionCall] = []
    go = threading.Event()

    @chat.handle_send_message
    def on_message(messages: Messages) -> None:
        chat.update_message(
            {"role": "assistant", "content": "A haiku about rain."},
            actions=[{"name": "again", "label": "Write another", "payload": {"topic": "rain"}}],
        )

    @chat.handle_action("again")
    def again(call: ActionCall) -> Any:
        calls.append(call)
        yield "Drops "
        go.wait(10)
        yield from ("on ", "tin.")

    chat_page.open().send("Write a haiku")
    chat_page.wait_idle()
    button = chat_page.page.get_by_test_id("message-action")
    expect(button).to_have_text("Write another")
    expect(button).to_be_enabled()
    themes(chat_page, "action", chat_page.last_assistant())
    button.click()
    # A reply runs: the button waits, as the composer does.
    expect(chat_page.page.get_by_test_id("stop-button")).to_be_visible()
    expect(button).to_be_disabled()
    expect(chat_page.last_assistant().locator(".md-root")).to_have_text("Drops")
    go.set()
    chat_page.wait_idle()
    expect(chat_page.last_assistant().locator(".md-root")).to_have_text("Drops on tin.")
    expect(button).to_be_enabled()
    assert len(calls) == 1
    assert calls[0].payload == {"topic": "rain"}
    assert [m["content"] for m in calls[0].messages] == ["Write a haiku", "A haiku about rain."]


def test_an_action_with_the_server_store(hchat: ChatApp, user_tab: UserTab) -> None:
    calls: list[ActionCall] = []

    @hchat.handle_send_message
    def on_message(messages: Messages) -> None:
        hchat.update_message(
            {"role": "assistant", "content": "Three long paragraphs."},
            actions=[{"name": "shorter", "label": "Shorter"}],
        )

    @hchat.handle_action("shorter")
    def shorter(call: ActionCall) -> str:
        calls.append(call)
        return "One line."

    chat = user_tab("alice")
    chat.open()
    chat.send("Explain tides")
    chat.wait_idle()
    chat.page.get_by_test_id("message-action").click()
    expect(chat.last_assistant().locator(".md-root")).to_have_text("One line.")
    chat.wait_idle()
    # Kept by the store after the message it followed: there after a reload too.
    chat.page.reload()
    chat.wait_connected()
    expect(chat.messages("assistant").locator(".md-root")).to_have_text(
        ["Three long paragraphs.", "One line."]
    )
    assert [m["content"] for m in calls[0].messages] == [
        "Explain tides",
        "Three long paragraphs.",
    ]
