"""The merge rules: every shared OpenAI stream vector, plus the shapes vectors leave out."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from openai.types.chat import ChatCompletionChunk

from gptchat._merge import (
    compact,
    finish_message,
    fold_text_deltas,
    merge_delta,
    new_message,
)
from gptchat.utils import concat_stream, parse_partial_json

ROOT = Path(__file__).resolve().parents[2]
# The shared vectors, vendored so that a fresh clone runs them with nothing beside it;
# test_vendored_vectors_match_the_shared_ones catches drift from the shared copy.
VENDORED = ROOT / "tests" / "fixtures" / "openai-streams"
SHARED = Path(os.environ.get("GPTCHAT_SHARED_DIR", ROOT.parent / "shared"))
SHARED_VECTORS = SHARED / "fixtures" / "openai-streams"
VECTORS = sorted(VENDORED.glob("*.json"))
PARTIAL_JSON_CASES = json.loads(
    (ROOT / "tests" / "fixtures" / "partial_json_cases.json").read_text()
)


def matches(expected: Any, actual: Any, where: str = "") -> None:
    """The vectors' comparison: only expected keys, null matches missing, lists exact."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        for key, value in expected.items():
            if value is None:
                assert actual.get(key) is None, f"{where}.{key}: {actual.get(key)!r} != null"
            else:
                assert key in actual, f"{where}.{key} missing"
                matches(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            matches(e, a, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def test_vectors_are_there() -> None:
    assert len(VECTORS) >= 12, f"vendored vectors not found under {VENDORED}"


def test_vendored_vectors_match_the_shared_ones() -> None:
    if not SHARED_VECTORS.is_dir():
        pytest.skip(f"no shared vectors at {SHARED_VECTORS} to compare the vendored copy with")
    shared = {p.name: p.read_bytes() for p in SHARED_VECTORS.iterdir() if p.is_file()}
    vendored = {p.name: p.read_bytes() for p in VENDORED.iterdir() if p.is_file()}
    assert sorted(vendored) == sorted(shared), f"copy {SHARED_VECTORS} to {VENDORED} again"
    changed = [name for name in sorted(shared) if vendored[name] != shared[name]]
    assert not changed, f"{changed} differ from {SHARED_VECTORS}: copy them to {VENDORED} again"


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
@pytest.mark.parametrize("as_sdk", [False, True], ids=["dicts", "sdk"])
def test_concat_stream_folds_every_vector(path: Path, as_sdk: bool) -> None:
    vector = json.loads(path.read_text())
    for expected in vector["expected"]["choices"]:
        i = expected["index"]
        if as_sdk:
            chunks = [ChatCompletionChunk.model_validate(c) for c in vector["chunks"]]
            choices: list[Any] = [c for chunk in chunks for c in chunk.choices if c.index == i]
            folded = concat_stream(choices).model_dump(mode="json")
        else:
            choices = [c for chunk in vector["chunks"] for c in chunk["choices"] if c["index"] == i]
            folded = concat_stream(choices)
        matches(expected, folded, path.stem)


def fold(*deltas: dict[str, Any]) -> dict[str, Any]:
    acc = new_message()
    for delta in deltas:
        merge_delta(acc, delta)
    return finish_message(acc)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_folding_text_deltas_keeps_every_vector(path: Path) -> None:
    # The server folds the deltas of one event before sending: the message must not change.
    vector = json.loads(path.read_text())
    for expected in vector["expected"]["choices"]:
        i = expected["index"]
        deltas = [
            {k: v for k, v in c["delta"].items() if v is not None}
            for chunk in vector["chunks"]
            for c in chunk["choices"]
            if c["index"] == i and c.get("delta") is not None
        ]
        for start in range(len(deltas)):  # every split of the stream into two events
            folded = fold_text_deltas(deltas[:start]) + fold_text_deltas(deltas[start:])
            assert fold(*folded) == fold(*deltas), (path.stem, start)


def test_fold_text_deltas_joins_runs_of_text_only() -> None:
    part = {"content": [{"type": "text", "text": "x"}]}
    deltas: list[dict[str, Any]] = [
        {"role": "assistant", "content": ""},
        {"content": "Hel"},
        {},
        {"reasoning_content": "hm", "role": "user"},
        {"content": "lo"},
        call(0, id="c1", function={"name": "f", "arguments": "{"}),
        {"content": " a"},
        {"content": "b", "obfuscation": "zz"},
        part,
        {"refusal": "no"},
    ]
    folded = fold_text_deltas(deltas)
    assert folded == [
        {"role": "assistant", "content": "Hello", "reasoning_content": "hm"},
        deltas[5],
        {"content": " a"},
        deltas[7],
        part,
        {"refusal": "no"},
    ]
    assert fold(*folded) == fold(*deltas)
    assert fold_text_deltas([]) == []
    assert fold_text_deltas([{}, {}]) == [{}]


def call(index: int | None = None, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {} if index is None else {"index": index}
    entry.update(fields)
    return {"tool_calls": [entry]}


def test_restated_name_and_id_are_not_doubled() -> None:
    fn = {"name": "get_weather", "arguments": '{"a"'}
    message = fold(
        {"role": "assistant"},
        call(0, id="call_1", function=fn),
        call(0, id="call_1", function={"name": "get_weather", "arguments": ": 1}"}),
    )
    assert message["tool_calls"] == [
        {"id": "call_1", "function": {"name": "get_weather", "arguments": '{"a": 1}'}}
    ]


def test_name_split_across_fragments_is_joined() -> None:
    message = fold(call(0, function={"name": "get_"}), call(0, function={"name": "weather"}))
    assert message["tool_calls"][0]["function"]["name"] == "get_weather"


def test_index_is_a_key_not_a_position() -> None:
    message = fold(call(1, id="b", type="function", function={"name": "f", "arguments": "{}"}))
    assert message["tool_calls"] == [
        {"id": "b", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]


def test_entry_without_function_contributes_its_id() -> None:
    message = fold(call(0, id="x"), call(0, function={"arguments": "{}"}))
    assert message["tool_calls"] == [{"id": "x", "function": {"arguments": "{}"}}]


def test_full_messages_merge_into_empty_unchanged() -> None:
    full = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "b", "type": "function", "function": {"name": "g", "arguments": "[]"}},
        ],
    }
    assert fold(full) == full
    tool = {"role": "tool", "tool_call_id": "a", "content": "42"}
    assert fold(tool) == tool
    user = {"role": "user", "content": [{"type": "text", "text": "hi"}]}
    assert fold(user) == user


def test_repeated_role_is_ignored_and_null_is_a_no_op() -> None:
    message = fold(
        {"role": "assistant", "content": ""},
        {"role": "assistant", "content": "a"},
        {"role": None, "content": None},
        {"content": "b", "tool_calls": []},
    )
    assert message == {"role": "assistant", "content": "ab"}


def test_merging_costs_the_same_at_any_length() -> None:
    # Text is kept as fragments, joined when the message is read: appending to one long
    # string would copy all of it on every delta (O(n²) over a reply). Counted, not timed.
    acc = new_message()
    call = {"index": 0, "function": {"arguments": "x"}}
    for i in range(10_000):
        merge_delta(acc, {"content": "ab", "tool_calls": [call]})
        if i == 4_999:
            assert finish_message(acc)["content"] == "ab" * 5_000
    # Joined at the read, then appended to, 256 fragments joined into one at a time.
    assert len(acc["content"]) == 1 + 5_000 // 256 + 5_000 % 256
    compact(acc)
    assert len(acc["content"]) == 1
    message = finish_message(acc)
    assert message["content"] == "ab" * 10_000
    assert message["tool_calls"][0]["function"]["arguments"] == "x" * 10_000
    assert finish_message(acc) == message  # reading again gives the same message


def test_snapshots_do_not_move_with_later_merges() -> None:
    acc = new_message()
    merge_delta(acc, {"role": "assistant", "content": [{"type": "text", "text": "x"}]})
    merge_delta(acc, call(0, id="c", function={"arguments": "{"}))
    snapshot = finish_message(acc)
    merge_delta(acc, call(0, function={"arguments": "}"}))
    assert snapshot["tool_calls"][0]["function"]["arguments"] == "{"
    assert finish_message(acc)["tool_calls"][0]["function"]["arguments"] == "{}"


def test_merge_never_mutates_the_delta() -> None:
    delta = {"role": "user", "content": [{"type": "text", "text": "x"}]}
    acc = new_message()
    merge_delta(acc, delta)
    acc["content"].append({"type": "text", "text": "y"})
    assert delta == {"role": "user", "content": [{"type": "text", "text": "x"}]}


def test_concat_stream_errors() -> None:
    with pytest.raises(ValueError, match="no chunks"):
        concat_stream([])
    with pytest.raises(ValueError, match="several indexes"):
        concat_stream([{"index": 0, "delta": {}}, {"index": 1, "delta": {}}])
    with pytest.raises(TypeError):
        concat_stream([42])


def test_concat_stream_takes_whole_chunks() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "a"}}, {"index": 1, "delta": {}}]}
    assert concat_stream([chunk, chunk])["message"]["content"] == "aa"


@pytest.mark.parametrize("case", PARTIAL_JSON_CASES, ids=lambda c: c["text"][:30] or "empty")
def test_parse_partial_json(case: dict[str, Any]) -> None:
    assert parse_partial_json(case["text"]) == case["value"]
