"""The benchmark's last-token figures (bench/render.py): stage arithmetic, no timing."""

from __future__ import annotations

import pytest

from tests.support import load_bench

render = load_bench("render")


def test_last_token_splits_the_lag_into_its_stages() -> None:
    # Three tokens (seq 2-4 after the empty first delta, seq 1); the server sent seq 1-3,
    # then seq 4 alone. Server times in s since the epoch, page times in ms from origin.
    origin = 1_000_000.0
    record = {
        "calls": 3,
        "emits": [1000.010, 1000.020, 1000.030],
        "sends": [[1000.0101, 1, 3], [1000.0312, 4, 1]],
    }
    page = {
        "origin": origin,
        "arrivals": [[10.5, 1, 3], [32.0, 4, 1]],
        "done": 33.0,
        "painted": 45.0,
    }
    out = render.last_token(page, record)
    assert out["total"] == pytest.approx(15.0)
    assert out["emit_to_sent"] == pytest.approx(1.2)
    assert out["sent_to_arrived"] == pytest.approx(0.8)
    assert out["arrived_to_dom"] == pytest.approx(1.0)
    assert out["dom_to_painted"] == pytest.approx(12.0)
    assert sum(out[k] for k in render.STAGES) == pytest.approx(out["total"])


def test_summary_over_replies() -> None:
    ends = [{"total": float(t), **{k: t / 4 for k in render.STAGES}} for t in range(10, 30)]
    out = render.last_token_summary(ends, 100)
    assert (out["replies"], out["reply_tokens"]) == (20, 100)
    assert out["p50_ms"] in (19.0, 20.0)
    assert out["p95_ms"] == 28.0
    assert out["max_ms"] == 29.0
    assert out["stages_max_ms"]["dom_to_painted"] == 7.2
