"""Several gptchat processes through a real Redis: limits, Redis restarts, shutdown (issue 13)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from gptchat._run_log import Messages, apply_delta_event, apply_snapshot, finished_messages
from tests.redis_server import RedisServer
from tests.scale_app import expected
from tests.scale_procs import deployment, strict_reply, text_of
from tests.support import RawSocket, SocketClient, send_one, user_client

CID = "conv-faults-0001"


def _deltas(tab: SocketClient, run_id: str) -> int:
    return sum(1 for e, d in list(tab.events) if e == "message_delta" and d["run_id"] == run_id)


def _folded(events: list[tuple[str, Any]], run_id: str) -> dict[str, Any]:
    # As the browser folds: snapshots take what is ahead, deltas apply when they follow.
    messages: Messages = {}
    for name, data in events:
        if isinstance(data, dict) and data.get("run_id") == run_id:
            if name == "run_snapshot":
                apply_snapshot(messages, data)
            elif name == "message_delta":
                apply_delta_event(messages, data)
    return finished_messages(messages)


# -- S5: limits across processes -----------------------------------------------------------


def test_max_connections_holds_across_the_deployment(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with deployment(redis_server.url, tmp_path, 2, "--max-connections", "2", store=False) as (a, b):
        tabs = [user_client(a.url, "alice", 0), user_client(b.url, "bob", 0)]
        refused = RawSocket(a.url, headers=["X-Test-User: carol"])
        # Each process has room for another tab; the deployment has not.
        assert not refused.connected and "too many connections" in str(refused.refusal)
        refused.close()
        b.kill()  # its tab is counted no more once its beats stop
        deadline = time.monotonic() + 10
        while True:
            late = RawSocket(a.url, headers=["X-Test-User: carol"])
            if late.connected:
                late.close()
                break
            assert time.monotonic() < deadline, "a killed process's tabs never expired"
            time.sleep(0.2)
        tabs[0].close()


# -- S6: Redis restarted mid-reply ---------------------------------------------------------------


def test_redis_restarted_mid_reply_the_reply_carries_on(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with deployment(redis_server.url, tmp_path, 2) as (a, b):
        sender = user_client(a.url, "alice")
        send_one(sender, CID, "m1", "count 200 10")
        run_id = sender.wait_event("run_started", conversation_id=CID)["run_id"]
        watcher = user_client(b.url, "alice", 1)
        watcher.emit("open_conversation", {"conversation_id": CID})
        watcher.wait_for(lambda _: _deltas(watcher, run_id) >= 10)
        redis_server.restart(down_for=0.3)  # empty again: --save '' --appendonly no
        finished = watcher.wait_event("run_finished", run_id=run_id, timeout=20)
        assert finished["status"] == "done"
        assert text_of(_folded(watcher.events, run_id)) == expected(200)
        sender.wait_event("run_finished", run_id=run_id, status="done")
        assert text_of(strict_reply(sender.events, run_id)[0]) == expected(200)
        # Both processes serve new replies after it, kept in the store.
        send_one(watcher, CID, "m2", "count 3 0", parent_id="m1")
        run2 = watcher.wait_event("run_started", conversation_id=CID)["run_id"]
        watcher.wait_event("run_finished", run_id=run2, status="done", timeout=10)
        later = user_client(a.url, "alice", 2)
        later.emit("open_conversation", {"conversation_id": CID})
        kept = later.wait_event("conversation", conversation_id=CID)
        texts = [m["message"].get("content") for m in kept["messages"]]
        assert expected(200) in texts and expected(3) in texts
        for t in (sender, watcher, later):
            t.close()


# -- S7: SIGTERM lets the handlers finish, the tabs move ------------------------------------


def test_sigterm_lets_the_reply_finish_while_its_tab_moves(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with deployment(redis_server.url, tmp_path, 2) as (a, b):
        tab = user_client(a.url, "alice")
        send_one(tab, CID, "m1", "count 150 10")
        run_id = tab.wait_event("run_started", conversation_id=CID)["run_id"]
        tab.wait_for(lambda _: _deltas(tab, run_id) >= 10)
        a.terminate()
        assert tab.disconnected.wait(5), "the shutting-down process kept its tab"
        moved = user_client(b.url, "alice")
        moved.emit("open_conversation", {"conversation_id": CID})
        moved.emit("resume", {"conversation_id": CID})
        finished = moved.wait_event("run_finished", run_id=run_id, timeout=10)
        assert finished["status"] == "done"  # it finished in A, not stopped by the shutdown
        messages, _ = strict_reply(moved.events, run_id)
        assert text_of(messages) == expected(150)
        try:
            code = a.proc.wait(20)
        except subprocess.TimeoutExpired:
            a.proc.send_signal(signal.SIGUSR1)  # scale_app dumps its threads
            time.sleep(1)
            raise AssertionError("".join(a.output)[-8000:]) from None
        assert code == 0
        moved.close()
