"""Export (OpenAI JSON, Markdown) and import of a conversation's messages.

The cases in ``tests/fixtures/export/`` are checked here and by the browser's
``exportFormat.test.ts``: both writers must give the same files.
"""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import pytest

from gptchat import _export
from gptchat._export import (
    openai_messages,
    parse_import,
    reindent_json,
    render,
    to_json,
    to_markdown,
)
from gptchat._handler_styles import history
from gptchat.protocol import ChatMessage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "export"
CASES = sorted(p.name.removesuffix(".input.json") for p in FIXTURES.glob("*.input.json"))
REPLY_KEYS = {"annotations", "output_items", "incomplete_details"}
LIMITS: dict[str, int] = {"max_bytes": 1024 * 1024, "max_messages": 1000}


def load(case: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((FIXTURES / f"{case}.input.json").read_text("utf-8"))
    return value


def test_there_are_fixture_cases() -> None:
    assert {"basic", "edge", "parts", "tools", "responses"} <= set(CASES)


def test_a_responses_reply_keeps_its_citations_tool_calls_and_end_both_ways() -> None:
    """JSON keeps them as they are, and an import gives them back; Markdown shows them."""
    given = load("responses")["messages"]
    text = to_json(given)
    reply = json.loads(text)[1]
    for key in REPLY_KEYS:
        assert reply[key] == given[1][key]
    _, messages = parse_import(text, **LIMITS)
    assert all(messages[1][key] == given[1][key] for key in REPLY_KEYS)
    assert "usage" not in messages[1] and "reasoning_content" not in messages[1]
    markdown = to_markdown("t", messages)
    assert "1. [Metro \\[news\\]](https://example.com/a)" in markdown
    assert "*This reply is incomplete: it reached the output token limit.*" in markdown
    assert "**Web search:** Paris news today" in markdown
    # Empty lists and a non-object are no reply's: left out, as before.
    bare = {"role": "assistant", "content": "x", "annotations": [], "output_items": []}
    assert json.loads(to_json([{**bare, "incomplete_details": None}])) == [
        {"role": "assistant", "content": "x"}
    ]


@pytest.mark.parametrize("case", CASES)
def test_markdown_matches_the_shared_fixture(case: str) -> None:
    given = load(case)
    expected = (FIXTURES / f"{case}.md").read_text("utf-8")
    assert to_markdown(given["title"], given["messages"]) == expected


@pytest.mark.parametrize("case", CASES)
def test_json_matches_the_shared_fixture(case: str) -> None:
    given = load(case)
    expected = (FIXTURES / f"{case}.export.json").read_text("utf-8")
    assert to_json(given["messages"]) == expected


@pytest.mark.parametrize("case", [c for c in CASES if c != "edge"])
def test_exported_json_is_valid_openai_messages_and_imports_back(case: str) -> None:
    given = load(case)
    text = to_json(given["messages"])
    exported = json.loads(text)
    api_keys = {"role", "content", "name", "refusal", "tool_calls", "tool_call_id"}
    api_keys.add("function_call")
    for message in exported:
        ChatMessage.model_validate(message)
        # Fields the Chat Completions API takes, and what gptchat shows of a Responses
        # API reply, which a handler never gets (it would go back to the model).
        assert set(message) <= api_keys | REPLY_KEYS
        assert set(history([message])[0]) <= api_keys
    title, messages = parse_import(text.encode("utf-8"), **LIMITS)
    assert title is None
    assert messages == exported
    assert to_json(messages) == text


def test_what_a_browser_kept_of_another_shape_exports_but_does_not_import() -> None:
    # The edge case holds a role and a part that are not OpenAI's: written out as they
    # are (nothing is lost), and refused on the way back in with the reason.
    text = (FIXTURES / "edge.export.json").read_text("utf-8")
    with pytest.raises(ValueError, match=r"^message 2: content\.1\.type: Field required$"):
        parse_import(text, **LIMITS)


def test_json_drops_what_the_api_would_refuse_and_keeps_unicode() -> None:
    text = to_json(
        [
            {
                "role": "assistant",
                "content": "Grüße 👋",
                "usage": {"total_tokens": 3},
                "reasoning_content": "hmm",
                "tool_calls": [
                    {"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}
                ],
            }
        ]
    )
    assert "Grüße 👋" in text  # not \u escapes
    assert json.loads(text) == [
        {
            "role": "assistant",
            "content": "Grüße 👋",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        }
    ]


def test_content_is_always_there() -> None:
    out = openai_messages(
        [
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f"}}]},
            {"role": "assistant"},
        ]
    )
    assert out[0]["content"] is None
    assert out[0]["tool_calls"][0]["function"] == {"name": "f", "arguments": ""}
    assert out[1] == {"role": "assistant", "content": ""}


def test_tool_results_sit_under_their_call_not_in_a_section_of_their_own() -> None:
    md = to_markdown(
        "t",
        [
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "a", "function": {"name": "first", "arguments": '{"x":1}'}},
                    {"id": "b", "function": {"name": "second", "arguments": "{}"}},
                ],
            },
            {"role": "tool", "tool_call_id": "b", "content": "result of b"},
            {"role": "tool", "tool_call_id": "a", "content": "result of a"},
        ],
    )
    assert "## Tool" not in md
    first, second = md.index("`first`"), md.index("`second`")
    assert first < md.index("result of a") < second < md.index("result of b")


def test_a_fence_is_longer_than_any_backtick_run_inside() -> None:
    md = to_markdown("t", [{"role": "tool", "content": "a ````` b"}])
    assert "\n``````\na ````` b\n``````\n" in md


def test_a_data_url_image_becomes_a_note_not_its_data() -> None:
    data = "A" * 40_000
    md = to_markdown(
        "t",
        [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}}
                ],
            }
        ],
    )
    assert data not in md
    assert "*[image: image/jpeg, 30 KB, embedded data not exported]*" in md


def test_a_title_is_one_line_and_defaults() -> None:
    assert to_markdown("a\n# b", []).startswith("# a # b\n")
    assert to_markdown("   ", []) == "# Conversation\n"


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2, {"b": None, "c": []}], "d": {}, "e": "x, y: [z]", "f": True},
        [],
        'text with "quotes" and \\ and \u00e9',
        [[[]], [{}], -3],
    ],
)
def test_reindent_lays_json_out_as_json_dumps_does(value: Any) -> None:
    # JSON.stringify(value, null, 2) is json.dumps(value, indent=2) for values with no floats.
    compact = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert reindent_json(compact) == json.dumps(value, indent=2, ensure_ascii=False)


def test_reindent_keeps_numbers_as_written_and_refuses_what_is_not_json() -> None:
    assert reindent_json('{"n": 1.50e3}') == '{\n  "n": 1.50e3\n}'
    assert reindent_json("NaN") is None
    assert reindent_json('{"a": ') is None
    assert reindent_json("hello") is None


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(_export).failed == 0


# -- import -----------------------------------------------------------------------


def test_import_takes_a_list_or_an_object_with_a_title() -> None:
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert parse_import(json.dumps(messages), **LIMITS) == (None, messages)
    body = {"title": "  Greeting ", "model": "gpt-x", "messages": messages}
    assert parse_import(json.dumps(body).encode(), **LIMITS) == ("Greeting", messages)
    assert parse_import(json.dumps({"title": " ", "messages": messages}), **LIMITS)[0] is None
    # A byte order mark from a Windows editor is not an error.
    assert parse_import(("\ufeff" + json.dumps(messages)).encode(), **LIMITS)[1] == messages


def test_import_keeps_what_the_file_said() -> None:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}],
        "reasoning_content": "kept: a provider's field",
    }
    assert parse_import(json.dumps([message]), **LIMITS)[1] == [message]


def test_a_2_mb_file_is_over_a_1_mb_limit() -> None:
    big = json.dumps([{"role": "user", "content": "x" * (2 * 1024 * 1024)}]).encode()
    with pytest.raises(ValueError, match=r"^the file is 3 MB, over the limit of 1 MB$"):
        parse_import(big, max_bytes=1024 * 1024, max_messages=10)
    with pytest.raises(ValueError, match="over the limit of 1 MB"):
        parse_import(big.decode(), max_bytes=1024 * 1024, max_messages=10)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("hello", r"^the file is not JSON: Expecting value at line 1 column 1$"),
        ('[{"role": "user",\n "content": }]', r"^the file is not JSON: .* at line 2 column 13$"),
        (b"\xff\xfe[]", r"^the file is not UTF-8 text \(byte 0\)$"),
        ("[NaN]", r"^the file is not JSON: NaN is not JSON$"),
        ("[" * 100_000 + "]" * 100_000, r"^the file is not JSON: nested too deeply$"),
        ('"messages"', r"^expected a list of messages or .*, not a string$"),
        ('{"title": "x"}', r'^the file is a JSON object without "messages"$'),
        ('{"messages": {}}', r"^expected a list of messages or .*, not an object$"),
        ("[]", r"^the file has no messages$"),
        ('[{"role": "user", "content": "a"}, 3]', r"^message 2: expected an object, not a number$"),
        (
            '[{"role": "user", "content": "a"}, {"role": "wizard", "content": "b"}]',
            r"^message 2: role: Input should be 'system', 'developer', .*",
        ),
        ('[{"content": "b"}]', r"^message 1: role: Field required$"),
        (
            '[{"role": "user", "content": [{"type": "image_url", '
            '"image_url": {"url": "javascript:alert(1)"}}]}]',
            r"^message 1: content\.0\.image_url\.url: image URL scheme 'javascript' is not",
        ),
        ('{"title": 5, "messages": []}', r"^title: expected text, not a number$"),
        ('[{"role": "user", "content": "\\ud800"}]', r"^the file has text with an unpaired"),
        ('{"title": "\\udfff", "messages": [{"role": "user"}]}', r"unpaired surrogate"),
    ],
)
def test_bad_files_get_a_clear_error(data: str | bytes, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_import(data, **LIMITS)


def test_a_1_mb_title_is_refused() -> None:
    body = {"title": "t" * (1024 * 1024), "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(ValueError, match=r"^title: 1,048,576 characters, over the limit of 200$"):
        parse_import(json.dumps(body), max_bytes=4 * 1024 * 1024, max_messages=10)


def test_too_many_messages() -> None:
    messages = [{"role": "user", "content": str(i)} for i in range(11)]
    with pytest.raises(ValueError, match=r"^the file has 11 messages, over the limit of 10$"):
        parse_import(json.dumps(messages), max_bytes=1024 * 1024, max_messages=10)
    assert len(parse_import(json.dumps(messages[:10]), max_bytes=10**6, max_messages=10)[1]) == 10


def test_render_names_the_format() -> None:
    messages = [{"role": "user", "content": "Hi"}]
    assert render("markdown", "T", messages) == to_markdown("T", messages)
    assert render("json", "T", messages) == to_json(messages)
    with pytest.raises(ValueError, match=r"^format must be json or markdown, not 'pdf'$"):
        render("pdf", "T", messages)
