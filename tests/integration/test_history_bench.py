"""``bench/history_stream.py`` runs: both servers stream a whole reply and the store keeps it.

No timing is checked here: the figures are the benchmark's to print, not a test's."""

from __future__ import annotations

from pathlib import Path

from tests.support import load_bench

bench = load_bench("history_stream")


def test_the_history_benchmark_floods_both_servers_and_checks_what_arrived(
    tmp_path: Path,
) -> None:
    row = bench.compare(300, 2, tmp_path)
    assert row["tokens"] == 300 and row["rounds"] == 2
    assert len(row["store_none_wall_s"]) == len(row["sqlite_wall_s"]) == 2
    assert row["sqlite_tokens_per_s"] > 0 and row["store_none_tokens_per_s"] > 0
    assert (tmp_path / "history-300.db").is_file()
