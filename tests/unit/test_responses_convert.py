"""Converting between Chat Completions messages and Responses items, checked by openai's types,
and the translator's placement rules on shapes the vectors do not cover."""

from __future__ import annotations

import itertools
from typing import Any, get_args, get_type_hints

import pytest
from openai.types.responses import ResponseInputItemParam

from gptchat._handler_styles import history
from gptchat._merge import finish_message, merge_delta
from gptchat._responses import BUILTIN_ITEM_TYPES, ResponsesTranslator
from gptchat._responses_input import INPUT_ITEM_TYPES
from gptchat.errors import ResponseFailed
from gptchat.utils import chat_to_responses_input, responses_to_chat
from tests.openai_types import check_chat, check_responses

PIXEL = "data:image/png;base64,iVBORw0KGgo="
CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in this picture, and the weather?"},
            {"type": "image_url", "image_url": {"url": PIXEL, "detail": "low"}},
            {
                "type": "file",
                "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"},
            },
        ],
    },
    {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": "{}"}},
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
    {"role": "assistant", "content": "Sunny at noon."},
    {"role": "user", "content": "Thanks"},
]


def test_chat_messages_become_input_items_openai_accepts() -> None:
    items = chat_to_responses_input(CONVERSATION)
    check_responses(items)
    assert [(i["type"], i.get("role")) for i in items] == [
        ("message", "system"),
        ("message", "developer"),
        ("message", "user"),
        ("message", "assistant"),
        ("function_call", None),
        ("function_call", None),
        ("function_call_output", None),
        ("function_call_output", None),
        ("message", "assistant"),
        ("message", "user"),
    ]
    assert items[2]["content"] == [
        {"type": "input_text", "text": "What is in this picture, and the weather?"},
        {"type": "input_image", "image_url": PIXEL, "detail": "low"},
        {
            "type": "input_file",
            "filename": "a.pdf",
            "file_data": "data:application/pdf;base64,JVBE",
        },
    ]
    assert items[4] == {
        "type": "function_call",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }
    assert items[7] == {"type": "function_call_output", "call_id": "call_2", "output": "noon"}


def test_and_back_to_chat_messages_openai_accepts() -> None:
    back = responses_to_chat(chat_to_responses_input(CONVERSATION))
    check_chat(back)
    assert back[3] == {**CONVERSATION[3], "role": "assistant"}
    assert back[4] == CONVERSATION[4]
    assert back[5] == {**CONVERSATION[5], "content": "noon"}  # a function output is a string
    assert back[2]["content"] == [
        {"type": "text", "text": "What is in this picture, and the weather?"},
        {"type": "image_url", "image_url": {"url": PIXEL, "detail": "low"}},
        {"type": "file", "file": CONVERSATION[2]["content"][2]["file"]},
    ]
    # Text content comes back as parts where it went as parts, and the round trip is stable.
    assert chat_to_responses_input(back) == chat_to_responses_input(CONVERSATION)


def test_what_the_responses_api_does_not_take_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="'video'"):
        chat_to_responses_input([{"role": "user", "content": [{"type": "video", "url": "v"}]}])
    with pytest.raises(ValueError, match="role 'function'"):
        chat_to_responses_input([{"role": "function", "name": "f", "content": "x"}])


def test_audio_is_left_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}}
    items = chat_to_responses_input(
        [
            {"role": "user", "content": [audio]},
            {"role": "user", "content": [{"type": "text", "text": "and this"}, audio]},
        ]
    )
    assert items == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "and this"}]}
    ]
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and "input_audio" in warnings[0].getMessage()
    assert "message 0 (user)" in warnings[0].getMessage()


def test_display_extras_are_not_sent_back_and_kept_items_are() -> None:
    search = {
        "type": "web_search_call",
        "id": "ws",
        "status": "completed",
        "action": {"type": "search", "query": "q"},
    }
    shown = {
        "role": "assistant",
        "content": "Hi",
        "reasoning_content": "thinking",
        "annotations": [],
        "usage": {"total_tokens": 3},
        "output_items": [search, {"type": "response.future_widget.delta", "widget": "x"}],
    }
    items = chat_to_responses_input([shown])
    assert items == [search, {"type": "message", "role": "assistant", "content": "Hi"}]
    check_responses(items)


def fold(objects: list[Any]) -> list[dict[str, Any]]:
    counter = itertools.count()
    translator = ResponsesTranslator(lambda: f"m{next(counter)}")
    accs: dict[str, dict[str, Any]] = {}
    for obj in objects:
        for message_id, delta in translator.feed(obj):
            merge_delta(accs.setdefault(message_id, {}), delta)
    return [finish_message(a) for a in accs.values()]


def text(value: str, annotations: list[Any] | None = None) -> dict[str, Any]:
    return {"type": "output_text", "text": value, "annotations": annotations or []}


def message(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "status": "completed", "content": list(parts)}


def call(n: int) -> dict[str, Any]:
    return {"type": "function_call", "call_id": f"c{n}", "name": f"f{n}", "arguments": "{}"}


def test_reasoning_after_an_answer_starts_a_new_message_above_the_next_answer() -> None:
    reasoning = {
        "type": "reasoning",
        "id": "rs",
        "summary": [{"type": "summary_text", "text": "t"}],
    }
    messages = fold(
        [reasoning, message(text("one")), {**reasoning, "id": "rs2"}, message(text("two"))]
    )
    assert messages == [
        {
            "role": "assistant",
            "reasoning_content": "t",
            "output_items": [reasoning],
            "content": "one",
        },
        {
            "role": "assistant",
            "reasoning_content": "t",
            "output_items": [{**reasoning, "id": "rs2"}],
            "content": "two",
        },
    ]


def test_function_calls_join_the_message_and_count_from_zero_in_each() -> None:
    response_1 = {
        "object": "response",
        "id": "r1",
        "output": [message(text("ok")), call(1), call(2)],
    }
    response_2 = {"object": "response", "id": "r2", "output": [call(3)]}
    messages = fold([response_1, response_2])
    assert messages[0]["content"] == "ok"
    assert [c["id"] for c in messages[0]["tool_calls"]] == ["c1", "c2"]
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c3", "type": "function", "function": {"name": "f3", "arguments": "{}"}}
        ],
    }


def test_citation_offsets_count_the_whole_message() -> None:
    cite = {"type": "url_citation", "url": "u", "title": "t", "start_index": 0, "end_index": 2}
    (shown,) = fold([message(text("abc"), text("de", [cite]))])
    assert shown["content"] == "abcde"
    assert shown["annotations"] == [
        {
            "type": "url_citation",
            "url_citation": {"url": "u", "title": "t", "start_index": 3, "end_index": 5},
        }
    ]


def test_a_tool_result_ends_the_message_that_items_join() -> None:
    result = {"type": "function_call_output", "call_id": "c1", "output": "x"}
    messages = fold([call(1), result, call(2)])
    assert [m["role"] for m in messages] == ["assistant", "tool", "assistant"]
    assert messages[2]["tool_calls"][0]["id"] == "c2"


def test_built_in_tool_progress_updates_its_kept_item() -> None:
    item = {"type": "code_interpreter_call", "id": "ci", "status": "in_progress", "code": ""}
    events = [
        {"type": "response.created", "response": {"id": "r", "object": "response", "output": []}},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.code_interpreter_call_code.delta", "output_index": 0, "delta": "print("},
        {"type": "response.code_interpreter_call_code.delta", "output_index": 0, "delta": "1)"},
        {"type": "response.code_interpreter_call.interpreting", "output_index": 0},
    ]
    (shown,) = fold(events)
    assert shown["output_items"] == [{**item, "code": "print(1)", "status": "interpreting"}]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "response.output_text.delta", "output_index": 0, "delta": 5}, "'delta'"),
        ({"type": "response.output_item.added", "item": {"type": "message"}}, "'output_index'"),
        ({"type": "response.completed", "response": "done"}, "'response'"),
    ],
)
def test_a_malformed_event_fails_naming_its_field(event: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"malformed {event['type']} event: its {field}"):
        fold([event])


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"type": "function_call", "name": "f", "arguments": "{}"}, "'call_id'"),
        ({"type": "function_call", "call_id": "c", "name": 7}, "'name'"),
        ({"type": "function_call_output", "output": "x"}, "'call_id'"),
    ],
)
def test_a_malformed_item_fails_naming_its_field(item: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"malformed {item['type']} item: its {field}"):
        fold([item])
    added = {"type": "response.output_item.added", "output_index": 0, "item": item}
    with pytest.raises(ValueError, match=f"malformed {item['type']} item: its {field}"):
        fold([added])


def test_an_error_event_raises_with_the_apis_message() -> None:
    error = {"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": None}
    with pytest.raises(ResponseFailed, match=r"^Slow down$") as failure:
        fold([error])
    assert failure.value.code == "rate_limit_exceeded"


# -- every shape, both ways ------------------------------------------------------------

ENC = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [{"type": "summary_text", "text": "Think."}],
    "encrypted_content": "gAAA-opaque",
    "status": "completed",
}
SEARCH = {
    "type": "web_search_call",
    "id": "ws_1",
    "status": "completed",
    "action": {"type": "search", "query": "capital of France"},
}
IMAGE_CALL = {
    "type": "image_generation_call",
    "id": "ig_1",
    "status": "completed",
    "result": "QUJD",
}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
FN_CALL = {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a": 1}'}


def user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(parts)}


def part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def item(role: str, *parts: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": list(parts)}


def itext(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}


def said(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "content": text}


#: name -> (chat messages, the input items they become, the chat messages those come back
#: as: None when the same as the first).
SHAPES: dict[
    str, tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]] | None]
] = {
    "system string": (
        [{"role": "system", "content": "Be brief."}],
        [item("system", itext("Be brief."))],
        [{"role": "system", "content": [part("Be brief.")]}],
    ),
    "developer parts": (
        [{"role": "developer", "content": [part("Use tools.")]}],
        [item("developer", itext("Use tools."))],
        None,
    ),
    "user string": (
        [{"role": "user", "content": "hi"}],
        [item("user", itext("hi"))],
        [user(part("hi"))],
    ),
    "image with detail": (
        [user(part("look"), {"type": "image_url", "image_url": {"url": PIXEL, "detail": "low"}})],
        [item("user", itext("look"), {"type": "input_image", "image_url": PIXEL, "detail": "low"})],
        None,
    ),
    "image without detail": (
        [user({"type": "image_url", "image_url": {"url": PIXEL}})],
        [item("user", {"type": "input_image", "image_url": PIXEL, "detail": "auto"})],
        [user({"type": "image_url", "image_url": {"url": PIXEL, "detail": "auto"}})],
    ),
    "file data": (
        [user({"type": "file", "file": {"filename": "a.pdf", "file_data": "data:x;base64,JV"}})],
        [
            item(
                "user", {"type": "input_file", "filename": "a.pdf", "file_data": "data:x;base64,JV"}
            )
        ],
        None,
    ),
    "file id": (
        [user({"type": "file", "file": {"file_id": "file-1"}})],
        [item("user", {"type": "input_file", "file_id": "file-1"})],
        None,
    ),
    "audio: left out": (
        [
            user(
                part("transcribe"),
                {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
            )
        ],
        [item("user", itext("transcribe"))],
        [user(part("transcribe"))],
    ),
    "assistant text": ([{"role": "assistant", "content": "Hello."}], [said("Hello.")], None),
    "assistant text parts": (
        [{"role": "assistant", "content": [part("Hel"), part("lo.")]}],
        [said("Hello.")],
        [{"role": "assistant", "content": "Hello."}],
    ),
    "refusal: as assistant text": (
        [{"role": "assistant", "content": None, "refusal": "I can't help with that."}],
        [said("I can't help with that.")],
        [{"role": "assistant", "content": "I can't help with that."}],
    ),
    "tool calls": (
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [CALL, {**CALL, "id": "call_2", "function": {**CALL["function"]}}],
            }
        ],
        [FN_CALL, {**FN_CALL, "call_id": "call_2"}],
        None,
    ),
    "text and a call": (
        [{"role": "assistant", "content": "Checking.", "tool_calls": [CALL]}],
        [said("Checking."), FN_CALL],
        None,
    ),
    "tool result": (
        [{"role": "tool", "tool_call_id": "call_1", "content": "sunny"}],
        [{"type": "function_call_output", "call_id": "call_1", "output": "sunny"}],
        None,
    ),
    "tool result parts": (
        [{"role": "tool", "tool_call_id": "call_1", "content": [part("sun"), part("ny")]}],
        [{"type": "function_call_output", "call_id": "call_1", "output": "sunny"}],
        [{"role": "tool", "tool_call_id": "call_1", "content": "sunny"}],
    ),
    "reasoning then text": (
        [{"role": "assistant", "output_items": [ENC], "content": "Paris."}],
        [ENC, said("Paris.")],
        [
            {
                "role": "assistant",
                "reasoning_content": "Think.",
                "output_items": [ENC],
                "content": "Paris.",
            }
        ],
    ),
    "reasoning then a call": (
        [{"role": "assistant", "output_items": [ENC], "content": None, "tool_calls": [CALL]}],
        [ENC, FN_CALL],
        [
            {
                "role": "assistant",
                "reasoning_content": "Think.",
                "output_items": [ENC],
                "content": None,
                "tool_calls": [CALL],
            }
        ],
    ),
    "reasoning without encrypted content: not given back": (
        [
            {
                "role": "assistant",
                "output_items": [{**ENC, "encrypted_content": None}],
                "content": "P",
            }
        ],
        [said("P")],
        [{"role": "assistant", "content": "P"}],
    ),
    "built-in calls, in order, before the text": (
        [{"role": "assistant", "output_items": [ENC, SEARCH, IMAGE_CALL], "content": "Paris."}],
        [ENC, SEARCH, IMAGE_CALL, said("Paris.")],
        [
            {
                "role": "assistant",
                "reasoning_content": "Think.",
                "output_items": [ENC, SEARCH, IMAGE_CALL],
                "content": "Paris.",
            }
        ],
    ),
    "display fields and events: left out": (
        [
            {
                "role": "assistant",
                "output_items": [
                    {**IMAGE_CALL, "partial_image_b64": "QU"},
                    {"type": "response.future_widget.delta", "widget": "x"},
                ],
                "content": "Done.",
                "annotations": [{"type": "url_citation", "url_citation": {"url": "u"}}],
                "usage": {"total_tokens": 3},
                "incomplete_details": {"reason": "max_output_tokens"},
                "reasoning_content": "shown only",
            }
        ],
        [IMAGE_CALL, said("Done.")],
        [{"role": "assistant", "output_items": [IMAGE_CALL], "content": "Done."}],
    ),
    "two replies in a row": (
        [
            {"role": "assistant", "content": "One."},
            {"role": "assistant", "output_items": [ENC], "content": "Two."},
        ],
        [said("One."), ENC, said("Two.")],
        [
            {"role": "assistant", "content": "One."},
            {
                "role": "assistant",
                "reasoning_content": "Think.",
                "output_items": [ENC],
                "content": "Two.",
            },
        ],
    ),
    # Chat Completions puts a reply's text and calls in one message, and so does the way back.
    "a reply, then calls alone: one message back": (
        [
            {"role": "assistant", "content": "One."},
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
        ],
        [said("One."), FN_CALL],
        [{"role": "assistant", "content": "One.", "tool_calls": [CALL]}],
    ),
}


@pytest.mark.parametrize("name", SHAPES)
def test_every_shape_converts_both_ways_into_what_openai_accepts(name: str) -> None:
    chat, items, back = SHAPES[name]
    converted = chat_to_responses_input(chat)
    assert converted == items
    check_responses(converted)
    check_chat(history(chat))  # what a chat-format handler gets of it
    returned = responses_to_chat(converted)
    assert returned == (chat if back is None else back)
    check_chat(history(returned))
    # The round trip is stable: the items of what came back are the items again.
    assert chat_to_responses_input(returned) == items


def test_the_whole_table_as_one_conversation_keeps_its_order() -> None:
    chat = [m for name in SHAPES for m in SHAPES[name][0]]
    items = [i for name in SHAPES for i in SHAPES[name][1]]
    assert chat_to_responses_input(chat) == items
    check_responses(items)


def test_items_the_api_gives_come_back_as_the_api_takes_them() -> None:
    """Output items of a Response (as the API sends them) into chat messages and back."""
    cite = {"type": "url_citation", "url": "u", "title": "t", "start_index": 0, "end_index": 5}
    output = [
        ENC,
        SEARCH,
        {**message(text("Paris.", [cite])), "id": "msg_1"},
        {**FN_CALL, "id": "fc_1", "status": "completed"},
    ]
    (shown,) = responses_to_chat({"object": "response", "id": "r", "output": output})
    assert shown["output_items"] == [ENC, SEARCH]
    assert shown["content"] == "Paris." and shown["tool_calls"] == [CALL]
    # The message's id and status and the call's id are the API's; the items need none.
    assert chat_to_responses_input([shown]) == [ENC, SEARCH, said("Paris."), FN_CALL]


def test_every_kept_item_type_is_one_the_api_takes_back() -> None:
    sdk_types = set()
    for member in get_args(ResponseInputItemParam):
        (literal,) = [a for a in get_args(get_type_hints(member)["type"]) if a is not type(None)]
        sdk_types |= set(get_args(literal) or (literal,))
    assert INPUT_ITEM_TYPES.issubset(sdk_types)
    assert (BUILTIN_ITEM_TYPES | {"reasoning"}).issubset(INPUT_ITEM_TYPES)
