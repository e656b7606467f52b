"""Embedding: a chat inside an existing Flask site, under /chat/.

Run: OPENAI_API_KEY=sk-... python examples/flask_embed.py, then open
http://localhost:5002/ (the site) and http://localhost:5002/chat/ (the chat).
"""

from flask import Flask
from openai import OpenAI

from gptchat import app as chat

openai_client = OpenAI()
MODEL = "gpt-4o-mini"

site = Flask(__name__)


@site.get("/")
def home():
    return '<h1>My site</h1><p><a href="/chat/">Talk to our assistant</a></p>'


@chat.handle_send_message
def message_handler(messages):
    chat.stream(openai_client.chat.completions.create(messages=messages, model=MODEL, stream=True))


chat.set_config({"title": "My site's assistant"})
chat.init_app(site, url_prefix="/chat")

if __name__ == "__main__":
    site.run(host="127.0.0.1", port=5002, threaded=True)
