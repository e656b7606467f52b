"""A run's events in a Redis Stream: written by the process running it, folded by others.

The :class:`StreamWriter` of a run gets every event its outbox queues (the
deltas with their ``seq``, ``run_started``, ``run_finished``), in order, and
appends them from a thread of its own, coalesced as the outbox coalesces them
for a tab (one ``message_delta`` entry per message per batch), so the handler
never waits for Redis. Every entry is a protocol event: ``e`` its name, ``p``
its JSON payload. Every ``snapshot_every`` entries, and after Redis lost the
stream, it appends a snapshot of the whole run (``gptchat:snapshot``): the
stream is trimmed (``MAXLEN``) and may be lost in a Redis restart, and a reader
starts from the last snapshot. Once the run has ended (and, with a store, its
messages are kept: ``gptchat:kept``), the stream expires after ``ttl`` seconds.

:class:`FoldedRun` is the reader's side: it folds entries with the run log's
rules (``_run_log.apply_delta_event``), so a duplicate is dropped and a gap
waits for the next snapshot, and says which events to pass on to a tab.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

from ._merge import fold_text_deltas
from ._outbox import Event, RunFinished
from ._redis_bus import PREFIX
from ._run_log import Messages, apply_delta_event, apply_snapshot, snapshot_payload
from .emitter import Emitter
from .protocol import RunStatus, ServerEvent

log = logging.getLogger("gptchat")

SNAPSHOT = "gptchat:snapshot"
KEPT = "gptchat:kept"
#: Entries a stream keeps at least (trimmed beyond, roughly).
MAXLEN = 5000
#: A snapshot entry every this many entries: a reader folds at most this many.
SNAPSHOT_EVERY = 200

#: What the outbox queues: a delta as (message id, seq, delta), or an event.
Item = tuple[str, int, Mapping[str, Any]] | Event


def log_key(run_id: str) -> str:
    """The stream that holds run ``run_id``'s events."""
    return f"{PREFIX}log:{run_id}"


class _Capture:
    """A transport that keeps the one event an :class:`Event` emits: its name and payload."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, sid: str, event: str, payload: dict[str, Any]) -> None:
        self.sent.append((event, payload))

    def backlog(self, sid: str) -> int:
        return 0

    def drop(self, sid: str, why: str) -> None:
        pass

    def drain(self, timeout: float) -> bool:
        return True


def entries_of(items: list[Item], conversation_id: str, run_id: str) -> list[tuple[str, Any]]:
    """The stream entries (event name, payload) for ``items``: deltas grouped per message,
    their text joined, in the order the outbox would send them."""
    capture = _Capture()
    emitter = Emitter(capture)
    groups: dict[str, tuple[int, list[Mapping[str, Any]]]] = {}

    def flush() -> None:
        for message_id, (first_seq, deltas) in groups.items():
            emitter.message_delta(
                "-", conversation_id, run_id, message_id, first_seq, len(deltas),
                fold_text_deltas(deltas),
            )  # fmt: skip
        groups.clear()

    for item in items:
        if isinstance(item, tuple):
            message_id, seq, delta = item
            group = groups.get(message_id)
            if group is None:
                groups[message_id] = (seq, [delta])
            else:
                group[1].append(delta)
        else:
            flush()
            item.emit(emitter, "-", conversation_id, run_id)
    flush()
    return list(capture.sent)


class StreamWriter:
    """Appends one run's events to its stream, from a thread of its own.

    :meth:`add` is called under the run's lock (``lock``), as the outbox queues
    each event; ``snapshot()`` is called under it too and gives the run's
    ``run_snapshot`` payload as of the events added so far.

    :param kept: set once the run's messages are kept (None: no store).
    :param on_end: adds to the last pipeline what marks the run ended elsewhere.
    """

    def __init__(
        self,
        client: redis.Redis,
        conversation_id: str,
        run_id: str,
        lock: threading.Condition,
        snapshot: Callable[[], dict[str, Any]],
        *,
        ttl: float,
        kept: threading.Event | None,
        on_end: Callable[[Any], None],
    ) -> None:
        self._client = client
        self._cid = conversation_id
        self._run_id = run_id
        self._key = log_key(run_id)
        self._lock = lock
        self._snapshot = snapshot
        self._ttl = max(1, int(ttl))
        self._kept = kept
        self._on_end = on_end
        self._items: list[Item] = []
        self._wake = threading.Event()
        self._resnap = False
        self._since_snapshot = 0
        self._thread = threading.Thread(
            target=self._loop, name=f"gptchat-stream-{run_id}", daemon=True
        )

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def add(self, item: Item) -> None:
        """Queue ``item`` for the stream, under the run's lock."""
        self._items.append(item)
        if len(self._items) == 1:
            self._wake.set()

    def resnap(self) -> None:
        """Redis lost the stream: write a snapshot with the next entries."""
        self._resnap = True
        self._wake.set()

    def refresh(self, pipe: Any) -> None:
        """Keep the stream for another ``ttl`` (a beat: its run is running)."""
        pipe.expire(self._key, self._ttl)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until everything is written (the run ended); whether it is."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        ended = False
        while not ended:
            self._wake.wait(1.0)
            self._wake.clear()
            with self._lock:
                items, self._items = self._items, []
                resnap = self._resnap or self._since_snapshot >= SNAPSHOT_EVERY
                snapshot = self._snapshot() if resnap and (items or self._resnap) else None
                self._resnap = False
            if not items and snapshot is None:
                continue
            entries = entries_of(items, self._cid, self._run_id)
            if snapshot is not None:
                entries.append((SNAPSHOT, snapshot))
                self._since_snapshot = 0
            else:
                self._since_snapshot += len(entries)
            ended = any(isinstance(item, RunFinished) for item in items)
            self._write(entries, ended)
        if self._kept is not None:
            self._kept.wait(30.0)
            self._write([(KEPT, {})], True)

    def _write(self, entries: list[tuple[str, Any]], ended: bool) -> None:
        backoff = 0.05
        while True:
            try:
                pipe = self._client.pipeline(transaction=False)
                for event, payload in entries:
                    fields = {"e": event, "p": json.dumps(payload, separators=(",", ":"))}
                    pipe.xadd(self._key, fields, maxlen=MAXLEN, approximate=True)  # type: ignore[arg-type]
                pipe.expire(self._key, self._ttl)
                if ended:
                    self._on_end(pipe)
                pipe.execute()
                return
            except redis.RedisError as exc:
                # Redis is away (restarting): the run goes on for its own tab; its
                # events wait here, and a snapshot follows them once Redis is back.
                log.warning(
                    "gptchat: cannot write run %s to Redis (%s); retrying", self._run_id, exc
                )
                time.sleep(backoff)
                backoff = min(backoff * 2, 0.5)
                with self._lock:
                    if entries and entries[-1][0] != SNAPSHOT:
                        entries = [*entries, (SNAPSHOT, self._snapshot())]


@dataclass
class FoldedRun:
    """A run as folded from its stream's entries, by a process that does not run it."""

    conversation_id: str
    run_id: str
    messages: Messages = field(default_factory=dict)
    status: RunStatus = "running"
    error: str | None = None
    kept: bool = False
    #: The id of the last entry folded ("0-0": none yet).
    last_id: str = "0-0"

    def fold(self, entries: list[tuple[Any, Mapping[Any, Any]]]) -> None:
        """Fold a stream read whole (``XRANGE``): from its last snapshot on."""
        start = 0
        for index, (_, fields) in enumerate(entries):
            if _text(fields.get(b"e")) == SNAPSHOT:
                start = index
        for entry_id, fields in entries[start:]:
            self.apply(entry_id, fields)
        if entries:
            self.last_id = _text(entries[-1][0])

    def apply(self, entry_id: Any, fields: Mapping[Any, Any]) -> tuple[str, Any] | None:
        """Fold one entry; the event to pass on to the tabs (None: nothing new).

        An event that ends the run ends it once; what comes after is dropped.
        """
        self.last_id = _text(entry_id)
        event = _text(fields.get(b"e"))
        try:
            payload = json.loads(fields.get(b"p") or b"null")
        except ValueError:
            return None
        if event == KEPT:
            self.kept = True
            return None
        if self.status != "running":
            return None
        if event == ServerEvent.MESSAGE_DELTA:
            return (event, payload) if apply_delta_event(self.messages, payload) else None
        if event == ServerEvent.RUN_FINISHED:
            self.status = payload["status"]
            self.error = payload.get("error")
            return event, payload
        if event == SNAPSHOT:
            before = {mid: st.seq for mid, st in self.messages.items()}
            apply_snapshot(self.messages, payload)
            after = {mid: st.seq for mid, st in self.messages.items()}
            ended = payload.get("status", "running") != "running"
            if ended:  # the run_finished before it was trimmed away, or lost
                self.status = payload["status"]
                self.error = payload.get("error")
            if after == before and not ended:
                return None  # nothing this reader did not have: the stream was whole
            return ServerEvent.RUN_SNAPSHOT, self.snapshot()
        if event == ServerEvent.RUN_STARTED:
            return event, payload
        return None

    def snapshot(self) -> dict[str, Any]:
        """The ``run_snapshot`` payload of the run as folded so far."""
        return snapshot_payload(
            self.conversation_id, self.run_id, self.messages, self.status, self.error
        )


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return "" if value is None else str(value)
