"""A spoken reply goes back to a Chat Completions model by its id alone."""

from __future__ import annotations

from gptchat._handler_styles import history
from tests.openai_types import check_chat

SPOKEN = {"id": "audio_1", "data": "UklGRg==", "transcript": "Hi.", "expires_at": 1}


def test_an_assistant_audio_is_cut_down_to_its_id() -> None:
    messages = [
        {"role": "user", "content": "Say hi"},
        {"role": "assistant", "content": None, "audio": SPOKEN, "usage": {"total_tokens": 3}},
        {"role": "user", "content": "Again"},
    ]
    sent = history(messages)
    assert sent[1] == {"role": "assistant", "content": None, "audio": {"id": "audio_1"}}
    assert messages[1]["audio"] == SPOKEN  # the conversation itself keeps its sound
    check_chat(sent)


def test_audio_without_an_id_is_left_out_and_other_messages_pass_as_they_are() -> None:
    user = {"role": "user", "content": "Hi"}
    sent = history([user, {"role": "assistant", "content": "Hi.", "audio": {"data": "AAAA"}}])
    assert sent[0] is user
    assert sent[1] == {"role": "assistant", "content": "Hi."}
