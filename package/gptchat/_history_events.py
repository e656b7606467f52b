"""The history events of one server: :class:`History` with a store, :class:`BrowserHistory` without.

Both answer the same calls, so the server's socket handlers do not ask which
one they have. With a :class:`~gptchat.store.Store` the conversations are the
server's: a tab sends only the new user message (and the message it follows),
asks for its list and for a conversation, and hears of every change any of its
user's tabs makes. Every call is scoped to the tab's user: a conversation of
another user does not exist for it, whatever the event (``not_found``, exactly
as for an id nobody has). Without one, the browser keeps its conversations and
sends the branch with each message; the history events get an empty list or a
clear error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ._settings import Settings
from ._store import RunRecorder, summary_payload
from .emitter import Emitter
from .protocol import (
    DeleteConversation,
    GiveFeedback,
    ImportConversation,
    ListConversations,
    OpenConversation,
    RenameConversation,
    SendMessage,
    ShareConversation,
)
from .runs import Run, RunRegistry
from .store import Store, StoreError, Summary

log = logging.getLogger("gptchat")

_UNKNOWN = "unknown conversation"
_NO_STORE = "this server keeps no history (store=None): the browser keeps its conversations"

#: What a run answers: the id of the message it follows, the branch the handler gets,
#: and whether keeping the new message failed (the tab was told).
Prepared = tuple[str, list[dict[str, Any]], bool]


class History:
    """The history events of one server with a store, each scoped to the tab's user.

    ``tabs_of(user)`` gives the sids of the user's open tabs: every change is
    told to all of them (and to no one else). ``initial()`` gives the messages
    a new conversation starts with (``set_config(messages=...)``).
    """

    def __init__(
        self,
        store: Store,
        emitter: Emitter,
        runs: RunRegistry,
        settings: Settings,
        *,
        tabs_of: Callable[[str], Iterable[str]],
        initial: Callable[[], list[dict[str, Any]]],
    ) -> None:
        self.store = store
        self._emitter = emitter
        self._runs = runs
        self._settings = settings
        self._tabs_of = tabs_of
        self._initial = initial

    # -- helpers -------------------------------------------------------------------

    def changed(self, user: str, summary: Summary) -> None:
        """Tell every tab of ``user`` how the conversation is now."""
        self._emitter.conversation_changed(self._tabs_of(user), summary_payload(summary))

    def failed(self, sid: str | None, exc: Exception, conversation_id: str | None) -> None:
        """Log a store failure and tell the tab, if it is there."""
        log.error("history store: %s", exc)
        if sid is not None:
            message = f"the history could not be kept: {exc}"
            self._emitter.error(sid, "store", message, conversation_id)

    def owner(self, client_key: str, user: str) -> str:
        """Who a tab's runs and conversations belong to: its user."""
        return user

    def may_stop(self, sid: str, user: str, conversation_id: str) -> bool:
        """Whether the user may stop a reply there; if not, the tab hears ``not_found``."""
        if self._owns(user, conversation_id):
            return True
        self._not_found(sid, conversation_id)
        return False

    def _owns(self, user: str, conversation_id: str) -> bool:
        return self.store.owner_of(conversation_id) == user

    def _settled(self, user: str, conversation_id: str) -> None:
        """Wait (a little) until the conversation's last run is kept: the tab may answer it."""
        run = self._runs.get(conversation_id, user)
        if run is not None and run.ended.is_set():
            run.kept.wait(self._settings.shutdown_timeout)

    def _not_found(self, sid: str, conversation_id: str) -> None:
        self._emitter.error(sid, "not_found", _UNKNOWN, conversation_id)

    def recorder(
        self, sid: str, user: str, conversation_id: str, parent_id: str, *, failed: bool = False
    ) -> RunRecorder | None:
        """The recorder of a run of ``user`` answering ``parent_id``.

        ``failed``: the tab was told already that this run's history is not kept.
        """

        def on_error(exc: Exception) -> None:
            run = self._runs.get(conversation_id, user)
            self.failed(run.sid if run is not None else sid, exc, conversation_id)

        return RunRecorder(
            self.store,
            user,
            conversation_id,
            parent_id,
            interval=self._settings.checkpoint_interval,
            on_saved=lambda summary: self.changed(user, summary),
            on_error=on_error,
            failed=failed,
        )

    # -- what a run answers ----------------------------------------------------------

    def prepare_send(self, sid: str, user: str, payload: SendMessage) -> Prepared | None:
        """Keep the new user message; its id, the branch the handler answers, and
        whether keeping it failed.

        None when refused (the tab was told why). A conversation id nobody has
        is started, with the configured initial messages; its first message
        follows them unless it names another parent. A store that can be read
        but not written (read-only, full) is told to the tab once, and the reply
        goes ahead all the same.
        """
        cid = payload.conversation_id
        if len(payload.messages) != 1:
            self._emitter.error(
                sid,
                "invalid_payload",
                "send_message: the server keeps the history; send only the new message "
                f"(with parent_id), not {len(payload.messages)}",
                cid,
            )
            return None
        new = payload.messages[0]
        if new.message.role != "user":
            self._emitter.error(
                sid,
                "invalid_payload",
                f"send_message: the new message must be a user message, not {new.message.role}",
                cid,
            )
            return None
        owner = self.store.owner_of(cid)
        parent = payload.parent_id
        started: Summary | None = None
        failed: StoreError | None = None
        initial: list[dict[str, Any]] = []
        if owner is None:
            initial = self._initial()
            try:
                started = self.store.start(user, cid, initial)
            except PermissionError:  # another user took the id a moment ago
                self._not_found(sid, cid)
                return None
            except StoreError as exc:
                failed = exc
            if parent is None and initial:
                parent = f"init-{len(initial) - 1}"
        elif owner != user:
            self._not_found(sid, cid)
            return None
        else:
            self._settled(user, cid)
        branch: list[dict[str, Any]] | None = []
        if failed is not None:
            branch = initial if parent is None or parent.startswith("init-") else None
        elif parent is not None:
            nodes = self.store.path(user, cid, parent)
            branch = None if nodes is None else [node.message for node in nodes]
        if branch is None:
            self._emitter.error(
                sid, "invalid_payload", f"send_message: no message {parent!r} here", cid
            )
            return None
        if len(branch) + 1 > self._settings.max_messages:
            self._emitter.error(
                sid,
                "limit",
                f"send_message: too many messages in the conversation ({len(branch) + 1}; "
                f"limit {self._settings.max_messages})",
                cid,
            )
            return None
        message = new.message.model_dump(mode="json", exclude_none=True)
        if failed is None:
            try:
                summary = self.store.add_message(user, cid, new.id, parent, message)
            except ValueError as exc:
                if started is not None:
                    self.changed(user, started)
                self._emitter.error(sid, "invalid_payload", f"send_message: {exc}", cid)
                return None
            except PermissionError:  # deleted a moment ago, in another tab
                self._not_found(sid, cid)
                return None
            except StoreError as exc:
                failed = exc
            else:
                self.changed(user, summary)
        if failed is not None:
            self.failed(sid, failed, cid)
        return new.id, [*branch, message], failed is not None

    def prepare_regenerate(
        self, sid: str, user: str, conversation_id: str, parent_id: str
    ) -> list[dict[str, Any]] | None:
        """The branch ending at ``parent_id`` that a new reply answers; None if refused."""
        self._settled(user, conversation_id)
        branch = self.store.path(user, conversation_id, parent_id)
        if branch is None:
            self._not_found(sid, conversation_id)
            return None
        return [node.message for node in branch]

    def branch(
        self, sid: str, user: str, conversation_id: str, leaf_id: str
    ) -> list[tuple[str, dict[str, Any]]] | None:
        """The branch ending at ``leaf_id`` as (id, message) pairs; None if refused."""
        self._settled(user, conversation_id)
        nodes = self.store.path(user, conversation_id, leaf_id)
        if nodes is None:
            self._not_found(sid, conversation_id)
            return None
        return [(node.id, node.message) for node in nodes]

    # -- the conversation events ----------------------------------------------------------

    def on_list(self, sid: str, user: str, payload: ListConversations) -> None:
        """``list_conversations``: a page of the user's conversations."""
        before = payload.before
        page = self.store.conversations(
            user,
            limit=payload.limit,
            before=(before.updated_at, before.conversation_id) if before else None,
            query=payload.query,
        )
        self._emitter.conversation_list(
            sid,
            {
                "query": payload.query,
                "before": before.model_dump() if before else None,
                "items": [summary_payload(s) for s in page.items],
                "next": (
                    {"updated_at": page.next[0], "conversation_id": page.next[1]}
                    if page.next
                    else None
                ),
            },
        )

    def on_open(self, sid: str, user: str, payload: OpenConversation) -> None:
        """``open_conversation``: every message; and the reply running there, if any."""
        cid = payload.conversation_id
        self._settled(user, cid)
        conversation = self.store.get(user, cid)
        if conversation is None:
            self._not_found(sid, cid)
            return
        self._emitter.conversation(
            sid,
            {
                "conversation_id": conversation.id,
                "title": conversation.title,
                "updated_at": conversation.updated_at,
                "share_token": conversation.share_token,
                "messages": [
                    {
                        "id": n.id,
                        "parent_id": n.parent_id,
                        "message": n.message,
                        "status": n.status,
                        "feedback": n.feedback,
                    }
                    for n in conversation.messages
                ],
            },
        )
        run = self._runs.get(cid, user)
        # A reply no tab is showing (its tab reloaded or lost its connection) streams on
        # here; one that another tab shows streams here too.
        if run is not None and run.status == "running":
            if run.sid is None:
                run.attach(sid)
            elif run.sid != sid:
                run.watch(sid)

    def on_rename(self, sid: str, user: str, payload: RenameConversation) -> None:
        """``rename_conversation``."""
        try:
            summary = self.store.set_title(user, payload.conversation_id, payload.title)
        except ValueError as exc:
            self._emitter.error(sid, "invalid_payload", str(exc), payload.conversation_id)
            return
        if summary is None:
            self._not_found(sid, payload.conversation_id)
        else:
            self.changed(user, summary)

    def on_delete(self, sid: str, user: str, payload: DeleteConversation) -> None:
        """``delete_conversation``: its reply stops, its rows go."""
        cid = payload.conversation_id
        if not self._owns(user, cid):
            self._not_found(sid, cid)
            return
        run = self._runs.get(cid, user)
        if run is not None and run.status == "running":
            run.request_stop()
        if self.store.delete(user, cid):
            self._emitter.conversation_deleted(self._tabs_of(user), cid)
        else:
            self._not_found(sid, cid)

    def on_import(self, sid: str, user: str, payload: ImportConversation) -> None:
        """``import_conversation``: OpenAI messages kept as a conversation of the user."""
        cid = payload.conversation_id
        # Its message count and size were checked with send_message's (_limits.check_payload).
        messages = [m.model_dump(mode="json", exclude_none=True) for m in payload.messages]
        try:
            summary = self.store.import_messages(
                user, cid, messages, title=payload.title, updated_at=payload.updated_at
            )
        except PermissionError:
            self._not_found(sid, cid)
            return
        except ValueError as exc:
            self._emitter.error(sid, "invalid_payload", f"import_conversation: {exc}", cid)
            return
        self.changed(user, summary)

    def on_share(self, sid: str, user: str, payload: ShareConversation) -> None:
        """``share_conversation``: a read-only link to a branch, or its revocation."""
        cid = payload.conversation_id
        if not self._owns(user, cid):
            self._not_found(sid, cid)
            return
        if payload.shared:
            self._settled(user, cid)
            try:
                token = self.store.share(user, cid, payload.leaf_id)
            except ValueError as exc:
                self._emitter.error(sid, "invalid_payload", f"share_conversation: {exc}", cid)
                return
            if token is None:
                self._not_found(sid, cid)
                return
        else:
            self.store.unshare(user, cid)
        summary = self.store.summary(user, cid)
        if summary is None:
            self._not_found(sid, cid)
        else:
            self.changed(user, summary)

    def save_feedback(self, user: str, payload: GiveFeedback) -> bool:
        """``feedback``: keep the user's rating with the message; False if it is not theirs.

        The conversation's summary does not change, so no tab is told: a tab
        that opens the conversation gets the rating with its message.

        :raises StoreError: the store failed (the server tells the tab).

        Example::

            if not history.save_feedback(user, payload):
                emitter.error(sid, "not_found", "unknown message", payload.conversation_id)
        """
        # A thumb clicked as a reply ends: its messages may not be kept yet.
        self._settled(user, payload.conversation_id)
        return self.store.set_feedback(
            user, payload.conversation_id, payload.message_id, payload.rating, payload.comment
        )

    def set_title(self, run: Run, title: str) -> None:
        """A handler's ``app.set_title()``: the run's conversation gets ``title``.

        A store that fails is told to the run's tab; the handler goes on.
        """
        try:
            summary = self.store.set_title(run.owner, run.conversation_id, title)
        except StoreError as exc:
            self.failed(run.sid, exc, run.conversation_id)
            return
        if summary is not None:
            self.changed(run.owner, summary)


class BrowserHistory:
    """The history events when the browser keeps the conversations (``store=None``).

    The browser sends the whole branch with each message; nothing is kept here.
    """

    store: Store | None = None

    def __init__(self, emitter: Emitter) -> None:
        self._emitter = emitter

    def owner(self, client_key: str, user: str) -> str:
        """Who a tab's runs belong to: its browser (one client key per browser profile)."""
        return client_key

    def may_stop(self, sid: str, user: str, conversation_id: str) -> bool:
        """Always: a run is found by its browser's key."""
        return True

    def failed(self, sid: str | None, exc: Exception, conversation_id: str | None) -> None:
        """Log it (nothing here touches a store)."""
        log.error("history store: %s", exc)

    def recorder(
        self, sid: str, user: str, conversation_id: str, parent_id: str, *, failed: bool = False
    ) -> RunRecorder | None:
        """None: the browser keeps what a run sends."""
        return None

    def prepare_send(self, sid: str, owner: str, payload: SendMessage) -> Prepared | None:
        """The branch as the browser sent it; the run answers its last message."""
        messages = [m.message.model_dump(mode="json", exclude_none=True) for m in payload.messages]
        return payload.messages[-1].id, messages, False

    def prepare_regenerate(
        self, sid: str, owner: str, conversation_id: str, parent_id: str
    ) -> list[dict[str, Any]] | None:
        """Refused: the browser regenerates by sending the branch again."""
        message = f"regenerate: {_NO_STORE}; send the branch instead"
        self._emitter.error(sid, "invalid_payload", message, conversation_id)
        return None

    def branch(
        self, sid: str, user: str, conversation_id: str, leaf_id: str
    ) -> list[tuple[str, dict[str, Any]]] | None:
        """Refused: the browser sends the branch itself."""
        self._emitter.error(sid, "invalid_payload", _NO_STORE, conversation_id)
        return None

    def save_feedback(self, user: str, payload: GiveFeedback) -> bool:
        """Nothing to keep: the browser keeps the rating with its message."""
        return True

    def on_list(self, sid: str, user: str, payload: ListConversations) -> None:
        """An empty list: the browser lists its own."""
        before = payload.before.model_dump() if payload.before else None
        empty: dict[str, Any] = {"query": payload.query, "before": before, "items": []}
        self._emitter.conversation_list(sid, {**empty, "next": None})

    def on_open(self, sid: str, user: str, payload: OpenConversation) -> None:
        """``not_found``: the server keeps no conversation."""
        self._emitter.error(sid, "not_found", _NO_STORE, payload.conversation_id)

    def _refuse(self, sid: str, conversation_id: str) -> None:
        self._emitter.error(sid, "invalid_payload", _NO_STORE, conversation_id)

    def on_rename(self, sid: str, user: str, payload: RenameConversation) -> None:
        """Refused: titles live in the browser."""
        self._refuse(sid, payload.conversation_id)

    def on_delete(self, sid: str, user: str, payload: DeleteConversation) -> None:
        """Refused: the browser deletes its own."""
        self._refuse(sid, payload.conversation_id)

    def on_import(self, sid: str, user: str, payload: ImportConversation) -> None:
        """Refused: the browser keeps what it imports."""
        self._refuse(sid, payload.conversation_id)

    def on_share(self, sid: str, user: str, payload: ShareConversation) -> None:
        """Refused: a share link shows what the server keeps."""
        self._refuse(sid, payload.conversation_id)

    def set_title(self, run: Run, title: str) -> None:
        """Tell the run's tab the title (the browser keeps it); no other tab knows the chat."""
        summary = Summary(run.conversation_id, title, time.time(), None)
        if run.sid is not None:
            self._emitter.conversation_changed([run.sid], summary_payload(summary))


#: The history events of a server, whichever keeps the conversations.
Keeper = History | BrowserHistory
