"""The audio merge rule: a streamed ``delta.audio`` folds into one playable message."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest

from gptchat._merge import append_base64, finish_message, merge_delta, new_message
from gptchat.utils import concat_stream

CASES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "merge-audio.json").read_text("utf-8")
)["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_audio_deltas_fold_as_the_vectors_say(case: dict[str, Any]) -> None:
    acc = new_message()
    for delta in case["deltas"]:
        merge_delta(acc, delta)
    assert finish_message(acc) == {"content": None, **case["expected"]}


def test_a_stream_of_audio_chunks_folds_into_playable_data() -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        for delta in CASES[0]["deltas"]
    ]
    choice = concat_stream(chunks)
    assert choice["message"]["audio"] == CASES[0]["expected"]["audio"]


def test_base64_pieces_join_as_their_bytes_whatever_the_cut() -> None:
    rng = random.Random(14)
    for _ in range(300):
        pieces = [rng.randbytes(rng.randrange(0, 9)) for _ in range(rng.randrange(1, 7))]
        joined = ""
        for piece in pieces:
            joined = append_base64(joined, base64.b64encode(piece).decode())
        assert joined == base64.b64encode(b"".join(pieces)).decode()


def test_text_that_is_not_base64_is_appended_not_lost() -> None:
    assert append_base64("QQ==", "not base64!") == "QQ==not base64!"
