"""Runs: one execution of the handler for one conversation, and the registry of them.

A :class:`Run` is where the server keeps the in-flight reply: every delta is
merged into its message (so a tab that reconnects gets a snapshot) and queued
for the tab (so bursts are coalesced into one event per message). Each run has
one flusher thread that sends queued deltas to the tab the run is attached to
and, when the run ends, the ``run_finished`` event after the last delta.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ._merge import finish_message, merge_delta, new_message
from .emitter import Emitter
from .errors import StopGeneration
from .protocol import RunStatus


@dataclass
class _MessageState:
    acc: dict[str, Any] = field(default_factory=new_message)
    seq: int = 0


class Run:
    """One handler run: its messages, its stop flag and its outbound queue."""

    def __init__(
        self,
        conversation_id: str,
        client_key: str,
        sid: str,
        emitter: Emitter,
        coalesce_interval: float,
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
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._messages: dict[str, _MessageState] = {}
        self._pending: list[tuple[str, int, dict[str, Any]]] = []
        self._closed = False
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
            state = self._messages.get(message_id)
            if state is None:
                state = self._messages[message_id] = _MessageState()
            merge_delta(state.acc, delta)
            state.seq += 1
            self._pending.append((message_id, state.seq, delta))
            if len(self._pending) == 1:
                self._cond.notify()

    def finish(self, status: RunStatus, error: str | None = None) -> None:
        """End the run; the flusher sends what is queued, then ``run_finished``."""
        with self._cond:
            self.status = status
            self.error = error
            self.finished_at = time.monotonic()
            self._closed = True
            self._cond.notify()

    # -- called from socket events -------------------------------------------

    @property
    def sid(self) -> str | None:
        """The socket the run sends to, or None while its tab is away."""
        return self._sid

    def stop_requested(self) -> bool:
        """Whether the user pressed stop (or left for good)."""
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Make the next ``update()`` raise :class:`StopGeneration`."""
        self._stop.set()

    def detach(self) -> None:
        """The tab went away: keep everything, send nothing."""
        with self._cond:
            self._sid = None

    def attach(self, sid: str) -> None:
        """Send the run so far to ``sid`` and make it the run's tab.

        Done under the lock so that every delta queued after the snapshot goes to
        the new tab after it; deltas already in the snapshot that still reach the
        tab carry old sequence numbers and are dropped there.
        """
        with self._cond:
            self._sid = sid
            self._emitter.run_snapshot(sid, self._snapshot())

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flusher has sent everything; for tests and shutdown."""
        self._flusher.join(timeout)
        return not self._flusher.is_alive()

    def _snapshot(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "run_id": self.run_id,
            "status": self.status,
            "error": self.error,
            "messages": [
                {
                    "message_id": mid,
                    "seq": st.seq,
                    "message": finish_message(st.acc, keep_index=True),
                }
                for mid, st in self._messages.items()
            ],
        }

    def _flush_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                batch, self._pending = self._pending, []
                sid = self._sid
                done = self._closed and not batch
            if sid and batch:
                self._send(sid, batch)
            if done:
                if sid:
                    self._emitter.run_finished(
                        sid, self.conversation_id, self.run_id, self.status, self.error
                    )
                return
            if batch and self._interval > 0:
                # Coalesce: what arrives while we wait goes out as one event per message.
                time.sleep(self._interval)

    def _send(self, sid: str, batch: list[tuple[str, int, dict[str, Any]]]) -> None:
        groups: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        for message_id, seq, delta in batch:
            group = groups.get(message_id)
            if group is None:
                groups[message_id] = (seq, [delta])
            else:
                group[1].append(delta)
        for message_id, (first_seq, deltas) in groups.items():
            self._emitter.message_delta(
                sid, self.conversation_id, self.run_id, message_id, first_seq, deltas
            )


class BusyError(Exception):
    """The conversation already has a running reply."""


class RunRegistry:
    """The current or last run of every conversation on this server."""

    def __init__(
        self,
        emitter: Emitter,
        *,
        reconnect_grace: float,
        coalesce_interval: float,
        keep_finished: float = 600.0,
    ) -> None:
        self._emitter = emitter
        self._grace = reconnect_grace
        self._interval = coalesce_interval
        self._keep = keep_finished
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}

    def start(self, conversation_id: str, client_key: str, sid: str) -> Run:
        """Create and start a run, or raise :class:`BusyError` or ``PermissionError``."""
        with self._lock:
            self._forget_old()
            old = self._runs.get(conversation_id)
            if old is not None and old.client_key != client_key:
                raise PermissionError("conversation belongs to another client")
            if old is not None and old.status == "running":
                raise BusyError("this conversation is already generating a reply")
            run = Run(conversation_id, client_key, sid, self._emitter, self._interval)
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
