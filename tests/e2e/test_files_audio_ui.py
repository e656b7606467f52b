"""Files in, as a person attaches them in Chromium to examples/file_attachment.py: the
picker and a drop, the chips, the reply that read them; a refused file says why and sends
nothing. (Audio: test_audio_ui.py.)"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from gptchat import ChatApp
from tests.e2e.chat_page import ChatPage
from tests.fake_openai import FakeOpenAI
from tests.support import load_example

NOTES = "Shopping list\nmilk\neggs\nbread\n"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def chat(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> ChatApp:
    """examples/file_attachment.py, unchanged, against the fake OpenAI server."""
    return load_example("file_attachment", monkeypatch)


def file_input(chat_page: ChatPage) -> Any:
    return chat_page.page.get_by_test_id("composer").locator("input[type=file]")


DROP = """([name, type, bytes]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], name, { type }));
    const form = document.querySelector('[data-testid="composer"]');
    form.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true }));
}"""


def test_a_file_attached_and_sent_shows_as_a_chip_and_the_handler_reads_it(
    chat: ChatApp, chat_page: ChatPage, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text(NOTES)
    chat_page.open()
    file_input(chat_page).set_input_files(str(notes))
    chat_page.page.evaluate(DROP, ["report.pdf", "application/pdf", list(PDF)])
    composer = chat_page.page.get_by_test_id("composer")
    chips = composer.get_by_test_id("file-chip")
    expect(chips).to_have_count(2)
    expect(chips.nth(0)).to_contain_text("notes.txt")
    expect(chips.nth(0)).to_contain_text(f"Text · {len(NOTES)} B")
    expect(chips.nth(1)).to_contain_text("report.pdf")
    expect(chips.nth(1)).to_contain_text("PDF")
    chat_page.screenshot("files-composer-chips")
    chat_page.send("What should I buy?")
    chat_page.wait_idle()
    sent = chat_page.messages("user").last
    expect(sent.get_by_test_id("file-chip")).to_have_count(2)
    expect(sent).to_contain_text("notes.txt")
    expect(sent).to_contain_text("What should I buy?")
    reply = chat_page.last_assistant()
    expect(reply).to_have_attribute("data-status", "done")
    expect(reply).to_contain_text(f"Received notes.txt (text/plain, {len(NOTES)} bytes)")
    expect(reply.locator("pre")).to_contain_text("Shopping list")
    expect(reply).to_contain_text("Received report.pdf (application/pdf")
    expect(reply).to_contain_text("Echo: What should I buy?")
    chat_page.screenshot("files-sent-and-read")
    chat_page.phone()
    expect(sent.get_by_test_id("file-chip").nth(1)).to_be_in_viewport()
    assert chat_page.cut_off()["cut"] == []  # the chips wrap in a phone's bubble
    chat_page.screenshot("files-sent-phone")
    (request,) = fake_openai.requests
    text, note, pdf = request["messages"][-1]["content"]
    assert text == {"type": "text", "text": "What should I buy?"}
    assert note == {
        "type": "file",
        "file": {
            "filename": "notes.txt",
            "file_data": "data:text/plain;base64," + base64.b64encode(NOTES.encode()).decode(),
        },
    }
    assert (
        pdf["file"]["file_data"] == "data:application/pdf;base64," + base64.b64encode(PDF).decode()
    )


def test_a_refused_file_says_why_in_the_composer_and_nothing_is_sent(
    chat: ChatApp, chat_page: ChatPage, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    page = tmp_path / "page.html"
    page.write_text("<script>alert(1)</script>")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (2 * 1024 * 1024 + 1))  # the example allows files up to 2 MB
    chat_page.open()
    file_input(chat_page).set_input_files([str(page), str(big)])
    refusal = chat_page.page.get_by_test_id("attach-refusal")
    expect(refusal).to_contain_text("page.html: HTML and XML files cannot be attached")
    expect(refusal).to_contain_text("big.txt is too large (2.0 MB; files may be up to 2.0 MB)")
    expect(chat_page.page.get_by_test_id("composer").get_by_test_id("file-chip")).to_have_count(0)
    expect(chat_page.page.get_by_test_id("send-button")).to_be_disabled()
    chat_page.screenshot("files-refused")
    chat_page.input.press("Enter")
    expect(chat_page.messages("user")).to_have_count(0)
    assert fake_openai.requests == []
