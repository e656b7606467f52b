"""The one place each limit and default of a gptchat server is written.

:class:`Settings` is built once from ``ChatApp(...)``'s keyword arguments and
handed down: the server, its guard (and login throttle), the run registry and
the payload checks all read it. ``ChatApp.__init__``, ``run_app`` and the
``gptchat`` command take their defaults from the field defaults here, and tests
check that the README and the docstrings say the same.

No imports from the rest of the package at run time, so every module may use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Union

if TYPE_CHECKING:
    from ._auth import Auth
    from .store import Store

#: ``ChatApp(store=...)`` when not given: the URL in ``$GPTCHAT_STORE`` if it is set
#: (``none`` or empty: no store), else ``Store.default_url()`` (SQLite in the user's
#: data folder). Resolved when the server is built, never at import.
DEFAULT_STORE: Final = "default"
#: ``store=``: a database URL, a ``Store``, :data:`DEFAULT_STORE`, or None (the browser
#: keeps the conversations).
StoreOption = Union[str, "Store", None]

# Checked as positive numbers, with the error ``ChatApp(...)`` has always given.
_POSITIVE = (
    "max_message_bytes",
    "max_messages",
    "max_events_per_second",
    "max_generations",
    "max_connections",
    "max_depth",
    "send_timeout",
)


@dataclass(frozen=True)
class Settings:
    """Every limit and default of one server; see :class:`~gptchat.ChatApp` for each.

    The first fields are ``ChatApp(...)``'s keyword arguments, under the same
    names. The others are not options of ``ChatApp``, only their single source:

    :param keep_finished: seconds a finished run stays resumable.
    :param shutdown_timeout: seconds a running handler gets to end on Ctrl-C or
        SIGTERM before its reply is finished as stopped.
    :param host: ``run_app``'s interface.
    :param port: ``run_app``'s TCP port.
    :param login_free_tries: wrong passwords in a row before a lock-out.
    :param login_first_lockout: the first lock-out, in seconds; each further
        wrong password doubles it.
    :param login_max_lockout: the longest lock-out, in seconds.
    :param login_forget_after: seconds after its last try an address is forgotten.
    :param login_max_addresses: addresses remembered at most.
    :param checkpoint_interval: seconds between two writes of a reply under way to
        the store (a crash loses at most this much of it).
    :param heartbeat_interval: with a message queue, seconds between two beats of a
        process in Redis (its runs' keys are refreshed then too).
    :param heartbeat_timeout: with a message queue, seconds after a process's last
        beat that the others take it for dead and end its runs as interrupted.
    """

    reconnect_grace: float = 10.0
    coalesce_interval: float = 0.016
    handler_timeout: float | None = 300.0
    auth: Auth = None
    allowed_hosts: Iterable[str] = ()
    allowed_origins: Iterable[str] = ()
    max_message_bytes: int = 8 * 1024 * 1024
    max_messages: int = 1000
    max_events_per_second: float = 20.0
    max_generations: int = 3
    max_connections: int = 200
    max_depth: int = 32
    send_timeout: float = 10.0
    store: StoreOption = DEFAULT_STORE
    message_queue: str | None = None

    keep_finished: float = 600.0
    shutdown_timeout: float = 5.0
    host: str = "127.0.0.1"
    port: int = 5000
    login_free_tries: int = 5
    login_first_lockout: float = 60.0
    login_max_lockout: float = 3600.0
    login_forget_after: float = 24 * 3600.0
    login_max_addresses: int = 10_000
    checkpoint_interval: float = 1.0
    heartbeat_interval: float = 0.5
    heartbeat_timeout: float = 3.0

    def __post_init__(self) -> None:
        for name in _POSITIVE:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        timeout = self.handler_timeout
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
        ):
            raise ValueError(f"handler_timeout must be a positive number or None, not {timeout!r}")
        # Frozen as tuples, so settings compare equal and a generator is not used up.
        # A lone string stays as given: the guard refuses it with its own message.
        for name in ("allowed_hosts", "allowed_origins"):
            value = getattr(self, name)
            if not isinstance(value, str):
                object.__setattr__(self, name, tuple(value))

    @property
    def transport_buffer_bytes(self) -> int:
        """Engine.IO's packet cap: above the message limit, so that most
        oversized messages get a clear error rather than a dropped connection."""
        return self.max_message_bytes * 2 + 64 * 1024
