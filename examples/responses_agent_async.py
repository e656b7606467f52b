"""The Responses API agent (see responses_agent.py), async: ``openai.AsyncOpenAI``.

The same loop on the event loop async handlers share: ``await app.stream(...)`` relays
each response and returns it complete; pressing stop cancels the handler and closes the
stream.

Run: OPENAI_API_KEY=sk-... python examples/responses_agent_async.py
(``OPENAI_MODEL`` picks another model; it needs to be a reasoning model, for the summaries.)
"""

import json
import os

from openai import AsyncOpenAI

from gptchat import app

openai_client = AsyncOpenAI()
MODEL = os.environ.get("OPENAI_MODEL", "gpt-5-mini")


def get_weather(city):
    """Current weather in a city."""
    return {"city": city, "temperature_c": 18, "sky": "partly cloudy"}


FUNCTIONS = {"get_weather": get_weather}
TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": get_weather.__doc__,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]


def run_call(call):
    """A function_call item's result, as the function_call_output item that answers it."""
    try:
        result = FUNCTIONS[call.name](**json.loads(call.arguments or "{}"))
    except Exception as exc:  # the model sees the error and can try again
        result = {"error": f"{type(exc).__name__}: {exc}"}
    return {"type": "function_call_output", "call_id": call.call_id, "output": json.dumps(result)}


async def create(items):
    return await openai_client.responses.create(
        model=MODEL,
        input=items,
        tools=TOOLS,
        reasoning={"summary": "auto"},
        # Stateless: reasoning comes back encrypted, and gptchat gives it back next turn.
        store=False,
        include=["reasoning.encrypted_content"],
        stream=True,
    )


@app.handle_send_message(format="responses")
async def agent(items):
    items = list(items)
    for _ in range(10):  # at most ten rounds
        response = await app.stream(await create(items))
        items += [item.model_dump(exclude_none=True) for item in response.output]
        calls = [item for item in response.output if item.type == "function_call"]
        if not calls:
            return
        for call in calls:
            result = run_call(call)
            app.update_message(result)  # rendered inside the call's block
            items.append(result)


app.set_config(
    {
        "title": "Responses API agent (async)",
        "starter_prompts": ["What's the weather in Paris?"],
        "functions": {"get_weather": "Fetching **weather**..."},
    }
)

if __name__ == "__main__":
    app.run_app(port=5002)
