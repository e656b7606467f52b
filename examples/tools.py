"""An agent loop: stream a reply, run the tools it calls, send their results, repeat.

Run: OPENAI_API_KEY=sk-... python examples/tools.py
"""

import json

from openai import OpenAI

from gptchat import app
from gptchat.utils import concat_stream

openai_client = OpenAI()
MODEL = "gpt-4o-mini"


def get_weather(city: str, unit: str = "celsius") -> dict:
    """A stand-in for a real weather API."""
    return {"city": city, "temperature": 18 if unit == "celsius" else 64, "unit": unit}


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    }
]
FUNCTIONS = {"get_weather": get_weather}


@app.handle_send_message
def message_handler(messages):
    messages = list(messages)
    for _ in range(5):  # at most five rounds of tool calls
        id = app.new_id()
        chunks = []
        stream = openai_client.chat.completions.create(
            messages=messages, model=MODEL, tools=TOOLS, stream=True
        )
        for chunk in stream:
            if chunk.choices:
                chunks.append(chunk.choices[0])
                app.update_message(chunk.choices[0].delta, id=id)
        reply = concat_stream(chunks).message  # the whole streamed message, tool calls folded
        messages.append(reply.model_dump(exclude_none=True))
        if not reply.tool_calls:
            return
        for call in reply.tool_calls:
            result = FUNCTIONS[call.function.name](**json.loads(call.function.arguments))
            tool_message = {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
            app.update_message(tool_message)  # shown inside the call's block
            messages.append(tool_message)


app.set_config(
    {
        "title": "Tools example",
        "messages": [{"role": "assistant", "content": "Ask me about the weather anywhere."}],
        "functions": {"get_weather": "Fetching **weather**..."},
    }
)

if __name__ == "__main__":
    app.run_app(debug=True, port=5002)
