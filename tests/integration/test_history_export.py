"""Export and shared links through the whole app: a reply made over the socket, then
downloaded over HTTP (both formats), read back with ``ChatApp.export``, shared and
revoked over the socket, and read by its link. Real server, SQLite file, two users."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gptchat import ChatApp
from tests.support import (
    SocketClient,
    header_user,
    http_request,
    live_server,
    send_one,
    user_client,
    wait_count,
)

CID = "alice-conv-export1"


@pytest.fixture
def app(tmp_path: Path) -> ChatApp:
    chat = ChatApp(store=f"sqlite:///{tmp_path / 'history.db'}", auth=header_user)

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        chat.update_message({"role": "assistant", "content": f"**Re:** {messages[-1]['content']}"})

    return chat


@pytest.fixture
def url(app: ChatApp) -> Iterator[str]:
    with live_server(app) as base:
        yield base


def _get(url: str, path: str, user: str) -> tuple[int, dict[str, str], bytes]:
    return http_request(url, path, headers={"X-Test-User": user})


def _share_token(
    client: SocketClient, wanted: Callable[[str | None], bool], after: str | None = None
) -> str:
    """The share token of the newest ``conversation_changed`` that ``wanted`` accepts,
    waiting for it (after the one announcing ``after``, if given)."""
    found: list[str] = []

    def seen(events: list[tuple[str, Any]]) -> bool:
        changes = [d for e, d in events if e == "conversation_changed"]
        if after is not None:
            marks = [i for i, d in enumerate(changes) if d.get("share_token") == after]
            changes = changes[marks[0] + 1 :] if marks else []
        hits = [d.get("share_token") for d in changes if wanted(d.get("share_token"))]
        found[:] = [str(hits[-1])] if hits else []
        return bool(hits)

    client.wait_for(seen)
    return found[0]


def test_export_download_matches_the_python_api_and_stays_private(app: ChatApp, url: str) -> None:
    alice = user_client(url, "alice")
    try:
        send_one(alice, CID, "u1", "plan the trip", None)
        assert wait_count(alice, "run_finished", 1)[0]["status"] == "done"
        wait_count(alice, "conversation_changed", 2, conversation_id=CID)
    finally:
        alice.close()

    status, headers, body = _get(url, f"/api/conversations/{CID}/export?format=json", "alice")
    assert status == 200, body
    assert headers["content-disposition"] == 'attachment; filename="plan-the-trip.json"'
    messages = json.loads(body)
    assert messages == [
        {"role": "user", "content": "plan the trip"},
        {"role": "assistant", "content": "**Re:** plan the trip"},
    ]
    assert json.loads(app.export(CID, user_id="alice") or "null") == messages

    status, headers, body = _get(url, f"/api/conversations/{CID}/export?format=markdown", "alice")
    assert status == 200 and headers["content-type"].startswith("text/markdown")
    assert body.decode() == app.export(CID, "markdown", user_id="alice")
    assert "plan the trip" in body.decode() and "**Re:** plan the trip" in body.decode()

    # Bob, and nobody at all, learn nothing of alice's conversation.
    assert _get(url, f"/api/conversations/{CID}/export?format=json", "bob")[0] == 404
    assert app.export(CID, user_id="bob") is None
    assert http_request(url, f"/api/conversations/{CID}/export")[0] == 401


def test_a_shared_link_shows_the_conversation_as_it_was_until_revoked(url: str) -> None:
    alice = user_client(url, "alice")
    try:
        send_one(alice, CID, "u1", "first question", None)
        wait_count(alice, "run_finished", 1)
        alice.emit("share_conversation", {"conversation_id": CID, "shared": True})
        token = _share_token(alice, lambda token: token is not None)
        status, headers, body = _get(url, f"/api/share/{token}", "bob")
        assert status == 200 and headers["cache-control"] == "no-store"
        snapshot = json.loads(body)
        assert [m["content"] for m in snapshot["messages"]] == [
            "first question",
            "**Re:** first question",
        ]

        # A later message is not in the link; revoking it ends it.
        reply = alice.named("message_delta")[-1]["message_id"]
        send_one(alice, CID, "u2", "second question", reply)
        wait_count(alice, "run_finished", 2)
        assert len(json.loads(_get(url, f"/api/share/{token}", "bob")[2])["messages"]) == 2
        alice.emit("share_conversation", {"conversation_id": CID, "shared": False})
        _share_token(alice, lambda now: now is None, after=token)
        assert _get(url, f"/api/share/{token}", "bob")[0] == 404
    finally:
        alice.close()
