"""The pure rules of questions: what a model gets back, what an export holds, and forms."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

import pytest
from pydantic import BaseModel

from gptchat._asks import AnswerRefused, Question, model_input
from gptchat._export import render
from gptchat._forms import Form

CALL = {"id": "c1", "type": "function", "function": {"name": "rm", "arguments": '{"path": "/a"}'}}
EDITED = '{"path": "/b"}'


def conversation() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "clean up"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {
            "role": "assistant",
            "content": None,
            "ask": {
                "id": "a1",
                "kind": "approve",
                "status": "answered",
                "tool_call_id": "c1",
                "arguments": CALL["function"]["arguments"],
                "answer": {"approved": True, "arguments": EDITED},
            },
        },
        {"role": "tool", "tool_call_id": "c1", "content": "removed"},
        {
            "role": "assistant",
            "content": "Anything else?",
            "ask": {"id": "a2", "kind": "text", "status": "answered", "answer": "no"},
            "actions": [{"name": "undo", "label": "Undo"}],
        },
        {"role": "user", "content": "no"},
    ]


def test_model_input_takes_out_questions_parts_and_applies_edits() -> None:
    messages = conversation()
    before = json.dumps(messages)
    out = model_input(messages)
    assert json.dumps(messages) == before  # the caller's messages are not changed
    assert [m["role"] for m in out] == ["user", "assistant", "tool", "assistant", "user"]
    assert out[1]["tool_calls"][0]["function"]["arguments"] == EDITED
    assert out[3] == {"role": "assistant", "content": "Anything else?"}


def test_model_input_passes_plain_conversations_as_they_are() -> None:
    plain = [{"role": "user", "content": "hi"}]
    assert model_input(plain) is plain


def test_export_is_what_a_model_takes() -> None:
    exported = json.loads(render("json", "t", conversation()))
    assert len(exported) == 5
    assert exported[1]["tool_calls"][0]["function"]["arguments"] == EDITED
    assert not any("ask" in m or "actions" in m for m in exported)
    assert "Anything else?" in render("markdown", "t", conversation())


class Size(Enum):
    S = "S"
    M = "M"


class Order(BaseModel):
    size: Size
    count: int = 1


def test_form_inlines_enums_and_keeps_defaults() -> None:
    form = Form(Order)
    size, count = form.fields
    assert (size.type, size.options, size.required) == ("select", ["S", "M"], True)
    assert (count.type, count.default, count.required) == ("integer", 1, False)
    value, plain = form.validate({"size": "M"})
    assert value == Order(size=Size.M) and plain == {"size": "M", "count": 1}


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "array"}, "object schema with properties"),
        ({"type": "object", "properties": {}}, "at least one field"),
        ({"properties": {"x": {"type": "object"}}}, "'x': type 'object' is not supported"),
        ({"properties": {"x": {"enum": [1, 2]}}}, "only choices of strings"),
    ],
)
def test_form_refuses_what_it_cannot_draw(schema: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Form(schema)


def test_approval_answers_are_checked() -> None:
    question = Question("approve", None, tool_call=CALL, editable=True)
    approval, kept, added = question.check({"approved": True, "arguments": '{ "path" : "/a" }'})
    # The same arguments, spaced otherwise, are not an edit: the call's own text is kept.
    assert approval.arguments == CALL["function"]["arguments"] and added is None
    assert kept == {"approved": True, "arguments": CALL["function"]["arguments"]}
    for bad in ({"approved": "maybe", "arguments": "{}"}, {"approved": True}, "yes"):
        with pytest.raises(AnswerRefused) as refused:
            question.check(bad)
        assert refused.value.code == "invalid_payload"
    _, _, denied = question.check({"approved": False, "arguments": "{}", "reason": None})
    assert denied == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": "The user denied this call; it was not run.",
    }


def test_text_answers_are_checked() -> None:
    question = Question("text", "Why?")
    for bad in ("", "   ", 3, None, "x" * 20_001):
        with pytest.raises(AnswerRefused):
            question.check(bad)
    assert question.settle("answered", "ok", "ok") is True
    assert question.settle("expired") is False
    assert question.ask_payload()["answer"] == "ok"
