"""Every client event passes one wrapper: sid, admission (limits), validation, dispatch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gptchat import ChatApp, protocol
from gptchat.protocol import CLIENT_PAYLOADS, Stop
from tests.support import SocketClient, live_server, send

# A reply as a model writes one: prose, a table, code blocks, math and a link.
REPLY = """Here is how the two sorting approaches compare.

| algorithm | average | worst | stable |
|---|---|---|---|
| merge sort | O(n log n) | O(n log n) | yes |
| quicksort | O(n log n) | O(n²) | no |

```python
def merge_sort(xs: list[int]) -> list[int]:
    if len(xs) <= 1:
        return xs
    mid = len(xs) // 2
    return merge(merge_sort(xs[:mid]), merge_sort(xs[mid:]))
```

```bash
python -m timeit -s "import random; xs = random.sample(range(10**6), 10**5)" "sorted(xs)"
```

The recurrence is $T(n) = 2T(n/2) + O(n)$, so $T(n) = O(n \\log n)$. See
[the Python sorting HOWTO](https://docs.python.org/3/howto/sorting.html).
"""


@pytest.fixture
def chat() -> ChatApp:
    chat = ChatApp(coalesce_interval=0.0, max_depth=6)

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"role": "assistant", "content": REPLY}

    return chat


@pytest.fixture
def url(chat: ChatApp) -> Iterator[str]:
    with live_server(chat) as base:
        yield base


@pytest.fixture
def client(url: str) -> Iterator[SocketClient]:
    c = SocketClient(url)
    yield c
    c.close()


def replies(client: SocketClient, conversation_id: str) -> None:
    send(client, "Compare merge sort and quicksort.", conversation_id=conversation_id)
    finished = client.wait_event("run_finished", conversation_id=conversation_id)
    assert finished["status"] == "done"
    deltas = [d for d in client.named("message_delta") if d["conversation_id"] == conversation_id]
    text = "".join(delta.get("content", "") for d in deltas for delta in d["deltas"])
    assert text == REPLY


def test_every_client_event_is_registered_through_the_wrapper(chat: ChatApp) -> None:
    assert chat.server._handled_events == set(CLIENT_PAYLOADS)


def test_a_client_event_left_without_a_handler_stops_the_server_from_building(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(protocol.CLIENT_PAYLOADS, "rename", Stop)
    with pytest.raises(RuntimeError, match=r"client events without a handler: \['rename'\]"):
        _ = ChatApp().server


@pytest.mark.parametrize("event", sorted(CLIENT_PAYLOADS))
def test_each_client_event_is_validated_and_admitted_by_the_wrapper(
    client: SocketClient, event: str
) -> None:
    client.emit(event, {"conversation_id": 42})
    error = client.wait_event("error", code="invalid_payload")
    assert error["message"].startswith(f"{event}: ")
    assert "conversation_id" in error["message"]

    deep: Any = "x"
    for _ in range(10):
        deep = [deep]
    client.emit(event, {"conversation_id": "conv-events-01", "extra": deep})
    error = client.wait_event("error", code="limit")
    assert error["message"] == f"{event}: nesting too deep (limit 6 levels)"
    assert error["conversation_id"] == "conv-events-01"

    replies(client, "conv-events-02")


def test_a_new_event_is_one_decorated_function(
    chat: ChatApp, client: SocketClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(protocol.CLIENT_PAYLOADS, "ping", Stop)
    got: list[tuple[str, Stop]] = []

    @chat.server._event("ping")
    def on_ping(sid: str, payload: Stop) -> None:
        got.append((sid, payload))
        chat.server.emitter.error(sid, "not_found", "pong", payload.conversation_id)

    client.emit("ping", {"conversation_id": "conv-ping-0001"})
    pong = client.wait_event("error", code="not_found")
    assert (pong["message"], pong["conversation_id"]) == ("pong", "conv-ping-0001")
    assert got == [(client.sio.get_sid(), Stop(conversation_id="conv-ping-0001"))]

    client.emit("ping", {"conversation_id": ["not", "an", "id"]})
    bad = client.wait_event("error", code="invalid_payload")
    assert bad["message"].startswith("ping: ")
    assert len(got) == 1
    replies(client, "conv-ping-0002")
