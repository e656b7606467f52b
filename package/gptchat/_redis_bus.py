"""This process on the deployment's Redis: the connection, the heartbeat, the control channel.

Imported only when ``ChatApp(message_queue=...)`` is set. :func:`connect` opens
the Redis the URL names and checks that it answers (:class:`~gptchat.errors.MessageQueueError`
otherwise, when the server is built). A :class:`RedisBus` gives the process an id
and keeps it alive in Redis: a key with a time to live, refreshed every
``heartbeat_interval`` together with whatever the beat callbacks add (the keys of
the runs this process holds, the tabs it serves), so that whatever a killed
process left expires on its own. Other processes send it small JSON commands
(stop a run, answer a question) on its control channel.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from .errors import MessageQueueError

log = logging.getLogger("gptchat")

#: Every key and channel gptchat uses starts with this.
PREFIX = "gptchat:"
#: A beat callback: adds its commands to the beat's pipeline.
Beat = Callable[[Any], None]

# A lost connection is retried a little (a Redis restarting), never for long: the
# socket threads that call Redis must answer the tab, not hang.
_SOCKET_TIMEOUT = 5.0

_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
return 1
"""


def connect(url: str) -> redis.Redis:
    """A client of the Redis at ``url``, checked to answer.

    :raises MessageQueueError: not a Redis URL, or no Redis answers there.

    Example::

        client = connect("redis://127.0.0.1:6379/0")
    """
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        raise MessageQueueError(
            f"message_queue must be a redis:// URL (e.g. redis://127.0.0.1:6379/0), not {url!r:.80}"
        )
    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=1.0,
            socket_timeout=_SOCKET_TIMEOUT,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
            health_check_interval=10,
        )
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise MessageQueueError(
            f"no Redis answers at message_queue={url} ({exc}); start redis-server there "
            "or fix the URL"
        ) from None
    return client


def alive_key(proc: str) -> str:
    """The key that says process ``proc`` is alive (it expires unless refreshed)."""
    return f"{PREFIX}alive:{proc}"


def _channel(proc: str) -> str:
    return f"{PREFIX}ctl:{proc}"


class RedisBus:
    """This process's presence in Redis: its id, its heartbeat and its control channel.

    :param on_command: called (in the listener thread) with each command another
        process sent this one.
    """

    def __init__(
        self,
        client: redis.Redis,
        url: str,
        *,
        interval: float,
        timeout: float,
        on_command: Callable[[dict[str, Any]], None],
    ) -> None:
        self.client = client
        self.url = url
        #: This process's id, fresh at each start.
        self.proc = secrets.token_hex(8)
        self.interval = interval
        self.timeout = timeout
        self._on_command = on_command
        self._beats: list[Beat] = []
        self._on_lost: list[Callable[[], None]] = []
        self._closed = threading.Event()
        self._admit = client.register_script(_ADMIT)
        self._threads: list[threading.Thread] = []
        self._failing = False

    def start(self) -> None:
        """Beat once (so the process is alive before it serves), then in a thread; listen."""
        self._beat(first=True)
        for target, name in ((self._beat_loop, "beat"), (self._listen_loop, "listen")):
            thread = threading.Thread(target=target, name=f"gptchat-redis-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        """Stop beating and listening; the process is no longer alive in Redis."""
        self._closed.set()
        for thread in self._threads:
            thread.join(2.0)
        with contextlib.suppress(redis.RedisError):
            self.client.delete(alive_key(self.proc))
        # Its sockets too: left to the garbage collector they are closed with a warning.
        self.client.close()

    def on_beat(self, beat: Beat) -> None:
        """Run ``beat(pipeline)`` at every heartbeat: refresh keys that must outlive no process."""
        self._beats.append(beat)

    def on_lost(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when Redis lost this process's keys (it restarted empty)."""
        self._on_lost.append(callback)

    # -- liveness ------------------------------------------------------------------

    def alive(self, proc: str) -> bool:
        """Whether process ``proc`` beat within the heartbeat timeout.

        :raises redis.RedisError: Redis cannot be asked.
        """
        return bool(self.client.exists(alive_key(proc)))

    def _beat(self, first: bool = False) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(alive_key(self.proc), "1", px=int(self.timeout * 1000), get=True)
        for beat in self._beats:
            beat(pipe)
        was = pipe.execute()[0]
        if was is None and not first:
            log.warning("gptchat: Redis lost this process's keys (restarted?); writing them again")
            for callback in self._on_lost:
                callback()
            self._beat(first=True)

    def _beat_loop(self) -> None:
        while not self._closed.wait(self.interval):
            try:
                self._beat()
            except redis.RedisError as exc:
                if not self._failing:
                    log.error("gptchat: Redis at %s does not answer (%s); retrying", self.url, exc)
                self._failing = True
                continue
            if self._failing:
                log.warning("gptchat: Redis at %s answers again", self.url)
                self._failing = False

    # -- commands between processes --------------------------------------------

    def send(self, proc: str, command: dict[str, Any]) -> bool:
        """Send ``command`` to process ``proc``; whether a process listened.

        :raises redis.RedisError: Redis cannot be reached.
        """
        return bool(self.client.publish(_channel(proc), json.dumps(command)))

    def _listen_loop(self) -> None:
        backoff = 0.05
        while not self._closed.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(_channel(self.proc))
                backoff = 0.05
                while not self._closed.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        command = json.loads(message["data"])
                    except ValueError:
                        continue
                    if isinstance(command, dict):
                        self._dispatch(command)
            except redis.RedisError:
                time.sleep(backoff)
                backoff = min(backoff * 2, 0.5)
            finally:
                with contextlib.suppress(redis.RedisError):
                    pubsub.close()

    def _dispatch(self, command: dict[str, Any]) -> None:
        try:
            self._on_command(command)
        except Exception:
            log.exception("a command from another process failed: %r", command)

    # -- deployment-wide connection count ----------------------------------------

    def admit(self, member: str, limit: int) -> bool:
        """Count ``member`` (a tab) among the deployment's connections, if under ``limit``.

        Each process refreshes its tabs at every beat (:meth:`refresh_tabs`); a
        killed process's tabs expire a heartbeat timeout later.

        :raises redis.RedisError: Redis cannot be reached.
        """
        now = time.time()
        result = self._admit(keys=[f"{PREFIX}tabs"], args=[now, limit, member, now + self.timeout])
        return bool(result)

    def release(self, member: str) -> None:
        """``member`` disconnected."""
        with contextlib.suppress(redis.RedisError):  # else it expires on its own
            self.client.zrem(f"{PREFIX}tabs", member)

    def refresh_tabs(self, pipe: Any, members: list[str]) -> None:
        """Keep ``members`` (this process's tabs) counted for another heartbeat timeout."""
        if members:
            until = time.time() + self.timeout
            pipe.zadd(f"{PREFIX}tabs", dict.fromkeys(members, until))
