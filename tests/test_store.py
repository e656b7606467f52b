"""The history store, on a SQLite file and on a real Postgres server (the same tests)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gptchat import _schema
from gptchat.store import DEFAULT_TITLE, SchemaError, Store, StoreError
from tests.pg_server import PostgresServer


@pytest.fixture
def url(any_store_url: str) -> str:
    """An empty database: a SQLite file on disk, or a fresh database on the test Postgres."""
    return any_store_url


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = Store(url)
    yield s
    s.close()


def user(text: str | list[dict[str, Any]]) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def count(url: str, table: sa.Table, conversation_id: str) -> int:
    """Rows of ``table`` for the conversation, counted with SQL apart from the store."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            key = table.c.id if table is _schema.conversations else table.c.conversation_id
            stmt = sa.select(sa.func.count()).select_from(table).where(key == conversation_id)
            return int(conn.execute(stmt).scalar_one())
    finally:
        engine.dispose()


def chat(store: Store, owner: str, cid: str, *texts: str) -> None:
    """A conversation of alternating user and assistant messages m0, m1, ..."""
    store.start(owner, cid)
    parent = None
    for i, text in enumerate(texts):
        message = user(text) if i % 2 == 0 else assistant(text)
        store.add_message(owner, cid, f"m{i}", parent, message)
        parent = f"m{i}"


# -- ownership -------------------------------------------------------------------


def test_another_owner_sees_and_changes_nothing(store: Store) -> None:
    chat(store, "alice", "conv-a", "secret plan", "ok")
    token = store.share("alice", "conv-a")
    assert token is not None
    before = store.get("alice", "conv-a")

    assert store.get("bob", "conv-a") is None
    assert store.summary("bob", "conv-a") is None
    assert store.path("bob", "conv-a", "m1") is None
    assert store.newest_leaf("bob", "conv-a") is None
    assert store.set_title("bob", "conv-a", "mine now") is None
    assert store.share("bob", "conv-a") is None
    assert store.unshare("bob", "conv-a") is False
    assert store.delete("bob", "conv-a") is False
    assert store.conversations("bob").items == []
    assert store.conversations("bob", query="secret").items == []
    with pytest.raises(PermissionError):
        store.add_message("bob", "conv-a", "x1", "m1", user("hi"))
    with pytest.raises(PermissionError):
        store.save_run("bob", "conv-a", "m1", [("x2", assistant("hi"))], "done")
    with pytest.raises(PermissionError):
        store.start("bob", "conv-a")
    with pytest.raises(PermissionError):
        store.import_messages("bob", "conv-a", [user("hi")])
    with pytest.raises(PermissionError):
        store.add_message("bob", "missing-id", "x1", None, user("hi"))

    assert store.owner_of("conv-a") == "alice"
    assert store.owner_of("missing-id") is None
    assert store.get("alice", "conv-a") == before
    assert store.shared(token) is not None


# -- listing and search ----------------------------------------------------------


def test_pages_follow_updated_at_then_id_with_equal_timestamps(store: Store) -> None:
    stamps = {"c-05": 50.0, "c-01": 10.0, "c-03": 30.0, "c-04": 30.0, "c-02": 30.0, "c-06": 30.0}
    for cid, at in stamps.items():
        store.import_messages("alice", cid, [user(cid)], updated_at=at)
    store.import_messages("bob", "c-bob", [user("other")], updated_at=40.0)
    expected = sorted(stamps, key=lambda c: (stamps[c], c), reverse=True)

    seen: list[str] = []
    before = None
    for _ in range(10):
        page = store.conversations("alice", limit=2, before=before)
        seen += [s.id for s in page.items]
        assert [s.updated_at for s in page.items] == [stamps[s.id] for s in page.items]
        if page.next is None:
            break
        assert page.next == (page.items[-1].updated_at, page.items[-1].id)
        before = page.next
    assert seen == expected
    assert store.conversations("alice", limit=6).next is None
    with pytest.raises(ValueError, match="limit"):
        store.conversations("alice", limit=0)


def test_search_titles_and_message_text_case_insensitively(store: Store) -> None:
    chat(store, "alice", "conv-trip", "Plan a TRIP to Lyon", "Sure")
    chat(store, "alice", "conv-math", "What is 50% of 8?", "It is 4, see ÉCOLE_notes")
    chat(store, "alice", "conv-plain", "What is 50 of 8?", "A bad question")
    chat(store, "alice", "conv-path", "Open C:\\Temp\\x", "done")
    chat(store, "bob", "conv-bob", "trip for bob", "ok")
    store.set_title("alice", "conv-plain", "Ünïcode Title")

    def found(query: str) -> set[str]:
        return {s.id for s in store.conversations("alice", query=query).items}

    assert found("trip") == {"conv-trip"}  # title and text, not bob's
    assert found("lyon") == {"conv-trip"}
    assert found("SURE") == {"conv-trip"}  # assistant text, other case
    assert found("50%") == {"conv-math"}  # % is a character, not a wildcard
    assert found("é") == {"conv-math"}  # non-ASCII case folding
    assert found("e_n") == {"conv-math"}  # _ is a character
    assert found("ünïCODE") == {"conv-plain"}  # a set title
    assert found("nothing like this") == set()
    assert found("c:\\temp\\") == {"conv-path"}  # the escape character itself is literal
    assert found("\\%") == set()
    assert found("what is") == {"conv-math", "conv-plain"}
    page = store.conversations("alice", query="what is", limit=1)
    assert page.next is not None
    rest = store.conversations("alice", query="what is", limit=1, before=page.next)
    assert {page.items[0].id, rest.items[0].id} == {"conv-math", "conv-plain"}
    assert rest.next is None


# -- messages, branches and runs ---------------------------------------------------


def test_start_chains_initial_messages_and_is_idempotent(store: Store) -> None:
    first = store.start("alice", "conv-1", [{"role": "system", "content": "Be brief."}, user("a")])
    assert first.title == DEFAULT_TITLE
    again = store.start("alice", "conv-1", [{"role": "system", "content": "other"}])
    assert again == first
    conv = store.get("alice", "conv-1")
    assert conv is not None
    assert [(n.id, n.parent_id) for n in conv.messages] == [("init-0", None), ("init-1", "init-0")]
    assert conv.messages[0].message == {"role": "system", "content": "Be brief."}


def test_add_message_checks_parent_and_id(store: Store) -> None:
    chat(store, "alice", "conv-1", "hi", "hello")
    chat(store, "alice", "conv-2", "other")
    with pytest.raises(ValueError, match="parent"):
        store.add_message("alice", "conv-1", "m9", "nope", user("x"))
    with pytest.raises(ValueError, match="parent"):  # a message of another conversation
        store.add_message("alice", "conv-2", "m9", "m1", user("x"))
    with pytest.raises(ValueError, match="used already"):
        store.add_message("alice", "conv-1", "m1", "m0", user("x"))
    with pytest.raises(ValueError, match="status"):
        store.add_message("alice", "conv-1", "m9", "m1", user("x"), status="bogus")
    with pytest.raises(ValueError, match="role"):
        store.add_message("alice", "conv-1", "m9", "m1", {"content": "no role"})
    conv = store.get("alice", "conv-1")
    assert conv is not None and [n.id for n in conv.messages] == ["m0", "m1"]


def test_add_message_updates_updated_at(store: Store) -> None:
    first = store.start("alice", "conv-1")
    time.sleep(0.01)
    later = store.add_message("alice", "conv-1", "m0", None, user("hi"))
    assert later.updated_at > first.updated_at


def test_branches_path_and_newest_leaf(store: Store) -> None:
    chat(store, "alice", "conv-1", "question", "answer one")
    store.add_message("alice", "conv-1", "m1b", "m0", assistant("answer two"))  # regenerate
    store.add_message("alice", "conv-1", "m0b", None, user("edited question"))  # edit the root

    def texts(leaf: str) -> list[str]:
        nodes = store.path("alice", "conv-1", leaf)
        assert nodes is not None
        return [n.message["content"] for n in nodes]

    assert texts("m1") == ["question", "answer one"]
    assert texts("m1b") == ["question", "answer two"]
    assert texts("m0b") == ["edited question"]
    assert store.path("alice", "conv-1", "unknown") is None
    assert store.newest_leaf("alice", "conv-1") == "m0b"
    store.add_message("alice", "conv-1", "m2", "m1", user("follow-up on one"))
    assert store.newest_leaf("alice", "conv-1") == "m2"
    conv = store.get("alice", "conv-1")
    assert conv is not None
    assert [n.id for n in conv.messages] == ["m0", "m1", "m1b", "m0b", "m2"]
    assert store.newest_leaf("alice", "missing") is None


def test_save_run_upserts_checkpoints_in_one_chain(url: str, store: Store) -> None:
    chat(store, "alice", "conv-1", "weather?")
    call: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [_tool_call()]}
    store.save_run("alice", "conv-1", "m0", [("r1", assistant("It is"))], "incomplete")
    store.save_run("alice", "conv-1", "m0", [("r1", assistant("It is sun"))], "incomplete")
    assert count(url, _schema.messages, "conv-1") == 2
    nodes = store.path("alice", "conv-1", "r1")
    assert nodes is not None
    assert (nodes[-1].message["content"], nodes[-1].status) == ("It is sun", "incomplete")

    tool: dict[str, Any] = {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    run = [("r1", call), ("r2", tool), ("r3", assistant("Sunny."))]
    summary = store.save_run("alice", "conv-1", "m0", run, "stopped")
    nodes = store.path("alice", "conv-1", "r3")
    assert nodes is not None
    assert [(n.id, n.parent_id, n.status) for n in nodes] == [
        ("m0", None, "done"),
        ("r1", "m0", "stopped"),
        ("r2", "r1", "stopped"),
        ("r3", "r2", "stopped"),
    ]
    assert [n.message for n in nodes[1:]] == [call, tool, assistant("Sunny.")]
    assert summary.updated_at >= nodes[-1].created_at
    assert count(url, _schema.messages, "conv-1") == 4
    # A search sees the checkpointed text.
    assert [s.id for s in store.conversations("alice", query="sunny.").items] == ["conv-1"]


def test_save_run_refuses_an_id_under_another_parent_and_keeps_nothing(
    url: str, store: Store
) -> None:
    chat(store, "alice", "conv-1", "one", "two", "three")
    with pytest.raises(ValueError, match="another parent"):
        store.save_run(
            "alice", "conv-1", "m2", [("new", assistant("x")), ("m1", user("y"))], "done"
        )
    with pytest.raises(ValueError, match="parent"):
        store.save_run("alice", "conv-1", "nope", [("new", assistant("x"))], "done")
    with pytest.raises(ValueError, match="status"):
        store.save_run("alice", "conv-1", "m2", [("new", assistant("x"))], "running")
    with pytest.raises(ValueError, match="differ"):
        store.save_run("alice", "conv-1", "m2", [("new", assistant("x"))] * 2, "done")
    with pytest.raises(ValueError, match="differ"):
        store.save_run("alice", "conv-1", "m2", [("m2", assistant("x"))], "done")
    assert count(url, _schema.messages, "conv-1") == 3  # the transaction rolled back
    assert store.newest_leaf("alice", "conv-1") == "m2"


def _tool_call() -> dict[str, Any]:
    return {
        "id": "call_1",
        "type": "function",
        "function": {"name": "weather", "arguments": '{"city": "Lyon"}'},
    }


# -- titles -------------------------------------------------------------------------


def test_first_user_message_gives_the_title(store: Store) -> None:
    store.start("alice", "conv-1", [{"role": "system", "content": "System prompt."}])
    store.add_message("alice", "conv-1", "a0", "init-0", assistant("Hello, how can I help?"))
    summary = store.summary("alice", "conv-1")
    assert summary is not None and summary.title == DEFAULT_TITLE
    long = "  Tell me\n about   " + "the history of Lyon " * 10
    titled = store.add_message("alice", "conv-1", "u0", "a0", user(long))
    folded = " ".join(long.split())
    assert titled.title == folded[:60].rstrip() + "…"
    assert len(titled.title) <= 61
    later = store.add_message("alice", "conv-1", "u1", "u0", user("Another question"))
    assert later.title == titled.title
    parts = [{"type": "text", "text": "Short"}, {"type": "text", "text": "one"}]
    store.start("alice", "conv-2")
    assert store.add_message("alice", "conv-2", "u0", None, user(parts)).title == "Short one"


def test_set_title_sticks(store: Store) -> None:
    store.start("alice", "conv-1")
    renamed = store.set_title("alice", "conv-1", "  My   trip ")
    assert renamed is not None and renamed.title == "My trip"
    after = store.add_message("alice", "conv-1", "u0", None, user("Plan a trip"))
    assert after.title == "My trip"
    with pytest.raises(ValueError, match="at most"):
        store.set_title("alice", "conv-1", "x" * 1_000_000)
    with pytest.raises(ValueError, match="text"):
        store.set_title("alice", "conv-1", "   ")
    summary = store.summary("alice", "conv-1")
    assert summary is not None and summary.title == "My trip"


# -- import, share, delete -------------------------------------------------------------


def test_import_round_trips_openai_messages(store: Store) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Wetter in Köln? 🌧"}]},
        {"role": "assistant", "content": None, "tool_calls": [_tool_call()]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 12.5}'},
        {"role": "assistant", "content": "12.5 °C", "x_provider_field": [1, None, True]},
    ]
    summary = store.import_messages("alice", "conv-imp", messages, updated_at=1234.5)
    assert (summary.title, summary.updated_at) == ("Wetter in Köln? 🌧", 1234.5)
    leaf = store.newest_leaf("alice", "conv-imp")
    assert leaf is not None
    nodes = store.path("alice", "conv-imp", leaf)
    assert nodes is not None
    assert [n.message for n in nodes] == messages
    assert store.export("alice", "conv-imp") == messages
    assert store.export("alice", "conv-imp", nodes[1].id) == messages[:2]
    assert store.export("alice", "conv-imp", "unknown") is None
    assert store.export("bob", "conv-imp") is None
    assert len({n.id for n in nodes}) == len(messages)
    assert json.loads(json.dumps([n.message for n in nodes])) == messages
    again = store.import_messages("alice", "conv-imp", [user("other")], title="Other")
    assert again == summary
    titled = store.import_messages("alice", "conv-imp2", [user("hi")], title="Given")
    assert titled.title == "Given"
    assert store.add_message("alice", "conv-imp2", "u1", None, user("later")).title == "Given"
    with pytest.raises(ValueError):
        store.import_messages("alice", "conv-imp3", [])
    with pytest.raises(ValueError):
        store.import_messages("alice", "conv-imp3", [{"role": "robot", "content": "x"}])
    assert store.get("alice", "conv-imp3") is None


def test_nul_and_lone_surrogates_are_kept_or_refused_clearly(store: Store) -> None:
    odd = [user("nul \x00 here and a lone \ud800 surrogate"), assistant("ok \x00")]
    summary = store.import_messages("alice", "conv-odd", odd)
    assert summary.title == "nul here and a lone ? surrogate"
    assert store.export("alice", "conv-odd") == odd  # the messages themselves, exactly
    assert [s.id for s in store.conversations("alice", query="lone \ud800").items] == ["conv-odd"]
    assert store.conversations("alice", query="\x00").items  # matches everything, no error
    renamed = store.set_title("alice", "conv-odd", "a\x00b")
    assert renamed is not None and renamed.title == "ab"
    with pytest.raises(ValueError, match="owner"):
        store.start("eve\x00", "conv-eve")
    with pytest.raises(ValueError, match="message id"):
        store.add_message("alice", "conv-odd", "m\x00", None, user("x"))


def test_share_is_a_snapshot_and_unshare_revokes(store: Store) -> None:
    chat(store, "alice", "conv-1", "first", "reply")
    store.add_message("alice", "conv-1", "m1b", "m0", assistant("other reply"))
    token = store.share("alice", "conv-1", "m1")
    assert token is not None and len(token) >= 32
    shared = store.shared(token)
    assert shared is not None
    assert (shared.title, shared.messages) == ("first", [user("first"), assistant("reply")])
    store.add_message("alice", "conv-1", "m2", "m1", user("later"))
    store.set_title("alice", "conv-1", "Renamed")
    assert store.shared(token) == shared
    summary = store.summary("alice", "conv-1")
    assert summary is not None and summary.share_token == token
    assert store.conversations("alice").items[0].share_token == token

    newer = store.share("alice", "conv-1")  # the newest branch, replacing the first link
    assert newer is not None and newer != token
    assert store.shared(token) is None
    again = store.shared(newer)
    assert again is not None and again.title == "Renamed"
    assert again.messages == [user("first"), assistant("reply"), user("later")]
    with pytest.raises(ValueError, match="not in this conversation"):
        store.share("alice", "conv-1", "unknown")

    assert store.unshare("alice", "conv-1") is True
    assert store.shared(newer) is None
    assert store.unshare("alice", "conv-1") is False
    summary = store.summary("alice", "conv-1")
    assert summary is not None and summary.share_token is None
    assert store.shared("not-a-token") is None


def test_delete_removes_the_rows(url: str, store: Store) -> None:
    chat(store, "alice", "conv-1", "one", "two", "three")
    chat(store, "alice", "conv-2", "keep me")
    token = store.share("alice", "conv-1")
    assert token is not None
    assert count(url, _schema.messages, "conv-1") == 3
    assert count(url, _schema.shares, "conv-1") == 1
    assert store.delete("alice", "conv-1") is True
    for table in (_schema.conversations, _schema.messages, _schema.shares):
        assert count(url, table, "conv-1") == 0
    assert count(url, _schema.messages, "conv-2") == 1
    assert store.shared(token) is None
    assert store.get("alice", "conv-1") is None
    assert store.delete("alice", "conv-1") is False
    # The id is free again, for anyone.
    assert store.start("bob", "conv-1").title == DEFAULT_TITLE


# -- feedback ------------------------------------------------------------------------


def feedback_of(store: Store, owner: str, cid: str) -> dict[str, Any]:
    """Each message's feedback as :meth:`Store.get` gives it, by message id."""
    conv = store.get(owner, cid)
    assert conv is not None
    return {n.id: n.feedback for n in conv.messages}


def test_feedback_is_set_changed_and_taken_back(url: str, store: Store) -> None:
    chat(store, "alice", "conv-1", "question", "answer", "more", "second answer")
    before = store.summary("alice", "conv-1")
    assert feedback_of(store, "alice", "conv-1") == dict.fromkeys(["m0", "m1", "m2", "m3"])

    assert store.set_feedback("alice", "conv-1", "m1", "up", None) is True
    assert store.set_feedback("alice", "conv-1", "m3", "down", "Too long \x00and vague") is True
    assert feedback_of(store, "alice", "conv-1") == {
        "m0": None,
        "m1": {"rating": "up", "comment": None},
        "m2": None,
        "m3": {"rating": "down", "comment": "Too long and vague"},
    }
    nodes = store.path("alice", "conv-1", "m3")
    assert nodes is not None
    assert [n.feedback for n in nodes] == [
        None,
        {"rating": "up", "comment": None},
        None,
        {"rating": "down", "comment": "Too long and vague"},
    ]

    # The other thumb replaces the rating, and a comment alone comes with the same one.
    assert store.set_feedback("alice", "conv-1", "m1", "down", None) is True
    assert store.set_feedback("alice", "conv-1", "m1", "down", "Wrong city") is True
    assert feedback_of(store, "alice", "conv-1")["m1"] == {
        "rating": "down",
        "comment": "Wrong city",
    }
    assert count(url, _schema.feedback, "conv-1") == 2

    assert store.set_feedback("alice", "conv-1", "m1", None, None) is True
    assert store.set_feedback("alice", "conv-1", "m1", None, None) is True  # nothing to take back
    assert feedback_of(store, "alice", "conv-1")["m1"] is None
    assert count(url, _schema.feedback, "conv-1") == 1

    # A rating is not a change of the conversation, and never part of its OpenAI messages.
    assert store.summary("alice", "conv-1") == before
    assert store.export("alice", "conv-1") == [
        user("question"),
        assistant("answer"),
        user("more"),
        assistant("second answer"),
    ]
    token = store.share("alice", "conv-1")
    assert token is not None
    shared = store.shared(token)
    assert shared is not None and all("feedback" not in m for m in shared.messages)


def test_feedback_on_what_the_owner_does_not_have_is_refused(url: str, store: Store) -> None:
    chat(store, "alice", "conv-a", "mine", "reply")
    chat(store, "alice", "conv-b", "other", "other reply", "third")
    chat(store, "bob", "conv-bob", "bob's", "bob's reply")
    assert store.set_feedback("bob", "conv-a", "m1", "down", "pwned") is False
    assert store.set_feedback("bob", "conv-a", "m1", None, None) is False
    assert store.set_feedback("alice", "conv-a", "nope", "up", None) is False
    assert store.set_feedback("alice", "conv-a", "m2", "up", None) is False  # conv-b's message
    assert store.set_feedback("alice", "missing-id", "m1", "up", None) is False
    assert store.set_feedback("alice", "conv-bob", "m1", "up", None) is False
    with pytest.raises(ValueError, match="rating"):
        store.set_feedback("alice", "conv-a", "m1", "meh", None)
    with pytest.raises(ValueError, match="comment"):
        store.set_feedback("alice", "conv-a", "m1", "up", 42)  # type: ignore[arg-type]
    for cid in ("conv-a", "conv-b", "conv-bob"):
        assert count(url, _schema.feedback, cid) == 0

    assert store.set_feedback("alice", "conv-a", "m1", "up", None) is True
    assert store.set_feedback("bob", "conv-a", "m1", None, None) is False  # nor take it back
    assert feedback_of(store, "alice", "conv-a")["m1"] == {"rating": "up", "comment": None}


def test_feedback_goes_with_its_conversation_and_its_message(url: str, store: Store) -> None:
    chat(store, "alice", "conv-1", "one", "two", "three")
    chat(store, "alice", "conv-2", "keep", "me")
    for cid, mid in [("conv-1", "m1"), ("conv-1", "m2"), ("conv-2", "m1")]:
        assert store.set_feedback("alice", cid, mid, "up", "good")
    assert store.delete("alice", "conv-1") is True
    assert count(url, _schema.feedback, "conv-1") == 0
    assert count(url, _schema.feedback, "conv-2") == 1
    # The id again, with a message id again: no old rating comes back.
    chat(store, "alice", "conv-1", "one", "two")
    assert feedback_of(store, "alice", "conv-1") == {"m0": None, "m1": None}

    # The schema's own rule, for rows removed by anything else: a message takes its rating.
    with store._engine.begin() as conn:  # the store's engine: SQLite foreign keys are on
        conn.execute(
            sa.delete(_schema.messages).where(
                _schema.messages.c.conversation_id == "conv-2", _schema.messages.c.id == "m1"
            )
        )
    assert count(url, _schema.feedback, "conv-2") == 0


def test_feedback_from_many_tabs_at_once_keeps_one_rating(store: Store) -> None:
    chat(store, "alice", "conv-1", "q", "a")
    errors: list[BaseException] = []
    barrier = threading.Barrier(12)

    def click(n: int) -> None:
        try:
            barrier.wait(timeout=60)
            store.set_feedback("alice", "conv-1", "m1", "up" if n % 2 else "down", f"tab {n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=click, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    kept = feedback_of(store, "alice", "conv-1")["m1"]
    assert kept is not None
    n = int(str(kept["comment"]).removeprefix("tab "))
    assert kept["rating"] == ("up" if n % 2 else "down")


# -- the database itself ---------------------------------------------------------------


def test_fifty_threads_write_one_database_at_once(url: str, store: Store) -> None:
    # On SQLite: one file, 50 writers, never "database is locked".
    errors: list[BaseException] = []
    barrier = threading.Barrier(50)

    def reply(n: int) -> None:
        try:
            barrier.wait(timeout=60)
            store.start("racer", "conv-race")  # one id started by every thread at once
            cid = f"conv-{n:03d}"
            store.start(f"user-{n % 5}", cid)
            store.add_message(f"user-{n % 5}", cid, "u0", None, user(f"question {n}"))
            barrier.wait(timeout=60)
            for i in range(5):
                text = f"answer {n} " + "word " * i
                status = "done" if i == 4 else "incomplete"
                store.save_run(f"user-{n % 5}", cid, "u0", [("r0", assistant(text))], status)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reply, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    for n in range(50):
        nodes = store.path(f"user-{n % 5}", f"conv-{n:03d}", "r0")
        assert nodes is not None
        assert (nodes[-1].message["content"], nodes[-1].status) == (
            f"answer {n} " + "word " * 4,
            "done",
        )
    assert sum(len(store.conversations(f"user-{u}", limit=100).items) for u in range(5)) == 50
    assert [s.id for s in store.conversations("racer").items] == ["conv-race"]


def test_an_in_memory_store_is_one_database_for_every_thread() -> None:
    store = Store("sqlite://")
    store.start("alice", "conv-1")
    threads = [
        threading.Thread(
            target=store.save_run,
            args=("alice", "conv-1", None, [(f"r{n}", assistant(f"reply {n}"))], "done"),
        )
        for n in range(10)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conv = store.get("alice", "conv-1")
    assert conv is not None and sorted(n.id for n in conv.messages) == sorted(
        f"r{n}" for n in range(10)
    )
    store.close()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"These are my notes, not a database.\n" * 200)
    with pytest.raises(SchemaError, match="not a SQLite database") as caught:
        Store(f"sqlite:///{path}")
    assert str(path) in str(caught.value)


def test_a_schema_newer_than_this_gptchat(url: str) -> None:
    Store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.update(_schema.schema_version).values(version=_schema.LATEST + 7))
    engine.dispose()
    with pytest.raises(SchemaError) as caught:
        Store(url)
    text = str(caught.value)
    assert f"version {_schema.LATEST + 7}" in text
    assert f"version {_schema.LATEST})" in text
    if url.startswith("sqlite:///"):  # a read-only copy names the versions too
        path = url.removeprefix("sqlite:///")
        with pytest.raises(SchemaError, match=f"version {_schema.LATEST + 7}"):
            Store(f"sqlite:///file:{path}?mode=ro&uri=true")


def test_tables_without_a_version_are_refused(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _schema.MIGRATIONS[0].apply(conn)
    engine.dispose()
    with pytest.raises(SchemaError, match="no gptchat_schema"):
        Store(url)


def test_other_tables_in_the_database_are_left_alone(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)"))
        conn.execute(sa.text("INSERT INTO invoices VALUES (1, 100)"))
    store = Store(url)
    store.start("alice", "conv-1")
    store.close()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT total FROM invoices")).scalar_one() == 100
    engine.dispose()


def test_migration_from_version_1_keeps_the_rows(url: str) -> None:
    # A version 1 database as gptchat's first store left it, rows and all.
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _schema.MIGRATIONS[0].apply(conn)
        _schema.metadata.create_all(conn, tables=[_schema.schema_version])
        conn.execute(sa.insert(_schema.schema_version).values(version=1))
        conn.execute(
            sa.insert(_schema.conversations).values(
                id="conv-old",
                owner="alice",
                title="Old chat",
                title_search="old chat",
                title_kind="auto",
                created_at=1.0,
                updated_at=2.0,
            )
        )
        for mid, parent, msg in [
            ("u0", None, user("Old chat")),
            ("a0", "u0", assistant("Old answer")),
        ]:
            conn.execute(
                sa.insert(_schema.messages).values(
                    conversation_id="conv-old",
                    id=mid,
                    parent_id=parent,
                    message=json.dumps(msg),
                    text=msg["content"].lower(),
                    status="done",
                    created_at=1.0,
                )
            )
    assert "ix_gptchat_messages_children" not in _indexes(engine)

    store = Store(url)
    conv = store.get("alice", "conv-old")
    assert conv is not None
    assert (conv.title, conv.updated_at) == ("Old chat", 2.0)
    assert [n.message for n in conv.messages] == [user("Old chat"), assistant("Old answer")]
    assert [s.id for s in store.conversations("alice", query="answer").items] == ["conv-old"]
    store.add_message("alice", "conv-old", "u1", "a0", user("new"))
    assert store.newest_leaf("alice", "conv-old") == "u1"
    store.close()
    with engine.connect() as conn:
        version = conn.execute(sa.select(_schema.schema_version.c.version)).scalar_one()
        assert version == _schema.LATEST
    assert "ix_gptchat_messages_children" in _indexes(engine)
    engine.dispose()
    Store(url).close()  # opening again at the latest version changes nothing


def test_migration_from_version_2_keeps_the_rows_and_adds_feedback(url: str) -> None:
    # A version 2 database as the store before feedback left it: two conversations, a
    # branch, a share link.
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for step in _schema.MIGRATIONS[:2]:
            step.apply(conn)
        _schema.metadata.create_all(conn, tables=[_schema.schema_version])
        conn.execute(sa.insert(_schema.schema_version).values(version=2))
        for cid, title in [("conv-old", "Old chat"), ("conv-two", "Second")]:
            conn.execute(
                sa.insert(_schema.conversations).values(
                    id=cid,
                    owner="alice",
                    title=title,
                    title_search=title.lower(),
                    title_kind="auto",
                    created_at=1.0,
                    updated_at=2.0 if cid == "conv-old" else 3.0,
                )
            )
        rows = [
            ("conv-old", "u0", None, user("Old chat")),
            ("conv-old", "a0", "u0", assistant("Old answer")),
            ("conv-old", "a1", "u0", assistant("Other answer")),
            ("conv-two", "u0", None, user("Second")),
        ]
        for cid, mid, parent, msg in rows:
            conn.execute(
                sa.insert(_schema.messages).values(
                    conversation_id=cid,
                    id=mid,
                    parent_id=parent,
                    message=json.dumps(msg),
                    text=msg["content"].lower(),
                    status="done",
                    created_at=1.0,
                )
            )
        conn.execute(
            sa.insert(_schema.shares).values(
                token="old-token",
                conversation_id="conv-old",
                title="Old chat",
                messages=json.dumps([user("Old chat"), assistant("Old answer")]),
                shared_at=2.5,
            )
        )
    with engine.connect() as conn:
        assert _schema.feedback.name not in sa.inspect(conn).get_table_names()

    store = Store(url)
    with engine.connect() as conn:
        version = conn.execute(sa.select(_schema.schema_version.c.version)).scalar_one()
        assert version == _schema.LATEST == 3
        assert _schema.feedback.name in sa.inspect(conn).get_table_names()
    conv = store.get("alice", "conv-old")
    assert conv is not None
    assert (conv.title, conv.updated_at, conv.share_token) == ("Old chat", 2.0, "old-token")
    assert [(n.id, n.parent_id, n.message, n.feedback) for n in conv.messages] == [
        ("u0", None, user("Old chat"), None),
        ("a0", "u0", assistant("Old answer"), None),
        ("a1", "u0", assistant("Other answer"), None),
    ]
    assert [s.id for s in store.conversations("alice").items] == ["conv-two", "conv-old"]
    assert [s.id for s in store.conversations("alice", query="other").items] == ["conv-old"]
    shared = store.shared("old-token")
    assert shared is not None and shared.messages == [user("Old chat"), assistant("Old answer")]
    assert store.newest_leaf("alice", "conv-old") == "a1"

    assert store.set_feedback("alice", "conv-old", "a0", "up", "kept since v2") is True
    store.close()
    again = Store(url)  # at the latest version: opened as it is, the rating kept
    assert feedback_of(again, "alice", "conv-old")["a0"] == {
        "rating": "up",
        "comment": "kept since v2",
    }
    assert again.delete("alice", "conv-old") is True
    assert count(url, _schema.feedback, "conv-old") == 0
    again.close()
    engine.dispose()


def _indexes(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        found = sa.inspect(conn).get_indexes(_schema.messages.name)
    return {str(i["name"]) for i in found}


def test_a_read_only_database_fails_writes_clearly(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    chat(Store(f"sqlite:///{path}"), "alice", "conv-1", "kept")
    # Root ignores file modes, so the file is opened read-only instead of chmod'ed.
    store = Store(f"sqlite:///file:{path}?mode=ro&uri=true")
    conv = store.get("alice", "conv-1")
    assert conv is not None and conv.title == "kept"
    with pytest.raises(StoreError, match="read-only") as caught:
        store.add_message("alice", "conv-1", "m1", "m0", assistant("lost"))
    assert str(path) in str(caught.value)
    with pytest.raises(StoreError, match="read-only"):
        store.start("alice", "conv-2")
    store.close()


def test_a_full_database_fails_writes_clearly_and_keeps_what_it_had(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'full.db'}")
    chat(store, "alice", "conv-1", "kept")

    # A full disk, as SQLite sees it: no page may be added past the file's current size.
    def cap(dbapi_conn: Any, _record: Any) -> None:
        size = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {size}")

    sa.event.listen(store._engine, "connect", cap)
    store._engine.dispose()
    with pytest.raises(StoreError, match="full") as caught:
        store.add_message("alice", "conv-1", "m1", "m0", assistant("x" * 1_000_000))
    assert str(tmp_path / "full.db") in str(caught.value)
    conv = store.get("alice", "conv-1")
    assert conv is not None and [n.id for n in conv.messages] == ["m0"]
    store.close()


def test_a_bad_url_is_named_without_its_password() -> None:
    with pytest.raises(StoreError, match="not a database URL") as caught:
        Store("user:hunter2@host/db")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(StoreError, match="SQLite or Postgres") as caught:
        Store("mysql://user:hunter2@127.0.0.1/db")
    assert "hunter2" not in str(caught.value)


def test_default_url_is_in_the_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    url = Store.default_url()
    assert url == f"sqlite:///{tmp_path / 'xdg' / 'gptchat' / 'history.db'}"
    store = Store(url)
    store.start("alice", "conv-1")
    store.close()
    assert (tmp_path / "xdg" / "gptchat" / "history.db").is_file()


def test_postgres_url_hides_the_password_and_unreachable_is_clear(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database().replace("gptchat@", "gptchat:hunter2@")
    store = Store(url)  # the test server trusts loopback: any password works
    assert "hunter2" not in store.url
    assert store.url.startswith("postgresql+psycopg://gptchat@127.0.0.1:")
    store.close()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"postgresql+psycopg://gptchat:hunter2@127.0.0.1:{s.getsockname()[1]}/none"
    with pytest.raises(StoreError) as caught:
        Store(closed)
    assert "hunter2" not in str(caught.value)
    assert "cannot reach" in str(caught.value)
