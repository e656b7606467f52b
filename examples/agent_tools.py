"""An agent: the model calls Python functions until it can answer.

Each round streams the reply with ``app.stream()`` (which folds the streamed
tool calls the way ``gptchat.utils.concat_stream`` does), runs every tool the
model called, shows each result inside its call's block, and asks again.

Run: OPENAI_API_KEY=sk-... python examples/agent_tools.py
"""

import inspect
import json

from openai import OpenAI

from gptchat import app

openai_client = OpenAI()
MODEL = "gpt-4o-mini"
TOOLS = {}


def tool(fn):
    """Offer ``fn`` to the model; its parameters become the JSON schema."""
    types = {int: "integer", float: "number", str: "string", bool: "boolean"}
    params = inspect.signature(fn).parameters.values()
    TOOLS[fn.__name__] = fn
    fn.schema = {
        "type": "function",
        "function": {
            "name": fn.__name__,
            "description": fn.__doc__,
            "parameters": {
                "type": "object",
                "properties": {p.name: {"type": types[p.annotation]} for p in params},
                "required": [p.name for p in params if p.default is p.empty],
            },
        },
    }
    return fn


@tool
def get_weather(city: str) -> dict:
    """Current weather in a city."""
    return {"city": city, "temperature_c": 18, "sky": "partly cloudy"}


@tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def run_tool(call):
    try:
        result = TOOLS[call.function.name](**json.loads(call.function.arguments or "{}"))
    except Exception as exc:  # the model sees the error and can try again
        result = {"error": f"{type(exc).__name__}: {exc}"}
    return {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}


@app.handle_send_message
def message_handler(messages):
    messages = list(messages)
    schemas = [fn.schema for fn in TOOLS.values()]
    for _ in range(10):  # at most ten rounds
        stream = openai_client.chat.completions.create(
            messages=messages, model=MODEL, tools=schemas, stream=True
        )
        reply = app.stream(stream)  # relayed live, returned complete
        messages.append(reply.model_dump(exclude_none=True))
        if not reply.tool_calls:
            return
        for call in reply.tool_calls:
            result = run_tool(call)
            app.update_message(result)  # rendered inside the call's block
            messages.append(result)


app.set_config(
    {
        "title": "Agent example",
        "starter_prompts": ["What's the weather in Paris?", "add 2 and 3, and get_weather"],
        "functions": {"get_weather": "Fetching **weather**...", "add": "Adding numbers"},
    }
)

if __name__ == "__main__":
    app.run_app(port=5002)
