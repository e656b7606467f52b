"""An agent on the OpenAI Responses API: it calls Python functions until it can answer.

``@app.handle_send_message(format="responses")`` hands the handler its conversation as
Responses API input items, so the history goes straight to
``client.responses.create(input=...)``: messages, images and files, earlier calls and
their results, and the reasoning items of earlier replies, which a stateless agent
(``store=False``) must give back, with their ``encrypted_content``.

Each round streams a response with ``app.stream()`` (its reasoning summary is the
Thinking block, a function call is a tool call block), runs the calls, shows each result
inside its call's block, sends the ``function_call_output`` items back, and streams again.

Run: OPENAI_API_KEY=sk-... python examples/responses_agent.py
(``OPENAI_MODEL`` picks another model; it needs to be a reasoning model, for the summaries.)
"""

import json
import os

from openai import OpenAI

from gptchat import app

openai_client = OpenAI()
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


def create(items):
    return openai_client.responses.create(
        model=MODEL,
        input=items,
        tools=TOOLS,
        reasoning={"summary": "auto"},
        # Stateless: nothing is kept at OpenAI, so reasoning comes back encrypted, to be
        # given back (gptchat keeps it with the reply for the turns that follow).
        store=False,
        include=["reasoning.encrypted_content"],
        stream=True,
    )


@app.handle_send_message(format="responses")
def agent(items):
    items = list(items)
    for _ in range(10):  # at most ten rounds
        response = app.stream(create(items))  # relayed live, returned complete
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
        "title": "Responses API agent",
        "starter_prompts": ["What's the weather in Paris?"],
        "functions": {"get_weather": "Fetching **weather**..."},
    }
)

if __name__ == "__main__":
    app.run_app(port=5002)
