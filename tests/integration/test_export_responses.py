"""A Responses API reply through the whole app, then exported: its citations, built-in
tool calls and incomplete end are in the JSON download (and read back by ``parse_import``)
and shown in the Markdown one. Real server, SQLite file, the recorded vectors' events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gptchat import ChatApp
from gptchat._export import parse_import
from tests.support import header_user, http_request, live_server, send_one, user_client, wait_count

VECTORS = Path(__file__).parents[1] / "fixtures" / "responses-streams"
CASES = ["04_url_citation", "08_incomplete", "12_mcp_list_tools_and_call"]


def vector(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text("utf-8"))
    return data


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    chat = ChatApp(store=f"sqlite:///{tmp_path / 'history.db'}", auth=header_user)

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        chat.stream(iter(vector(messages[-1]["content"])["events"]))

    with live_server(chat) as base:
        yield base


@pytest.mark.parametrize("name", CASES)
def test_a_responses_reply_exports_with_what_the_chat_shows_of_it(url: str, name: str) -> None:
    cid = f"alice-export-{name[:2]}"
    alice = user_client(url, "alice")
    try:
        send_one(alice, cid, "u1", name, None)
        wait_count(alice, "run_finished", 1)
        wait_count(alice, "conversation_changed", 2, conversation_id=cid)
    finally:
        alice.close()
    headers = {"X-Test-User": "alice"}
    path = f"/api/conversations/{cid}/export?format="
    status, _, body = http_request(url, path + "json", headers=headers)
    assert status == 200, body
    (expected,) = vector(name)["expected_messages"]
    expected = {k: v for k, v in expected.items() if k != "usage"}  # not a message's
    _, reply = json.loads(body)
    assert reply == {"role": "assistant", **expected}
    _, imported = parse_import(body, max_bytes=1 << 20, max_messages=10)
    assert imported[1] == reply

    status, _, body = http_request(url, path + "markdown", headers=headers)
    text = body.decode()
    assert status == 200
    if name == "04_url_citation":
        assert "**Sources:**\n\n1. [Paris - Example](https://example.com/paris)\n" in text
    elif name == "08_incomplete":
        assert "*This reply is incomplete: it reached the output token limit.*\n" in text
    else:
        assert "**Tools of deepwiki:** ask_question\n" in text
        assert "**Tool call:** `deepwiki.ask_question`\n" in text
        assert "**Result:**\n\n```\nIt is the official Python library.\n```" in text
