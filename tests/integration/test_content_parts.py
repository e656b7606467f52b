"""Content parts through a real server: what the handler sends comes back to it as it was."""

from __future__ import annotations

from typing import Any

from gptchat import ChatApp
from tests.support import SocketClient

Messages = list[dict[str, Any]]

REPLY: list[dict[str, Any]] = [
    {"type": "text", "text": "## Paris\n\n| Day | High |\n|---|---|\n| Mon | 18 °C |"},
    {"type": "text", "text": "Source: [Météo-France](https://meteofrance.com)."},
    {"type": "image_url", "image_url": {"url": "https://img.example.com/chart.png"}},
    {"type": "refusal", "refusal": "I can't share the raw station data."},
    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
]


def send(client: SocketClient, messages: Messages, conversation_id: str) -> dict[str, Any]:
    payload = [{"id": f"m{i}", "message": m} for i, m in enumerate(messages)]
    client.emit("send_message", {"conversation_id": conversation_id, "messages": payload})
    finished: dict[str, Any] = client.wait_event("run_finished", conversation_id=conversation_id)
    return finished


def test_assistant_content_parts_reach_the_handler_unchanged(
    chat: ChatApp, client: SocketClient
) -> None:
    seen: list[Messages] = []

    @chat.handle_send_message
    def handler(messages: Messages) -> None:
        seen.append(messages)
        chat.update_message({"role": "assistant", "content": REPLY})

    history: Messages = [{"role": "user", "content": "Weather in Paris?"}]
    assert send(client, history, "conv-parts-001")["status"] == "done"
    (delta,) = [
        d for d in client.named("message_delta") if d["conversation_id"] == "conv-parts-001"
    ]
    assert delta["deltas"] == [{"role": "assistant", "content": REPLY}]
    history += [{"role": "assistant", "content": REPLY}, {"role": "user", "content": "Thanks"}]
    assert send(client, history, "conv-parts-002")["status"] == "done"
    assert seen[1] == history


def test_malformed_known_parts_are_still_refused(chat: ChatApp, client: SocketClient) -> None:
    chat.handle_send_message(lambda messages: None)
    for bad in [
        {"type": "image_url", "image_url": {"url": 5}},
        {"type": "refusal"},
        {"text": "no type"},
    ]:
        client.events.clear()
        message = {"role": "assistant", "content": [bad]}
        payload = {
            "conversation_id": "conv-parts-003",
            "messages": [{"id": "a", "message": message}],
        }
        client.emit("send_message", payload)
        error = client.wait_event("error")
        assert error["code"] == "invalid_payload"
        assert "messages.0.message.content" in error["message"]
