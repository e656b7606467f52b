"""Stream the reply token by token.

Run: OPENAI_API_KEY=sk-... python examples/streaming.py
"""

from openai import OpenAI

from gptchat import app

openai_client = OpenAI()
MODEL = "gpt-4o-mini"


def openai_chat_stream(messages, model=MODEL, **kwargs):
    stream = openai_client.chat.completions.create(
        messages=messages, model=model, stream=True, **kwargs
    )
    for chunk in stream:
        if chunk.choices:
            yield chunk.choices[0]


@app.handle_send_message
def message_handler(messages):
    id = app.new_id()
    for chunk in openai_chat_stream(messages):
        app.update_message(chunk.delta, id=id)  # deltas with one id merge into one message


app.set_config({"title": "Streaming example", "placeholder": "Ask anything"})

if __name__ == "__main__":
    app.run_app(debug=True, port=5002)
