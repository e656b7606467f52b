"""Async style: an ``async def`` handler with ``openai.AsyncOpenAI``.

``await app.stream(stream)`` relays the stream to the browser and returns the
complete message; pressing stop cancels the handler and closes the stream.
Async handlers share one event loop, so a module-level client is fine.

Run: OPENAI_API_KEY=sk-... python examples/async_stream.py
"""

from openai import AsyncOpenAI

from gptchat import app

openai_client = AsyncOpenAI()
MODEL = "gpt-4o-mini"


@app.handle_send_message
async def message_handler(messages):
    stream = await openai_client.chat.completions.create(
        messages=messages, model=MODEL, stream=True
    )
    message = await app.stream(stream)
    print(f"replied with {len(message.content or '')} characters")


app.set_config({"title": "Async example"})

if __name__ == "__main__":
    app.run_app(port=5002)
