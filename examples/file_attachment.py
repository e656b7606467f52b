"""Files in: the user attaches a PDF or a text file, the handler reads it, the model gets it.

The composer sends an attached file as an OpenAI ``file`` content part:
``{"type": "file", "file": {"filename": "notes.txt", "file_data": "data:text/plain;base64,..."}}``.
This handler says what it received (a text file's first lines), then passes the
conversation, file parts and all, unchanged to a model that reads files.

``set_config({"attachments": ...})`` says what may be attached and how large; the
composer refuses anything else with a reason, and the server checks again.

Run: OPENAI_API_KEY=sk-... python examples/file_attachment.py
"""

import base64

from openai import OpenAI

from gptchat import app

openai_client = OpenAI()
MODEL = "gpt-4o-mini"  # a model that reads PDFs


def attached_files(message):
    """The file parts of a message: (name, media type, bytes) each."""
    content = message.get("content")
    if not isinstance(content, list):
        return []
    files = []
    for part in content:
        file = part.get("file") if part.get("type") == "file" else None
        if file and file.get("file_data"):
            header, _, data = file["file_data"].partition(",")
            media_type = header.removeprefix("data:").split(";")[0]
            files.append((file.get("filename") or "file", media_type, base64.b64decode(data)))
    return files


def summary(name, media_type, data):
    line = f"Received **{name}** ({media_type}, {len(data):,} bytes)."
    if media_type.startswith("text/") or media_type == "application/json":
        first = data.decode("utf-8", errors="replace").splitlines()[:3]
        line += " It begins:\n\n```\n" + "\n".join(first) + "\n```"
    return line + "\n\n"


@app.handle_send_message
def message_handler(messages):
    for name, media_type, data in attached_files(messages[-1]):
        yield summary(name, media_type, data)
    # The file parts go to the model as they came.
    yield from openai_client.chat.completions.create(model=MODEL, messages=messages, stream=True)


app.set_config(
    {
        "title": "File example",
        "placeholder": "Attach a PDF or a text file and ask about it",
        "attachments": {"file": {"max_bytes": 2 * 1024 * 1024}},
    }
)

if __name__ == "__main__":
    app.run_app(port=5003)
