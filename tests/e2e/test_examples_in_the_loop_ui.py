"""The agent-in-the-loop examples, sync and async, unchanged, as a person uses them in
Chromium: pick the tone, approve the email with an edited address, rate the reply, then
click "Draft another". The real openai client talks to the fake OpenAI server on loopback."""

from __future__ import annotations

import json
import runpy
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import gptchat
from gptchat import ChatApp
from tests.e2e.chat_page import ChatPage
from tests.fake_openai import TOOL_ARGUMENTS, FakeOpenAI

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(params=["agent_in_the_loop", "agent_in_the_loop_async"])
def example(
    request: pytest.FixtureRequest, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The example's module globals; its app (``gptchat.app``) is the ``chat`` fixture."""
    monkeypatch.setattr(gptchat, "app", request.getfixturevalue("chat"))
    return runpy.run_path(str(EXAMPLES / f"{request.param}.py"), run_name="example")


def test_the_agent_asks_waits_for_approval_and_hears_feedback(
    chat: ChatApp,
    example: dict[str, Any],
    fake_openai: FakeOpenAI,
    chat_page: ChatPage,
    capfd: pytest.CaptureFixture[str],
) -> None:
    page = chat_page.page
    chat_page.open().send("find_contact Bob, then send_email him about lunch")
    page.get_by_test_id("ask-choice").filter(has_text="Formal").click()

    approval = page.get_by_test_id("approval")
    expect(approval).to_be_visible()
    arguments = approval.get_by_test_id("approval-arguments")
    assert json.loads(arguments.input_value()) == TOOL_ARGUMENTS["send_email"]
    assert example["OUTBOX"] == []  # nothing is sent before the click
    edited = {**TOOL_ARGUMENTS["send_email"], "to": "carol@example.com"}
    arguments.fill(json.dumps(edited, indent=2))
    chat_page.screenshot(f"in-the-loop-{Path(example['__file__']).stem}-approval")
    approval.get_by_test_id("approve").click()
    chat_page.wait_idle()

    reply = chat_page.last_assistant()
    expect(reply).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("run-error")).to_have_count(0)
    assert example["OUTBOX"] == [edited]
    expect(page.get_by_test_id("ask-status").first).to_have_text("Answered")
    expect(page.get_by_test_id("tool-call")).to_have_count(2)

    page.get_by_test_id("thumb-up").last.click()
    expect(page.get_by_test_id("thumb-up").last).to_have_attribute("aria-pressed", "true")
    chat_page.screenshot(f"in-the-loop-{Path(example['__file__']).stem}-done")
    printed = ""
    deadline = time.monotonic() + 5
    while ": up" not in printed and time.monotonic() < deadline:
        time.sleep(0.05)
        printed += capfd.readouterr().out
    assert "feedback from local on " in printed and printed.rstrip().endswith(": up"), printed

    # "Draft another": a reply of its own, which asks again; denied this time.
    page.get_by_test_id("message-action").filter(has_text="Draft another").click()
    page.get_by_test_id("ask-choice").filter(has_text="Short").click()
    expect(page.get_by_test_id("approve")).to_be_visible()
    page.get_by_test_id("deny").click()
    chat_page.wait_idle()
    assert example["OUTBOX"] == [edited]  # the second email was not sent
    expect(page.get_by_test_id("run-error")).to_have_count(0)
    expect(page.get_by_test_id("ask-status").last).to_contain_text("Denied")
