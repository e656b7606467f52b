"""The history store alone: the sidebar's first page, search, opening a long chat, checkpoints.

Fills a fresh database with 10,000 conversations of ~10 messages each for one owner
(plus 1,000 of another owner, which every query must skip), one 1,000-message
conversation, then times, over repeats (p50 / p95 / max, in ms):

- ``conversations()`` first page (limit 30); target < 50 ms;
- ``conversations(query=...)`` for a word in message text: a common word (the page
  fills at once) and a rare one (few conversations hold it: the search reads nearly
  everything, the worst case); target < 100 ms;
- ``get()`` of the 1,000-message conversation;
- ``save_run()`` checkpoints of a reply growing by ~100 characters a call, as a
  stream writes it every second.

Run: ``.venv/bin/python bench/store.py`` (SQLite in a temporary folder), or
``--postgres postgresql+psycopg://user@host/db`` (an empty database; ``--postgres temp``
starts a throwaway local server as the tests do); ``--json PATH``
also writes the figures there.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "package")]

import sqlalchemy as sa  # noqa: E402

from gptchat import _schema  # noqa: E402
from gptchat._history import search_text  # noqa: E402
from gptchat.store import Store, auto_title  # noqa: E402

OWNER = "bench-owner"
OTHER = "bench-other"
COMMON = "ocean"  # in about one message of twenty
RARE = "zanzibar"  # in 20 conversations of 10,000, the oldest ones


_VOCABULARY = [
    "".join(random.Random(i).choices("abcdefghilmnoprstuv", k=3 + i % 7)) for i in range(3000)
]


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(_VOCABULARY, k=n))


def fill(url: str, conversations: int, others: int, per: int, seed: int = 7) -> None:
    """Write the conversations straight into the tables, in bulk (the store writes one by one)."""
    rng = random.Random(seed)
    engine = sa.create_engine(url)
    base = time.time() - 86_400 * 365
    convs: list[dict[str, Any]] = []
    msgs: list[dict[str, Any]] = []
    rare = set(range(20))  # the oldest: a rare-word search must read to the end
    for n in range(conversations + others):
        owner = OWNER if n < conversations else OTHER
        cid = f"conv-{n:06d}"
        at = base + n * 60.0
        texts = [_words(rng, rng.randint(8, 60)) for _ in range(per)]
        for i in range(per):
            if rng.random() < 0.05:
                texts[i] += f" {COMMON.capitalize()}"
        if n in rare:
            texts[-1] += f" {RARE.upper()}!"
        parent = None
        title = None
        for i, text in enumerate(texts):
            message = {"role": "user" if i % 2 == 0 else "assistant", "content": text}
            title = title or auto_title(message)
            msgs.append(
                {
                    "conversation_id": cid,
                    "id": f"m{i}",
                    "parent_id": parent,
                    "message": json.dumps(message),
                    "text": search_text(message),
                    "status": "done",
                    "created_at": at,
                }
            )
            parent = f"m{i}"
        title = title or "New chat"
        convs.append(
            {
                "id": cid,
                "owner": owner,
                "title": title,
                "title_search": title.lower(),
                "title_kind": "auto",
                "created_at": at,
                "updated_at": at,
            }
        )
    with engine.begin() as conn:
        conn.execute(sa.insert(_schema.conversations), convs)
        for i in range(0, len(msgs), 20_000):
            conn.execute(sa.insert(_schema.messages), msgs[i : i + 20_000])
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load: without statistics the planner guesses.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    """p50, p95 and max of ``fn``'s wall time, in ms, after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p95": samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))],
        "max": samples[-1],
    }


def run(url: str, conversations: int, repeat: int) -> dict[str, dict[str, float]]:
    store = Store(url)  # creates the schema
    t0 = time.perf_counter()
    fill(url, conversations, conversations // 10, per=10)
    print(
        f"filled {conversations:,} + {conversations // 10:,} conversations "
        f"in {time.perf_counter() - t0:.1f} s"
    )

    long_chat = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": _words(random.Random(i), 80)}
        for i in range(1000)
    ]
    store.import_messages(OWNER, "conv-long", long_chat, updated_at=time.time() - 86_400 * 400)
    store.start(OWNER, "conv-stream")
    store.add_message(OWNER, "conv-stream", "u0", None, {"role": "user", "content": "Go"})

    def first_page() -> None:
        assert len(store.conversations(OWNER).items) == 30

    def search(word: str, expect: int) -> Callable[[], None]:
        def go() -> None:
            found = store.conversations(OWNER, query=word).items
            assert len(found) == expect, (word, len(found))

        return go

    def open_long() -> None:
        conv = store.get(OWNER, "conv-long")
        assert conv is not None and len(conv.messages) == 1000

    reply = [""]

    def checkpoint() -> None:
        reply[0] += _words(random.Random(len(reply[0])), 15) + " "
        message = {"role": "assistant", "content": reply[0]}
        store.save_run(OWNER, "conv-stream", "u0", [("r0", message)], "incomplete")

    rows = {
        "first page (limit 30)": timed(first_page, repeat),
        f"search, common word ({COMMON!r})": timed(search(COMMON, 30), repeat),
        f"search, rare word ({RARE!r}, 20 hits)": timed(search(RARE, 20), repeat),
        "get() of 1,000 messages": timed(open_long, max(5, repeat // 2)),
        "save_run() checkpoint": timed(checkpoint, repeat * 2),
    }
    store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="an empty Postgres database, or 'temp' for a throwaway server (tests/pg_server.py)",
    )
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gptchat-bench-") as tmp:
        if args.postgres == "temp":
            from tests.pg_server import PostgresServer

            with PostgresServer.start() as server:
                print("store: postgres (a throwaway server, fsync off)")
                rows = run(server.create_database(), args.conversations, args.repeat)
        else:
            url = args.postgres or f"sqlite:///{Path(tmp) / 'history.db'}"
            print(f"store: {'postgres' if args.postgres else 'sqlite'}")
            rows = run(url, args.conversations, args.repeat)
    targets = {"first page (limit 30)": 50.0}
    print(f"{'':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target")
    for name, row in rows.items():
        target = targets.get(name, 100.0 if name.startswith("search") else None)
        mark = (
            ""
            if target is None
            else f"< {target:.0f} " + ("ok" if row["p95"] < target else "MISSED")
        )
        print(f"{name:40} {row['p50']:8.2f} {row['p95']:8.2f} {row['max']:8.2f}  {mark}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
