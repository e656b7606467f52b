"""A complete reply per message: the simplest handler.

Run: OPENAI_API_KEY=sk-... python examples/full_message.py
"""

from openai import OpenAI

from gptchat import app

openai_client = OpenAI()  # reads OPENAI_API_KEY (and OPENAI_BASE_URL) from the environment
MODEL = "gpt-4o-mini"


@app.handle_send_message
def message_handler(messages):
    response = openai_client.chat.completions.create(messages=messages, model=MODEL)
    new_msg = response.choices[0].message
    app.update_message(new_msg)  # a full message: an id is assigned for us


if __name__ == "__main__":
    app.run_app(debug=True, port=5002)
