"""The history store's tables (SQLAlchemy Core) and their ordered migrations.

The database names its schema version in one row of ``gptchat_schema``.
:func:`migrate` brings an empty database or one made by an older gptchat to
:data:`LATEST`, one :data:`MIGRATIONS` step at a time in one transaction, and
refuses a newer or an unknown one: an upgrade of gptchat never loses a database
made by an older one, and an older gptchat never half-understands a newer one.

A new version: append a :class:`Migration` (never edit a released one) and
change the tables below to match what it leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

metadata: Final = sa.MetaData()

#: One row, one column: the schema version the tables below are in.
schema_version: Final = sa.Table(
    "gptchat_schema",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

# Integer on SQLite so the column is the rowid (autoincrement); BIGINT elsewhere.
_Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

conversations: Final = sa.Table(
    "gptchat_conversations",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    # Lowercased title: case-insensitive search the same way on every database.
    sa.Column("title_search", sa.Text, nullable=False),
    # "default" (no title yet), "auto" (from the first user message), "set" (by a person
    # or a handler): only "default" may still become an automatic title.
    sa.Column("title_kind", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    # The sidebar's keyset page: one owner's conversations by (updated_at, id).
    sa.Index("ix_gptchat_conversations_owner_updated", "owner", "updated_at", "id"),
)

messages: Final = sa.Table(
    "gptchat_messages",
    metadata,
    # Creation order across the whole store; a conversation's messages sort by it.
    sa.Column("seq", _Serial, primary_key=True, autoincrement=True),
    sa.Column(
        "conversation_id",
        sa.String(64),
        sa.ForeignKey("gptchat_conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("parent_id", sa.String(64), nullable=True),
    # The OpenAI message dict as JSON text.
    sa.Column("message", sa.Text, nullable=False),
    # The message's text (string content or text parts), lowercased, for search.
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.UniqueConstraint("conversation_id", "id", name="uq_gptchat_messages_id"),
)

shares: Final = sa.Table(
    "gptchat_shares",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(64),
        sa.ForeignKey("gptchat_conversations.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    # A snapshot: the title and the branch's OpenAI messages (JSON list) when shared.
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("messages", sa.Text, nullable=False),
    sa.Column("shared_at", sa.Double, nullable=False),
)

feedback: Final = sa.Table(
    "gptchat_feedback",
    metadata,
    sa.Column("conversation_id", sa.String(64), nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("rating", sa.String(8), nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("updated_at", sa.Double, nullable=False),
    # One rating per message; the key's prefix is also a conversation's lookup.
    sa.PrimaryKeyConstraint("conversation_id", "message_id", name="pk_gptchat_feedback"),
    # Gone with its message (and so with its conversation).
    sa.ForeignKeyConstraint(
        ["conversation_id", "message_id"],
        ["gptchat_messages.conversation_id", "gptchat_messages.id"],
        ondelete="CASCADE",
        name="fk_gptchat_feedback_message",
    ),
    sa.CheckConstraint("rating IN ('up', 'down')", name="ck_gptchat_feedback_rating"),
)

#: Every table of the store, for "is this database ours?" checks and for tests.
TABLES: Final = (
    schema_version.name,
    conversations.name,
    messages.name,
    shares.name,
    feedback.name,
)


def _create_v1(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[conversations, messages, shares])


def _index_children(conn: sa.Connection) -> None:
    # newest_leaf() and branch switching look a message's children up by parent.
    conn.execute(
        sa.text(
            "CREATE INDEX IF NOT EXISTS ix_gptchat_messages_children "
            "ON gptchat_messages (conversation_id, parent_id)"
        )
    )


def _create_feedback(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[feedback])


@dataclass(frozen=True)
class Migration:
    """One step: the version it leaves the database in, what it does, how."""

    version: int
    description: str
    apply: Callable[[sa.Connection], None]


#: The ordered steps; version N's step turns a version N-1 database into version N.
MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "conversations, messages and shares", _create_v1),
    Migration(2, "index of a message's children", _index_children),
    Migration(3, "the user's feedback on a message", _create_feedback),
)
LATEST: Final = MIGRATIONS[-1].version


class SchemaStateError(Exception):
    """The database is not one :func:`migrate` can bring to :data:`LATEST` (the reason)."""


def current_version(conn: sa.Connection) -> int:
    """The database's schema version, 0 for one with none of the store's tables.

    :raises SchemaStateError: tables of the store without a version, or a broken version table.
    """
    names = set(sa.inspect(conn).get_table_names())
    if schema_version.name not in names:
        ours = sorted(names & set(TABLES))
        if ours:
            raise SchemaStateError(
                f"it has gptchat tables ({', '.join(ours)}) but no {schema_version.name} "
                "table naming their version; restore it from a backup or use another database"
            )
        return 0
    rows = conn.execute(sa.select(schema_version.c.version)).scalars().all()
    if len(rows) != 1:
        raise SchemaStateError(
            f"its {schema_version.name} table holds {len(rows)} rows instead of one version"
        )
    return int(rows[0])


def refuse_newer(found: int) -> None:
    """:raises SchemaStateError: ``found`` is newer than :data:`LATEST`, naming both."""
    if found > LATEST:
        raise SchemaStateError(
            f"its schema is version {found}, newer than this gptchat knows (version "
            f"{LATEST}); upgrade gptchat to open it"
        )


def migrate(conn: sa.Connection) -> int:
    """Bring the database to :data:`LATEST` inside the caller's transaction; the old version.

    :raises SchemaStateError: a version newer than :data:`LATEST`, or an unknown state.
    """
    found = current_version(conn)
    refuse_newer(found)
    for step in MIGRATIONS:
        if step.version > found:
            step.apply(conn)
    if found == 0:
        metadata.create_all(conn, tables=[schema_version])
        conn.execute(sa.insert(schema_version).values(version=LATEST))
    elif found < LATEST:
        conn.execute(sa.update(schema_version).values(version=LATEST))
    return found
