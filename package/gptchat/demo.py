"""The offline showcase: a handler that needs no API key and no network.

It streams the way a real model does (deltas in OpenAI format, a tool call with
streamed arguments, the tool's result, then the answer), so a newcomer sees
every part of the UI work.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from .chat_app import ChatApp

DEMO_CONFIG: dict[str, Any] = {
    "title": "gptchat demo",
    "agent_name": "Demo",
    "placeholder": "Message the demo (it runs offline)",
    "starter_prompts": [
        "What's the weather in Paris?",
        "Show me some Python",
        "Explain the Pythagorean theorem",
    ],
    "functions": {"get_weather": "Fetching **weather**..."},
}

_TOKEN = re.compile(r"\s*\S{1,4}|\s+")


def tokens(text: str) -> Iterator[str]:
    """Split text into pieces of about four characters, like model tokens."""
    yield from _TOKEN.findall(text)


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
    return ""


def _answer(question: str, city: str, weather: dict[str, Any]) -> str:
    quoted = question.strip().replace("\n", " ")[:200] or "(empty message)"
    return f"""You said: *{quoted}*

Here is what gptchat renders, streamed token by token.

## The weather in {city}

| | Now | Tonight |
|---|---|---|
| Temperature | {weather["temperature_c"]} °C | {weather["temperature_c"] - 6} °C |
| Sky | {weather["sky"]} | clear |

## Some code

```python
from gptchat import app

@app.handle_send_message
def on_message(messages):
    app.update_message({{"role": "assistant", "content": "Hello!"}})

app.run_app()
```

## Some math

The Pythagorean theorem: $a^2 + b^2 = c^2$, and on display:

$$\\int_0^1 x^2\\,dx = \\frac{{1}}{{3}}$$

## A list

1. Markdown with **bold**, *italics*, `inline code` and [links](https://example.com)
2. Tool calls, shown above as a collapsible block
   - with their arguments and result
   - [x] task lists work too

> Set `OPENAI_API_KEY` and run `python -m gptchat` again to chat with a real model.
"""


def demo_handler(app: ChatApp, delay: float = 0.012) -> Any:
    """Return a handler for ``app`` that streams the showcase reply."""

    def stream(id: str, delta_key: str, text: str, **extra: Any) -> None:  # noqa: A002
        first = True
        for piece in tokens(text):
            delta: dict[str, Any] = {delta_key: piece}
            if first:
                delta.update(extra)
                first = False
            app.update_message(delta, id=id)
            time.sleep(delay)

    def on_message(messages: list[dict[str, Any]]) -> None:
        question = _last_user_text(messages)
        city = "Paris"
        call_id = "call_" + app.new_id()[:24]
        msg_id = app.new_id()
        app.update_message({"role": "assistant", "content": None}, id=msg_id)
        args = json.dumps({"city": city, "unit": "celsius"})
        header = {
            "index": 0,
            "id": call_id,
            "type": "function",
            "function": {"name": "get_weather"},
        }
        app.update_message({"tool_calls": [header]}, id=msg_id)
        for piece in tokens(args):
            app.update_message(
                {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, id=msg_id
            )
            time.sleep(delay)
        time.sleep(0.4)  # the "tool" works
        weather = {"city": city, "temperature_c": 18, "sky": "partly cloudy"}
        app.update_message(
            {"role": "tool", "tool_call_id": call_id, "content": json.dumps(weather)}
        )
        stream(app.new_id(), "content", _answer(question, city, weather), role="assistant")

    return on_message
