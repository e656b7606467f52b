"""Generator style: yield what the model streams, gptchat sends it to the browser.

Yield text, deltas or whole ``ChatCompletionChunk`` objects: everything yielded
from one model stream becomes one message (a ``finish_reason`` ends it). Yield a
complete message (a dict with a ``role``, a tool result) to start another one, or
``(message_id, delta)`` pairs to choose the ids yourself.

Run: OPENAI_API_KEY=sk-... python examples/generator.py
"""

from openai import OpenAI

from gptchat import app

openai_client = OpenAI()
MODEL = "gpt-4o-mini"


@app.handle_send_message
def message_handler(messages):
    yield from openai_client.chat.completions.create(messages=messages, model=MODEL, stream=True)


app.set_config({"title": "Generator example"})

if __name__ == "__main__":
    app.run_app(port=5002)
