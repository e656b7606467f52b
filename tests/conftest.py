"""Shared fixtures: a fresh app, a real server on 127.0.0.1, a real Socket.IO client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gptchat import ChatApp
from tests.support import SocketClient, live_server


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
