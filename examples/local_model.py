"""A local model through an OpenAI-compatible server: Ollama, vLLM, LM Studio, llama.cpp.

Only the base URL changes. Reasoning models (DeepSeek-R1, Qwen3, gpt-oss) stream
their thinking as ``reasoning_content`` or ``reasoning``: gptchat relays it and
the browser shows it as a collapsible "Thinking" block above the answer.

Run (Ollama): ollama pull llama3.2 && python examples/local_model.py
Others: LOCAL_MODEL_URL=http://localhost:8000/v1 LOCAL_MODEL=my-model python ...
(vLLM :8000, LM Studio :1234, llama.cpp :8080)
"""

import os

from openai import OpenAI

from gptchat import app

BASE_URL = os.environ.get("LOCAL_MODEL_URL", "http://localhost:11434/v1")  # Ollama
MODEL = os.environ.get("LOCAL_MODEL", "llama3.2")
client = OpenAI(base_url=BASE_URL, api_key=os.environ.get("LOCAL_MODEL_KEY", "not-needed"))


@app.handle_send_message
def message_handler(messages):
    app.stream(client.chat.completions.create(messages=messages, model=MODEL, stream=True))


app.set_config({"title": f"{MODEL} (local)", "agent_name": MODEL})

if __name__ == "__main__":
    app.run_app(port=5002)
