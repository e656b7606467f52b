"""Server-kept history survives: replies written as they stream (checkpoints, never per
delta), a SIGKILL mid-reply, 50 replies at once into one SQLite file, a database that cannot
be opened or written, and a restart with the default store in the user's data folder.

Real servers (in this process and in real subprocesses), real python-socketio clients,
SQLite files on disk."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from gptchat import ChatApp
from gptchat.store import Store, Summary
from tests.support import (
    SocketClient,
    live_server,
    reply_of,
    send_one,
    user_client,
    wait_count,
)

ROOT = Path(__file__).resolve().parents[2]
CID = "durable-conv-001"


class CountingStore(Store):
    """The real store, noting when each run write happens and with which status."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.saves: list[tuple[float, str]] = []

    def save_run(
        self,
        owner: str,
        conversation_id: str,
        parent_id: str | None,
        messages: Sequence[tuple[str, dict[str, Any]]],
        status: str,
    ) -> Summary:
        self.saves.append((time.monotonic(), status))
        return super().save_run(owner, conversation_id, parent_id, messages, status)


def kept(url: str, owner: str, cid: str) -> list[tuple[str, str | None, str, Any]]:
    """The conversation as a second reader of the database sees it now."""
    store = Store(url)
    try:
        conversation = store.get(owner, cid)
        if conversation is None:
            return []
        return [
            (n.id, n.parent_id, n.status, n.message.get("content")) for n in conversation.messages
        ]
    finally:
        store.close()


def test_a_reply_is_checkpointed_while_it_streams_and_kept_whole_at_its_end(
    store_url: str,
) -> None:
    store = CountingStore(store_url)
    chat = ChatApp(store=store, coalesce_interval=0.0)
    gate = threading.Event()
    deltas = 0

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        nonlocal deltas
        mid = chat.new_id()
        chat.update_message({"role": "assistant", "content": "Re:"}, id=mid)
        while not gate.wait(0.005):
            chat.update_message({"content": "."}, id=mid)
            deltas += 1
        chat.update_message({"content": " end"}, id=mid)

    try:
        with live_server(chat) as url:
            tab = SocketClient(url)
            try:
                send_one(tab, CID, "u1", "stream slowly")
                run_id = tab.wait_event("run_started")["run_id"]
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    rows = kept(store_url, "local", CID)
                    if len(rows) == 2 and rows[1][2] == "incomplete":
                        break
                    time.sleep(0.1)
                else:
                    raise AssertionError(f"no checkpoint in the database: {rows}")
                # Visible in the database while the reply is under way.
                assert not tab.named("run_finished")
                assert rows[0] == ("u1", None, "done", "stream slowly")
                assert rows[1][1] == "u1" and rows[1][3].startswith("Re:.")
                time.sleep(1.2)  # another interval: another checkpoint, one only
                gate.set()
                assert tab.wait_event("run_finished")["status"] == "done"
                (reply,) = reply_of(tab, run_id).values()
                # The final write follows run_finished; the tab hears of it.
                tab.wait_for(
                    lambda ev: ev[-1][0] == "conversation_changed" and ev[-2][0] == "run_finished"
                )
            finally:
                tab.close()
        rows = kept(store_url, "local", CID)
        assert rows[1][2:] == ("done", reply["content"])
        assert reply["content"].endswith(". end")
        statuses = [status for _, status in store.saves]
        assert statuses[-1] == "done" and set(statuses[:-1]) == {"incomplete"}
        checkpoints = [at for at, status in store.saves if status == "incomplete"]
        # At most one a second, not one per delta: hundreds of deltas, a few writes.
        assert 2 <= len(checkpoints) <= 4 and deltas >= 100
        gaps = [b - a for a, b in itertools.pairwise(checkpoints)]
        assert all(gap >= 0.9 for gap in gaps), gaps
    finally:
        store.close()


class ServerProcess:
    """``tests/history_server.py`` in a process of its own, its output collected."""

    def __init__(self, url: str) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "history_server.py"), url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._got = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._got:
                self.lines.append(line)
                self._got.notify_all()

    def url(self, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        with self._got:
            while True:
                for line in self.lines:
                    if "gptchat is running on " in line:
                        shown = line.split("running on ", 1)[1].split()[0]
                        return shown.replace("localhost", "127.0.0.1").rstrip("/")
                left = deadline - time.monotonic()
                assert left > 0 and self.proc.poll() is None, "".join(self.lines)
                self._got.wait(left)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def processes() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for proc in started:
        proc.kill()


def test_a_sigkill_mid_reply_loses_at_most_the_last_second_of_it(
    store_url: str, processes: list[ServerProcess]
) -> None:
    first = ServerProcess(store_url)
    processes.append(first)
    tab = SocketClient(first.url())
    try:
        send_one(tab, CID, "u1", "hello")
        done = tab.wait_event("run_finished")
        (r1,) = reply_of(tab, done["run_id"])
        send_one(tab, CID, "u2", "slow", r1)
        run_id = tab.wait_event("run_started", parent_id="u2")["run_id"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rows = kept(store_url, "local", CID)
            if len(rows) == 4 and rows[3][2] == "incomplete" and "w3 " in rows[3][3]:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"no checkpoint of the reply: {rows}")
        time.sleep(0.3)
        first.kill()  # SIGKILL: no shutdown code runs
        (partial,) = reply_of(tab, run_id).values()
    finally:
        tab.close()
    assert any("history is kept in sqlite:///" in line for line in first.lines), first.lines

    second = ServerProcess(store_url)
    processes.append(second)
    tab = SocketClient(second.url())
    try:
        tab.emit("open_conversation", {"conversation_id": CID})
        conversation = tab.wait_event("conversation")
    finally:
        tab.close()
    nodes = conversation["messages"]
    assert [(n["id"], n["parent_id"], n["status"]) for n in nodes] == [
        ("u1", None, "done"),
        (r1, "u1", "done"),
        ("u2", r1, "done"),
        (nodes[3]["id"], "u2", "incomplete"),
    ]
    assert [n["message"]["content"] for n in nodes[:3]] == ["hello", "Re: hello", "slow"]
    text = nodes[3]["message"]["content"]
    # Everything up to the last checkpoint, which the tab had seen streamed; nothing twice.
    assert text.startswith("Re: w0 w1 w2 w3 ") and partial["content"].startswith(text)
    words = text.split()[1:]
    assert words == [f"w{i}" for i in range(len(words))]


def test_fifty_replies_at_once_into_one_database(
    any_store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store_url = any_store_url
    chat = ChatApp(store=store_url, coalesce_interval=0.0, max_generations=10)
    # Checkpoints every 50 ms rather than every second: many more writes in flight at once.
    chat._settings = dataclasses.replace(chat._settings, checkpoint_interval=0.05)

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        chat.update_message({"role": "assistant", "content": ""}, id=mid)
        for i in range(40):
            chat.update_message({"content": f"{i} "}, id=mid)
            time.sleep(0.02)

    expected = "".join(f"{i} " for i in range(40))
    caplog.set_level(logging.WARNING, logger="gptchat")
    with live_server(chat) as url:
        tabs = [SocketClient(url, client_key=f"fifty-client-{i:02d}-abcdefgh") for i in range(5)]
        try:
            for n in range(10):
                for i, tab in enumerate(tabs):
                    send_one(tab, f"fifty-conv-{i:02d}-{n:02d}", "u1", f"question {i}/{n}")
            for i, tab in enumerate(tabs):
                finished = wait_count(tab, "run_finished", 10, timeout=60)
                assert {d["status"] for d in finished} == {"done"}
                for n in range(10):
                    run = chat.server.runs.get(f"fifty-conv-{i:02d}-{n:02d}", "local")
                    assert run is not None and run.kept.wait(10)
                assert tab.named("error") == []
        finally:
            for tab in tabs:
                tab.close()
    store = chat.store
    assert store is not None
    try:
        page = store.conversations("local", limit=100)
        assert len(page.items) == 50
        for item in page.items:
            conversation = store.get("local", item.id)
            assert conversation is not None
            statuses = [(n.status, n.message.get("content")) for n in conversation.messages]
            assert statuses[1:] == [("done", expected)], item.id
    finally:
        store.close()
    assert "locked" not in caplog.text and "history store" not in caplog.text


def _bump_schema(path: Path) -> None:
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE gptchat_schema SET version = 999")


@pytest.mark.parametrize("broken", ["not a database", "newer schema"])
def test_a_database_that_cannot_be_opened_stops_the_server_with_one_clear_line(
    tmp_path: Path, broken: str
) -> None:
    path = tmp_path / "history.db"
    if broken == "not a database":
        path.write_bytes(b"these are my notes, not a database\n" * 200)
        says = "is not a SQLite database"
    else:
        _bump_schema(path)
        says = "version 999, newer than this gptchat knows"
    url = f"sqlite:///{path}"
    env = {**os.environ, "GPTCHAT_STORE": url}
    done = subprocess.run(
        [sys.executable, "-m", "gptchat", "demo", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("gptchat: ") and str(path) in lines[0] and says in lines[0]
    # The same from run_app() in a program of one's own.
    chat = ChatApp(store=url)
    with pytest.raises(SystemExit) as exited:
        chat.run_app(port=0)
    assert str(path) in str(exited.value.code) and says in str(exited.value.code)


def test_a_read_only_database_still_answers_and_says_so_once(store_url: str) -> None:
    path = store_url.removeprefix("sqlite:///")
    writable = ChatApp(store=store_url, coalesce_interval=0.0)

    @writable.handle_send_message
    def first(messages: list[dict[str, Any]]) -> str:
        return "kept"

    with live_server(writable) as url:
        tab = SocketClient(url)
        try:
            send_one(tab, CID, "u1", "before")
            (r1,) = reply_of(tab, tab.wait_event("run_finished")["run_id"])
        finally:
            tab.close()
    assert writable.store is not None
    writable.store.close()

    read_only = ChatApp(store=f"sqlite:///file:{path}?mode=ro&uri=true", coalesce_interval=0.0)

    @read_only.handle_send_message
    def slow(messages: list[dict[str, Any]]) -> None:
        mid = read_only.new_id()
        read_only.update_message({"role": "assistant", "content": "still "}, id=mid)
        for _ in range(30):  # 1.5 s: checkpoints fail too, and are not told again
            time.sleep(0.05)
            read_only.update_message({"content": "."}, id=mid)
        read_only.update_message({"content": f" {len(messages)}"}, id=mid)

    try:
        with live_server(read_only) as url:
            tab = SocketClient(url)
            try:
                send_one(tab, CID, "u2", "after", r1)
                done = tab.wait_event("run_finished")
                send_one(tab, "durable-new-0001", "n1", "new one")
                done_new = wait_count(tab, "run_finished", 2)[-1]
                time.sleep(0.3)
                errors = tab.named("error")
            finally:
                tab.close()
        assert done["status"] == done_new["status"] == "done"
        (reply,) = reply_of(tab, done["run_id"]).values()
        assert reply["content"] == "still " + "." * 30 + " 3"  # the kept branch and the new message
        (reply_new,) = reply_of(tab, done_new["run_id"]).values()
        assert reply_new["content"].endswith(" 1")
        assert [(e["code"], e["conversation_id"]) for e in errors] == [
            ("store", CID),
            ("store", "durable-new-0001"),
        ]
        assert "read-only" in errors[0]["message"]
    finally:
        if read_only._server is not None and read_only._server.store is not None:
            read_only._server.store.close()
    assert [r[0] for r in kept(store_url, "local", CID)] == ["u1", r1]


def test_the_default_store_is_in_the_data_folder_and_survives_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPTCHAT_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    file = tmp_path / "data" / "gptchat" / "history.db"
    for turn in range(2):
        chat = ChatApp(coalesce_interval=0.0)

        @chat.handle_send_message
        def handler(messages: list[dict[str, Any]]) -> str:
            return f"{len(messages)} messages"

        store = chat.store
        assert store is not None and store.url == f"sqlite:///{file}"
        try:
            with live_server(chat) as url:
                tab = user_client(url, "local")
                try:
                    if turn == 0:
                        send_one(tab, CID, "u1", "remember me")
                        tab.wait_event("run_finished")
                    else:
                        tab.emit("open_conversation", {"conversation_id": CID})
                        messages = tab.wait_event("conversation")["messages"]
                        contents = [m["message"]["content"] for m in messages]
                        assert contents == ["remember me", "1 messages"]
                finally:
                    tab.close()
        finally:
            store.close()
    assert file.is_file()


def test_a_sigterm_mid_reply_keeps_it_as_stopped(
    store_url: str, processes: list[ServerProcess]
) -> None:
    first = ServerProcess(store_url)
    processes.append(first)
    tab = SocketClient(first.url())
    try:
        send_one(tab, CID, "u1", "slow")
        run_id = tab.wait_event("run_started")["run_id"]
        wait_count(tab, "message_delta", 5)
        first.proc.send_signal(signal.SIGTERM)
        assert first.proc.wait(15) == 0
        (streamed,) = reply_of(tab, run_id).values()
    finally:
        tab.close()
    rows = kept(store_url, "local", CID)
    assert [(r[0], r[2]) for r in rows] == [("u1", "done"), (rows[1][0], "stopped")]
    # All the tab saw, and no more: the final write came after the last delta.
    assert rows[1][3] == streamed["content"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB file system of its own (tmpfs), to fill up: needs root, as in CI."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_disk_that_fills_up_mid_reply_costs_the_reply_nothing_and_is_told_once(
    small_disk: Path,
) -> None:
    chat = ChatApp(store=f"sqlite:///{small_disk / 'history.db'}", coalesce_interval=0.0)
    chunk = "lorem ipsum " * 1700  # 20 KB: 100 of them are twice the disk

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        chat.update_message({"role": "assistant", "content": ""}, id=mid)
        for _ in range(100):
            chat.update_message({"content": chunk}, id=mid)
            time.sleep(0.025)

    try:
        with live_server(chat) as url:
            tab = SocketClient(url)
            try:
                send_one(tab, CID, "u1", "write a lot")
                done = tab.wait_event("run_finished", timeout=30)
                run = chat.server.runs.get(CID, "local")
                assert run is not None and run.kept.wait(10)
                (reply,) = reply_of(tab, done["run_id"]).values()
                errors = tab.named("error")
            finally:
                tab.close()
        assert done["status"] == "done" and reply["content"] == chunk * 100
        assert [(e["code"], e["conversation_id"]) for e in errors] == [("store", CID)]
        assert "full" in errors[0]["message"]
    finally:
        if chat._server is not None and chat._server.store is not None:
            chat._server.store.close()
