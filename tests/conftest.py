"""Shared fixtures: a fresh app, a real server on 127.0.0.1, a real Socket.IO client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gptchat import ChatApp
from tests.support import SocketClient, live_server


@pytest.fixture(autouse=True)
def browser_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs without a history store unless it gives one: the suite tests
    browser-kept history, and no test (nor a server process it starts, which inherits
    the environment) writes to the real data folder."""
    monkeypatch.setenv("GPTCHAT_STORE", "none")


@pytest.fixture
def chat() -> ChatApp:
    """A fresh app with no coalescing delay, so tests run fast."""
    return ChatApp(coalesce_interval=0.0, reconnect_grace=1.0)


@pytest.fixture
def server(chat: ChatApp) -> Iterator[str]:
    with live_server(chat) as url:
        yield url


@pytest.fixture
def client(server: str) -> Iterator[SocketClient]:
    c = SocketClient(server)
    yield c
    c.close()
