"""A fake OpenAI Responses API on loopback (``POST /v1/responses``), for the real client.

Streams are SSE (``event: <type>`` / ``data: <json>``) in OpenAI's documented
order: ``response.created``, ``response.in_progress``, then per output item
``response.output_item.added``, its parts and deltas, ``response.output_item.done``,
and last ``response.completed`` (or ``.failed``/``.incomplete``). Without
``stream`` it answers the whole ``Response``.

The model name picks the scenario (:data:`SCENARIOS`): ``text``, ``reasoning``,
``function`` (calls ``get_weather``; after a ``function_call_output`` it answers
``The tool said: `<output>```), ``citation``, ``web_search``, ``failed``,
``incomplete``, ``unknown`` (an event type no SDK knows, mid-stream), ``encrypted``
(reasoning with ``encrypted_content``, counted when it comes back), the built-in
tools ``code_interpreter``, ``image_generation``, ``file_search`` and ``mcp`` (a
``mcp_list_tools`` then a ``mcp_call``), each followed by an answer;
``mcp_approval`` (an ``mcp_approval_request`` until the input holds an
``mcp_approval_response``, then the call and an answer, or a refusal); ``stall``
goes silent after its first delta until the client hangs up. Any other name
echoes the last user text.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAILURE = {"code": "server_error", "message": "The model melted down (fake failure)."}
THOUGHT = ["The user greets me.", "A short answer will do."]
CITED = "Paris is the capital of France."
SOURCE = {"url": "https://example.com/paris", "title": "Paris - Example"}


def tokens(text: str) -> list[str]:
    return re.findall(r"\s*\S{1,4}|\s+", text)


def base_response(model: str, status: str = "in_progress") -> dict[str, Any]:
    """The fields of a ``Response`` that do not depend on its output."""
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": 1,
        "status": status,
        "model": model,
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
    }


def message(text: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": annotations or []}
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [part],
    }


def reasoning(parts: list[str]) -> dict[str, Any]:
    summary = [{"type": "summary_text", "text": p} for p in parts]
    return {"id": "rs_fake", "type": "reasoning", "summary": summary}


def function_call(name: str, arguments: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return {
        "id": f"fc_fake_{n}",
        "type": "function_call",
        "call_id": f"call_fake_{n}",
        "name": name,
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


def web_search(query: str) -> dict[str, Any]:
    return {
        "id": "ws_fake",
        "type": "web_search_call",
        "status": "completed",
        "action": {"type": "search", "query": query},
    }


#: A 1x1 PNG, what the fake image generator draws (and its partial image).
TINY_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
CODE = "import math\nprint(math.sqrt(2))"
LOGS = "1.4142135623730951\n"


def code_interpreter() -> dict[str, Any]:
    return {
        "id": "ci_fake",
        "type": "code_interpreter_call",
        "status": "completed",
        "code": CODE,
        "container_id": "cntr_fake",
        "outputs": [{"type": "logs", "logs": LOGS}],
    }


def image_generation() -> dict[str, Any]:
    return {
        "id": "ig_fake",
        "type": "image_generation_call",
        "status": "completed",
        "result": TINY_PNG,
    }


def file_search() -> dict[str, Any]:
    result = {
        "file_id": "file-fake",
        "filename": "policy.pdf",
        "score": 0.91,
        "text": "Refunds are accepted within 30 days.",
    }
    return {
        "id": "fs_fake",
        "type": "file_search_call",
        "status": "completed",
        "queries": ["refund policy"],
        "results": [result],
    }


def mcp_list_tools() -> dict[str, Any]:
    tool = {"name": "ask_question", "description": "Ask about a repository.", "input_schema": {}}
    return {
        "id": "mcpl_fake",
        "type": "mcp_list_tools",
        "server_label": "deepwiki",
        "tools": [tool],
        "error": None,
    }


def mcp_call() -> dict[str, Any]:
    return {
        "id": "mcp_fake",
        "type": "mcp_call",
        "status": "completed",
        "server_label": "deepwiki",
        "name": "ask_question",
        "arguments": json.dumps({"repo": "openai/openai-python"}),
        "output": "It is the official Python library.",
        # As the API sends them: null fields stay in the item (and in a fold of it).
        "error": None,
        "approval_request_id": None,
    }


def mcp_approval_request() -> dict[str, Any]:
    return {
        "id": "mcpr_fake",
        "type": "mcp_approval_request",
        "server_label": "deepwiki",
        "name": "ask_question",
        "arguments": json.dumps({"repo": "openai/openai-python"}),
    }


#: What a built-in tool item is when ``output_item.added`` announces it (before its events).
def _started(item: dict[str, Any]) -> dict[str, Any]:
    kind = item["type"]
    if kind == "code_interpreter_call":
        return {**item, "status": "in_progress", "code": "", "outputs": None}
    if kind == "image_generation_call":
        return {**item, "status": "in_progress", "result": None}
    if kind == "file_search_call":
        return {**item, "status": "in_progress", "queries": [], "results": None}
    if kind == "mcp_list_tools":
        return {**item, "tools": []}
    if kind == "mcp_call":
        return {**item, "status": "in_progress", "arguments": "", "output": None}
    return item


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def output_for(body: dict[str, Any]) -> dict[str, Any]:
    """The scenario for a request: ``output`` items, ``status``, ``error``, extra events."""
    model = str(body.get("model", ""))
    items = body.get("input")
    items = [{"role": "user", "content": items}] if isinstance(items, str) else list(items or [])
    outputs = [i for i in items if i.get("type") == "function_call_output"]
    users = [i for i in items if i.get("role") == "user"]
    last_user = _text_of(users[-1].get("content")) if users else ""
    plan: dict[str, Any] = {"status": "completed", "output": [], "error": None, "unknown": False}
    if "failed" in model:
        plan.update(status="failed", error=FAILURE)
    elif "encrypted" in model:
        # A stateless reasoning model (store=False): each reasoning item goes out with
        # encrypted_content, and the answer says how many came back unmodified. It calls
        # get_weather once per user turn, then answers.
        back = [
            i
            for i in items
            if i.get("type") == "reasoning" and i.get("encrypted_content") == f"enc:{i.get('id')}"
        ]
        last = max((n for n, i in enumerate(items) if i.get("role") == "user"), default=-1)
        answered = [i for i in items[last + 1 :] if i.get("type") == "function_call_output"]
        thought = {**reasoning(THOUGHT), "id": f"rs_enc_{len(items)}"}
        thought["encrypted_content"] = f"enc:{thought['id']}"
        said = "; ".join(f"`{o.get('output')}`" for o in answered)
        plan["output"] = [
            thought,
            message(f"The tool said: {said}. Reasoning carried back: {len(back)}.")
            if answered
            else function_call("get_weather", {"city": "Paris"}),
        ]
    elif "function" in model and not outputs:
        plan["output"] = [function_call("get_weather", {"city": "Paris"})]
    elif outputs:
        said = "; ".join(f"`{o.get('output')}`" for o in outputs)
        plan["output"] = [message(f"The tool said: {said}")]
    elif "reasoning" in model:
        plan["output"] = [reasoning(THOUGHT), message("Hello! How can I help?")]
    elif "citation" in model:
        annotation = {"type": "url_citation", "start_index": 0, "end_index": 5, **SOURCE}
        plan["output"] = [message(CITED, [annotation])]
    elif "web_search" in model:
        plan["output"] = [web_search("capital of France"), message(CITED)]
    elif "code_interpreter" in model:
        plan["output"] = [code_interpreter(), message("The square root of 2 is about 1.414.")]
    elif "image_generation" in model:
        plan["output"] = [image_generation(), message("Here is your image.")]
    elif "file_search" in model:
        plan["output"] = [file_search(), message("Refunds are accepted within 30 days.")]
    elif "mcp_approval" in model:
        # Asks approval (require_approval) until the input answers it, then calls or not.
        answers = [i for i in items if i.get("type") == "mcp_approval_response"]
        if not answers:
            plan["output"] = [mcp_list_tools(), mcp_approval_request()]
        elif answers[-1].get("approve") is True:
            call = {**mcp_call(), "approval_request_id": answers[-1].get("approval_request_id")}
            plan["output"] = [call, message("It is the official library.")]
        else:
            plan["output"] = [message("The call was not approved.")]
    elif "mcp" in model:
        plan["output"] = [mcp_list_tools(), mcp_call(), message("It is the official library.")]
    elif "incomplete" in model:
        plan.update(status="incomplete", output=[message("The answer is cut")])
        plan["incomplete_details"] = {"reason": "max_output_tokens"}
    elif "text" in model:
        plan["output"] = [message("**Hello** from the Responses API.")]
    else:
        plan["output"] = [message(f"**Echo:** {last_user}")]
    plan["unknown"] = "unknown" in model
    return plan


def stream_events(model: str, plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The events OpenAI streams for ``plan``, in its documented order."""
    sequence = iter(range(1 << 30))

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "sequence_number": next(sequence), **fields}

    yield event("response.created", response=base_response(model))
    yield event("response.in_progress", response=base_response(model))
    for index, item in enumerate(plan["output"]):
        kind = item["type"]
        ids = {"item_id": item["id"], "output_index": index}
        if kind == "message":
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            for ci, part in enumerate(item["content"]):
                empty = {"type": "output_text", "text": "", "annotations": []}
                yield event("response.content_part.added", **ids, content_index=ci, part=empty)
                for piece in tokens(part["text"]):
                    yield event(
                        "response.output_text.delta",
                        **ids,
                        content_index=ci,
                        delta=piece,
                        logprobs=[],
                    )
                    if plan["unknown"]:
                        plan["unknown"] = False
                        yield event("response.future_widget.delta", **ids, widget="spinning")
                for n, annotation in enumerate(part["annotations"]):
                    yield event(
                        "response.output_text.annotation.added",
                        **ids,
                        content_index=ci,
                        annotation_index=n,
                        annotation=annotation,
                    )
                yield event(
                    "response.output_text.done",
                    **ids,
                    content_index=ci,
                    text=part["text"],
                    logprobs=[],
                )
                yield event("response.content_part.done", **ids, content_index=ci, part=part)
        elif kind == "reasoning":
            yield event(
                "response.output_item.added", output_index=index, item={**item, "summary": []}
            )
            for si, part in enumerate(item["summary"]):
                empty = {"type": "summary_text", "text": ""}
                yield event(
                    "response.reasoning_summary_part.added", **ids, summary_index=si, part=empty
                )
                for piece in tokens(part["text"]):
                    yield event(
                        "response.reasoning_summary_text.delta",
                        **ids,
                        summary_index=si,
                        delta=piece,
                    )
                yield event(
                    "response.reasoning_summary_text.done",
                    **ids,
                    summary_index=si,
                    text=part["text"],
                )
                yield event(
                    "response.reasoning_summary_part.done", **ids, summary_index=si, part=part
                )
        elif kind == "function_call":
            added = {**item, "arguments": "", "status": "in_progress"}
            yield event("response.output_item.added", output_index=index, item=added)
            for piece in tokens(item["arguments"]):
                yield event("response.function_call_arguments.delta", **ids, delta=piece)
            yield event("response.function_call_arguments.done", **ids, arguments=item["arguments"])
        elif kind == "web_search_call":
            # The query is known once the search is done (OpenAI sends it on .done).
            added = {**item, "status": "in_progress", "action": {"type": "search"}}
            yield event("response.output_item.added", output_index=index, item=added)
            for phase in ("in_progress", "searching", "completed"):
                yield event(f"response.web_search_call.{phase}", **ids)
        elif kind in BUILTIN_EVENTS:
            yield event("response.output_item.added", output_index=index, item=_started(item))
            yield from builtin_events(item, ids, event)
        yield event("response.output_item.done", output_index=index, item=item)
    final = {**base_response(model, plan["status"]), "output": plan["output"]}
    if plan["status"] == "failed":
        final["error"] = plan["error"]
        yield event("response.failed", response=final)
    elif plan["status"] == "incomplete":
        final["incomplete_details"] = plan["incomplete_details"]
        yield event("response.incomplete", response=final)
    else:
        final["usage"] = {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 20,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 30,
        }
        yield event("response.completed", response=final)


#: The built-in tool items whose progress events ``builtin_events`` streams.
BUILTIN_EVENTS = frozenset(
    {
        "code_interpreter_call",
        "image_generation_call",
        "file_search_call",
        "mcp_list_tools",
        "mcp_call",
    }
)


def builtin_events(
    item: dict[str, Any], ids: dict[str, Any], event: Any
) -> Iterator[dict[str, Any]]:
    """A built-in tool call's events between its ``added`` and ``done``, as OpenAI sends them."""
    kind = item["type"]
    if kind == "code_interpreter_call":
        yield event("response.code_interpreter_call.in_progress", **ids)
        for piece in tokens(item["code"]):
            yield event("response.code_interpreter_call_code.delta", **ids, delta=piece)
        yield event("response.code_interpreter_call_code.done", **ids, code=item["code"])
        yield event("response.code_interpreter_call.interpreting", **ids)
        yield event("response.code_interpreter_call.completed", **ids)
    elif kind == "image_generation_call":
        yield event("response.image_generation_call.in_progress", **ids)
        yield event("response.image_generation_call.generating", **ids)
        yield event(
            "response.image_generation_call.partial_image",
            **ids,
            partial_image_b64=item["result"],
            partial_image_index=0,
        )
        yield event("response.image_generation_call.completed", **ids)
    elif kind == "file_search_call":
        for phase in ("in_progress", "searching", "completed"):
            yield event(f"response.file_search_call.{phase}", **ids)
    elif kind == "mcp_list_tools":
        yield event("response.mcp_list_tools.in_progress", **ids)
        yield event("response.mcp_list_tools.completed", **ids)
    elif kind == "mcp_call":
        yield event("response.mcp_call.in_progress", **ids)
        for piece in tokens(item["arguments"]):
            yield event("response.mcp_call_arguments.delta", **ids, delta=piece)
        yield event("response.mcp_call_arguments.done", **ids, arguments=item["arguments"])
        yield event("response.mcp_call.completed", **ids)


def _hung_up(conn: socket.socket, within: float) -> bool:
    """Wait in silence until the client closes the connection (True), or ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        readable, _, _ = select.select([conn], [], [], 0.05)
        if readable and not conn.recv(1, socket.MSG_PEEK):
            return True
    return False


class FakeResponses:
    """The server; ``base_url`` for ``OpenAI(base_url=...)``, the ``requests`` it got."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        #: Set when a client hung up in the middle of a stream.
        self.aborted = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                if self.path.rstrip("/") != "/v1/responses":
                    self.send_error(404)
                    return
                model = str(body.get("model", ""))
                plan = output_for(body)
                if not body.get("stream"):
                    data = json.dumps(
                        {**base_response(model, plan["status"]), "output": plan["output"]}
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for event in stream_events(model, plan):
                        frame = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
                        self.wfile.write(frame.encode())
                        self.wfile.flush()
                        if (
                            "stall" in model
                            and event["type"] == "response.output_text.delta"
                            and _hung_up(self.connection, within=20)
                        ):
                            fake.aborted.set()  # a model thinking in silence, cut off
                            return
                except OSError:  # the client closed the stream (the user pressed stop)
                    fake.aborted.set()

        class Server(ThreadingHTTPServer):
            request_queue_size = 128
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def __enter__(self) -> FakeResponses:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- recorded vectors (tests/fixtures/responses-streams) ---------------------------


def shown(item: dict[str, Any]) -> dict[str, Any]:
    """An item as a chat message keeps it: the translator drops null fields (no value)."""
    return {k: v for k, v in item.items() if v is not None}


USAGE = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}

#: name -> (model, what it shows, the chat messages it must fold into, by hand).
VECTORS: dict[str, tuple[str, str, list[dict[str, Any]]]] = {
    "01_plain_text": (
        "text",
        "One message item streamed as output_text deltas.",
        [{"role": "assistant", "content": "**Hello** from the Responses API.", "usage": USAGE}],
    ),
    "02_reasoning_summary_and_text": (
        "reasoning",
        "A reasoning item with two summary parts, then the answer: one message, "
        "the summary as reasoning_content (parts joined by a blank line) above the text, "
        "the item itself kept in output_items (given back to the API next turn).",
        [
            {
                "role": "assistant",
                "reasoning_content": "The user greets me.\n\nA short answer will do.",
                "output_items": [reasoning(THOUGHT)],
                "content": "Hello! How can I help?",
                "usage": USAGE,
            }
        ],
    ),
    "03_function_call_streamed_arguments": (
        "function",
        "A function_call item whose arguments stream as deltas: a tool_calls entry.",
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_fake_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
                "usage": USAGE,
            }
        ],
    ),
    "04_url_citation": (
        "citation",
        "A url_citation annotation added after the text it cites.",
        [
            {
                "role": "assistant",
                "content": CITED,
                "annotations": [
                    {
                        "type": "url_citation",
                        "url_citation": {**SOURCE, "start_index": 0, "end_index": 5},
                    }
                ],
                "usage": USAGE,
            }
        ],
    ),
    "05_web_search_call": (
        "web_search",
        "A built-in web_search_call (in_progress, searching, completed), then the answer: "
        "the call kept in output_items of the message the answer goes into.",
        [
            {
                "role": "assistant",
                "output_items": [web_search("capital of France")],
                "content": CITED,
                "usage": USAGE,
            }
        ],
    ),
    "06_failed": (
        "failed",
        "response.failed: the run ends as an error with the API's message.",
        [],
    ),
    "07_unknown_event": (
        "unknown",
        "An event type no SDK knows, mid-text: kept in output_items, no exception.",
        [
            {
                "role": "assistant",
                "content": "**Echo:** hi",
                "output_items": [
                    {
                        "type": "response.future_widget.delta",
                        "sequence_number": 5,
                        "item_id": "msg_fake",
                        "output_index": 0,
                        "widget": "spinning",
                    }
                ],
                "usage": USAGE,
            }
        ],
    ),
    "09_code_interpreter_call": (
        "code_interpreter",
        "A code_interpreter_call whose code streams (code deltas), then its logs, then the "
        "answer: the call in output_items of the answer's message.",
        [
            {
                "role": "assistant",
                "output_items": [code_interpreter()],
                "content": "The square root of 2 is about 1.414.",
                "usage": USAGE,
            }
        ],
    ),
    "10_image_generation_call": (
        "image_generation",
        "An image_generation_call: a partial image (partial_image_b64), then the final "
        "base64 result.",
        [
            {
                "role": "assistant",
                "output_items": [image_generation()],
                "content": "Here is your image.",
                "usage": USAGE,
            }
        ],
    ),
    "11_file_search_call": (
        "file_search",
        "A file_search_call (in_progress, searching, completed) with its queries and results.",
        [
            {
                "role": "assistant",
                "output_items": [file_search()],
                "content": "Refunds are accepted within 30 days.",
                "usage": USAGE,
            }
        ],
    ),
    "12_mcp_list_tools_and_call": (
        "mcp",
        "An mcp_list_tools item, then an mcp_call whose arguments stream, then the answer.",
        [
            {
                "role": "assistant",
                "output_items": [shown(mcp_list_tools()), shown(mcp_call())],
                "content": "It is the official library.",
                "usage": USAGE,
            }
        ],
    ),
    "13_mcp_approval_request": (
        "mcp_approval",
        "An mcp_list_tools item, then an mcp_approval_request: the response ends waiting for "
        "an mcp_approval_response in the next request's input.",
        [
            {
                "role": "assistant",
                "output_items": [shown(mcp_list_tools()), mcp_approval_request()],
                "usage": USAGE,
                "content": None,
            }
        ],
    ),
    "08_incomplete": (
        "incomplete",
        "response.incomplete: the message keeps the response's incomplete_details.",
        [
            {
                "role": "assistant",
                "content": "The answer is cut",
                "incomplete_details": {"reason": "max_output_tokens"},
            }
        ],
    ),
}


def translated(events: list[dict[str, Any]]) -> list[list[Any]]:
    """The ``[message_id, delta]`` updates gptchat's translator makes of ``events``, ids
    ``m1``, ``m2``, ...; for a failed stream, those sent before it failed."""
    from gptchat._responses import ResponsesTranslator
    from gptchat.errors import ResponseFailed

    counter = iter(range(1, 1 << 30))
    translator = ResponsesTranslator(lambda: f"m{next(counter)}")
    updates: list[list[Any]] = []
    try:
        for event in events:
            updates += [[message_id, delta] for message_id, delta in translator.feed(event)]
    except ResponseFailed:
        pass
    return updates


def vector(name: str) -> dict[str, Any]:
    """The recorded vector ``name``: the events, the output, the updates and messages expected."""
    model, description, messages = VECTORS[name]
    plan = output_for({"model": model, "input": "hi"})
    events = list(stream_events(model, plan))
    record: dict[str, Any] = {
        "name": name,
        "description": description,
        "events": events,
        "expected_output": plan["output"],
        "expected_updates": translated(json.loads(json.dumps(events))),
        "expected_messages": messages,
    }
    if plan["status"] == "failed":
        record["expected_error"] = plan["error"]["message"]
    return record


if __name__ == "__main__":
    # Rewrites the vectors: python -m tests.fake_responses
    from pathlib import Path

    folder = Path(__file__).parent / "fixtures" / "responses-streams"
    folder.mkdir(parents=True, exist_ok=True)
    for vector_name in VECTORS:
        text = json.dumps(vector(vector_name), indent=2, ensure_ascii=False) + "\n"
        (folder / f"{vector_name}.json").write_text(text, encoding="utf-8")
