"""Record golden protocol fixtures from a real server: tests/fixtures/protocol/*.json.

Each fixture is the event sequence one tab received for one scenario, and the
messages the Python merge folds from it. The client's replay test feeds the same
events to its reducer and must reach the same messages, so the two sides of the
protocol cannot drift. Run ``python scripts/gen_fixtures.py`` after changing the
protocol or the merge rules.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "package")]
# The fixtures are what a tab of a server without a history store receives (the config
# says "history": "browser"): set before gptchat is imported, as the test suite does.
os.environ.setdefault("GPTCHAT_STORE", "none")

from gptchat import ChatApp  # noqa: E402
from gptchat._run_log import (  # noqa: E402
    Messages,
    apply_delta_event,
    apply_snapshot,
    finished_messages,
)
from tests.support import SocketClient, fold_messages, live_server, send  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "protocol"
CONVERSATION = "conv-fixture-01"
Scenario = Callable[[ChatApp, threading.Event], Any]


def plain_stream(chat: ChatApp, _: threading.Event) -> Any:
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        chat.update_message({"role": "assistant", "content": ""}, id=mid)
        for piece in ["# Ti", "tle\n\nSome ", "**bold** ", "text 👩‍💻", "\n"]:
            chat.update_message({"content": piece}, id=mid)

    return handler


def tool_loop(chat: ChatApp, _: threading.Event) -> Any:
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        head = {"index": 0, "id": "call_A", "type": "function", "function": {"name": "get_weather"}}
        chat.update_message({"role": "assistant", "content": None, "tool_calls": [head]}, id=mid)
        for piece in ['{"ci', 'ty": "Pa', 'ris"}']:
            chat.update_message(
                {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, id=mid
            )
        chat.update_message({"role": "tool", "tool_call_id": "call_A", "content": '{"c": 18}'})
        chat.update_message({"role": "assistant", "content": "It is 18 °C."})

    return handler


def handler_error(chat: ChatApp, _: threading.Event) -> Any:
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        chat.update_message({"role": "assistant", "content": "Half an ans"}, id=mid)
        raise RuntimeError("upstream timed out")

    return handler


def stopped(chat: ChatApp, stop_seen: threading.Event) -> Any:
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        for i in range(500):
            chat.update_message({"content": f"{i} "}, id=mid)
            if i == 3:
                stop_seen.wait(5)
                while not chat.stop_requested():
                    time.sleep(0.01)

    return handler


def resumed(chat: ChatApp, reconnected: threading.Event) -> Any:
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        head = {"index": 0, "id": "call_B", "type": "function", "function": {"name": "search"}}
        chat.update_message(
            {"role": "assistant", "content": "Let me look. ", "tool_calls": [head]}, id=mid
        )
        for i in range(40):
            if i == 10:
                reconnected.wait(5)
            chat.update_message(
                {"tool_calls": [{"index": 0, "function": {"arguments": f"{i},"}}]}, id=mid
            )
        chat.update_message({"role": "tool", "tool_call_id": "call_B", "content": "found"})

    return handler


SCENARIOS: dict[str, Scenario] = {
    "resumed": resumed,
    "plain_stream": plain_stream,
    "tool_loop": tool_loop,
    "handler_error": handler_error,
    "stopped": stopped,
}


def record(name: str, scenario: Scenario) -> dict[str, Any]:
    chat = ChatApp(coalesce_interval=0.0)
    stop_seen = threading.Event()
    chat.handle_send_message(scenario(chat, stop_seen))
    with live_server(chat) as url:
        if name == "resumed":
            return record_resume(url, stop_seen)
        client = SocketClient(url)
        try:
            client.wait_event("config")
            send(client, "Hello", conversation_id=CONVERSATION)
            if name == "stopped":
                client.wait_for(
                    lambda ev: sum(d["count"] for e, d in ev if e == "message_delta") >= 4
                )
                client.emit("stop", {"conversation_id": CONVERSATION})
                stop_seen.set()
            client.wait_event("run_finished")
            events = [[e, d] for e, d in client.events]
        finally:
            client.close()
    folded = fold_messages([d for e, d in events if e == "message_delta"])
    return {
        "name": name,
        "events": events,
        "expected": [{"id": mid, "message": msg} for mid, msg in folded.items()],
    }


def record_resume(url: str, reconnected: threading.Event) -> dict[str, Any]:
    """A tab that reloads mid-stream: the new tab's events, snapshot first."""
    key = "fixture-browser-0123456789"
    first = SocketClient(url, client_key=key)
    send(first, "Hello", conversation_id=CONVERSATION)
    first.wait_for(lambda ev: sum(d["count"] for e, d in ev if e == "message_delta") >= 10)
    first.close()
    second = SocketClient(url, client_key=key)
    try:
        second.wait_event("config")
        second.emit("resume", {"conversation_id": CONVERSATION})
        second.wait_event("run_snapshot")
        reconnected.set()
        second.wait_event("run_finished")
        events = [[e, d] for e, d in second.events]
    finally:
        second.close()
    snapshot = next(d for e, d in events if e == "run_snapshot")
    messages: Messages = {}
    apply_snapshot(messages, snapshot)
    for e, d in events:
        if e == "message_delta":
            apply_delta_event(messages, d)  # applied whole, in sequence, as the browser does
    return {
        "name": "resumed",
        "events": events,
        "expected": [
            {"id": mid, "message": msg} for mid, msg in finished_messages(messages).items()
        ],
    }


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, scenario in SCENARIOS.items():
        fixture = record(name, scenario)
        path = OUT / f"{name}.json"
        path.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)} ({len(fixture['events'])} events)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
