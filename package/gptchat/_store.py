"""The server's side of server-kept history: choosing the store, and writing runs into it.

:func:`open_store` turns ``ChatApp(store=...)`` (or ``$GPTCHAT_STORE``) into an
open :class:`~gptchat.store.Store`, or None when the browser keeps the history.
The history events themselves are answered in ``_history_events``.

A run's messages are written as they stream, but never per delta: a
:class:`RunRecorder` checkpoints the run at most every ``checkpoint_interval``
seconds while it changes (status ``incomplete``: what a crash leaves) and once
at its end with the final status, off the run's threads so that the stream does
not wait for the disk. An event that reads a conversation (a new message, a
regenerate, an open, a share) first waits for its last run to be kept. A store
that fails during a run (read-only, full disk) costs the stream nothing: the
reply still reaches the tab, and the tab is told once (``error`` code ``store``).

Without a store (``store=None``) none of this runs: the browser keeps the
conversations, as it always did.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from ._settings import DEFAULT_STORE, StoreOption
from .runs import Run
from .store import Store, StoreError, Summary

log = logging.getLogger("gptchat")

#: The environment variable that chooses the store when ``ChatApp(store=...)`` is not given.
STORE_ENV = "GPTCHAT_STORE"
_FINAL = {"done": "done", "stopped": "stopped", "error": "error"}


def store_url(option: str) -> str | None:
    """The database URL that a ``store=`` string stands for; None for no store.

    :data:`~gptchat._settings.DEFAULT_STORE` reads ``$GPTCHAT_STORE`` (``none``
    or empty: no store) and falls back to the SQLite file in the user's data folder.

    Example::

        store_url("sqlite:///chat.db")  # "sqlite:///chat.db", a file in the working folder
    """
    if option != DEFAULT_STORE:
        return option
    value = os.environ.get(STORE_ENV)
    if value is None:
        return Store.default_url()
    value = value.strip()
    return None if value.lower() in ("", "none") else value


def open_store(option: StoreOption) -> Store | None:
    """The store ``ChatApp(store=...)`` asks for, opened; None for the browser's history.

    :raises StoreError: the database cannot be reached or opened (``SchemaError``:
        it is not a gptchat history, or a newer one).
    """
    if option is None or isinstance(option, Store):
        return option
    url = store_url(option)  # ChatApp(store=...) refused any other type already
    return None if url is None else Store(url)


def summary_payload(summary: Summary) -> dict[str, Any]:
    """A ``ConversationSummary`` payload."""
    return {
        "conversation_id": summary.id,
        "title": summary.title,
        "updated_at": summary.updated_at,
        "share_token": summary.share_token,
    }


class RunRecorder:
    """Writes one run into the store: checkpoints while it streams, and its end.

    :meth:`watch` starts its thread: a checkpoint every interval in which the run
    changed, then, once the run has ended, the final write, after which the run
    is :attr:`~gptchat.runs.Run.kept`. One thread, so writes are in order and a
    late checkpoint never overwrites the end.
    """

    def __init__(
        self,
        store: Store,
        owner: str,
        conversation_id: str,
        parent_id: str | None,
        *,
        interval: float,
        on_saved: Callable[[Summary], None],
        on_error: Callable[[Exception], None],
        failed: bool = False,
    ) -> None:
        self._store = store
        self._owner = owner
        self._cid = conversation_id
        self._parent = parent_id
        self._interval = interval
        self._on_saved = on_saved
        self._on_error = on_error
        #: Whether the tab was told of a failure for this run (it is told once).
        self._failed = failed

    def watch(self, run: Run) -> None:
        """Record ``run`` from a thread of its own, until it is kept."""
        thread = threading.Thread(
            target=self._record, args=(run,), name="gptchat-recorder", daemon=True
        )
        thread.start()

    def _record(self, run: Run) -> None:
        try:
            saved = 0
            while not run.ended.wait(self._interval):
                version, messages = run.messages_by_id()
                if version != saved and messages:
                    self._save(messages, "incomplete")
                    saved = version
            # Ended: the messages are final, with the status done, stopped or error.
            _, messages = run.messages_by_id()
            summary = self._save(messages, _FINAL.get(run.status, "error")) if messages else None
        finally:
            run.kept.set()
        if summary is not None:
            self._on_saved(summary)

    def _save(self, messages: list[tuple[str, dict[str, Any]]], status: str) -> Summary | None:
        try:
            return self._store.save_run(self._owner, self._cid, self._parent, messages, status)
        except PermissionError:
            return None  # the conversation was deleted under the run: nothing to keep
        except (StoreError, ValueError) as exc:
            if not self._failed:  # once per run: a read-only disk fails every checkpoint
                self._failed = True
                self._on_error(exc)
            return None
