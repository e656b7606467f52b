"""The recorded Responses API vectors, through gptchat's translator, its fold and openai's own."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, get_args

import pytest
from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseOutputItem, ResponseStreamEvent
from pydantic import TypeAdapter

from gptchat._coerce import to_plain
from gptchat._merge import finish_message, merge_delta
from gptchat._responses import ResponsesTranslator
from gptchat.errors import ResponseFailed
from gptchat.utils import concat_response_stream, responses_to_chat
from tests.fake_responses import VECTORS, translated, vector

FOLDER = Path(__file__).parents[1] / "fixtures" / "responses-streams"
NAMES = sorted(p.stem for p in FOLDER.glob("*.json"))


def _event_classes() -> dict[str, Any]:
    # The union's discriminator is openai's own (PropertyInfo), which pydantic does not
    # read: pick each event's class by its type, as the SDK does.
    (union, *_) = get_args(ResponseStreamEvent)
    classes = {}
    for cls in get_args(union):
        (literal,) = get_args(cls.model_fields["type"].annotation)
        classes[literal] = cls
    return classes


EVENT_CLASSES = _event_classes()
ITEMS = TypeAdapter(ResponseOutputItem)
TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FOLDER / f"{name}.json").read_text(encoding="utf-8"))
    return data


def known(event: dict[str, Any]) -> bool:
    return not event["type"].startswith("response.future_")


def sdk_events(events: list[dict[str, Any]]) -> list[Any]:
    """The events as the openai client gives them (unknown types stay dicts here)."""
    return [validate_event(e) if known(e) else e for e in events]


def validate_event(event: dict[str, Any]) -> Any:
    return EVENT_CLASSES[event["type"]].model_validate(event, strict=False)


def translate(events: list[Any]) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """The messages the browser folds from the translator's updates, and the updates."""
    counter = itertools.count()
    translator = ResponsesTranslator(lambda: f"m{next(counter)}")
    updates: list[tuple[str, dict[str, Any]]] = []
    for event in events:
        updates += translator.feed(event)
    accs: dict[str, dict[str, Any]] = {}
    for message_id, delta in updates:
        merge_delta(accs.setdefault(message_id, {}), delta)
    return [finish_message(a) for a in accs.values()], updates


def test_the_vectors_on_disk_are_the_fake_servers() -> None:
    assert sorted(VECTORS) == NAMES
    for name in NAMES:
        assert load(name) == json.loads(json.dumps(vector(name))), f"rerun: {name}"


@pytest.mark.parametrize("name", NAMES)
def test_events_and_output_are_valid_openai_objects(name: str) -> None:
    data = load(name)
    order = [e["type"] for e in data["events"]]
    assert order[:2] == ["response.created", "response.in_progress"]
    assert order[-1] in TERMINAL
    assert [e["sequence_number"] for e in data["events"]] == list(range(len(order)))
    for event in filter(known, data["events"]):
        validate_event(event)
    for item in data["expected_output"]:
        ITEMS.validate_python(item)


@pytest.mark.parametrize("name", NAMES)
def test_concat_response_stream_folds_the_output(name: str) -> None:
    data = load(name)
    events = data["events"]
    assert concat_response_stream(events) == data["expected_output"]
    assert concat_response_stream(sdk_events(events)) == data["expected_output"]
    # From the deltas alone, without the terminal event's copy of the output:
    streamed = [e for e in events if e["type"] not in TERMINAL]
    assert concat_response_stream(streamed) == data["expected_output"]


@pytest.mark.parametrize("name", NAMES)
def test_the_fold_gives_each_item_as_the_terminal_event_has_it(name: str) -> None:
    """Null fields included (an mcp_call's "error": null), from dicts and SDK objects,
    by ``concat_response_stream`` and by the translator that ``app.stream`` folds with."""
    events = load(name)["events"]
    output = events[-1]["response"]["output"]
    assert output == load(name)["expected_output"]
    streamed = [e for e in events if e["type"] not in TERMINAL]
    for given in (events, sdk_events(events), streamed, sdk_events(streamed)):
        assert concat_response_stream(given) == output
        translator = ResponsesTranslator(lambda: "m")
        try:
            for event in given:
                translator.feed(event)
        except ResponseFailed:
            pass
        assert translator.output() == output


def test_the_vectors_keep_null_fields_as_the_api_sends_them() -> None:
    """Else the test above could not fail on a fold that drops them."""
    (_, call, _) = load("12_mcp_list_tools_and_call")["expected_output"]
    assert call["type"] == "mcp_call" and call["error"] is None


@pytest.mark.parametrize("name", NAMES)
def test_the_fold_agrees_with_openais_own_accumulator(name: str) -> None:
    """From the deltas (the SDK's snapshot keeps items as added, not as done)."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    snapshot: Any = None
    events = [
        e
        for e in sdk_events(load(name)["events"])
        if not isinstance(e, dict) and e.type not in (*TERMINAL, "response.output_item.done")
    ]
    for event in events:
        state.handle_event(event)
        snapshot = state._ResponseStreamState__current_snapshot  # type: ignore[attr-defined]
    assert project(concat_response_stream(events)) == project(to_plain(snapshot.output))


def project(items: list[dict[str, Any]]) -> list[Any]:
    """What openai's accumulator folds: message text and function call arguments (it
    leaves reasoning summaries and annotations as they were added)."""
    out: list[Any] = []
    for item in items:
        if item["type"] == "message":
            out.append([(p["type"], p.get("text")) for p in item["content"]])
        elif item["type"] == "function_call":
            out.append((item["call_id"], item["name"], item["arguments"]))
        else:
            out.append(item["type"])
    return out


@pytest.mark.parametrize("name", NAMES)
def test_the_translator_gives_the_expected_messages(name: str) -> None:
    data = load(name)
    for events in (data["events"], sdk_events(data["events"])):
        if "expected_error" in data:
            with pytest.raises(ResponseFailed, match="melted down") as failure:
                translate(events)
            assert str(failure.value) == data["expected_error"]
            assert failure.value.code == "server_error"
            continue
        messages, _ = translate(events)
        assert messages == data["expected_messages"]


@pytest.mark.parametrize("name", NAMES)
def test_the_recorded_updates_are_the_translators_and_fold_into_the_messages(name: str) -> None:
    """``expected_updates`` is what the browser's suite folds (responsesVectors.test.ts)."""
    data = load(name)
    for events in (data["events"], sdk_events(data["events"])):
        assert json.loads(json.dumps(translated(events))) == data["expected_updates"]
    accs: dict[str, dict[str, Any]] = {}
    for message_id, delta in data["expected_updates"]:
        merge_delta(accs.setdefault(message_id, {}), delta)
    assert [finish_message(a) for a in accs.values()] == data["expected_messages"]
    assert [m for m, _ in data["expected_updates"]][:1] in ([], ["m1"])


def test_text_arguments_and_reasoning_arrive_in_pieces() -> None:
    """Streamed, not sent at the end: each delta is an update of its own."""
    _, updates = translate(load("02_reasoning_summary_and_text")["events"])
    assert sum("reasoning_content" in d for _, d in updates) > 3
    assert sum("content" in d for _, d in updates) > 3
    first_text = next(i for i, (_, d) in enumerate(updates) if "content" in d)
    assert all("reasoning_content" not in d for _, d in updates[first_text:])
    _, updates = translate(load("03_function_call_streamed_arguments")["events"])
    pieces = [
        d["tool_calls"][0]["function"]["arguments"]
        for _, d in updates
        if "tool_calls" in d and "id" not in d["tool_calls"][0]
    ]
    assert len(pieces) > 2 and "".join(pieces) == '{"city": "Paris"}'


@pytest.mark.parametrize("name", [n for n in NAMES if "expected_error" not in load(n)])
def test_complete_items_give_the_messages_the_stream_gives(name: str) -> None:
    data = load(name)
    expected = []
    for message in data["expected_messages"]:
        # usage and incomplete_details are the Response's, not its items'.
        message = {k: v for k, v in message.items() if k not in ("usage", "incomplete_details")}
        kept = [i for i in message.get("output_items", []) if not i["type"].startswith("response.")]
        if kept:
            message["output_items"] = kept
        else:
            message.pop("output_items", None)
        expected.append(message)
    output = data["expected_output"]
    complete = responses_to_chat(output)
    assert complete == expected
    assert responses_to_chat([ITEMS.validate_python(i) for i in output]) == complete
