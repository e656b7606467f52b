"""The recorded protocol fixtures the client replays still match the protocol models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gptchat.protocol import SERVER_PAYLOADS

FIXTURES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "protocol").glob("*.json"))


def test_there_are_fixtures() -> None:
    assert {p.stem for p in FIXTURES} >= {"plain_stream", "tool_loop", "resumed", "stopped"}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_event_validates(path: Path) -> None:
    fixture = json.loads(path.read_text())
    for event, payload in fixture["events"]:
        SERVER_PAYLOADS[event].model_validate(payload)
