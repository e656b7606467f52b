"""Several gptchat processes as one app, through a real Redis (issue 13).

Each test starts real ``redis-server`` and gptchat processes (``tests/scale_app.py``)
on free loopback ports, and real Socket.IO clients: a tab may reach any process.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gptchat import ChatApp
from gptchat._remote_runs import INTERRUPTED
from gptchat.errors import MessageQueueError
from tests.redis_server import RedisServer, free_port
from tests.scale_app import expected
from tests.scale_procs import deployment, strict_reply, text_of
from tests.support import SocketClient, send_one, user_client

CID = "conv-scale-0001"


def _open(tab: SocketClient, cid: str = CID) -> None:
    tab.emit("open_conversation", {"conversation_id": cid})


def _started(tab: SocketClient) -> str:
    run_id: str = tab.wait_event("run_started", conversation_id=CID)["run_id"]
    return run_id


def _deltas(tab: SocketClient, run_id: str) -> int:
    return sum(1 for e, d in list(tab.events) if e == "message_delta" and d["run_id"] == run_id)


# -- S1: the option, and a clear error at start ------------------------------------------


def test_unreachable_redis_is_a_clear_error_at_start() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = ChatApp(store=None, message_queue=url)
    with pytest.raises(MessageQueueError, match=url.replace("/", "\\/")):
        app.flask_app  # noqa: B018 (building the server is what fails)


def test_run_app_names_the_url_and_exits(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parents[1] / "scale_app.py"), "--redis", url],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert f"no Redis answers at message_queue={url}" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_env_variable_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("GPTCHAT_MESSAGE_QUEUE", url)
    with pytest.raises(MessageQueueError, match="no Redis answers"):
        ChatApp(store=None).flask_app  # noqa: B018


def test_without_the_option_no_redis_part_is_loaded() -> None:
    # (python-socketio itself imports the redis package when it is installed.)
    code = (
        "import sys, threading; from gptchat import ChatApp; ChatApp(store=None).flask_app; "
        "print(sorted(m for m in sys.modules if m.startswith(('gptchat._redis', "
        "'gptchat._remote'))) + [t.name for t in threading.enumerate() if 'redis' in t.name])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_reachable_redis_starts(redis_server: RedisServer) -> None:
    app = ChatApp(store=None, message_queue=redis_server.url)
    assert app.server.shared is not None
    app.shutdown(0.1)


# -- S2: a tab of another process watches and resumes a run ---------------------------------


def test_a_tab_on_another_process_watches_and_resumes(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with deployment(redis_server.url, tmp_path, 2) as (a, b):
        sender = user_client(a.url, "alice", 0)
        send_one(sender, CID, "m1", "count 120 10")
        run_id = _started(sender)
        sender.wait_for(lambda _: _deltas(sender, run_id) >= 10)
        watcher = user_client(b.url, "alice", 1)  # another tab, on the other process
        _open(watcher)
        watcher.wait_event("run_finished", run_id=run_id, timeout=15)
        messages, status = strict_reply(watcher.events, run_id)
        assert status == "done"
        assert text_of(messages) == expected(120)
        assert watcher.named("run_snapshot")[0]["messages"], "it joined under way"
        sender.wait_event("run_finished", run_id=run_id)
        assert text_of(strict_reply(sender.events, run_id)[0]) == expected(120)
        # The user's tabs on both processes heard of the kept conversation.
        watcher.wait_event("conversation_changed", conversation_id=CID)
        for tab in (sender, watcher):
            tab.close()


def test_the_sending_tab_reconnects_to_another_process(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with deployment(redis_server.url, tmp_path, 2) as (a, b):
        tab = user_client(a.url, "alice")
        send_one(tab, CID, "m1", "count 150 10")
        run_id = _started(tab)
        tab.wait_for(lambda _: _deltas(tab, run_id) >= 20)
        tab.close()
        # The same browser, reconnected through the load balancer to the other process.
        again = user_client(b.url, "alice")
        _open(again)
        again.emit("resume", {"conversation_id": CID})
        again.wait_event("run_finished", run_id=run_id, timeout=15)
        messages, status = strict_reply(again.events, run_id)
        assert (status, text_of(messages)) == ("done", expected(150))
        # The run was not abandoned when its tab left process A: it reached its end.
        assert again.named("run_finished")[0]["status"] == "done"
        again.close()


def test_a_conversation_running_elsewhere_is_busy(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with deployment(redis_server.url, tmp_path, 2) as (a, b):
        tab = user_client(a.url, "alice")
        send_one(tab, CID, "m1", "count 100 10")
        run_id = _started(tab)
        other = user_client(b.url, "alice", 1)
        send_one(other, CID, "m2", "count 1 0", parent_id="m1")
        error = other.wait_event("error", conversation_id=CID)
        assert error["code"] == "busy"
        tab.wait_event("run_finished", run_id=run_id, timeout=15)
        for t in (tab, other):
            t.close()


# -- S3: stop and answers from another process ---------------------------------------------------


def test_stop_from_another_process_acts_within_a_second(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with deployment(redis_server.url, tmp_path, 2) as (a, b):
        tab = user_client(a.url, "alice")
        send_one(tab, CID, "m1", "count 100000 10")
        run_id = _started(tab)
        other = user_client(b.url, "alice", 1)
        _open(other)
        other.wait_event("run_snapshot", run_id=run_id)
        other.wait_for(lambda _: _deltas(other, run_id) >= 3)
        pressed = time.monotonic()
        other.emit("stop", {"conversation_id": CID})
        finished = other.wait_event("run_finished", run_id=run_id, timeout=5)
        took = time.monotonic() - pressed
        assert finished["status"] == "stopped"
        assert took < 1.0, f"stop took {took:.2f} s"
        tab.wait_event("run_finished", run_id=run_id, status="stopped")
        for t in (tab, other):
            t.close()


def _ask_of(events: list[tuple[str, Any]]) -> dict[str, Any] | None:
    for name, data in events:
        if name == "run_snapshot":
            for snap in data["messages"]:
                if "ask" in snap["message"]:
                    return dict(snap["message"]["ask"])
        if name == "message_delta":
            for delta in data["deltas"]:
                if "ask" in delta:
                    return dict(delta["ask"])
    return None


def test_an_answer_from_another_process_reaches_the_handler(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with deployment(redis_server.url, tmp_path, 2) as (a, b):
        tab = user_client(a.url, "alice")
        send_one(tab, CID, "m1", "ask")
        run_id = _started(tab)
        tab.wait_for(lambda events: _ask_of(events) is not None)
        other = user_client(b.url, "alice", 1)
        _open(other)
        other.wait_for(lambda events: _ask_of(events) is not None)
        ask = _ask_of(other.events)
        assert ask is not None and ask["status"] == "pending"
        # A wrong value is refused by the process that asked, to this tab.
        other.emit("answer", {"conversation_id": CID, "ask_id": ask["id"], "value": "z"})
        refused = other.wait_event("error", conversation_id=CID, timeout=2)
        assert refused["code"] == "invalid_payload"
        answered = time.monotonic()
        other.emit("answer", {"conversation_id": CID, "ask_id": ask["id"], "value": "b"})
        other.wait_event("run_finished", run_id=run_id, status="done", timeout=5)
        took = time.monotonic() - answered
        assert took < 1.0, f"the answer took {took:.2f} s"
        assert "you chose b" in text_of(strict_reply(other.events, run_id)[0])
        tab.wait_event("run_finished", run_id=run_id, status="done")
        for t in (tab, other):
            t.close()


# -- S4: processes killed mid-reply ------------------------------------------------------------


def test_the_socket_holder_killed_the_tab_resumes_elsewhere(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with deployment(redis_server.url, tmp_path, 3) as (a, b, c):
        sender = user_client(a.url, "alice")
        send_one(sender, CID, "m1", "count 200 10")
        run_id = _started(sender)
        tab = user_client(b.url, "alice", 1)
        _open(tab)
        tab.wait_for(lambda _: _deltas(tab, run_id) >= 20)
        b.kill()
        tab.disconnected.wait(5)
        before = strict_reply(tab.events, run_id)[0]
        assert expected(200).startswith(text_of(before))
        again = user_client(c.url, "alice", 1)
        _open(again)
        again.emit("resume", {"conversation_id": CID})
        again.wait_event("run_finished", run_id=run_id, timeout=15)
        messages, status = strict_reply(again.events, run_id)
        assert (status, text_of(messages)) == ("done", expected(200))
        for t in (sender, again):
            t.close()


def test_the_handler_process_killed_the_reply_ends_interrupted(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with deployment(redis_server.url, tmp_path, 2) as (a, b):
        sender = user_client(a.url, "alice")
        send_one(sender, CID, "m1", "count 100000 10")
        run_id = _started(sender)
        tab = user_client(b.url, "alice", 1)
        _open(tab)
        tab.wait_for(lambda _: _deltas(tab, run_id) >= 30)
        a.kill()
        killed = time.monotonic()
        finished = tab.wait_event("run_finished", run_id=run_id, timeout=10)
        assert time.monotonic() - killed < 6
        assert (finished["status"], finished["error"]) == ("error", INTERRUPTED)
        so_far = text_of(strict_reply(tab.events, run_id)[0])
        assert len(so_far) > 30 and expected(100000).startswith(so_far)
        # The store keeps the text so far, ended as an error (a retry offers itself there).
        later = user_client(b.url, "alice", 2)
        _open(later)
        kept = later.wait_event("conversation", conversation_id=CID)
        reply = [m for m in kept["messages"] if m["message"]["role"] == "assistant"]
        assert reply and reply[-1]["status"] == "error"
        assert reply[-1]["message"]["content"].startswith(so_far[:100])
        # The other process keeps serving, in that very conversation.
        send_one(later, CID, "m2", "count 5 0", parent_id="m1")
        run2 = later.wait_event("run_started", conversation_id=CID)["run_id"]
        later.wait_event("run_finished", run_id=run2, status="done")
        for t in (tab, later):
            t.close()
