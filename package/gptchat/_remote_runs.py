"""Runs across a deployment: which process answers a conversation, and proxies for the rest.

Imported only with ``ChatApp(message_queue=...)``. A run is held by the process
that got the message (``runs.Run``, as without Redis); :class:`SharedRuns` claims
its conversation in Redis (``gptchat:conv:<id>``: the run, its process, its owner,
whether it ended), mirrors its events into a stream (``_redis_log.StreamWriter``)
and obeys the commands other processes send about it (stop, an answer).

A tab of another process that opens or resumes the conversation gets a
:class:`RemoteRun` there: the stream folded into a snapshot, then tailed
(``XREAD BLOCK`` from the last entry) into the tab, so it gets every delta once,
in order. Stop and answers go to the running process on its control channel. If
that process stops beating, the proxy ends the run as interrupted (the text so
far is kept, and written to the store with the status ``error``); while a proxy
shows a run, the running process does not abandon it when its own tab leaves.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis

from ._redis_bus import PREFIX, RedisBus
from ._redis_log import KEPT, FoldedRun, StreamWriter, log_key
from ._run_log import finished_messages
from .emitter import Emitter
from .protocol import RunStatus, ServerEvent

if TYPE_CHECKING:
    from .runs import Run

log = logging.getLogger("gptchat")

#: The error a run ends with when the process running it died.
INTERRUPTED = "interrupted: the server process running this reply stopped; the text so far is kept"
_BUSY = "this conversation is already generating a reply"

# Claim a conversation for a new run: refused for another owner, or while a live
# process runs a reply there.
_CLAIM = """
local v = redis.call('GET', KEYS[1])
if v then
  local r = cjson.decode(v)
  if r.owner ~= ARGV[2] then return 'owner' end
  if (not r.ended) and r.proc ~= ARGV[3]
      and redis.call('EXISTS', ARGV[4] .. r.proc) == 1 then return 'busy' end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
return 'ok'
"""


def conv_key(conversation_id: str) -> str:
    """The key naming the run (current or last) of a conversation."""
    return f"{PREFIX}conv:{conversation_id}"


def _viewers_key(run_id: str) -> str:
    return f"{PREFIX}viewers:{run_id}"


def _end_key(run_id: str) -> str:
    return f"{PREFIX}end:{run_id}"


def _unavailable(url: str, exc: Exception) -> str:
    return (
        f"the servers cannot reach their message queue (Redis at {url}: {exc}); "
        "try again in a moment"
    )


def owner_hash(owner: str) -> str:
    """How an owner is named in Redis: never the client key itself (a browser's secret)."""
    return hashlib.sha256(owner.encode()).hexdigest()[:32]


#: Called when a proxy ended a run as interrupted: the proxy and its messages by id.
Interrupted = Callable[["RemoteRun", list[tuple[str, dict[str, Any]]]], None]


class SharedRuns:
    """This process's side of the deployment's runs (see the module docstring).

    :param keeps: whether a store keeps runs (a proxy then waits for the running
        process to have kept a run before it counts as kept).
    """

    def __init__(
        self,
        bus: RedisBus,
        emitter: Emitter,
        *,
        keep_finished: float,
        keeps: bool,
    ) -> None:
        self.bus = bus
        self.client = bus.client
        self.emitter = emitter
        self.keep = max(1, int(keep_finished))
        self.keeps = keeps
        #: Set by the server: writes an interrupted run into the store.
        self.on_interrupted: Interrupted | None = None
        self._lock = threading.Lock()
        self._local: dict[str, Run] = {}
        self._writers: dict[str, StreamWriter] = {}
        self._proxies: dict[str, RemoteRun] = {}
        self._claim = self.client.register_script(_CLAIM)
        self.closed = threading.Event()
        bus.on_beat(self._beat)
        bus.on_lost(self._lost)

    # -- runs of this process ------------------------------------------------------

    def _meta(self, run: Run, ended: bool) -> str:
        return json.dumps(
            {
                "run_id": run.run_id,
                "proc": self.bus.proc,
                "owner": owner_hash(run.owner),
                "parent_id": run.parent_id,
                "ended": ended,
            }
        )

    def _entry(self, conversation_id: str) -> dict[str, Any] | None:
        value = self.client.get(conv_key(conversation_id))
        if value is None:
            return None
        entry = json.loads(value)
        return entry if isinstance(entry, dict) else None

    def check(self, conversation_id: str, owner: str) -> None:
        """Whether a run of ``owner`` could start there, as far as other processes go.

        :raises BusyError: another live process runs a reply there.
        :raises PermissionError: the conversation is another owner's.
        :raises QueueUnavailable: Redis cannot be reached.
        """
        from .runs import BusyError, QueueUnavailable

        try:
            entry = self._entry(conversation_id)
            if entry is None:
                return
            proc = str(entry.get("proc"))
            alive = not entry.get("ended") and proc != self.bus.proc and self.bus.alive(proc)
        except redis.RedisError as exc:
            raise QueueUnavailable(_unavailable(self.bus.url, exc)) from None
        if entry is None:
            return
        if not secrets.compare_digest(str(entry.get("owner")), owner_hash(owner)):
            raise PermissionError("conversation belongs to another client")
        if alive:
            raise BusyError(_BUSY)

    def claim(self, run: Run) -> None:
        """Name ``run`` as its conversation's run, deployment-wide.

        :raises BusyError, PermissionError: as :meth:`check`, atomically.
        :raises QueueUnavailable: Redis cannot be reached.
        """
        from .runs import BusyError, QueueUnavailable

        try:
            result = self._claim(
                keys=[conv_key(run.conversation_id)],
                args=[
                    self._meta(run, False),
                    owner_hash(run.owner),
                    self.bus.proc,
                    f"{PREFIX}alive:",
                    self.keep,
                ],
            )
        except redis.RedisError as exc:
            raise QueueUnavailable(_unavailable(self.bus.url, exc)) from None
        result = result.decode() if isinstance(result, bytes) else result
        if result == "owner":
            raise PermissionError("conversation belongs to another client")
        if result == "busy":
            raise BusyError(_BUSY)
        with self._lock:
            self._local[run.run_id] = run

    def writer(
        self,
        run: Run,
        lock: threading.Condition,
        snapshot: Callable[[], dict[str, Any]],
    ) -> StreamWriter:
        """The stream writer of ``run`` (started with the run)."""

        def on_end(pipe: Any) -> None:
            pipe.set(conv_key(run.conversation_id), self._meta(run, True), ex=self.keep)

        writer = StreamWriter(
            self.client,
            run.conversation_id,
            run.run_id,
            lock,
            snapshot,
            ttl=self.keep,
            kept=run.kept if self.keeps else None,
            on_end=on_end,
        )
        with self._lock:
            self._writers[run.run_id] = writer
        return writer

    def forget(self, run: Run) -> None:
        """``run`` ended and is written: no more beats for it."""
        with self._lock:
            self._local.pop(run.run_id, None)
            self._writers.pop(run.run_id, None)

    def viewed_elsewhere(self, run_id: str) -> bool:
        """Whether a tab of another process shows run ``run_id`` (it must not be abandoned)."""
        try:
            return bool(self.client.zcount(_viewers_key(run_id), time.time(), "+inf"))
        except redis.RedisError:
            return True  # cannot tell: keep it going, its tab may be back

    def on_command(self, command: dict[str, Any]) -> None:
        """A command from another process about a run of this one: stop it, or an answer."""
        from ._asks import AnswerRefused

        with self._lock:
            run = self._local.get(str(command.get("run_id")))
        if run is None:
            return
        op = command.get("op")
        if op == "stop":
            run.request_stop()
        elif op == "answer":
            try:
                run.answer(str(command.get("ask_id")), command.get("value"))
            except AnswerRefused as exc:
                sid = command.get("sid")
                if isinstance(sid, str) and sid:  # the tab is another process's: via the queue
                    self.emitter.error(sid, exc.code, str(exc), run.conversation_id)

    def _beat(self, pipe: Any) -> None:
        with self._lock:
            local = list(self._local.values())
            writers = dict(self._writers)
            proxies = [p for p in self._proxies.values() if p.shown and p.status == "running"]
        for run in local:
            if run.status == "running":
                pipe.set(conv_key(run.conversation_id), self._meta(run, False), ex=self.keep)
            writer = writers.get(run.run_id)
            if writer is not None:
                writer.refresh(pipe)
        until = time.time() + self.bus.timeout
        for proxy in proxies:
            pipe.zadd(_viewers_key(proxy.run_id), {self.bus.proc: until})
            pipe.expire(_viewers_key(proxy.run_id), self.keep)

    def _lost(self) -> None:
        with self._lock:
            writers = list(self._writers.values())
        for writer in writers:
            writer.resnap()

    # -- runs of other processes -----------------------------------------------------

    def find(
        self, conversation_id: str, owner: str, *, not_run: str | None = None
    ) -> RemoteRun | None:
        """The proxy of the run another process holds for ``owner`` there, if any.

        ``not_run``: a run this process has (finished) there; only another counts.
        """
        try:
            entry = self._entry(conversation_id)
            if entry is None or entry.get("proc") == self.bus.proc:
                return None
            if not secrets.compare_digest(str(entry.get("owner")), owner_hash(owner)):
                return None
            run_id = str(entry["run_id"])
            if run_id == not_run:
                return None
            with self._lock:
                self._forget_old()
                proxy = self._proxies.get(run_id)
            if proxy is not None:
                return proxy
            entries = self.client.xrange(log_key(run_id), "-", "+")
        except redis.RedisError as exc:
            log.error("gptchat: Redis at %s does not answer (%s)", self.bus.url, exc)
            return None
        if not entries:
            return None  # expired, or lost with a Redis restart
        proxy = RemoteRun(
            self, conversation_id, run_id, owner, str(entry["proc"]), entry.get("parent_id")
        )
        proxy.fold(entries)
        with self._lock:
            known = self._proxies.setdefault(run_id, proxy)
        if known is proxy:
            proxy.start()
        return known

    def disconnected(self, sid: str) -> None:
        """A socket of this process closed: its proxies send it nothing more."""
        with self._lock:
            proxies = list(self._proxies.values())
        for proxy in proxies:
            proxy.unwatch(sid)
            if proxy.sid == sid:
                proxy.detach()

    def command(self, proxy: RemoteRun, command: dict[str, Any]) -> None:
        """Send ``command`` about ``proxy``'s run to the process running it."""
        try:
            self.bus.send(proxy.proc, {**command, "run_id": proxy.run_id})
        except redis.RedisError as exc:
            log.error("gptchat: cannot reach Redis at %s (%s)", self.bus.url, exc)

    def interrupt(self, proxy: RemoteRun) -> None:
        """End ``proxy``'s run as interrupted: its process is gone. Once, deployment-wide."""
        if not self.client.set(_end_key(proxy.run_id), self.bus.proc, nx=True, ex=self.keep):
            return  # another process did it
        log.warning("gptchat: the process running reply %s is gone; ending it", proxy.run_id)
        payload = {
            "conversation_id": proxy.conversation_id,
            "run_id": proxy.run_id,
            "status": "error",
            "error": INTERRUPTED,
        }
        meta = json.dumps(
            {
                "run_id": proxy.run_id,
                "proc": proxy.proc,
                "owner": owner_hash(proxy.owner),
                "parent_id": proxy.parent_id,
                "ended": True,
            }
        )
        key = log_key(proxy.run_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.xadd(key, {"e": ServerEvent.RUN_FINISHED, "p": json.dumps(payload)})
        pipe.expire(key, self.keep)
        pipe.set(conv_key(proxy.conversation_id), meta, ex=self.keep)
        pipe.execute()
        if self.on_interrupted is not None:
            try:
                self.on_interrupted(proxy, proxy.messages_by_id())
            finally:
                self.client.xadd(key, {"e": KEPT, "p": "{}"})

    def close(self) -> None:
        """Stop the proxies' threads (the process is going)."""
        self.closed.set()

    def _forget_old(self) -> None:
        now = time.monotonic()
        for run_id, proxy in list(self._proxies.items()):
            if proxy.finished_at is not None and now - proxy.finished_at > self.keep:
                del self._proxies[run_id]


class RemoteRun:
    """A run held by another process, as this process's tabs see it.

    It answers what the server asks of a :class:`~gptchat.runs.Run` from a
    socket event: attach, watch, stop, answer; its events come from the run's
    stream, tailed in a thread of its own.
    """

    def __init__(
        self,
        shared: SharedRuns,
        conversation_id: str,
        run_id: str,
        owner: str,
        proc: str,
        parent_id: str | None,
    ) -> None:
        self.conversation_id = conversation_id
        self.run_id = run_id
        self.owner = owner
        #: The process running it.
        self.proc = proc
        self.parent_id = parent_id
        self.ended = threading.Event()
        self.kept = threading.Event()
        self.finished_at: float | None = None
        self._shared = shared
        self._folded = FoldedRun(conversation_id, run_id)
        self._lock = threading.Lock()
        self._sid: str | None = None
        self._watchers: list[str] = []
        self._thread = threading.Thread(
            target=self._tail, name=f"gptchat-proxy-{run_id}", daemon=True
        )

    @property
    def status(self) -> RunStatus:
        """As the stream says so far."""
        return self._folded.status

    @property
    def sid(self) -> str | None:
        """The tab of this process the run is shown in first, if any."""
        return self._sid

    @property
    def watchers(self) -> list[str]:
        """The other tabs of this process showing it."""
        with self._lock:
            return list(self._watchers)

    @property
    def shown(self) -> bool:
        """Whether a tab of this process shows the run."""
        return self._sid is not None or bool(self._watchers)

    def stop_requested(self) -> bool:
        """Not known here: the running process keeps the flag."""
        return False

    def fold(self, entries: list[Any]) -> None:
        """Take the stream read so far."""
        with self._lock:
            self._folded.fold(entries)
            self._settle()

    def start(self) -> None:
        """Tail the stream (unless the run has ended already)."""
        if not self.kept.is_set():
            self._thread.start()

    def messages_by_id(self) -> list[tuple[str, dict[str, Any]]]:
        """The run's messages so far, as (id, message), in order."""
        with self._lock:
            return list(finished_messages(self._folded.messages).items())

    def attach(self, sid: str) -> None:
        """Make ``sid`` the run's tab here: the run so far, then every event."""
        with self._lock:
            if sid in self._watchers:
                self._watchers.remove(sid)
            self._sid = sid
            self._send(sid, ServerEvent.RUN_SNAPSHOT, self._folded.snapshot())

    def watch(self, sid: str) -> None:
        """Show the run in ``sid`` too: the run so far, then every event."""
        with self._lock:
            if sid != self._sid and sid not in self._watchers:
                self._watchers.append(sid)
            self._send(sid, ServerEvent.RUN_SNAPSHOT, self._folded.snapshot())

    def unwatch(self, sid: str) -> None:
        """``sid`` closed."""
        with self._lock:
            if sid in self._watchers:
                self._watchers.remove(sid)

    def detach(self) -> None:
        """The run's tab here went away: a watching tab takes its place."""
        with self._lock:
            self._sid = self._watchers.pop(0) if self._watchers else None

    def request_stop(self, grace: float = 1.0) -> None:
        """Tell the running process to stop the run."""
        self._shared.command(self, {"op": "stop"})

    def answer(self, ask_id: str, value: Any, reply_to: str | None = None) -> None:
        """Send the answer to the running process; a refusal comes back to ``reply_to``."""
        self._shared.command(
            self, {"op": "answer", "ask_id": ask_id, "value": value, "sid": reply_to}
        )

    def _send(self, sid: str, event: str, payload: Any) -> None:
        self._shared.emitter.transport.send(sid, event, payload)

    def _settle(self) -> None:
        if self._folded.status != "running" and not self.ended.is_set():
            self.finished_at = time.monotonic()
            self.ended.set()
        if self.ended.is_set() and (self._folded.kept or not self._shared.keeps):
            self.kept.set()

    def _tail(self) -> None:
        shared = self._shared
        key = log_key(self.run_id)
        missing_since: float | None = None
        kept_by = None
        backoff = 0.05
        while not shared.closed.is_set() and not self.kept.is_set():
            if self.ended.is_set():
                # The running process keeps the messages next; not for ever.
                kept_by = kept_by or time.monotonic() + 10.0
                if time.monotonic() > kept_by:
                    self.kept.set()
                    break
            try:
                got: Any = shared.client.xread({key: self._folded.last_id}, block=500, count=1000)
                backoff = 0.05
            except redis.RedisError:
                missing_since = None  # Redis is away: that says nothing of the process
                time.sleep(backoff)
                backoff = min(backoff * 2, 0.5)
                continue
            if got:
                with self._lock:
                    for entry_id, fields in got[0][1]:
                        out = self._folded.apply(entry_id, fields)
                        if out is not None:
                            for sid in (self._sid, *self._watchers):
                                if sid:
                                    self._send(sid, *out)
                    self._settle()
                missing_since = None
                continue
            if self.ended.is_set():
                continue
            missing_since = self._check_alive(missing_since)

    def _check_alive(self, missing_since: float | None) -> float | None:
        shared = self._shared
        try:
            if shared.bus.alive(self.proc):
                return None
            now = time.monotonic()
            if missing_since is None:
                return now
            # Missing twice, a beat or more apart: not a Redis that lost its keys a moment
            # ago (the process writes them again at its next beat).
            if now - missing_since >= 2 * shared.bus.interval:
                shared.interrupt(self)
                return None
            return missing_since
        except redis.RedisError:
            return None
