"""Images in: the user attaches pictures, a vision model describes them.

With ``allow_upload`` the composer accepts images; they reach the handler as
OpenAI content parts (``{"type": "image_url", "image_url": {"url": "data:..."}}``),
ready to pass to a vision model as they are.

Run: OPENAI_API_KEY=sk-... python examples/multimodal.py
"""

from openai import OpenAI

from gptchat import app

openai_client = OpenAI()
MODEL = "gpt-4o-mini"  # a model that accepts images


def count_images(messages):
    return sum(
        1
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") == "image_url"
    )


@app.handle_send_message
def message_handler(messages):
    print(f"the conversation holds {count_images(messages)} image(s)")
    app.stream(openai_client.chat.completions.create(messages=messages, model=MODEL, stream=True))


app.set_config(
    {
        "title": "Vision example",
        "allow_upload": True,
        "placeholder": "Attach an image and ask about it",
    }
)

if __name__ == "__main__":
    app.run_app(port=5002)
