"""The outbox: what one run sends its tab, in order, coalesced, paced and watched.

Deltas are queued as the handler sends them and go out as one ``message_delta``
event per message, their text joined. A delta goes out at once when it comes
after a quiet gap (a model streaming at its own pace: each token is on screen one
frame later, not held for a batch) or when the last batch left at least
``interval`` ago; deltas closer together than that (a flood) wait for the next
batch, at most one per interval. Batches go out from the handler's own thread
when it calls while one is due (:meth:`Outbox.send_due`), otherwise from the
outbox's flusher thread.

Other events (:class:`Event`: ``run_finished`` today) are queued in the same
line: the deltas before one go out before it, those after it after it, so none
overtakes the text. The last one is queued by :meth:`Outbox.close` and sent at
once.

The flusher also keeps the run honest: it holds deltas back while the tab's
connection has a backlog (they coalesce) and drops a tab that stops reading for
``send_timeout``; it tells the run (``on_timeout``) when the handler ignored a
stop for its grace period or sent nothing for ``handler_timeout``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ._merge import fold_text_deltas
from .emitter import Emitter
from .protocol import RunStatus

if TYPE_CHECKING:
    from ._redis_log import StreamWriter

#: Events queued for one socket beyond which a run holds its deltas back.
_MAX_BACKLOG = 32
_STALL_POLL = 0.02
#: A delta that comes this long (seconds) after the previous one is sent at once: a model
#: streaming at its pace (100 tokens/s is 10 ms apart) then costs no batching delay, and
#: such sends stay under 250/s however the handler paces itself. Deltas closer together
#: (a handler calling in a loop, microseconds apart) are a flood: they are batched.
_QUIET_GAP = 0.004

#: Why the outbox gave up waiting for a handler: it ignored a stop, or went silent.
Timeout = Literal["stop_ignored", "idle"]


class Event:
    """A run's event other than a delta: sent whole, in its place among the deltas."""

    def emit(self, emitter: Emitter, sid: str, conversation_id: str, run_id: str) -> None:
        """Send it to ``sid`` with the emitter method of its kind."""
        raise NotImplementedError


@dataclass(frozen=True)
class RunStarted(Event):
    """``run_started``: sent at once when the run starts."""

    def emit(self, emitter: Emitter, sid: str, conversation_id: str, run_id: str) -> None:
        """Send it."""
        emitter.run_started(sid, conversation_id, run_id)


@dataclass(frozen=True)
class RunFinished(Event):
    """``run_finished``: the last event of a run."""

    status: RunStatus
    error: str | None = None

    def emit(self, emitter: Emitter, sid: str, conversation_id: str, run_id: str) -> None:
        """Send it."""
        emitter.run_finished(sid, conversation_id, run_id, self.status, self.error)


@dataclass(frozen=True)
class RunSnapshot(Event):
    """``run_snapshot``: the run so far, for a tab that (re)connects."""

    payload: dict[str, Any]

    def emit(self, emitter: Emitter, sid: str, conversation_id: str, run_id: str) -> None:
        """Send it."""
        emitter.run_snapshot(sid, self.payload)


# A delta is queued as a plain (message_id, seq, delta) tuple, not an object: it is the
# hot path (a handler may call update_message() per token, hundreds of thousands a second).
_Item = tuple[str, int, Mapping[str, Any]] | Event


class Outbox:
    """The queue of one run's events to its tab, and the thread that sends it.

    Methods named "under the lock" expect the caller to hold :attr:`lock` (the
    run's, which also guards its log, so that a snapshot and the queue agree).

    :param on_timeout: called from the flusher, outside the lock, when a
        deadline passed; it should end the run (:meth:`close`).
    :param on_done: called from the flusher once the last event has gone.
    :param mirror: with a message queue, gets every event queued, in order, for the
        run's stream in Redis (whatever the tab takes).
    :param clock: seconds, monotonic; a test passes its own.
    """

    def __init__(
        self,
        emitter: Emitter,
        conversation_id: str,
        run_id: str,
        sid: str | None,
        *,
        interval: float,
        send_timeout: float,
        handler_timeout: float | None = None,
        on_timeout: Callable[[Timeout], object],
        on_done: Callable[[], object],
        lock: threading.Condition | None = None,
        clock: Callable[[], float] = time.monotonic,
        mirror: StreamWriter | None = None,
    ) -> None:
        self.lock = lock if lock is not None else threading.Condition()
        self._mirror = mirror
        #: No more events may be queued: the last one is.
        self.closed = False
        self._emitter = emitter
        self._conversation_id = conversation_id
        self._run_id = run_id
        self._sid = sid
        # Other tabs showing the run (the user opened it there too): each gets every event.
        self._watchers: list[str] = []
        # Per tab, the deltas its snapshot already held (message id -> last seq): those
        # still queued are not sent to it, so no event it gets starts before its snapshot.
        self._skips: dict[str, dict[str, int]] = {}
        self._interval = interval
        self._quiet = min(_QUIET_GAP, interval)
        self._send_timeout = send_timeout
        self._handler_timeout = handler_timeout
        self._on_timeout = on_timeout
        self._on_done = on_done
        self._clock = clock
        self._pending: list[_Item] = []
        # Held while a batch is taken and sent, so batches leave in order whichever
        # thread sends them: the handler's own (when one is due) or the flusher.
        self._send_lock = threading.Lock()
        self._sent_at = -float("inf")
        self._done = False
        self._last_activity = clock()
        # Questions waiting for the user: the handler is not idle while it waits.
        self._idle_holds = 0
        self._stop_deadline: float | None = None
        self._timed_out = False
        self._stalled_since: float | None = None
        self._flusher = threading.Thread(
            target=self._flush_loop, name=f"gptchat-flush-{run_id}", daemon=True
        )

    # -- the producer's side -------------------------------------------------

    def start(self) -> None:
        """Start the flusher thread."""
        self._flusher.start()

    def send_now(self, event: Event) -> None:
        """Send ``event`` to the tab at once, ahead of anything queued."""
        with self.lock:
            if self._mirror is not None:
                self._mirror.add(event)
            if self._sid:
                event.emit(self._emitter, self._sid, self._conversation_id, self._run_id)

    def queue_delta(self, message_id: str, seq: int, delta: Mapping[str, Any]) -> bool:
        """Queue delta ``seq`` of ``message_id``, under the lock; whether a batch is due.

        When it is, the caller sends it from its own thread (:meth:`send_due`)
        once it has let go of the lock.
        """
        now = self._clock()
        quiet = now - self._last_activity >= self._quiet
        self._last_activity = now
        self._pending.append((message_id, seq, delta))
        if self._mirror is not None:
            self._mirror.add((message_id, seq, delta))
        if len(self._pending) == 1:
            self.lock.notify()
        return quiet or now - self._sent_at >= self._interval

    def queue(self, event: Event) -> None:
        """Queue ``event`` behind the deltas queued so far, under the lock."""
        self._pending.append(event)
        if self._mirror is not None:
            self._mirror.add(event)
        if len(self._pending) == 1:
            self.lock.notify()

    def close(self, last: Event) -> None:
        """Queue ``last`` as the final event, under the lock; the flusher sends it at once."""
        self._pending.append(last)
        if self._mirror is not None:
            self._mirror.add(last)
        self.closed = True
        self.lock.notify()

    def send_due(self) -> None:
        """Send what is queued from this thread, unless another thread is sending.

        A handler calling in a tight loop keeps the GIL, and a flusher thread waking
        up to send can wait for it for a long while (0.2 s measured): so when a batch
        is due, the handler's thread sends it itself. The flusher sends what a
        handler that went quiet leaves behind.
        """
        if self._send_lock.acquire(blocking=False):
            try:
                self._send_pending()
            finally:
                self._send_lock.release()

    # -- the tab's side ------------------------------------------------------

    @property
    def sid(self) -> str | None:
        """The socket the outbox sends to, or None while its tab is away."""
        return self._sid

    @property
    def watchers(self) -> list[str]:
        """The other tabs the outbox sends to."""
        with self.lock:
            return list(self._watchers)

    def detach(self) -> None:
        """The tab went away: a tab watching takes its place, else nothing is sent."""
        with self.lock:
            old, self._sid = self._sid, None
            if old is not None:
                self._skips.pop(old, None)
            if self._watchers:
                self._sid = self._watchers.pop(0)

    def watch(self, sid: str, snapshot: RunSnapshot) -> None:
        """Send to ``sid`` too (another tab shows the run), under the lock: ``snapshot``
        first, then every event, as the run's own tab gets them."""
        snapshot.emit(self._emitter, sid, self._conversation_id, self._run_id)
        self._skips[sid] = {m["message_id"]: m["seq"] for m in snapshot.payload["messages"]}
        if sid != self._sid and sid not in self._watchers:
            self._watchers.append(sid)

    def unwatch(self, sid: str) -> None:
        """``sid`` closed: send it nothing more (it is not the run's own tab)."""
        with self.lock:
            if sid in self._watchers:
                self._watchers.remove(sid)
                self._skips.pop(sid, None)

    def attach(self, sid: str, snapshot: RunSnapshot) -> None:
        """Make ``sid`` the tab, under the lock: ``snapshot`` first, then what comes.

        The queued deltas are in the snapshot: they are not sent to it again, so
        no event straddles the snapshot (events are applied whole). Other queued
        events still go, in order.
        """
        if sid in self._watchers:
            self._watchers.remove(sid)
        self._sid = sid
        self._skips.pop(sid, None)
        snapshot.emit(self._emitter, sid, self._conversation_id, self._run_id)
        # Watchers did not have these yet: they stay queued, and this tab skips them.
        if self._watchers:
            self._skips[sid] = {m["message_id"]: m["seq"] for m in snapshot.payload["messages"]}
        else:
            self._pending = [item for item in self._pending if not isinstance(item, tuple)]

    def hold_idle(self, held: bool) -> None:
        """A wait for the user begins (``held``) or ends: it is not the handler's silence.

        ``handler_timeout`` counts from the end of the last wait.
        """
        with self.lock:
            self._idle_holds += 1 if held else -1
            self._last_activity = self._clock()
            self.lock.notify()

    def stop_after(self, grace: float) -> None:
        """A stop was asked: ``on_timeout("stop_ignored")`` if the run is open ``grace`` s on."""
        with self.lock:
            if self._stop_deadline is None:
                self._stop_deadline = self._clock() + grace
            self.lock.notify()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the flusher has sent everything; whether it has."""
        self._flusher.join(timeout)
        return not self._flusher.is_alive()

    # -- the flusher ---------------------------------------------------------

    def due_timeout(self) -> Timeout | None:
        """The deadline that passed, if any (each is told once); under the lock."""
        if self._timed_out:
            return None
        now = self._clock()
        if self._stop_deadline is not None and now >= self._stop_deadline:
            self._timed_out = True
            return "stop_ignored"
        idle = self._idle_deadline()
        if idle is None or now < idle:
            return None
        self._timed_out = True
        return "idle"

    def pump(self) -> bool:
        """Send what is queued now, unless the tab is not reading; whether it held back.

        Held-back deltas wait here, where they coalesce into fewer events; a tab
        that stays behind for ``send_timeout`` is dropped.
        """
        with self._send_lock:
            held = self._send_pending()
        if not held:
            self._stalled_since = None
            return False
        now = self._clock()
        if self._stalled_since is None:
            self._stalled_since = now
        if now - self._stalled_since > self._send_timeout:
            sid = self._sid
            if sid:
                self._emitter.transport.drop(sid, "stopped reading")
            self._stalled_since = None
        return True

    def _flush_loop(self) -> None:
        while True:
            timeout = self._wait_for_work()
            if timeout is not None:
                self._on_timeout(timeout)  # the run ends: close() queues its last event
            self._wait_until_due()
            if self.pump():
                time.sleep(_STALL_POLL)
                continue
            if self._done:
                self._on_done()
                return

    def _wait_for_work(self) -> Timeout | None:
        with self.lock:
            while not self._pending and not self.closed:
                timeout = self.due_timeout()
                if timeout is not None:
                    return timeout
                self.lock.wait(self._wait_time())
        return None

    def _wait_until_due(self) -> None:
        # Coalesce: what arrives until the batch is due goes out as one event per
        # message; a run that ends sends what it has at once.
        with self.lock:
            while not self.closed:
                delay = self._sent_at + self._interval - self._clock()
                if delay <= 0:
                    break
                self.lock.wait(delay)

    def _wait_time(self) -> float | None:
        if self._timed_out:
            return None
        deadlines = [d for d in (self._stop_deadline, self._idle_deadline()) if d is not None]
        return max(0.0, min(deadlines) - self._clock()) if deadlines else None

    def _idle_deadline(self) -> float | None:
        if self._handler_timeout is None or self._idle_holds > 0:
            return None
        return self._last_activity + self._handler_timeout

    def _send_pending(self) -> bool:
        """Send the queued events; under ``_send_lock``. Whether they were held back."""
        with self.lock:
            batch, self._pending = self._pending, []
            sid = self._sid
            watchers = list(self._watchers)
            skips = {s: self._skips[s] for s in (sid, *watchers) if s in self._skips}
            last = self.closed
        deltas = any(isinstance(item, tuple) for item in batch)
        if sid and deltas and self._emitter.transport.backlog(sid) >= _MAX_BACKLOG:
            with self.lock:
                self._pending[:0] = batch
            return True
        if sid and batch:
            self._send(sid, batch, skips.get(sid))
            for watcher in watchers:
                self._send(watcher, batch, skips.get(watcher))
            if deltas:
                self._sent_at = self._clock()
        if last:
            self._done = True
        return False

    def _send(self, sid: str, batch: list[_Item], skip: Mapping[str, int] | None = None) -> None:
        groups: dict[str, tuple[int, list[Mapping[str, Any]]]] = {}
        for item in batch:
            if isinstance(item, tuple):
                message_id, seq, delta = item
                if skip and seq <= skip.get(message_id, 0):
                    continue  # in the snapshot this tab started from
                group = groups.get(message_id)
                if group is None:
                    groups[message_id] = (seq, [delta])
                else:
                    group[1].append(delta)
            else:
                self._send_deltas(sid, groups)  # the text before the event goes first
                groups = {}
                item.emit(self._emitter, sid, self._conversation_id, self._run_id)
        self._send_deltas(sid, groups)

    def _send_deltas(
        self, sid: str, groups: dict[str, tuple[int, list[Mapping[str, Any]]]]
    ) -> None:
        for message_id, (first_seq, deltas) in groups.items():
            # A burst of text fragments goes out as one string: a handler calling
            # update_message() per token costs one small event per interval, not a list
            # of thousands of tiny objects to encode, send and decode.
            self._emitter.message_delta(
                sid,
                self._conversation_id,
                self._run_id,
                message_id,
                first_seq,
                len(deltas),
                fold_text_deltas(deltas),
            )
