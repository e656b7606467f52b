"""When deltas leave the server: a paced token at once, a flood in batches, the end at once.

Through a real server on 127.0.0.1 and a real Socket.IO client. The coalescing interval
is 30 s, so a delta held for a batch could never arrive while a test waits: what is
asserted is which events exist and in which order, never how fast they came. A paced
handler sleeps PACE between tokens, as a model streaming 50 tokens/s would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gptchat import ChatApp
from tests.replies import REPLY, tokens
from tests.support import SocketClient, fold_messages, live_server, send

INTERVAL = 30.0
PACE = 0.02


@pytest.fixture
def slow_batches() -> ChatApp:
    return ChatApp(coalesce_interval=INTERVAL, reconnect_grace=1.0)


@pytest.fixture
def batch_client(slow_batches: ChatApp) -> Iterator[SocketClient]:
    with live_server(slow_batches) as url:
        c = SocketClient(url)
        yield c
        c.close()


def deltas_of(client: SocketClient) -> list[dict[str, Any]]:
    return client.named("message_delta")


def text_of(event: dict[str, Any]) -> str:
    return "".join(d.get("content") or "" for d in event["deltas"])


def test_a_delta_after_a_quiet_gap_is_sent_at_once(
    slow_batches: ChatApp, batch_client: SocketClient
) -> None:
    # A model streaming at its own pace: each token comes only once the one before it
    # has reached the tab, so every token follows a gap. None may wait for a batch.
    pieces = tokens()[:12]
    arrived = [threading.Event() for _ in pieces]

    @slow_batches.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = slow_batches.new_id()
        slow_batches.update_message({"role": "assistant", "content": pieces[0]}, id=mid)
        for i, piece in enumerate(pieces[1:], start=1):
            assert arrived[i - 1].wait(15), f"token {i - 1} never reached the tab"
            time.sleep(PACE)
            slow_batches.update_message({"content": piece}, id=mid)

    send(batch_client, "Speed up my CSV import")
    for i in range(len(pieces)):
        # The token is there, alone in its event, before the handler makes the next one.
        batch_client.wait_for(
            lambda ev, n=i + 1: len([e for e, _ in ev if e == "message_delta"]) >= n
        )
        event = deltas_of(batch_client)[i]
        assert (event["seq"], event["count"], text_of(event)) == (i + 1, 1, pieces[i])
        arrived[i].set()
    finished = batch_client.wait_event("run_finished")
    assert finished["status"] == "done"
    (message,) = fold_messages(deltas_of(batch_client)).values()
    assert message == {"role": "assistant", "content": "".join(pieces)}
    assert len(deltas_of(batch_client)) == len(pieces)


def test_a_flood_is_batched_and_its_last_batch_leaves_when_the_handler_returns(
    slow_batches: ChatApp, batch_client: SocketClient
) -> None:
    # A handler that calls update_message in a tight loop and returns: its first delta
    # goes at once, the rest gather into one batch, which must not wait for the interval.
    pieces = tokens()
    returned = threading.Event()

    @slow_batches.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = slow_batches.new_id()
        slow_batches.update_message({"role": "assistant", "content": ""}, id=mid)
        for piece in pieces:
            slow_batches.update_message({"content": piece}, id=mid)
        returned.set()

    send(batch_client, "Speed up my CSV import")
    finished = batch_client.wait_event("run_finished")
    assert returned.is_set()
    assert finished["status"] == "done"
    events = deltas_of(batch_client)
    # One event for the first delta, one for the whole rest: a flood is still coalesced.
    assert [(e["seq"], e["count"]) for e in events] == [(1, 1), (2, len(pieces))]
    assert text_of(events[1]) == REPLY
    (message,) = fold_messages(events).values()
    assert message == {"role": "assistant", "content": REPLY}
    # And the run's end came after its last delta, not before.
    names = [e for e, _ in batch_client.events if e in ("message_delta", "run_finished")]
    assert names == ["message_delta", "message_delta", "run_finished"]


def test_a_stream_that_pauses_then_ends_sends_its_end_at_once(
    slow_batches: ChatApp, batch_client: SocketClient
) -> None:
    # Paced tokens, then a burst of the rest (the model caught up), then the handler
    # returns: the paced ones arrive alone, the burst's first at once, its rest with the end.
    pieces = tokens()
    paced, burst = pieces[:3], pieces[3:]
    arrived = [threading.Event() for _ in paced]

    @slow_batches.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = slow_batches.new_id()
        for i, piece in enumerate(paced):
            if i:
                assert arrived[i - 1].wait(15)
                time.sleep(PACE)
            slow_batches.update_message({"role": "assistant", "content": piece}, id=mid)
        assert arrived[-1].wait(15)
        time.sleep(PACE)
        for piece in burst:
            slow_batches.update_message({"content": piece}, id=mid)

    send(batch_client, "Speed up my CSV import")
    for i in range(len(paced)):
        batch_client.wait_for(
            lambda ev, n=i + 1: len([e for e, _ in ev if e == "message_delta"]) >= n
        )
        arrived[i].set()
    batch_client.wait_event("run_finished")
    events = deltas_of(batch_client)
    assert [(e["seq"], e["count"]) for e in events] == [
        (1, 1),
        (2, 1),
        (3, 1),
        (4, 1),  # the burst's first delta follows a gap: at once
        (5, len(burst) - 1),  # the rest is one batch, sent as the handler returned
    ]
    (message,) = fold_messages(events).values()
    assert message == {"role": "assistant", "content": REPLY}
