"""bench/store.py's data and queries, small: the figures come from the bench, never a test."""

from __future__ import annotations

from pathlib import Path

from gptchat.store import Store
from tests.support import load_bench

bench = load_bench("store")


def test_the_bench_fills_what_its_queries_look_for(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    Store(url).close()
    bench.fill(url, conversations=300, others=30, per=10)
    store = Store(url)
    first = store.conversations(bench.OWNER, limit=100)
    assert len(first.items) == 100 and first.next is not None
    assert all(s.id < "conv-000300" for s in first.items)  # the other owner's are not listed
    rare = store.conversations(bench.OWNER, query=bench.RARE, limit=100).items
    assert sorted(s.id for s in rare) == [f"conv-{n:06d}" for n in range(20)]
    assert len(store.conversations(bench.OWNER, query=bench.COMMON).items) == 30
    conv = store.get(bench.OWNER, "conv-000007")
    assert conv is not None and len(conv.messages) == 10
    store.close()


def test_the_bench_runs_every_row(tmp_path: Path) -> None:
    rows = bench.run(f"sqlite:///{tmp_path / 'run.db'}", conversations=300, repeat=2)
    assert len(rows) == 5
    assert all(0 < row["p50"] <= row["p95"] <= row["max"] for row in rows.values())
