"""A spoken reply through the real openai client: its streamed ``delta.audio`` folds into
playable data on both sides, and goes back to the model by its id alone."""

from __future__ import annotations

import base64
from typing import Any

from openai import OpenAI

from gptchat import ChatApp
from tests.fake_openai import TONE, FakeOpenAI, tone_wav
from tests.openai_types import check_chat
from tests.support import SocketClient, fold_messages, live_server, send


def turn(chat: ChatApp, history: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    with live_server(chat) as url:
        sc = SocketClient(url)
        try:
            shaped = [{"id": f"m{n}", "message": m} for n, m in enumerate(history)]
            send(sc, text, conversation_id="conv-audio-1", history=shaped)
            finished = sc.wait_event("run_finished")
            assert finished["status"] == "done", finished
            return list(fold_messages(sc.named("message_delta")).values())
        finally:
            sc.close()


def test_a_streamed_spoken_reply_folds_into_its_sound_and_goes_back_by_id(
    chat: ChatApp, fake_openai: FakeOpenAI
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

    (reply,) = turn(chat, [], "Say hello")
    audio = reply["audio"]
    assert base64.b64decode(audio["data"]) == TONE  # pieces cut mid-sample, joined as bytes
    assert audio["transcript"].startswith("**Echo:** Say hello")
    assert (audio["id"], audio["expires_at"]) == ("audio_fake", 1_900_000_000)

    history = [{"role": "user", "content": "Say hello"}, reply]
    turn(chat, history, "Again")
    sent = fake_openai.requests[-1]["messages"]
    assert sent[1] == {"role": "assistant", "audio": {"id": "audio_fake"}}
    check_chat(sent)


def test_a_whole_spoken_reply_keeps_its_wav(chat: ChatApp, fake_openai: FakeOpenAI) -> None:
    client = OpenAI(base_url=fake_openai.base_url, api_key="x", max_retries=0)

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> Any:
        completion = client.chat.completions.create(
            model="gpt-4o-audio-preview",
            modalities=["text", "audio"],
            audio={"voice": "alloy", "format": "wav"},
            messages=messages,
        )
        return completion.choices[0].message

    (reply,) = turn(chat, [], "Say hello")
    assert base64.b64decode(reply["audio"]["data"]) == tone_wav()
    assert reply["audio"]["transcript"].startswith("**Echo:** Say hello")
