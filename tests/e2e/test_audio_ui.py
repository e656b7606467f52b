"""Audio both ways in Chromium: recording from a fake microphone sends the handler a real
WAV (its RIFF header read back here), and a reply's streamed audio plays in the message."""

from __future__ import annotations

import base64
import math
import re
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI
from playwright.sync_api import Browser, Page, expect

from gptchat import ChatApp
from tests.e2e.chat_page import ChatPage
from tests.e2e.chromium import ARGS, CHROMIUM
from tests.e2e.conftest import SCREENSHOTS
from tests.fake_openai import TONE, FakeOpenAI

BLOB = re.compile(r"^blob:")
AUDIO_ON = {"attachments": {"audio": {"max_bytes": 1024 * 1024}}}


@pytest.fixture
def mic_page(browser: Browser, server: str) -> Iterator[ChatPage]:
    """A Chromium whose microphone is a fake device (a beep), allowed without asking."""
    mic = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
        headless=True,
    )
    page: Page = mic.new_context(viewport={"width": 1280, "height": 860}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield ChatPage(page, server, SCREENSHOTS)
    mic.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def wav_format(data: bytes) -> tuple[int, int, int, int, int]:
    """A WAV's format tag, channels, sample rate, bits per sample and data length."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", data[:12]
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    assert data[12:16] == b"fmt "
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", data[20:36])
    assert byte_rate == rate * align and align == channels * bits // 8
    assert data[36:40] == b"data"
    (length,) = struct.unpack("<I", data[40:44])
    assert length == len(data) - 44
    return tag, channels, rate, bits, length


def test_recording_from_the_microphone_sends_the_handler_a_wav(
    chat: ChatApp, mic_page: ChatPage
) -> None:
    chat.set_config(AUDIO_ON)
    seen: list[list[dict[str, Any]]] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> str:
        seen.append(messages)
        return "I heard you."

    mic_page.open()
    mic_page.page.get_by_test_id("record-button").click()
    recording = mic_page.page.get_by_test_id("recording")
    expect(recording).to_be_visible()
    # About a second of sound: the clock says when it has been recorded.
    expect(recording).to_contain_text("Recording 0:01", timeout=10_000)
    mic_page.screenshot("audio-recording")
    mic_page.page.get_by_test_id("record-stop").click()
    chip = mic_page.page.get_by_test_id("composer").get_by_test_id("file-chip")
    expect(chip).to_contain_text("Recording 1")
    expect(chip).to_contain_text("WAV")
    mic_page.screenshot("audio-recorded-chip")
    mic_page.send("Listen to this")
    mic_page.wait_idle()
    player = mic_page.messages("user").last.get_by_test_id("audio-part")
    expect(player).to_have_attribute("src", BLOB)
    mic_page.page.wait_for_function(
        "el => el.readyState >= 1 && el.duration > 0.9", arg=player.element_handle()
    )
    mic_page.screenshot("audio-recording-sent")
    (messages,) = seen
    text, part = messages[-1]["content"]
    assert text == {"type": "text", "text": "Listen to this"}
    assert part["type"] == "input_audio" and part["input_audio"]["format"] == "wav"
    wav = base64.b64decode(part["input_audio"]["data"], validate=True)
    tag, channels, rate, bits, length = wav_format(wav)
    assert (tag, channels, bits) == (1, 1, 16)
    assert rate in (24_000, 44_100, 48_000)
    assert 0.9 <= length / (rate * 2) <= 5
    samples = struct.unpack(f"<{length // 2}h", wav[44 : 44 + length])
    assert max(abs(s) for s in samples) > 1000  # the fake device beeps: sound, not silence


def pcm16_tone(seconds: float, rate: int = 24_000) -> bytes:
    n = int(seconds * rate)
    return struct.pack(
        f"<{n}h", *(int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(n))
    )


def test_a_reply_with_audio_plays_in_the_message_with_its_transcript(
    chat: ChatApp, chat_page: ChatPage
) -> None:
    pcm = pcm16_tone(1.0)
    # Streamed as OpenAI streams audio: pcm16 pieces, each base64 encoded on its own.
    pieces = [pcm[i : i + 4001] for i in range(0, len(pcm), 4001)]
    words = ["Here ", "is ", "a ", "tone."]

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield {"role": "assistant", "content": None, "audio": {"id": "audio_1"}}
        for i, piece in enumerate(pieces):
            transcript = words[i] if i < len(words) else ""
            yield {"audio": {"data": base64.b64encode(piece).decode(), "transcript": transcript}}
        yield {"audio": {"expires_at": 1_900_000_000}}

    chat_page.open().send("Play me a tone")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    expect(reply.get_by_test_id("audio-transcript")).to_have_text("Here is a tone.")
    player = reply.get_by_test_id("audio-player")
    expect(player).to_have_attribute("src", BLOB)
    duration = chat_page.page.wait_for_function(
        "el => el.readyState >= 1 && el.duration", arg=player.element_handle()
    ).json_value()
    assert abs(duration - 1.0) < 0.05
    chat_page.screenshot("audio-reply")


def test_a_spoken_reply_from_the_openai_client_plays(
    chat: ChatApp, chat_page: ChatPage, fake_openai: FakeOpenAI
) -> None:
    client = OpenAI(base_url=fake_openai.base_url, api_key="x", max_retries=0)

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        chat.stream(
            client.chat.completions.create(
                model="gpt-4o-audio-preview",
                modalities=["text", "audio"],
                audio={"voice": "alloy", "format": "pcm16"},
                messages=messages,
                stream=True,
            )
        )

    chat_page.open().send("Say hello")
    chat_page.wait_idle()
    reply = chat_page.last_assistant()
    expect(reply.get_by_test_id("audio-transcript")).to_contain_text("**Echo:** Say hello")
    player = reply.get_by_test_id("audio-player")
    duration = chat_page.page.wait_for_function(
        "el => el.readyState >= 1 && el.duration", arg=player.element_handle()
    ).json_value()
    assert abs(duration - len(TONE) / 2 / 24_000) < 0.05
    chat_page.screenshot("audio-reply-openai")
