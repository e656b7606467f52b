"""The history store's SQLAlchemy engine: pooled Postgres, or SQLite set up for many writers.

SQLite gets WAL (readers never wait for the writer), a busy timeout, foreign keys,
and a write transaction that takes the write lock when it begins (``BEGIN
IMMEDIATE``): a deferred transaction that reads and then writes fails at once with
"database is locked" if another connection wrote in between, whatever the timeout.
A connection begun with ``execution_options(**WRITE)`` is such a write transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

#: Execution options of a connection whose transaction will write.
WRITE: Final = {"gptchat_write": True}
#: How long a SQLite writer waits for another one, in ms.
SQLITE_BUSY_MS: Final = 30_000


def is_memory(url: sa.URL) -> bool:
    """Whether the URL is an in-memory SQLite database (one shared connection)."""
    database = url.database or ""
    return database in ("", ":memory:") or url.query.get("mode") == "memory"


def sqlite_file(url: sa.URL) -> Path:
    """The file of a SQLite URL, also in its ``file:...?uri=true`` form."""
    return Path((url.database or "").removeprefix("file:").split("?", 1)[0]).expanduser()


def create_engine(url: sa.URL) -> sa.Engine:
    """An engine for the store; a SQLite file's folder is created.

    :raises OSError: the folder cannot be created.
    """
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    memory = is_memory(url)
    if memory:
        # Each connection to ":memory:" would be a database of its own: share one.
        engine = sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        sqlite_file(url).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000},
            pool_size=8,
            max_overflow=16,
            pool_timeout=120,
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below), not the driver.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                try:
                    cursor.execute("PRAGMA journal_mode = WAL")
                except Exception as exc:  # a read-only file: reads still work
                    if "readonly" not in str(exc):
                        raise
                # Durable across a crash of the process; a power cut may lose the last commits.
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("gptchat_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
