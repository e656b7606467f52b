"""The transport seam: what the server's sending side needs from the socket layer.

:class:`Transport` is all an :class:`~gptchat.emitter.Emitter` and a run's outbox
ask of it: send one event to one tab, how much that tab has not taken yet, and
drop a tab that stopped reading. ``_engineio.EngineIOTransport`` is the real one;
:class:`MemoryTransport` keeps what is sent in memory, for tests.
"""

from __future__ import annotations

from typing import Any, Protocol


class Transport(Protocol):
    """Delivery of server events to tabs, one socket id (sid) each."""

    def send(self, sid: str, event: str, payload: dict[str, Any]) -> None:
        """Queue ``event`` for ``sid``; never blocks on a slow reader."""

    def backlog(self, sid: str) -> int:
        """Events queued for ``sid`` that its connection has not taken yet."""

    def drop(self, sid: str, why: str) -> None:
        """Close the connection of a tab that stopped reading, without waiting."""

    def drain(self, timeout: float) -> bool:
        """Wait until every connection has taken what is queued for it (for shutdown)."""


class MemoryTransport:
    """A :class:`Transport` that keeps every event until a test reads it.

    An event sent stays in its tab's backlog until :meth:`read` takes it, so a
    test plays a tab that reads slowly, or not at all.
    """

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.dropped: list[tuple[str, str]] = []
        self._unread: dict[str, int] = {}

    def send(self, sid: str, event: str, payload: dict[str, Any]) -> None:
        """Record the event; a dropped tab gets nothing, as on a closed socket."""
        if any(d == sid for d, _ in self.dropped):
            return
        self.sent.append((sid, event, payload))
        self._unread[sid] = self._unread.get(sid, 0) + 1

    def backlog(self, sid: str) -> int:
        """What ``sid`` has not read."""
        return self._unread.get(sid, 0)

    def read(self, sid: str) -> None:
        """The tab ``sid`` takes everything sent to it."""
        self._unread[sid] = 0

    def drop(self, sid: str, why: str) -> None:
        """Record the drop; the tab's backlog is freed."""
        self.dropped.append((sid, why))
        self._unread.pop(sid, None)

    def drain(self, timeout: float) -> bool:
        """Nothing to wait for: events are taken when sent."""
        return True

    def events(self, sid: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """The events sent, to ``sid`` or to any tab."""
        return [(e, p) for s, e, p in self.sent if sid is None or s == sid]
