"""The outbox alone: coalescing, back-pressure and order, with an in-memory transport.

No thread and no sleep: the test holds the clock, and calls ``pump()`` where the
flusher thread would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from gptchat._outbox import Event, Outbox, RunFinished, RunSnapshot, Timeout
from gptchat._run_log import (
    Messages,
    RunLog,
    apply_delta_event,
    apply_snapshot,
    finished_messages,
)
from gptchat._transport import MemoryTransport
from gptchat.emitter import Emitter
from tests.replies import REPLY, tokens

SID = "sid-tab-1"
CONV = "conv-unit-0001"
RUN = "run-unit-0001"
MID = "msg-assistant-1"


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class TitleChanged(Event):
    """An event kind the outbox does not know, to show any kind keeps its place."""

    title: str

    def emit(self, emitter: Emitter, sid: str, conversation_id: str, run_id: str) -> None:
        emitter.transport.send(sid, "title_changed", {"conversation_id": conversation_id})


class Tab:
    """An outbox and a run log wired as a run wires them, and the transport's view."""

    def __init__(self, *, interval: float = 0.016, handler_timeout: float | None = None) -> None:
        self.clock = Clock()
        self.transport = MemoryTransport()
        self.log = RunLog(CONV, RUN)
        self.timeouts: list[Timeout] = []
        self.outbox = Outbox(
            Emitter(self.transport),
            CONV,
            RUN,
            SID,
            interval=interval,
            send_timeout=10.0,
            handler_timeout=handler_timeout,
            on_timeout=self.timeouts.append,
            on_done=lambda: None,
            clock=self.clock,
        )

    def update(self, delta: dict[str, Any], message_id: str = MID) -> bool:
        """What ``Run.update`` does: log, queue, and send from this thread when due."""
        with self.outbox.lock:
            due = self.outbox.queue_delta(message_id, self.log.append(message_id, delta), delta)
        if due:
            self.outbox.send_due()
        return due

    def stream(self, words: list[str], gap: float) -> None:
        """The handler sends ``words``, ``gap`` seconds apart."""
        for word in words:
            self.clock.now += gap
            self.update({"content": word})

    def names(self) -> list[str]:
        return [event for event, _ in self.transport.events(SID)]

    def deltas(self) -> list[dict[str, Any]]:
        return [p for e, p in self.transport.events(SID) if e == "message_delta"]

    def folded(self) -> Messages:
        """The messages as the browser folds what it received."""
        messages: Messages = {}
        for event, payload in self.transport.events(SID):
            if event == "run_snapshot":
                apply_snapshot(messages, payload)
            elif event == "message_delta":
                apply_delta_event(messages, payload)
        return messages


def test_a_flood_of_tokens_goes_out_as_one_event_per_interval() -> None:
    tab = Tab()
    words = tokens()
    assert tab.update({"role": "assistant", "content": ""})  # after a quiet gap: at once
    for word in words:
        tab.clock.now += 0.00001  # a handler calling in a loop
        assert not tab.update({"content": word})
    assert len(tab.deltas()) == 1  # the rest waits for the batch
    tab.clock.now += 0.016
    assert not tab.outbox.pump()
    first, batch = tab.deltas()
    assert (first["seq"], first["count"]) == (1, 1)
    assert (batch["seq"], batch["count"]) == (2, len(words))
    assert batch["deltas"] == [{"content": REPLY}]  # the fragments joined into one string
    assert finished_messages(tab.folded())[MID]["content"] == REPLY


def test_a_paced_model_gets_each_token_out_at_once() -> None:
    tab = Tab()
    words = tokens()[:20]
    for word in words:
        tab.clock.now += 0.010  # 100 tokens a second
        assert tab.update({"content": word})
    assert [d["count"] for d in tab.deltas()] == [1] * len(words)


def test_a_tab_that_stops_reading_is_held_back_then_dropped() -> None:
    tab = Tab()
    words = tokens()
    tab.stream(words[:32], 0.02)  # 32 events the tab never takes
    assert tab.transport.backlog(SID) == 32
    tab.stream(words[32:60], 0.02)
    assert tab.outbox.pump()  # held back: they coalesce rather than pile up
    assert len(tab.deltas()) == 32
    tab.clock.now += 9.0
    assert tab.outbox.pump()
    assert tab.transport.dropped == []
    tab.clock.now += 1.5  # behind for more than send_timeout
    assert tab.outbox.pump()
    assert tab.transport.dropped == [(SID, "stopped reading")]


def test_held_deltas_go_out_as_one_event_when_the_tab_reads_again() -> None:
    tab = Tab()
    words = tokens()
    tab.stream(words, 0.02)  # the tab reads none after the 32nd event
    tab.transport.read(SID)
    assert not tab.outbox.pump()
    last = tab.deltas()[-1]
    assert (last["seq"], last["count"]) == (33, len(words) - 32)
    assert finished_messages(tab.folded())[MID]["content"] == REPLY


def test_other_events_keep_their_place_among_the_deltas() -> None:
    tab = Tab()
    words = tokens()
    tab.update({"role": "assistant", "content": ""})
    tab.stream(words[:10], 0.00001)
    with tab.outbox.lock:
        tab.outbox.queue(TitleChanged("Deduplicating a CSV"))
    tab.stream(words[10:], 0.00001)
    with tab.outbox.lock:
        tab.outbox.close(RunFinished("done"))
    tab.outbox.send_due()
    assert tab.names() == [
        "message_delta",
        "message_delta",
        "title_changed",
        "message_delta",
        "run_finished",
    ]
    assert [(d["seq"], d["count"]) for d in tab.deltas()] == [
        (1, 1),
        (2, 10),
        (12, len(words) - 10),
    ]
    assert finished_messages(tab.folded())[MID]["content"] == REPLY


def test_the_last_event_goes_out_even_while_the_tab_is_behind() -> None:
    tab = Tab()
    tab.stream(tokens()[:32], 0.02)
    with tab.outbox.lock:
        tab.outbox.close(RunFinished("stopped"))
    assert not tab.outbox.pump()
    assert tab.names()[-1] == "run_finished"


def test_a_tab_that_resumes_gets_the_snapshot_and_no_delta_twice() -> None:
    tab = Tab()
    words = tokens()
    tab.update({"role": "assistant", "content": ""})
    tab.stream(words[:30], 0.00001)
    with tab.outbox.lock:  # a title queued behind the deltas survives the resume
        tab.outbox.queue(TitleChanged("Deduplicating a CSV"))
    tab.outbox.detach()
    with tab.outbox.lock:
        snapshot = tab.log.snapshot("running", None)
        tab.outbox.attach("sid-tab-2", RunSnapshot(snapshot))
    tab.stream(words[30:], 0.00001)
    tab.clock.now += 0.016
    tab.outbox.pump()
    second = tab.transport.events("sid-tab-2")
    assert [e for e, _ in second] == ["run_snapshot", "title_changed", "message_delta"]
    messages: Messages = {}
    apply_snapshot(messages, second[0][1])
    assert apply_delta_event(messages, second[2][1])  # it follows the snapshot exactly
    assert finished_messages(messages)[MID]["content"] == REPLY
    assert finished_messages(messages) == tab.log.messages()  # the tab has what the log has


def fold(events: list[tuple[str, Any]]) -> Messages:
    """What a reader of ``events`` holds: the snapshot, then each delta event that follows."""
    messages: Messages = {}
    for name, payload in events:
        if name == "run_snapshot":
            apply_snapshot(messages, payload)
        elif name == "message_delta":
            assert apply_delta_event(messages, payload), payload  # no gap, no overlap
    return messages


def test_a_watching_tab_gets_every_delta_after_its_snapshot_once() -> None:
    tab = Tab()
    words = tokens()
    tab.update({"role": "assistant", "content": ""})
    tab.stream(words[:20], 0.00001)  # queued, not yet sent: the batch is not due
    with tab.outbox.lock:
        tab.outbox.watch("sid-tab-2", RunSnapshot(tab.log.snapshot("running", None)))
    tab.stream(words[20:], 0.00001)
    tab.clock.now += 0.016
    tab.outbox.pump()
    first, second = tab.transport.events(SID), tab.transport.events("sid-tab-2")
    assert second[0][0] == "run_snapshot"
    # One batch straddled the snapshot: the watcher's copy starts after it.
    assert finished_messages(fold(first)) == finished_messages(fold(second)) == tab.log.messages()
    assert finished_messages(fold(second))[MID]["content"] == REPLY

    # The run's tab goes: the watcher becomes the run's tab, and gets what follows.
    tab.outbox.detach()
    assert tab.outbox.sid == "sid-tab-2" and tab.outbox.watchers == []
    with tab.outbox.lock:
        tab.outbox.close(RunFinished("done"))
    tab.outbox.pump()
    assert tab.transport.events("sid-tab-2")[-1][0] == "run_finished"
    assert tab.transport.events(SID)[-1][0] != "run_finished"


def test_a_watcher_that_closes_hears_nothing_more() -> None:
    tab = Tab()
    tab.update({"role": "assistant", "content": "Hi"})
    tab.outbox.pump()
    with tab.outbox.lock:
        tab.outbox.watch("sid-tab-2", RunSnapshot(tab.log.snapshot("running", None)))
    tab.outbox.unwatch("sid-tab-2")
    tab.clock.now += 1
    tab.update({"content": " there"})
    tab.outbox.pump()
    assert [e for e, _ in tab.transport.events("sid-tab-2")] == ["run_snapshot"]
    assert finished_messages(fold(tab.transport.events(SID)))[MID]["content"] == "Hi there"


@pytest.mark.parametrize(
    ("handler_timeout", "grace", "wait", "expected"),
    [(None, 1.0, 1.0, "stop_ignored"), (300.0, None, 300.0, "idle"), (300.0, None, 299.0, None)],
)
def test_deadlines_are_told_once(
    handler_timeout: float | None, grace: float | None, wait: float, expected: Timeout | None
) -> None:
    tab = Tab(handler_timeout=handler_timeout)
    tab.update({"role": "assistant", "content": "Let me think"})
    if grace is not None:
        tab.outbox.stop_after(grace)
    tab.clock.now += wait
    with tab.outbox.lock:
        assert tab.outbox.due_timeout() == expected
        assert tab.outbox.due_timeout() is None
