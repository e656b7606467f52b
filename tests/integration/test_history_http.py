"""Export downloads and shared links over real HTTP: a Flask app with the history routes,
a SQLite store on disk, Werkzeug's server on 127.0.0.1 and two users told apart by a
header."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from gptchat._export import to_json, to_markdown
from gptchat._history_http import add_history_routes
from gptchat.store import Store
from tests.support import serve_wsgi

ALICE_CONV = "conv-alice-0001"
BOB_CONV = "conv-bob-00001"

QUESTION = {"role": "user", "content": "Weather in Zürich?"}
CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Zürich"}'},
        }
    ],
}
RESULT = {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'}
FIRST_ANSWER = {"role": "assistant", "content": "Sunny, 21 °C.", "usage": {"total_tokens": 9}}
SECOND_ANSWER = {"role": "assistant", "content": "It is **sunny** (21 °C)."}


def user_of(request: Request) -> str | None:
    return request.headers.get("X-User")


# Straight to the server: no proxy from the environment on the way to 127.0.0.1.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str, user: str | None = None) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers={"X-User": user} if user else {})
    try:
        with _opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "history" / "chat.db"


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{db}")
    # Alice: a question, a tool call and its result, then two answers (the second a
    # regenerated sibling of the first, so the newest branch ends with it).
    s.start("alice", ALICE_CONV)
    s.add_message("alice", ALICE_CONV, "m1", None, QUESTION)
    s.add_message("alice", ALICE_CONV, "m2", "m1", CALL)
    s.add_message("alice", ALICE_CONV, "m3", "m2", RESULT)
    s.add_message("alice", ALICE_CONV, "m4", "m3", FIRST_ANSWER)
    s.add_message("alice", ALICE_CONV, "m4b", "m3", SECOND_ANSWER)
    s.set_title("alice", ALICE_CONV, "Zürich: weather")
    s.import_messages("bob", BOB_CONV, [{"role": "user", "content": "Bob's secret"}])
    yield s
    s.close()


@pytest.fixture
def base(store: Store) -> Iterator[str]:
    app = Flask("history-test")
    add_history_routes(app, store_of=lambda: store, user_of=user_of)
    with serve_wsgi(app) as url:
        yield url


def export_url(base: str, cid: str, fmt: str, leaf: str | None = None) -> str:
    return f"{base}/api/conversations/{cid}/export?format={fmt}" + (f"&leaf={leaf}" if leaf else "")


def branch(store: Store, owner: str, cid: str, leaf: str | None = None) -> list[dict[str, Any]]:
    leaf = leaf or store.newest_leaf(owner, cid)
    assert leaf is not None
    nodes = store.path(owner, cid, leaf)
    assert nodes is not None
    return [n.message for n in nodes]


# -- export -------------------------------------------------------------------------


def test_the_owner_exports_the_newest_branch_as_openai_json(base: str, store: Store) -> None:
    status, headers, body = get(export_url(base, ALICE_CONV, "json"), "alice")
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["Content-Disposition"] == 'attachment; filename="Zurich-weather.json"'
    assert headers["Cache-Control"] == "no-store"
    # The branch shown, as OpenAI's messages= takes it: the first answer is not on it.
    assert json.loads(body) == [QUESTION, CALL, RESULT, SECOND_ANSWER]
    assert body.decode("utf-8") == to_json(branch(store, "alice", ALICE_CONV))
    assert "Zürich" in body.decode("utf-8")  # UTF-8, not \u escapes


def test_a_leaf_picks_the_branch(base: str, store: Store) -> None:
    status, _, body = get(export_url(base, ALICE_CONV, "json", leaf="m4"), "alice")
    assert status == 200
    first = {k: v for k, v in FIRST_ANSWER.items() if k != "usage"}  # not an API field
    assert json.loads(body) == [QUESTION, CALL, RESULT, first]
    assert body.decode() == to_json(branch(store, "alice", ALICE_CONV, "m4"))


def test_the_owner_exports_markdown(base: str, store: Store) -> None:
    status, headers, body = get(export_url(base, ALICE_CONV, "markdown"), "alice")
    assert status == 200
    assert headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert headers["Content-Disposition"] == 'attachment; filename="Zurich-weather.md"'
    text = body.decode("utf-8")
    assert text == to_markdown("Zürich: weather", branch(store, "alice", ALICE_CONV))
    assert text.startswith("# Zürich: weather\n\n## User\n\nWeather in Zürich?\n")
    assert "**Tool call:** `get_weather`" in text
    assert "It is **sunny** (21 °C)." in text
    assert "Sunny, 21 °C." not in text


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_another_users_conversation_is_not_found_as_if_it_did_not_exist(
    base: str, fmt: str
) -> None:
    theirs = get(export_url(base, ALICE_CONV, fmt), "bob")
    nobodys = get(export_url(base, "conv-nobody-001", fmt), "bob")
    assert theirs[0] == nobodys[0] == 404
    assert theirs[2] == nobodys[2]  # nothing tells the two apart
    assert b"Weather" not in theirs[2]
    # Nor through a message id of hers under his own conversation.
    assert get(export_url(base, BOB_CONV, fmt, leaf="m4b"), "bob")[0] == 404
    assert get(export_url(base, BOB_CONV, fmt), "alice")[0] == 404
    status, _, body = get(export_url(base, BOB_CONV, fmt), "bob")
    assert status == 200
    assert "Bob's secret" in body.decode()


def test_bad_requests(base: str) -> None:
    status, _, body = get(export_url(base, ALICE_CONV, "pdf"), "alice")
    assert status == 400
    assert json.loads(body) == {"error": "format must be json or markdown, not 'pdf'"}
    assert get(export_url(base, ALICE_CONV, "json"))[0] == 401  # nobody signed in
    assert get(export_url(base, "bad%20id!", "json"), "alice")[0] == 404
    assert get(export_url(base, ALICE_CONV, "json", leaf="no-such-message"), "alice")[0] == 404
    assert get(export_url(base, ALICE_CONV, "json", leaf="../../x"), "alice")[0] == 404


def test_a_title_becomes_a_safe_file_name(base: str, store: Store) -> None:
    store.set_title("alice", ALICE_CONV, '../../etc/passwd "x"; y')
    _, headers, _ = get(export_url(base, ALICE_CONV, "markdown"), "alice")
    assert headers["Content-Disposition"] == 'attachment; filename="etc-passwd-x-y.md"'
    store.set_title("alice", ALICE_CONV, "✨✨")
    _, headers, _ = get(export_url(base, ALICE_CONV, "json"), "alice")
    assert headers["Content-Disposition"] == 'attachment; filename="conversation.json"'


# -- shared links ---------------------------------------------------------------------


def test_a_shared_link_shows_the_branch_as_it_was_when_shared(base: str, store: Store) -> None:
    token = store.share("alice", ALICE_CONV)
    assert token is not None
    status, headers, body = get(f"{base}/api/share/{token}")  # anyone: no user
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    shown = json.loads(body)
    assert shown["title"] == "Zürich: weather"
    assert shown["messages"] == [QUESTION, CALL, RESULT, SECOND_ANSWER]
    assert isinstance(shown["shared_at"], float)

    # The owner goes on: a new message, a new title. The link does not follow.
    store.add_message("alice", ALICE_CONV, "m5", "m4b", {"role": "user", "content": "And Bern?"})
    store.set_title("alice", ALICE_CONV, "Renamed")
    assert get(f"{base}/api/share/{token}")[2] == body

    assert store.unshare("alice", ALICE_CONV)
    status, headers, body = get(f"{base}/api/share/{token}")
    assert status == 404
    assert headers["Cache-Control"] == "no-store"
    assert b"Weather" not in body


def test_sharing_again_replaces_the_link(base: str, store: Store) -> None:
    old = store.share("alice", ALICE_CONV)
    store.add_message("alice", ALICE_CONV, "m5", "m4b", {"role": "user", "content": "And Bern?"})
    new = store.share("alice", ALICE_CONV)
    assert old and new and old != new
    assert get(f"{base}/api/share/{old}")[0] == 404
    status, _, body = get(f"{base}/api/share/{new}")
    assert status == 200
    assert json.loads(body)["messages"][-1] == {"role": "user", "content": "And Bern?"}


def test_unknown_and_malformed_tokens_are_not_found(base: str, store: Store) -> None:
    store.share("alice", ALICE_CONV)
    for token in ["A" * 32, "short", "x" * 200, "a.b" * 8]:
        status, _, body = get(f"{base}/api/share/{token}")
        assert status == 404, token
        assert json.loads(body) == {"error": "not found"}
    # A slash (even encoded) is no token: no route matches it at all.
    assert get(f"{base}/api/share/..%2F..%2Fconversations")[0] == 404


def test_routes_are_relative_to_a_mounted_app(store: Store) -> None:
    app = Flask("mounted")
    add_history_routes(app, store_of=lambda: store, user_of=user_of)
    token = store.share("alice", ALICE_CONV)
    outer = DispatcherMiddleware(Flask("outer"), {"/chat": app})
    with serve_wsgi(outer) as url:
        assert get(f"{url}/chat/api/share/{token}")[0] == 200
        assert get(export_url(f"{url}/chat", ALICE_CONV, "json"), "alice")[0] == 200
        assert get(f"{url}/api/share/{token}")[0] == 404


def test_without_a_store_every_route_is_not_found(store: Store) -> None:
    token = store.share("alice", ALICE_CONV)
    app = Flask("browser-history")
    add_history_routes(app, store_of=lambda: None, user_of=user_of)
    with serve_wsgi(app) as url:
        assert get(f"{url}/api/share/{token}")[0] == 404
        assert get(export_url(url, ALICE_CONV, "json"), "alice")[0] == 404


def test_a_failing_store_answers_503_not_a_crash(base: str, store: Store, db: Path) -> None:
    token = store.share("alice", ALICE_CONV)
    # Break the database under the running store, as a bad disk or a stray tool would.
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in names:
            conn.execute(f'DROP TABLE "{name}"')
    for url, user in [
        (export_url(base, ALICE_CONV, "json"), "alice"),
        (f"{base}/api/share/{token}", None),
    ]:
        status, _, body = get(url, user)
        assert status == 503
        assert json.loads(body) == {"error": "the history store failed; try again"}
