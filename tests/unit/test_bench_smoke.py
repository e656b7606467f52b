"""The benchmark's own logic (bench/): the scripted reply and the lag arithmetic.

No timing here: the figures come from ``bench/render.py``, never from a test.
"""

from __future__ import annotations

import pytest

from gptchat._merge import finish_message, merge_delta, new_message
from tests.support import load_bench

workload = load_bench("workload")


@pytest.mark.parametrize("tokens", [5, 200, 1000, 5000])
def test_reply_has_the_exact_size_and_ends_with_the_marker(tokens: int) -> None:
    text = workload.reply_text(tokens, "ZQXMARKQZ")
    assert len(text) == tokens * workload.TOKEN_CHARS
    assert text.endswith("ZQXMARKQZ")
    assert text.count("ZQXMARKQZ") == 1
    pieces = workload.tokens_of(text)
    assert len(pieces) == tokens
    assert all(len(p) == workload.TOKEN_CHARS for p in pieces)
    # The marker is complete only once the last token is there.
    assert "ZQXMARKQZ" not in "".join(pieces[:-1])


def test_reply_mixes_the_markdown_of_the_issue() -> None:
    text = workload.reply_text(1000, "ZQXMARKQZ")
    assert text.count("```python") >= 4
    assert text.count("|---|---:|---|") >= 4
    assert text.count("\n- ") >= 12
    assert workload.reply_text(1000, "ZQXMARKQZ") == text  # deterministic


def test_tokens_fold_back_into_the_reply() -> None:
    text = workload.reply_text(300, "ZQXMARKQZ")
    acc = new_message()
    merge_delta(acc, {"role": "assistant", "content": ""})
    for token in workload.tokens_of(text):
        merge_delta(acc, {"content": token})
    assert finish_message(acc)["content"] == text


def test_too_few_tokens_for_the_marker() -> None:
    with pytest.raises(ValueError):
        workload.reply_text(2, "ZQXMARKQZ")


def test_lag_arithmetic() -> None:
    render = load_bench("render")
    # Two events: seq 1-3 (the empty first delta and tokens 0-1) then seq 4 (token 2).
    b = {
        "origin": 1_000_000.0,
        "renders": [10.0, 30.0],
        "arrivals": [[5.0, 1, 3], [25.0, 4, 1]],
        "painted": 32.0,
    }
    emits = [1000.004, 1000.0045, 1000.024]  # seconds since the epoch
    out = render.lags(b, emits, 3)
    assert out["events"] == 2
    assert out["render_lag_ms"]["max"] == 5.0
    assert out["emit_to_dom_ms"]["tokens_matched"] == 3
    assert out["lag_after_last_emit_ms"] == 8.0
    assert render.pct([1.0, 2.0, 3.0, 4.0], 50) in (2.0, 3.0)
