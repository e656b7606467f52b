"""Shared fixtures: a fresh app, a real server on 127.0.0.1, a real Socket.IO client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gptchat import ChatApp
from tests.fake_openai import FakeOpenAI
from tests.fake_responses import FakeResponses
from tests.pg_server import PostgresServer, postgres_server  # noqa: F401 (a fixture)
from tests.redis_server import redis_server  # noqa: F401 (a fixture)
from tests.support import SocketClient, header_user, live_server


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


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A SQLite history file of the test's own."""
    return f"sqlite:///{tmp_path / 'history.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh history database, each test run twice: on a SQLite file and on a new
    database of the session's real Postgres. A module runs its history tests on both
    with ``def store_url(any_store_url): return any_store_url``."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def hchat(store_url: str) -> Iterator[ChatApp]:
    """An app keeping the history in ``store_url``; users are named by ``X-Test-User``."""
    chat = ChatApp(store=store_url, auth=header_user, coalesce_interval=0.0, reconnect_grace=1.0)
    yield chat
    if chat._server is not None and chat._server.store is not None:
        chat._server.store.close()


@pytest.fixture
def hserver(hchat: ChatApp) -> Iterator[str]:
    with live_server(hchat) as url:
        yield url


@pytest.fixture
def fake_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """The fake OpenAI server on loopback, named where the examples look for it."""
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("LOCAL_MODEL_URL", fake.base_url)  # examples/local_model.py
        yield fake


@pytest.fixture
def fake_responses(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeResponses]:
    """The fake Responses API, where the examples look for OpenAI; its stateless model."""
    with FakeResponses() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_MODEL", "encrypted")
        yield fake
