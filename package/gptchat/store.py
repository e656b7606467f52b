"""The history store: every user's conversations on the server, in SQLite or Postgres.

A conversation belongs to one owner and holds a tree of messages (each message
names its parent: an edit or a regenerated reply is a sibling, nothing is
overwritten). Every method takes the caller's ``owner``: another owner's
conversation does not exist for it (None, False or :class:`PermissionError`).

Errors: :class:`StoreError` for anything the database refuses (read-only, full,
unreachable), :class:`SchemaError` for a database this gptchat cannot open;
:class:`ValueError` for bad input (an unknown parent, a reused message id, a
title too long); :class:`PermissionError` for a write to a conversation the
owner does not have.

Example::

    store = Store(Store.default_url())
    store.start("alice", "conv-0001")
    store.add_message("alice", "conv-0001", "m1", None, {"role": "user", "content": "Hi"})
    store.conversations("alice").items[0].title  # "Hi"
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import platformdirs
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from . import _database, _schema
from ._history import (
    AUTO_TITLE_LENGTH,
    STATUSES,
    TITLE_MAX,
    auto_title,
    branch_to,
    check_id,
    check_message,
    check_owner,
    check_status,
    check_title,
    dump,
    like,
    message_text,
    newest_leaf_of,
    plain,
    search_text,
)
from ._schema import conversations as C
from ._schema import feedback as F
from ._schema import messages as M
from ._schema import shares as S

__all__ = [
    "AUTO_TITLE_LENGTH",
    "DEFAULT_TITLE",
    "RATINGS",
    "STATUSES",
    "TITLE_MAX",
    "Conversation",
    "Node",
    "Page",
    "SchemaError",
    "Shared",
    "Store",
    "StoreError",
    "Summary",
    "auto_title",
    "message_text",
]

DEFAULT_TITLE: Final = "New chat"
#: What a user may say of a message (:meth:`Store.set_feedback`).
RATINGS: Final = frozenset({"up", "down"})


class StoreError(Exception):
    """The history store failed; the message says what to do about it."""


class SchemaError(StoreError):
    """The database is not one this gptchat can open (not a database, newer, unknown)."""


@dataclass(frozen=True)
class Summary:
    """A conversation as the sidebar lists it."""

    id: str
    title: str
    updated_at: float
    share_token: str | None


@dataclass(frozen=True)
class Page:
    """A page of conversations; ``next`` is the ``before`` of the following page, if any."""

    items: list[Summary]
    next: tuple[float, str] | None


@dataclass(frozen=True)
class Node:
    """A kept message: its id, its parent's, the OpenAI message and its state.

    ``feedback`` is the owner's rating of it, ``{"rating": "up" | "down",
    "comment": str | None}``, or None (never rated, or not read: see
    :meth:`Store.get` and :meth:`Store.path`).
    """

    id: str
    parent_id: str | None
    message: dict[str, Any]
    status: str
    created_at: float
    feedback: dict[str, str | None] | None = None


@dataclass(frozen=True)
class Conversation:
    """A whole conversation: every message of every branch, in creation order."""

    id: str
    owner: str
    title: str
    created_at: float
    updated_at: float
    share_token: str | None
    messages: list[Node]


@dataclass(frozen=True)
class Shared:
    """What a share link shows: the title and the branch as they were when shared."""

    title: str
    messages: list[dict[str, Any]]
    shared_at: float


def _reason(exc: SQLAlchemyError) -> str:
    # The driver's own words, first line only: SQLAlchemy appends the SQL and a link.
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


class Store:
    """The conversations of every owner, in one database (SQLite file or Postgres).

    Opening creates the tables in an empty database and migrates one made by an
    older gptchat; a newer one or a file that is not a database raises
    :class:`SchemaError`. Every method is thread-safe.

    :param url: ``"sqlite:///abs/path.db"`` (its folder is created) or
        ``"postgresql+psycopg://user@host/db"``.
    :raises SchemaError: the database cannot be opened as a gptchat history.
    :raises StoreError: it cannot be reached or created.

    Example::

        store = Store("sqlite:///chat.db")  # a file in the working folder
        store.start("alice", "conv-0001")
        store.close()
    """

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            shown_raw = re.sub(r"([^/@:]*):[^/@]*@", r"\1:***@", str(url))[:200]  # never a password
            raise StoreError(
                f"not a database URL: {shown_raw!r} (expected sqlite:///path/to/file.db or "
                "postgresql+psycopg://user@host/db)"
            ) from exc
        shown = sa.URL.create(
            parsed.drivername, parsed.username, None, parsed.host, parsed.port, parsed.database
        )
        self.url: str = shown.render_as_string(hide_password=False)
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise StoreError(
                f"the history store runs on SQLite or Postgres, not {backend!r} ({self.url})"
            )
        self._sqlite = backend == "sqlite"
        # One connection for an in-memory database (each would be its own), so one at a time.
        self._serial = threading.Lock() if self._sqlite and _database.is_memory(parsed) else None
        try:
            self._engine = _database.create_engine(parsed)
        except OSError as exc:
            folder = _database.sqlite_file(parsed).parent
            raise StoreError(f"cannot create the folder {folder} of the history: {exc}") from exc
        try:
            self._open()
        except BaseException:
            self._engine.dispose()
            raise

    @staticmethod
    def default_url() -> str:
        """The SQLite file in the user's data folder (``XDG_DATA_HOME`` on Linux).

        Example::

            Store.default_url()  # "sqlite:///" + the data folder + "/gptchat/history.db"
        """
        return f"sqlite:///{Path(platformdirs.user_data_dir('gptchat')) / 'history.db'}"

    def close(self) -> None:
        """Close every connection; the store is not used after."""
        self._engine.dispose()

    # -- reading ------------------------------------------------------------------

    def owner_of(self, conversation_id: str) -> str | None:
        """Who owns the conversation, None if nobody does."""
        with self._read() as conn:
            return conn.execute(sa.select(C.c.owner).where(C.c.id == conversation_id)).scalar()

    def conversations(
        self,
        owner: str,
        *,
        limit: int = 30,
        before: tuple[float, str] | None = None,
        query: str = "",
    ) -> Page:
        """A page of the owner's conversations, newest first.

        :param before: the ``next`` of the previous page.
        :param query: keep only conversations whose title or some message text holds
            it, case-insensitively (``%`` and ``_`` are plain characters).

        Example::

            page = store.conversations("alice", query="trip")
            more = store.conversations("alice", query="trip", before=page.next)
        """
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValueError(f"limit must be 1 to 1000, not {limit!r}")
        stmt = self._summary_select().where(C.c.owner == owner)
        if before is not None:
            at, cid = before
            stmt = stmt.where(
                sa.or_(C.c.updated_at < at, sa.and_(C.c.updated_at == at, C.c.id < cid))
            )
        if query:
            pattern = like(query)
            in_text = (
                sa.select(M.c.seq)
                .where(M.c.conversation_id == C.c.id, M.c.text.like(pattern, escape="\\"))
                .exists()
            )
            stmt = stmt.where(sa.or_(C.c.title_search.like(pattern, escape="\\"), in_text))
        stmt = stmt.order_by(C.c.updated_at.desc(), C.c.id.desc()).limit(limit + 1)
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        items = [Summary(r.id, r.title, r.updated_at, r.token) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, (items[-1].updated_at, items[-1].id) if more else None)

    def get(self, owner: str, conversation_id: str) -> Conversation | None:
        """The whole conversation, None if the owner has none such.

        Each message comes with its feedback (:attr:`Node.feedback`).

        Example::

            conv = store.get("alice", "conv-0001")
            [node.message for node in conv.messages]
            [node.feedback for node in conv.messages]  # [None, {"rating": "up", ...}]
        """
        with self._read() as conn:
            head = conn.execute(
                sa.select(C, S.c.token)
                .outerjoin(S, S.c.conversation_id == C.c.id)
                .where(C.c.id == conversation_id, C.c.owner == owner)
            ).first()
            if head is None:
                return None
            nodes = self._nodes(conn, conversation_id, feedback=True)
        return Conversation(
            head.id, head.owner, head.title, head.created_at, head.updated_at, head.token, nodes
        )

    def summary(self, owner: str, conversation_id: str) -> Summary | None:
        """The conversation as the sidebar lists it, None if the owner has none such."""
        with self._read() as conn:
            return self._summary(conn, owner, conversation_id)

    def path(self, owner: str, conversation_id: str, leaf_id: str) -> list[Node] | None:
        """The branch from its root to ``leaf_id``; None if the owner has no such message.

        Each message comes with its feedback (:attr:`Node.feedback`).

        Example::

            [n.message for n in store.path("alice", "conv-0001", "m4")]  # what a handler gets
        """
        with self._read() as conn:
            if not self._owns(conn, owner, conversation_id):
                return None
            return branch_to(self._nodes(conn, conversation_id, feedback=True), leaf_id)

    def newest_leaf(self, owner: str, conversation_id: str) -> str | None:
        """The end of the newest branch: from the newest message, its newest children down.

        None if the owner has no such conversation or it has no messages.
        """
        with self._read() as conn:
            if not self._owns(conn, owner, conversation_id):
                return None
            rows = conn.execute(
                sa.select(M.c.id, M.c.parent_id)
                .where(M.c.conversation_id == conversation_id)
                .order_by(M.c.seq)
            ).all()
        return newest_leaf_of(rows)

    def export(
        self, owner: str, conversation_id: str, leaf_id: str | None = None
    ) -> list[dict[str, Any]] | None:
        """The branch ending at ``leaf_id`` (None: the newest) as OpenAI messages.

        Exactly what ``messages=`` of the OpenAI API takes, and what
        :meth:`import_messages` takes back. None if the owner has no such
        conversation or message.

        Example::

            json.dumps(store.export("alice", "conv-0001"))
        """
        with self._read() as conn:
            if not self._owns(conn, owner, conversation_id):
                return None
            nodes = self._nodes(conn, conversation_id)
        leaf = leaf_id if leaf_id is not None else newest_leaf_of(nodes)
        if leaf is None:
            return []
        shown = branch_to(nodes, leaf)
        return None if shown is None else [n.message for n in shown]

    def shared(self, token: str) -> Shared | None:
        """What the share link ``token`` shows, None if there is no such link."""
        with self._read() as conn:
            row = conn.execute(sa.select(S).where(S.c.token == token)).first()
        if row is None:
            return None
        return Shared(row.title, json.loads(row.messages), row.shared_at)

    # -- writing ------------------------------------------------------------------

    def start(
        self, owner: str, conversation_id: str, initial: Sequence[dict[str, Any]] = ()
    ) -> Summary:
        """Create an empty conversation, with ``initial`` messages (ids ``init-0``, ...).

        Starting a conversation the owner has already is a no-op that returns it.

        :raises PermissionError: another owner has this id.

        Example::

            store.start("alice", "conv-0001", [{"role": "system", "content": "Be brief."}])
        """
        check_id("a conversation id", conversation_id)
        check_owner(owner)
        chain = [(f"init-{i}", check_message(m)) for i, m in enumerate(initial)]
        with self._write() as conn:
            now = time.time()
            if self._create(conn, owner, conversation_id, now):
                self._upsert_chain(conn, conversation_id, None, chain, "done", now)
            return self._require_summary(conn, owner, conversation_id)

    def add_message(
        self,
        owner: str,
        conversation_id: str,
        message_id: str,
        parent_id: str | None,
        message: dict[str, Any],
        status: str = "done",
    ) -> Summary:
        """Add one message under ``parent_id`` (None: a new root).

        The first user message gives the conversation its title, unless one was set.

        :raises ValueError: an unknown parent, an id used already, a bad message or status.
        :raises PermissionError: the owner has no such conversation.

        Example::

            store.add_message("alice", "conv-0001", "m2", "m1", {"role": "user", "content": "Hi"})
        """
        check_id("a message id", message_id)
        check_message(message)
        check_status(status)
        with self._write() as conn:
            title_kind = self._lock_owned(conn, owner, conversation_id)
            known = self._existing(conn, conversation_id, [message_id, parent_id])
            if message_id in known:
                raise ValueError(f"message id {message_id!r} is used already in this conversation")
            if parent_id is not None and parent_id not in known:
                raise ValueError(f"parent {parent_id!r:.80} is not a message of this conversation")
            now = time.time()
            self._insert_message(conn, conversation_id, message_id, parent_id, message, status, now)
            self._touch(conn, conversation_id, now, title_kind, [message])
            return self._require_summary(conn, owner, conversation_id)

    def save_run(
        self,
        owner: str,
        conversation_id: str,
        parent_id: str | None,
        messages: Sequence[tuple[str, dict[str, Any]]],
        status: str,
    ) -> Summary:
        """Keep a run's messages as they are now, chained under ``parent_id``, in one transaction.

        Called again with the same ids (a checkpoint of a reply under way, then its
        end), it updates them; ``status`` is set on each of them.

        :raises ValueError: an unknown parent, a message id kept under another parent.
        :raises PermissionError: the owner has no such conversation.

        Example::

            store.save_run("alice", "conv-0001", "m1", [("r1", reply_so_far)], "incomplete")
            store.save_run("alice", "conv-0001", "m1", [("r1", reply)], "done")
        """
        chain = [(check_id("a message id", mid), check_message(m)) for mid, m in messages]
        check_status(status)
        ids = [mid for mid, _ in chain]
        if len(set(ids)) != len(ids) or parent_id in ids:
            raise ValueError("a run's message ids must differ from each other and from its parent")
        with self._write() as conn:
            title_kind = self._lock_owned(conn, owner, conversation_id)
            if parent_id is not None and not self._existing(conn, conversation_id, [parent_id]):
                raise ValueError(f"parent {parent_id!r:.80} is not a message of this conversation")
            now = time.time()
            self._upsert_chain(conn, conversation_id, parent_id, chain, status, now)
            self._touch(conn, conversation_id, now, title_kind, [m for _, m in chain])
            return self._require_summary(conn, owner, conversation_id)

    def set_title(self, owner: str, conversation_id: str, title: str) -> Summary | None:
        """Give the conversation a title that stays (no automatic title replaces it).

        :returns: None if the owner has no such conversation.
        :raises ValueError: an empty title or one over :data:`TITLE_MAX` characters.
        """
        title = check_title(title)
        with self._write() as conn:
            done = conn.execute(
                sa.update(C)
                .where(C.c.id == conversation_id, C.c.owner == owner)
                .values(title=title, title_search=title.lower(), title_kind="set")
            )
            if done.rowcount == 0:
                return None
            return self._summary(conn, owner, conversation_id)

    def set_feedback(
        self,
        owner: str,
        conversation_id: str,
        message_id: str,
        rating: str | None,
        comment: str | None = None,
    ) -> bool:
        """Keep the owner's rating of a message (``"up"`` or ``"down"``), with a comment.

        A second call replaces the first; ``rating`` None takes it back. The
        conversation's ``updated_at`` stays: a rating is not a new message.

        :returns: False if the owner has no such message in that conversation.
        :raises ValueError: a rating other than ``"up"``, ``"down"`` or None, or a
            comment that is not a string.

        Example::

            store.set_feedback("alice", "conv-0001", "m2", "down", "Too long")
            store.set_feedback("alice", "conv-0001", "m2", None)  # taken back
        """
        if rating is not None and rating not in RATINGS:
            raise ValueError(f"a rating must be 'up', 'down' or None, not {rating!r:.40}")
        if comment is not None and not isinstance(comment, str):
            raise ValueError(f"a comment must be a string or None, not {type(comment).__name__}")
        with self._write() as conn:
            # The lock: a conversation deleted meanwhile takes its feedback with it.
            if not self._owns(conn, owner, conversation_id, lock=True):
                return False
            if not self._existing(conn, conversation_id, [message_id]):
                return False
            key = sa.and_(F.c.conversation_id == conversation_id, F.c.message_id == message_id)
            if rating is None:
                conn.execute(sa.delete(F).where(key))
                return True
            values = {
                "rating": rating,
                "comment": None if comment is None else plain(comment),
                "updated_at": time.time(),
            }
            insert = sqlite_insert if self._sqlite else postgresql_insert
            conn.execute(
                insert(F)
                .values(conversation_id=conversation_id, message_id=message_id, **values)
                .on_conflict_do_update(
                    index_elements=[F.c.conversation_id, F.c.message_id], set_=values
                )
            )
            return True

    def delete(self, owner: str, conversation_id: str) -> bool:
        """Remove the conversation, its messages, their feedback and its share link; whether
        there was one."""
        with self._write() as conn:
            if not self._owns(conn, owner, conversation_id, lock=True):
                return False
            # Explicit, not only ON DELETE CASCADE: a SQLite connection may lack foreign keys.
            conn.execute(sa.delete(F).where(F.c.conversation_id == conversation_id))
            conn.execute(sa.delete(S).where(S.c.conversation_id == conversation_id))
            conn.execute(sa.delete(M).where(M.c.conversation_id == conversation_id))
            conn.execute(sa.delete(C).where(C.c.id == conversation_id))
            return True

    def import_messages(
        self,
        owner: str,
        conversation_id: str,
        messages: Sequence[dict[str, Any]],
        *,
        title: str | None = None,
        updated_at: float | None = None,
    ) -> Summary:
        """Keep OpenAI-format messages as a new conversation: one chain, fresh message ids.

        Importing an id the owner has already is a no-op that returns it.

        :param title: the title; None takes it from the first user message.
        :param updated_at: when it last changed (Unix time), e.g. in the browser it came from.
        :raises PermissionError: another owner has this id.
        :raises ValueError: no messages, or a message that is not an OpenAI message.

        Example::

            store.import_messages("alice", "conv-0002", [{"role": "user", "content": "Hi"}])
        """
        check_id("a conversation id", conversation_id)
        check_owner(owner)
        if not messages:
            raise ValueError("an import needs at least one message")
        chain = [(secrets.token_urlsafe(9), check_message(m)) for m in messages]
        given = check_title(title) if title is not None else None
        with self._write() as conn:
            at = time.time() if updated_at is None else float(updated_at)
            if self._create(conn, owner, conversation_id, at):
                self._upsert_chain(conn, conversation_id, None, chain, "done", at)
                if given is not None:
                    self._set_title(conn, conversation_id, given, "set")
                else:
                    self._touch(conn, conversation_id, at, "default", [m for _, m in chain])
            return self._require_summary(conn, owner, conversation_id)

    def share(self, owner: str, conversation_id: str, leaf_id: str | None = None) -> str | None:
        """Share the branch ending at ``leaf_id`` (None: the newest) as it is now; its token.

        A new token replaces the conversation's earlier link. Later messages and
        renames do not change what the link shows.

        :returns: None if the owner has no such conversation.
        :raises ValueError: ``leaf_id`` is not a message of the conversation.
        """
        with self._write() as conn:
            head = conn.execute(
                sa.select(C.c.title)
                .where(C.c.id == conversation_id, C.c.owner == owner)
                .with_for_update()
            ).first()
            if head is None:
                return None
            nodes = self._nodes(conn, conversation_id)
            leaf = leaf_id if leaf_id is not None else newest_leaf_of(nodes)
            shown = branch_to(nodes, leaf) if leaf is not None else []
            if shown is None:
                raise ValueError(f"message {leaf!r:.80} is not in this conversation")
            token = secrets.token_urlsafe(24)
            conn.execute(sa.delete(S).where(S.c.conversation_id == conversation_id))
            conn.execute(
                sa.insert(S).values(
                    token=token,
                    conversation_id=conversation_id,
                    title=head.title,
                    messages=json.dumps([n.message for n in shown], ensure_ascii=False),
                    shared_at=time.time(),
                )
            )
        return token

    def unshare(self, owner: str, conversation_id: str) -> bool:
        """Revoke the conversation's share link; whether it had one the owner could revoke."""
        with self._write() as conn:
            if not self._owns(conn, owner, conversation_id):
                return False
            done = conn.execute(sa.delete(S).where(S.c.conversation_id == conversation_id))
            return done.rowcount > 0

    # -- internals ----------------------------------------------------------------

    def _open(self) -> None:
        # Processes of one deployment starting at once on one new SQLite file: SQLite may
        # refuse one of them at once ("database is locked": a lock its busy timeout cannot
        # wait for, as when both switch the new file to WAL). What the other did stands,
        # so opening again finds it; bounded by the busy timeout.
        deadline = time.monotonic() + _database.SQLITE_BUSY_MS / 1000
        while True:
            try:
                self._open_once()
                return
            except StoreError as exc:
                locked = self._sqlite and "database is locked" in str(exc)
                if not locked or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _open_once(self) -> None:
        try:
            with self._read() as conn:
                version = _schema.current_version(conn)
            _schema.refuse_newer(version)  # before any write: a read-only copy says so too
            if version == _schema.LATEST:
                return
            with self._write() as conn:
                if not self._sqlite:
                    # Two servers starting at once on one Postgres: one migrates, one waits.
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(7215032912)"))
                _schema.migrate(conn)
        except _schema.SchemaStateError as exc:
            raise SchemaError(f"cannot open the history database {self.url}: {exc}") from exc

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            if self._serial is None:
                yield
            else:
                with self._serial:
                    yield
        except DBAPIError as exc:
            raise self._translate(exc) from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"history database {self.url}: {_reason(exc)}") from exc

    def _translate(self, exc: DBAPIError) -> StoreError:
        reason = _reason(exc)
        low = reason.lower()
        where = f"the history database {self.url}"
        if "not a database" in low or "file is encrypted" in low:
            return SchemaError(f"{where} is not a SQLite database (or is damaged): {reason}")
        if "readonly" in low or "read-only" in low:
            return StoreError(
                f"{where} is read-only: let this process write the file and its folder "
                f"(SQLite writes -wal and -shm files beside it) ({reason})"
            )
        if "disk is full" in low or "no space left" in low:
            return StoreError(f"the disk of {where} is full: free some space ({reason})")
        if "unable to open" in low:
            return StoreError(f"cannot open {where}: check its folder exists and may be written")
        if exc.connection_invalidated or "connect" in low:
            return StoreError(f"cannot reach {where}: {reason}")
        return StoreError(f"{where} failed: {reason}")

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self._guard(), self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with (
            self._guard(),
            self._engine.connect().execution_options(**_database.WRITE) as conn,
            conn.begin(),
        ):
            yield conn

    def _summary_select(self) -> sa.Select[Any]:
        return sa.select(C.c.id, C.c.title, C.c.updated_at, S.c.token).outerjoin(
            S, S.c.conversation_id == C.c.id
        )

    def _summary(self, conn: sa.Connection, owner: str, conversation_id: str) -> Summary | None:
        row = conn.execute(
            self._summary_select().where(C.c.id == conversation_id, C.c.owner == owner)
        ).first()
        return None if row is None else Summary(row.id, row.title, row.updated_at, row.token)

    def _require_summary(self, conn: sa.Connection, owner: str, conversation_id: str) -> Summary:
        found = self._summary(conn, owner, conversation_id)
        if found is None:  # cannot happen under the row lock the callers hold
            raise StoreError(f"conversation {conversation_id!r} vanished while it was written")
        return found

    def _owns(
        self, conn: sa.Connection, owner: str, conversation_id: str, *, lock: bool = False
    ) -> bool:
        stmt = sa.select(C.c.id).where(C.c.id == conversation_id, C.c.owner == owner)
        return conn.execute(stmt.with_for_update() if lock else stmt).first() is not None

    def _lock_owned(self, conn: sa.Connection, owner: str, conversation_id: str) -> str:
        """Lock the owner's conversation for this transaction; its title kind."""
        kind = conn.execute(
            sa.select(C.c.title_kind)
            .where(C.c.id == conversation_id, C.c.owner == owner)
            .with_for_update()
        ).scalar()
        if kind is None:
            raise PermissionError(f"no conversation {conversation_id!r:.80} of this user")
        return str(kind)

    def _existing(
        self, conn: sa.Connection, conversation_id: str, ids: Sequence[str | None]
    ) -> dict[str, str | None]:
        """Which of ``ids`` the conversation has, with their parents."""
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return {}
        rows = conn.execute(
            sa.select(M.c.id, M.c.parent_id).where(
                M.c.conversation_id == conversation_id, M.c.id.in_(wanted)
            )
        ).all()
        return {r.id: r.parent_id for r in rows}

    def _create(self, conn: sa.Connection, owner: str, conversation_id: str, at: float) -> bool:
        """Create the conversation if the id is free; False if the owner has it already.

        :raises PermissionError: another owner has the id.
        """
        insert = sqlite_insert if self._sqlite else postgresql_insert
        # ON CONFLICT: two tabs starting one conversation at once on Postgres, where no row
        # lock can be taken on a row that does not exist yet.
        created = conn.execute(
            insert(C)
            .values(
                id=conversation_id,
                owner=owner,
                title=DEFAULT_TITLE,
                title_search=DEFAULT_TITLE.lower(),
                title_kind="default",
                created_at=at,
                updated_at=at,
            )
            .on_conflict_do_nothing(index_elements=[C.c.id])
            .returning(C.c.id)
        ).first()
        if created is not None:
            return True
        found = conn.execute(
            sa.select(C.c.owner).where(C.c.id == conversation_id).with_for_update()
        ).scalar()
        if found != owner:
            raise PermissionError(f"conversation {conversation_id!r} belongs to another user")
        return False

    def _insert_message(
        self,
        conn: sa.Connection,
        conversation_id: str,
        message_id: str,
        parent_id: str | None,
        message: dict[str, Any],
        status: str,
        at: float,
    ) -> None:
        conn.execute(
            sa.insert(M).values(
                conversation_id=conversation_id,
                id=message_id,
                parent_id=parent_id,
                message=dump(message),
                text=search_text(message),
                status=status,
                created_at=at,
            )
        )

    def _upsert_chain(
        self,
        conn: sa.Connection,
        conversation_id: str,
        parent_id: str | None,
        chain: Sequence[tuple[str, dict[str, Any]]],
        status: str,
        at: float,
    ) -> None:
        known = self._existing(conn, conversation_id, [mid for mid, _ in chain])
        parent = parent_id
        for mid, message in chain:
            if mid not in known:
                self._insert_message(conn, conversation_id, mid, parent, message, status, at)
            elif known[mid] != parent:
                raise ValueError(
                    f"message id {mid!r} is used already in this conversation, under another parent"
                )
            else:
                conn.execute(
                    sa.update(M)
                    .where(M.c.conversation_id == conversation_id, M.c.id == mid)
                    .values(message=dump(message), text=search_text(message), status=status)
                )
            parent = mid

    def _touch(
        self,
        conn: sa.Connection,
        conversation_id: str,
        at: float,
        title_kind: str,
        added: Sequence[dict[str, Any]],
    ) -> None:
        """Mark the conversation changed at ``at``; the first user message may title it."""
        conn.execute(sa.update(C).where(C.c.id == conversation_id).values(updated_at=at))
        if title_kind == "default":
            title = next((t for t in map(auto_title, added) if t is not None), None)
            if title is not None:
                self._set_title(conn, conversation_id, title, "auto")

    def _set_title(self, conn: sa.Connection, conversation_id: str, title: str, kind: str) -> None:
        conn.execute(
            sa.update(C)
            .where(C.c.id == conversation_id)
            .values(title=title, title_search=title.lower(), title_kind=kind)
        )

    def _nodes(
        self, conn: sa.Connection, conversation_id: str, *, feedback: bool = False
    ) -> list[Node]:
        rows = conn.execute(
            sa.select(M.c.id, M.c.parent_id, M.c.message, M.c.status, M.c.created_at)
            .where(M.c.conversation_id == conversation_id)
            .order_by(M.c.seq)
        ).all()
        rated: dict[str, dict[str, str | None]] = {}
        if feedback:
            # A query of its own, not a join: few messages are rated, and the key's
            # prefix finds them at once.
            for f in conn.execute(
                sa.select(F.c.message_id, F.c.rating, F.c.comment).where(
                    F.c.conversation_id == conversation_id
                )
            ):
                rated[f.message_id] = {"rating": f.rating, "comment": f.comment}
        return [
            Node(r.id, r.parent_id, json.loads(r.message), r.status, r.created_at, rated.get(r.id))
            for r in rows
        ]
