"""The run log: a run's messages, as deltas numbered per message; pure, no threads or time.

The server appends each delta a handler sends (:meth:`RunLog.append`) and gives a
tab that (re)connects the :meth:`RunLog.snapshot`. A reader of the events (the
browser's reducer in ``client/src/core/conversation.ts``, the tests, the fixture
writer) folds them back with :func:`apply_delta_event` and :func:`apply_snapshot`,
the one rule on both sides: an event is applied whole, and only when its ``seq``
follows the last one applied, so a duplicate is dropped and a gap waits for a
snapshot. :class:`RunLog` keeps a run's log in its process; with a message queue the
run's events are also written to Redis (``_redis_log``), where a reader in another
process folds them with the same two functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._merge import compact, finish_message, merge_delta, new_message
from .protocol import RunStatus


@dataclass
class MessageState:
    """One message folded so far: its accumulator and the last delta number in it."""

    acc: dict[str, Any] = field(default_factory=new_message)
    seq: int = 0


#: Messages by id, in the order they first appeared.
Messages = dict[str, MessageState]


def apply_delta_event(messages: Messages, event: Mapping[str, Any]) -> bool:
    """Apply a ``message_delta`` payload whole if its ``seq`` follows; whether it did.

    A message is started only by its first delta (``seq`` 1): one that started
    before the reader came is brought by a snapshot.
    """
    message_id = event["message_id"]
    state = messages.get(message_id)
    if state is None:
        if event["seq"] != 1:
            return False
        state = messages[message_id] = MessageState()
    if event["seq"] != state.seq + 1:
        return False
    for delta in event["deltas"]:
        merge_delta(state.acc, delta)
    state.seq += event["count"]
    return True


def apply_snapshot(messages: Messages, snapshot: Mapping[str, Any]) -> None:
    """Take the messages of a ``run_snapshot`` payload that are ahead of what is held."""
    for snap in snapshot["messages"]:
        state = messages.get(snap["message_id"])
        if state is None:
            state = messages[snap["message_id"]] = MessageState()
        if snap["seq"] > state.seq:
            state.acc = new_message()
            merge_delta(state.acc, snap["message"])
            state.seq = snap["seq"]


def snapshot_payload(
    conversation_id: str,
    run_id: str,
    messages: Messages,
    status: RunStatus,
    error: str | None,
) -> dict[str, Any]:
    """The ``run_snapshot`` payload of ``messages``: each message so far and its last ``seq``.

    Example::

        snapshot_payload("conv-0001", run_id, messages, "running", None)
    """
    return {
        "conversation_id": conversation_id,
        "run_id": run_id,
        "status": status,
        "error": error,
        "messages": [
            {
                "message_id": mid,
                "seq": st.seq,
                "message": finish_message(st.acc, keep_index=True),
            }
            for mid, st in messages.items()
        ],
    }


def finished_messages(messages: Messages) -> dict[str, dict[str, Any]]:
    """Each message as a plain OpenAI message, by id."""
    return {mid: finish_message(state.acc) for mid, state in messages.items()}


class RunLog:
    """The messages of one run, kept in memory.

    The interface a shared log implements: :meth:`append` (a delta's place is
    its message id and the ``seq`` returned), :meth:`snapshot`, :meth:`messages`
    and :meth:`compact`. Not thread-safe: the run calls it under its lock.
    """

    def __init__(self, conversation_id: str, run_id: str) -> None:
        self.conversation_id = conversation_id
        self.run_id = run_id
        self._messages: Messages = {}

    def append(self, message_id: str, delta: Mapping[str, Any]) -> int:
        """Merge ``delta`` into message ``message_id``; returns its ``seq`` there (from 1)."""
        state = self._messages.get(message_id)
        if state is None:
            state = self._messages[message_id] = MessageState()
        merge_delta(state.acc, delta)
        state.seq += 1
        return state.seq

    def snapshot(self, status: RunStatus, error: str | None) -> dict[str, Any]:
        """The ``run_snapshot`` payload: every message so far and its last ``seq``."""
        return snapshot_payload(self.conversation_id, self.run_id, self._messages, status, error)

    def messages(self) -> dict[str, dict[str, Any]]:
        """Each message so far as a plain OpenAI message, by id."""
        return finished_messages(self._messages)

    def compact(self) -> None:
        """Join the text fragments held, once no more deltas come (the run is kept a while)."""
        for state in self._messages.values():
            compact(state.acc)
