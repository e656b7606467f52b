"""Runs: one execution of the handler for one conversation, and the registry of them.

A :class:`Run` wires a run's two halves together: its log (``_run_log``: every
delta merged into its message, so a tab that reconnects gets a snapshot) and its
outbox (``_outbox``: the deltas queued for the tab, coalesced, paced and held
back for a slow reader). Both change under the run's one lock. The run itself
keeps the stop flag and its callbacks, and its status once it ends: for its
handler, a stop it ignored, a handler that went silent, or a shutdown.

A run belongs to an owner: the browser's client key when the browser keeps the
history, the user id when the server does (then every tab of the user may
stop, resume or watch it). Whatever keeps a run's messages (the server's
history) sets :attr:`Run.kept` once it has: a tab's next message may answer them.

A run may ask its user something and wait (:meth:`Run.ask`): the question is a
message of the run, and the answer (:meth:`Run.answer`, from any tab of the
owner) restates it and adds the answer as a message, before the handler goes on.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._asks import AnswerRefused, Question, Woken
from ._outbox import Event, Outbox, RunFinished, RunSnapshot, Timeout
from ._run_log import RunLog
from .emitter import Emitter
from .errors import AskTimeout, StopGeneration
from .protocol import AskStatus, RunStatus

if TYPE_CHECKING:
    from ._remote_runs import RemoteRun, SharedRuns

log = logging.getLogger("gptchat")


@dataclass(frozen=True)
class RunStarted(Event):
    """``run_started``: sent at once when the run starts; names the message it answers."""

    parent_id: str | None = None

    def emit(self, emitter: Emitter, sid: str, conversation_id: str, run_id: str) -> None:
        """Send it."""
        emitter.run_started(sid, conversation_id, run_id, self.parent_id)


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
        handler_timeout: float | None,
        send_timeout: float,
        owner: str | None = None,
        user_id: str = "local",
        parent_id: str | None = None,
        shared: SharedRuns | None = None,
    ) -> None:
        self.conversation_id = conversation_id
        self.client_key = client_key
        #: Who may stop, resume and watch it: the client key, or the user with a store.
        self.owner = owner if owner is not None else client_key
        self.user_id = user_id
        #: The message the run answers: its first message is a child of it.
        self.parent_id = parent_id
        #: Bumped by every delta: a checkpoint writes only a run that changed.
        self.version = 0
        #: Set once ``run_finished`` is queued: the messages are final.
        self.ended = threading.Event()
        #: Set once the final messages are kept (by the server's history, when it has one).
        self.kept = threading.Event()
        self.run_id = secrets.token_urlsafe(12)
        self.status: RunStatus = "running"
        self.error: str | None = None
        self.finished_at: float | None = None
        self._handler_timeout = handler_timeout
        self._stop = threading.Event()
        self._lock = threading.Condition()
        self._log = RunLog(conversation_id, self.run_id)
        self._shared = shared
        # With a message queue, every event also goes to the run's stream in Redis.
        self._writer = (
            shared.writer(self, self._lock, lambda: self._log.snapshot(self.status, self.error))
            if shared is not None
            else None
        )
        self._outbox = Outbox(
            emitter,
            conversation_id,
            self.run_id,
            sid,
            interval=coalesce_interval,
            send_timeout=send_timeout,
            handler_timeout=handler_timeout,
            on_timeout=self._timed_out,
            on_done=self._compact,
            lock=self._lock,
            mirror=self._writer,
        )
        self._on_stop: list[Callable[[], object]] = []
        self._on_stop_lock = threading.Lock()
        #: The run's questions by id: pending ones, and those already settled.
        self._questions: dict[str, Question] = {}

    # -- called by the handler thread ---------------------------------------

    def start(self) -> None:
        """Announce the run to its tab and start sending."""
        if self._writer is not None:
            self._writer.start()
        self._outbox.send_now(RunStarted(self.parent_id))
        self._outbox.start()

    def update(self, message_id: str, delta: dict[str, Any]) -> None:
        """Merge ``delta`` into message ``message_id`` and queue it for the tab."""
        if self._stop.is_set():
            raise StopGeneration("the user stopped this reply")
        outbox = self._outbox
        with self._lock:
            if outbox.closed:
                raise StopGeneration("this reply has already ended")
            self.version += 1
            due = outbox.queue_delta(message_id, self._log.append(message_id, delta), delta)
        if due:
            outbox.send_due()

    def _record(self, message_id: str, delta: dict[str, Any]) -> None:
        # A change of the run's own (a question restated, an answer): it goes out even
        # after a stop, as long as the run is open.
        outbox = self._outbox
        with self._lock:
            if outbox.closed:
                return
            self.version += 1
            due = outbox.queue_delta(message_id, self._log.append(message_id, delta), delta)
        if due:
            outbox.send_due()

    # -- questions -------------------------------------------------------------

    def ask(self, question: Question) -> None:
        """Send ``question`` as a message of the run; the handler then waits for it.

        :raises StopGeneration: if the run was told to stop.
        """
        question.message_id = uuid.uuid4().hex
        with self._lock:
            self._questions[question.id] = question
        self.update(question.message_id, question.message())
        self._outbox.hold_idle(True)
        self.on_stop(question.interrupt)

    def answer(self, ask_id: str, value: Any, reply_to: str | None = None) -> None:
        """Take the user's answer to question ``ask_id``; the first answer counts.

        ``reply_to`` is for a proxy of the run in another process (``_remote_runs``):
        the tab a refusal goes to; here the caller tells the tab itself.

        The question is restated as answered and the message the answer makes
        (a user message, a denied call's result) is queued before the handler,
        waiting for it, goes on.

        :raises AnswerRefused: the question is not pending, or ``value`` does not fit.
        """
        with self._lock:
            question = self._questions.get(ask_id)
        if question is None or self.status != "running":
            raise AnswerRefused("not_found", "answer: this question is not waiting for an answer")
        if question.status != "pending":
            raise AnswerRefused("not_found", f"answer: this question was {question.status} already")
        value_for_handler, kept, added = question.check(value)
        if not question.settle("answered", value_for_handler, kept):
            raise AnswerRefused("not_found", f"answer: this question was {question.status} already")
        assert question.message_id is not None
        self._record(question.message_id, {"ask": question.ask_payload()})
        if added is not None:
            self._record(uuid.uuid4().hex, added)
        self._outbox.hold_idle(False)
        question.delivered()

    def wait_answer(self, question: Question) -> Any:
        """Block the handler until ``question`` is answered; the answer.

        :raises StopGeneration: the run was told to stop meanwhile.
        :raises AskTimeout: its timeout passed first.
        """
        return self._answered(question, question.wait())

    async def wait_answer_async(self, question: Question) -> Any:
        """:meth:`wait_answer` for an async handler."""
        try:
            woken = await question.wait_async()
        except asyncio.CancelledError:
            self._end_question(question, "cancelled")
            raise
        return self._answered(question, woken)

    def _answered(self, question: Question, woken: Woken) -> Any:
        if woken == "answered":
            return question.value
        if woken == "interrupted" or self.stop_requested():
            self._end_question(question, "cancelled")
            raise StopGeneration("the user stopped this reply")
        if self._end_question(question, "expired"):
            raise AskTimeout("the user did not answer in time")
        # Answered at the last moment: its messages are being queued.
        question.wait(past_deadline=True)
        return question.value

    def _end_question(self, question: Question, status: AskStatus) -> bool:
        if not question.settle(status):
            return False
        assert question.message_id is not None
        self._record(question.message_id, {"ask": question.ask_payload()})
        self._outbox.hold_idle(False)
        return True

    def finish(self, status: RunStatus, error: str | None = None) -> bool:
        """End the run: what is queued is sent at once, then ``run_finished``.

        Only the first call counts (the run may have been ended for its handler,
        by a timeout, a stop it ignored or a shutdown); returns whether this one did.
        """
        with self._lock:
            if self._outbox.closed:
                return False
            self.status = status
            self.error = error
            self.finished_at = time.monotonic()
            self._outbox.close(RunFinished(status, error))
        self.ended.set()
        # The reply's last words do not wait for the next batch: from this thread (the
        # handler's, done with its work) rather than after the flusher wakes up.
        self._outbox.send_due()
        return True

    # -- called from socket events -------------------------------------------

    @property
    def sid(self) -> str | None:
        """The socket the run sends to, or None while its tab is away."""
        return self._outbox.sid

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
        self._outbox.stop_after(grace)
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
        self._outbox.detach()

    def attach(self, sid: str) -> None:
        """Send the run so far to ``sid`` and make it the run's tab.

        Under the lock, so that every delta queued after the snapshot goes to the
        new tab after it, and none queued before it is sent again.
        """
        with self._lock:
            self._outbox.attach(sid, RunSnapshot(self._log.snapshot(self.status, self.error)))

    def watch(self, sid: str) -> None:
        """Send the run so far to ``sid`` and every event after, beside the run's tab.

        For another tab of the owner that opens the conversation while the reply
        runs: it sees the reply (and its questions) live. If the run's tab goes
        away, a watching tab becomes the run's tab.
        """
        with self._lock:
            self._outbox.watch(sid, RunSnapshot(self._log.snapshot(self.status, self.error)))

    def unwatch(self, sid: str) -> None:
        """``sid`` is gone: send it nothing more."""
        self._outbox.unwatch(sid)

    @property
    def watchers(self) -> list[str]:
        """The tabs that watch the run beside its own."""
        return self._outbox.watchers

    def messages(self) -> list[dict[str, Any]]:
        """The run's messages so far, in OpenAI format, in the order they began."""
        with self._lock:
            return list(self._log.messages().values())

    def messages_by_id(self) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
        """The run's :attr:`version` and its messages so far as (id, message), in order."""
        with self._lock:
            return self.version, list(self._log.messages().items())

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the outbox has sent everything (and, with a message queue,
        written it to Redis); for tests and shutdown."""
        sent = self._outbox.join(timeout)
        if self._writer is not None:
            sent = self._writer.join(timeout) and sent
        return sent

    # -- called by the outbox's flusher ----------------------------------------

    def _timed_out(self, why: Timeout) -> None:
        if why == "stop_ignored":
            self.finish("stopped")
            return
        # Ended first, then stopped: a handler that wakes now gets StopGeneration and
        # its own finish() does not count.
        self.finish(
            "error",
            f"timeout: the handler sent nothing for {self._handler_timeout:g} s; "
            "the reply is incomplete",
        )
        self._stop.set()
        self._fire_on_stop()

    def _compact(self) -> None:
        with self._lock:  # the run is kept for a while: as strings, not fragments
            self._log.compact()
        if self._shared is not None and self._writer is not None:
            self._writer.join()
            self._shared.forget(self)


class BusyError(Exception):
    """The conversation already has a running reply."""


class TooManyRunsError(Exception):
    """The connection has as many running replies as it may."""


class QueueUnavailable(Exception):
    """With a message queue: Redis does not answer, so no run can be claimed now."""


class RunRegistry:
    """The current or last run of every conversation on this server.

    With a message queue (``shared``), runs are claimed deployment-wide, and a
    conversation whose run another process holds is answered by a proxy of it
    (``_remote_runs.RemoteRun``).
    """

    def __init__(
        self,
        emitter: Emitter,
        *,
        reconnect_grace: float,
        coalesce_interval: float,
        handler_timeout: float | None,
        send_timeout: float,
        keep_finished: float,
        shared: SharedRuns | None = None,
    ) -> None:
        # No defaults here: the server passes its Settings, where each default is written.
        self._emitter = emitter
        self._grace = reconnect_grace
        self._interval = coalesce_interval
        self._handler_timeout = handler_timeout
        self._send_timeout = send_timeout
        self._keep = keep_finished
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        #: The deployment's runs, in Redis; None in a process of its own.
        self.shared = shared

    def check(self, conversation_id: str, owner: str, sid: str, max_per_sid: int | None) -> None:
        """Raise what :meth:`start` would for these arguments; nothing is started.

        :raises BusyError, TooManyRunsError, PermissionError: as :meth:`start`.
        """
        with self._lock:
            self._check(conversation_id, owner, sid, max_per_sid)
        if self.shared is not None:
            self.shared.check(conversation_id, owner)

    def _check(self, conversation_id: str, owner: str, sid: str, max_per_sid: int | None) -> None:
        old = self._runs.get(conversation_id)
        if old is not None and not secrets.compare_digest(old.owner, owner):
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

    def start(
        self,
        conversation_id: str,
        owner: str,
        sid: str,
        max_per_sid: int | None = None,
        *,
        client_key: str | None = None,
        user_id: str = "local",
        parent_id: str | None = None,
    ) -> Run:
        """Create and start a run of ``owner`` (the client key, or the user with a store).

        :raises BusyError: if the conversation is generating already.
        :raises TooManyRunsError: if ``sid`` has ``max_per_sid`` runs going.
        :raises PermissionError: if the conversation belongs to another owner.
        """
        with self._lock:
            self._forget_old()
            self._check(conversation_id, owner, sid, max_per_sid)
            run = Run(
                conversation_id,
                client_key if client_key is not None else owner,
                sid,
                self._emitter,
                self._interval,
                handler_timeout=self._handler_timeout,
                send_timeout=self._send_timeout,
                owner=owner,
                user_id=user_id,
                parent_id=parent_id,
                shared=self.shared,
            )
            old = self._runs.get(conversation_id)
            self._runs[conversation_id] = run
        if self.shared is not None:
            try:
                self.shared.claim(run)
            except BaseException:
                self.shared.forget(run)
                with self._lock:
                    if self._runs.get(conversation_id) is run:
                        if old is None:
                            del self._runs[conversation_id]
                        else:
                            self._runs[conversation_id] = old
                raise
        run.start()
        return run

    def get(self, conversation_id: str, owner: str) -> Run | RemoteRun | None:
        """The conversation's run, if it exists and belongs to ``owner``.

        With a message queue, a run of another process (a proxy of it) when this
        process has none running there.
        """
        with self._lock:
            run = self._runs.get(conversation_id)
        if run is not None and not secrets.compare_digest(run.owner, owner):
            return None
        if self.shared is not None and (run is None or run.status != "running"):
            remote = self.shared.find(
                conversation_id, owner, not_run=run.run_id if run is not None else None
            )
            if remote is not None:
                return remote
        return run

    def running(self) -> list[Run]:
        """Runs still generating."""
        with self._lock:
            return [r for r in self._runs.values() if r.status == "running"]

    def disconnected(self, sid: str) -> None:
        """A socket closed: detach its runs, and stop those nobody resumes in time."""
        if self.shared is not None:
            self.shared.disconnected(sid)
        for run in self.running():
            run.unwatch(sid)
            if run.sid == sid:
                run.detach()  # a tab watching it, if any, takes its place
                if run.sid is None:
                    self._abandon_later(run)

    def _abandon_later(self, run: Run) -> None:
        timer = threading.Timer(self._grace, self._abandon_if_detached, args=(run,))
        timer.daemon = True
        timer.start()

    def _abandon_if_detached(self, run: Run) -> None:
        if run.sid is None and run.status == "running":
            if self.shared is not None and self.shared.viewed_elsewhere(run.run_id):
                self._abandon_later(run)  # a tab of another process shows it
                return
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
