"""Runs: one execution of the handler for one conversation, and the registry of them.

A :class:`Run` is where the server keeps the in-flight reply: every delta is
merged into its message (so a tab that reconnects gets a snapshot) and queued
for the tab (so bursts are coalesced into one event per message, their text
joined). A delta goes out at once when it comes after a quiet gap (a model
streaming at its own pace: each token is on screen one frame later, not held
for a batch) or when the last event left at least ``coalesce_interval`` ago;
deltas closer together than that (a flood) wait for the next batch, at most
one per interval. Batches go out from the handler's own thread when it calls
while one is due, otherwise from the run's flusher thread. When the handler
returns, what is queued goes out at once, then the ``run_finished`` event.

The flusher also keeps the run honest: it holds deltas back while the tab's
connection has a backlog (they coalesce) and drops a tab that stops reading for
``send_timeout``; it ends a run whose handler ignores a stop for a second or
sends nothing for ``handler_timeout``, keeping the text so far.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from ._merge import fold_text_deltas
from ._run_log import RunLog
from .emitter import Emitter
from .errors import StopGeneration
from .protocol import RunStatus

log = logging.getLogger("gptchat")

#: Events queued for one socket beyond which a run holds its deltas back.
_MAX_BACKLOG = 32
_STALL_POLL = 0.02
#: A delta that comes this long (seconds) after the previous one is sent at once: a model
#: streaming at its pace (100 tokens/s is 10 ms apart) then costs no batching delay, and
#: such sends stay under 250/s however the handler paces itself. Deltas closer together
#: (a handler calling in a loop, microseconds apart) are a flood: they are batched.
_QUIET_GAP = 0.004


class Run:
    """One handler run: its messages, its stop flag and its outbound queue."""

    def __init__(
        self,
        conversation_id: str,
        client_key: str,
        sid: str,
        emitter: Emitter,
        coalesce_interval: float,
        *,
        handler_timeout: float | None = None,
        send_timeout: float = 10.0,
    ) -> None:
        self.conversation_id = conversation_id
        self.client_key = client_key
        self.run_id = secrets.token_urlsafe(12)
        self.status: RunStatus = "running"
        self.error: str | None = None
        self.finished_at: float | None = None
        self._sid: str | None = sid
        self._emitter = emitter
        self._interval = coalesce_interval
        self._quiet = min(_QUIET_GAP, coalesce_interval)
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._log = RunLog(conversation_id, self.run_id)
        self._pending: list[tuple[str, int, dict[str, Any]]] = []
        # Held while a batch is taken and sent, so batches leave in order whichever
        # thread sends them: the handler's own (when one is due) or the flusher.
        self._send_lock = threading.Lock()
        self._sent_at = -float("inf")
        self._closed = False
        self._handler_timeout = handler_timeout
        self._send_timeout = send_timeout
        self._last_activity = time.monotonic()
        self._stop_deadline: float | None = None
        self._on_stop: list[Callable[[], object]] = []
        self._on_stop_lock = threading.Lock()
        self._flusher = threading.Thread(
            target=self._flush_loop, name=f"gptchat-flush-{self.run_id}", daemon=True
        )

    # -- called by the handler thread ---------------------------------------

    def start(self) -> None:
        """Announce the run to its tab and start sending."""
        with self._cond:
            if self._sid:
                self._emitter.run_started(self._sid, self.conversation_id, self.run_id)
        self._flusher.start()

    def update(self, message_id: str, delta: dict[str, Any]) -> None:
        """Merge ``delta`` into message ``message_id`` and queue it for the tab."""
        if self._stop.is_set():
            raise StopGeneration("the user stopped this reply")
        with self._cond:
            if self._closed:
                raise StopGeneration("this reply has already ended")
            now = time.monotonic()
            quiet = now - self._last_activity >= self._quiet
            self._last_activity = now
            seq = self._log.append(message_id, delta)
            self._pending.append((message_id, seq, delta))
            if len(self._pending) == 1:
                self._cond.notify()
        # A handler calling in a tight loop keeps the GIL, and a flusher thread waking up
        # to send can wait for it for a long while (0.2 s measured): so when a batch is
        # due, or the delta came after a quiet gap, the handler's thread sends it itself.
        # The flusher sends what a handler that went quiet leaves behind.
        if quiet or now - self._sent_at >= self._interval:
            self._try_send()

    def _try_send(self) -> None:
        """Send what is queued from this thread, unless another thread is sending."""
        if self._send_lock.acquire(blocking=False):
            try:
                self._send_pending(finishing=False)
            finally:
                self._send_lock.release()

    def finish(self, status: RunStatus, error: str | None = None) -> bool:
        """End the run: what is queued is sent at once, then ``run_finished``.

        Only the first call counts (the run may have been ended for its handler,
        by a timeout, a stop it ignored or a shutdown); returns whether this one did.
        """
        with self._cond:
            if self._closed:
                return False
            self.status = status
            self.error = error
            self.finished_at = time.monotonic()
            self._closed = True
            self._cond.notify()
        # The reply's last words do not wait for the next batch: from this thread (the
        # handler's, done with its work) rather than after the flusher wakes up. The
        # flusher then sends run_finished, at once too.
        self._try_send()
        return True

    # -- called from socket events -------------------------------------------

    @property
    def sid(self) -> str | None:
        """The socket the run sends to, or None while its tab is away."""
        return self._sid

    def stop_requested(self) -> bool:
        """Whether the user pressed stop (or left for good)."""
        return self._stop.is_set()

    def request_stop(self, grace: float = 1.0) -> None:
        """Make the next ``update()`` raise :class:`StopGeneration`.

        If the handler has not ended ``grace`` seconds later (it is blocked and
        not calling ``update()``), the run ends as *stopped* anyway, so the tab
        is free again; the handler still gets the exception on its next update.
        """
        self._stop.set()
        with self._cond:
            if self._stop_deadline is None:
                self._stop_deadline = time.monotonic() + grace
            self._cond.notify()
        self._fire_on_stop()

    def on_stop(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once when the run is told to stop (stop, leave, timeout,
        shutdown), from another thread; at once if it already was.

        For handler adapters: cancel an asyncio task, close a relayed upstream
        stream, so a handler blocked waiting for the model hears of it at once.
        """
        with self._on_stop_lock:
            self._on_stop.append(callback)
        if self._stop.is_set():
            self._fire_on_stop()

    def _fire_on_stop(self) -> None:
        with self._on_stop_lock:
            callbacks, self._on_stop = self._on_stop, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("a stop callback raised")

    def detach(self) -> None:
        """The tab went away: keep everything, send nothing."""
        with self._cond:
            self._sid = None

    def attach(self, sid: str) -> None:
        """Send the run so far to ``sid`` and make it the run's tab.

        Done under the lock so that every delta queued after the snapshot goes to
        the new tab after it. What was queued before is in the snapshot: it is not
        sent again, so no event straddles the snapshot (events are applied whole).
        """
        with self._cond:
            self._sid = sid
            self._emitter.run_snapshot(sid, self._log.snapshot(self.status, self.error))
            self._pending.clear()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flusher has sent everything; for tests and shutdown."""
        self._flusher.join(timeout)
        return not self._flusher.is_alive()

    def _flush_loop(self) -> None:
        stalled_since: float | None = None
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    if self._expire():
                        break
                    self._cond.wait(self._wait_time())
            if self._stop.is_set():
                self._fire_on_stop()  # after a timeout decided under the lock
            # Coalesce: what arrives until the batch is due goes out as one event per
            # message; a run that ends sends what it has at once.
            with self._cond:
                while not self._closed:
                    delay = self._sent_at + self._interval - time.monotonic()
                    if delay <= 0:
                        break
                    self._cond.wait(delay)
            with self._send_lock:
                sent, done = self._send_pending(finishing=True)
            if sent is None:
                # The tab is not reading: the deltas wait here, where they coalesce into
                # fewer events, and the tab is dropped if it stays stalled.
                now = time.monotonic()
                stalled_since = stalled_since or now
                if now - stalled_since > self._send_timeout:
                    sid = self._sid
                    if sid:
                        self._emitter.transport.drop(sid, "stopped reading")
                    stalled_since = None
                time.sleep(_STALL_POLL)
                continue
            stalled_since = None
            if done:
                with self._cond:  # the run is kept for a while: as strings, not fragments
                    self._log.compact()
                return

    def _send_pending(self, finishing: bool) -> tuple[bool | None, bool]:
        """Send the queued deltas; under ``_send_lock``.

        Returns whether a batch went out (None: held back, the tab is not reading)
        and, when ``finishing`` (the flusher), whether the run is over and
        ``run_finished`` was sent.
        """
        with self._cond:
            batch, self._pending = self._pending, []
            sid = self._sid
            done = finishing and self._closed and not batch
        if sid and batch and self._emitter.transport.backlog(sid) >= _MAX_BACKLOG:
            with self._cond:
                self._pending[:0] = batch
            return None, False
        if sid and batch:
            self._send(sid, batch)
            self._sent_at = time.monotonic()
        if done and sid:
            self._emitter.run_finished(
                sid, self.conversation_id, self.run_id, self.status, self.error
            )
        return bool(batch), done

    def _wait_time(self) -> float | None:
        deadlines = [d for d in (self._stop_deadline, self._idle_deadline()) if d is not None]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _idle_deadline(self) -> float | None:
        if self._handler_timeout is None:
            return None
        return self._last_activity + self._handler_timeout

    def _expire(self) -> bool:
        """End the run for a handler that ignores a stop or went silent; under the lock."""
        now = time.monotonic()
        if self._stop_deadline is not None and now >= self._stop_deadline:
            self.status, self.error = "stopped", None
        else:
            idle = self._idle_deadline()
            if idle is None or now < idle:
                return False
            self.status = "error"
            self.error = (
                f"timeout: the handler sent nothing for {self._handler_timeout:g} s; "
                "the reply is incomplete"
            )
            self._stop.set()
        self.finished_at = now
        self._closed = True
        return True

    def _send(self, sid: str, batch: list[tuple[str, int, dict[str, Any]]]) -> None:
        groups: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        for message_id, seq, delta in batch:
            group = groups.get(message_id)
            if group is None:
                groups[message_id] = (seq, [delta])
            else:
                group[1].append(delta)
        for message_id, (first_seq, deltas) in groups.items():
            # A burst of text fragments goes out as one string: a handler calling
            # update_message() per token costs one small event per interval, not a list
            # of thousands of tiny objects to encode, send and decode.
            self._emitter.message_delta(
                sid,
                self.conversation_id,
                self.run_id,
                message_id,
                first_seq,
                len(deltas),
                fold_text_deltas(deltas),
            )


class BusyError(Exception):
    """The conversation already has a running reply."""


class TooManyRunsError(Exception):
    """The connection has as many running replies as it may."""


class RunRegistry:
    """The current or last run of every conversation on this server."""

    def __init__(
        self,
        emitter: Emitter,
        *,
        reconnect_grace: float,
        coalesce_interval: float,
        handler_timeout: float | None = None,
        send_timeout: float = 10.0,
        keep_finished: float = 600.0,
    ) -> None:
        self._emitter = emitter
        self._grace = reconnect_grace
        self._interval = coalesce_interval
        self._handler_timeout = handler_timeout
        self._send_timeout = send_timeout
        self._keep = keep_finished
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}

    def start(
        self, conversation_id: str, client_key: str, sid: str, max_per_sid: int | None = None
    ) -> Run:
        """Create and start a run.

        :raises BusyError: if the conversation is generating already.
        :raises TooManyRunsError: if ``sid`` has ``max_per_sid`` runs going.
        :raises PermissionError: if the conversation belongs to another client.
        """
        with self._lock:
            self._forget_old()
            old = self._runs.get(conversation_id)
            if old is not None and not secrets.compare_digest(old.client_key, client_key):
                raise PermissionError("conversation belongs to another client")
            if old is not None and old.status == "running":
                raise BusyError("this conversation is already generating a reply")
            if max_per_sid is not None:
                mine = sum(1 for r in self._runs.values() if r.status == "running" and r.sid == sid)
                if mine >= max_per_sid:
                    raise TooManyRunsError(
                        f"too many replies at once on this connection (limit {max_per_sid}); "
                        "wait for one to finish or stop it"
                    )
            run = Run(
                conversation_id,
                client_key,
                sid,
                self._emitter,
                self._interval,
                handler_timeout=self._handler_timeout,
                send_timeout=self._send_timeout,
            )
            self._runs[conversation_id] = run
        run.start()
        return run

    def get(self, conversation_id: str, client_key: str) -> Run | None:
        """The conversation's run, if it exists and belongs to ``client_key``."""
        with self._lock:
            run = self._runs.get(conversation_id)
        if run is None or not secrets.compare_digest(run.client_key, client_key):
            return None
        return run

    def running(self) -> list[Run]:
        """Runs still generating."""
        with self._lock:
            return [r for r in self._runs.values() if r.status == "running"]

    def disconnected(self, sid: str) -> None:
        """A socket closed: detach its runs, and stop those nobody resumes in time."""
        for run in self.running():
            if run.sid == sid:
                run.detach()
                timer = threading.Timer(self._grace, self._abandon_if_detached, args=(run,))
                timer.daemon = True
                timer.start()

    @staticmethod
    def _abandon_if_detached(run: Run) -> None:
        if run.sid is None and run.status == "running":
            run.request_stop()

    def _forget_old(self) -> None:
        now = time.monotonic()
        stale = [
            cid
            for cid, run in self._runs.items()
            if run.finished_at is not None and now - run.finished_at > self._keep
        ]
        for cid in stale:
            del self._runs[cid]
