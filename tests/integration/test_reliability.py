"""Nothing lost, nothing stuck: timeouts, stop, stalled clients and shutdown on a real server."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gptchat import ChatApp, StopGeneration
from tests.support import RawSocket, SocketClient, fold_messages, live_server, send

ROOT = Path(__file__).resolve().parents[2]


def test_silent_handler_times_out_keeping_the_partial_reply() -> None:
    chat = ChatApp(coalesce_interval=0.0, handler_timeout=0.5)
    release = threading.Event()
    told = threading.Event()

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        if messages[-1]["content"] == "quick":
            chat.update_message({"role": "assistant", "content": "fine"})
            return
        mid = chat.new_id()
        chat.update_message({"role": "assistant", "content": "partial "}, id=mid)
        release.wait(5)  # hangs, as on a dead upstream connection
        try:
            chat.update_message({"content": "too late"}, id=mid)
        except StopGeneration:
            told.set()
            raise

    with live_server(chat) as url:
        c = SocketClient(url)
        try:
            send(c, "hang")
            finished = c.wait_event("run_finished", timeout=3)
            assert finished["status"] == "error"
            assert "timeout" in finished["error"] and "incomplete" in finished["error"]
            (message,) = fold_messages(c.named("message_delta")).values()
            assert message["content"] == "partial "  # kept
            # The conversation is usable again at once, while the old handler still hangs.
            send(c, "quick")
            c.wait_for(lambda ev: sum(e == "run_finished" for e, _ in ev) == 2, timeout=3)
            done = [d for d in c.named("run_finished") if d["status"] == "done"]
            assert len(done) == 1
            release.set()
            assert told.wait(3)  # the late handler is told when it next sends
        finally:
            release.set()
            c.close()


def test_stop_frees_the_tab_within_a_second_even_if_the_handler_is_blocked(
    chat: ChatApp, client: SocketClient
) -> None:
    release = threading.Event()
    told = threading.Event()

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        chat.update_message({"role": "assistant", "content": "thinking"}, id=mid)
        release.wait(5)  # waiting for a slow first token, not calling update_message
        try:
            chat.update_message({"content": "..."}, id=mid)
        except StopGeneration:
            told.set()
            raise

    send(client, "go")
    client.wait_event("message_delta")
    t0 = time.monotonic()
    client.emit("stop", {"conversation_id": "conv-test-0001"})
    finished = client.wait_event("run_finished", timeout=3)
    assert time.monotonic() - t0 < 1.6  # a 1 s grace for the handler, with margin
    assert finished["status"] == "stopped"
    release.set()
    assert told.wait(3)


def test_stalled_client_is_dropped_and_server_memory_stays_bounded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat = ChatApp(coalesce_interval=0.0, send_timeout=0.5, reconnect_grace=0.5)
    told = threading.Event()
    peak_backlog = 0
    produced = 0
    raw: list[RawSocket] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        nonlocal peak_backlog, produced
        mid = chat.new_id()
        chunk = "x" * 16_384
        try:
            for _ in range(3000):  # at most ~48 MB, if nothing stopped it
                chat.update_message({"content": chunk}, id=mid)
                produced += len(chunk)
                sid = raw[0].sid if raw else None
                if sid:
                    peak_backlog = max(peak_backlog, chat.server.emitter.transport.backlog(sid))
                time.sleep(0.002)
        except StopGeneration:
            told.set()
            raise

    with live_server(chat) as url, caplog.at_level(logging.WARNING, logger="gptchat"):
        # A client that reads nothing after sending its message, with a tiny receive buffer.
        stalled = RawSocket(url, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
        raw.append(stalled)
        try:
            assert stalled.connected
            stalled.emit(
                "send_message",
                {
                    "conversation_id": "conv-stall-01",
                    "messages": [{"id": "u0", "message": {"role": "user", "content": "go"}}],
                },
            )
            assert told.wait(10), "the handler was never told to stop"
        finally:
            stalled.close()
    assert "dropping a client that stopped reading" in caplog.text
    assert peak_backlog <= 40  # events queued for the socket stay capped
    assert produced < 40_000_000  # the handler was stopped, not left to run on


def test_sigterm_finishes_in_flight_replies_and_exits(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(
        textwrap.dedent(
            """
            import time
            from gptchat import ChatApp

            app = ChatApp(coalesce_interval=0.0)

            @app.handle_send_message
            def forever(messages):
                mid = app.new_id()
                while True:
                    app.update_message({"content": "."}, id=mid)
                    time.sleep(0.01)

            app.run_app(port=0)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "package")}
    proc = subprocess.Popen(
        [sys.executable, "-u", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    try:
        url = ""
        for line in proc.stdout:
            if "running on" in line:
                url = line.split("running on ")[1].split("/ ")[0].replace("localhost", "127.0.0.1")
                break
        assert url, "the server did not start"
        c = SocketClient(url)
        try:
            send(c, "go")
            c.wait_event("message_delta")
            proc.send_signal(signal.SIGTERM)
            finished = c.wait_event("run_finished", timeout=5)
            assert finished["status"] == "stopped"
            assert proc.wait(timeout=8) == 0
        finally:
            c.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_stop_callbacks_reach_a_handler_blocked_on_its_upstream(
    chat: ChatApp, client: SocketClient
) -> None:
    # What a relay adapter does: close the upstream stream (here, wake a blocked read)
    # as soon as the user presses stop, instead of waiting for the next chunk.
    from gptchat.chat_app import _current_run

    upstream_closed = threading.Event()
    woke_after: list[float] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        run = _current_run.get()
        assert run is not None
        run.on_stop(upstream_closed.set)
        chat.update_message({"role": "assistant", "content": "waiting for the model"})
        t0 = time.monotonic()
        upstream_closed.wait(5)  # a blocking read on the upstream socket
        woke_after.append(time.monotonic() - t0)

    send(client, "go")
    client.wait_event("message_delta")
    client.emit("stop", {"conversation_id": "conv-test-0001"})
    assert client.wait_event("run_finished", timeout=3)["status"] == "stopped"
    assert upstream_closed.is_set() and woke_after and woke_after[0] < 1.0


def test_tab_that_leaves_is_sent_nothing_and_its_handler_told_after_the_grace(
    chat: ChatApp, server: str
) -> None:
    told_at: list[float] = []
    emitted_to: list[tuple[str, float]] = []
    emit = chat.server.emitter._emit

    def recording_emit(event: str, payload: dict[str, Any], sid: str) -> None:
        emitted_to.append((sid, time.monotonic()))
        emit(event, payload, sid)

    chat.server.emitter._emit = recording_emit  # type: ignore[method-assign]

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        try:
            while True:
                chat.update_message({"content": "."}, id=mid)
                time.sleep(0.01)
        except StopGeneration:
            told_at.append(time.monotonic())
            raise

    c = SocketClient(server)
    send(c, "forever")
    c.wait_event("message_delta")
    sid = c.sio.get_sid()
    c.close()
    left_at = time.monotonic()
    deadline = left_at + 4
    while not told_at and time.monotonic() < deadline:
        time.sleep(0.02)
    assert told_at, "the handler was never told"
    assert told_at[0] - left_at < 1.0 + 1.0  # the fixture's 1 s grace, plus a second
    late = [t for s, t in emitted_to if s == sid and t > left_at + 0.2]
    assert late == []  # nothing is sent to a tab that is gone
