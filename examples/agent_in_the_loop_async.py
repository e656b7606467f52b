"""The agent in the loop (see agent_in_the_loop.py), async: ``openai.AsyncOpenAI``.

``await app.ask(...)``, ``await app.confirm(call)`` and ``await app.stream(...)`` wait
on the event loop async handlers share, not in a thread of their own; the action
handler is async too.

- ``app.ask(..., choices=[...])`` asks which tone the email should have, as a message
  of the reply with one button per choice, and waits for the click;
- ``app.confirm(call)`` shows Approve and Deny on the ``send_email`` call (the one
  tool marked risky) before it runs; the user may edit its arguments first. Denied,
  gptchat shows the call's result itself (it was not run) and the model is told;
- ``@app.handle_feedback`` hears each thumbs up or down on a reply;
- the final reply carries a "Draft another" button, run by ``@app.handle_action``.

``find_contact`` is not risky: it runs without asking.

Run: OPENAI_API_KEY=sk-... python examples/agent_in_the_loop_async.py
"""

import json

from openai import AsyncOpenAI

from gptchat import Action, app

openai_client = AsyncOpenAI()
MODEL = "gpt-4o-mini"
TONES = ["Friendly", "Formal", "Short"]
#: What send_email sent; a stand-in for a mail server.
OUTBOX = []


def find_contact(name):
    return {"name": name, "email": f"{name.lower()}@example.com"}


def send_email(to, subject, body):
    OUTBOX.append({"to": to, "subject": subject, "body": body})
    return f"Sent to {to}."


def schema(name, description, params):
    """A function for the model; every parameter is a required string."""
    properties = {p: {"type": "string"} for p in params}
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": list(params)},
        },
    }


TOOLS = {"find_contact": find_contact, "send_email": send_email}
SCHEMAS = [
    schema("find_contact", "Look up a person's email address.", ["name"]),
    schema("send_email", "Send an email.", ["to", "subject", "body"]),
]
#: Tools that change the world: the user approves each call first.
RISKY = {"send_email"}


def run_tool(call, arguments):
    try:
        result = TOOLS[call["function"]["name"]](**json.loads(arguments or "{}"))
    except Exception as exc:  # the model sees the error and can try again
        result = {"error": f"{type(exc).__name__}: {exc}"}
    return {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)}


async def draft(messages):
    """Ask for the tone, then let the model look up, write and (once approved) send."""
    question = "Which tone should the email have?"
    tone = await app.ask(question, choices=TONES)
    # The tone as an instruction: the request stays the last message the model reads.
    messages = [{"role": "system", "content": f"Write emails in a {tone} tone."}, *messages]
    for _ in range(5):  # at most five rounds of tool calls
        reply_id = app.new_id()
        stream = await openai_client.chat.completions.create(
            messages=messages, model=MODEL, tools=SCHEMAS, stream=True
        )
        reply = (await app.stream(stream, id=reply_id)).model_dump(exclude_none=True)
        messages.append(reply)
        if not reply.get("tool_calls"):
            app.update_message(
                {}, id=reply_id, actions=[Action(name="draft_another", label="Draft another")]
            )
            return
        for call in reply["tool_calls"]:
            arguments = call["function"]["arguments"]
            if call["function"]["name"] in RISKY:
                decision = await app.confirm(call, prompt="Send this email?")
                if not decision.approved:
                    # gptchat shows the denial as the call's result; the model needs it too.
                    messages.append(decision.result)
                    continue
                # As the user left them: the model's next round sees the edited call.
                arguments = decision.arguments
                call["function"]["arguments"] = arguments
            result = run_tool(call, arguments)
            app.update_message(result)  # rendered inside the call's block
            messages.append(result)


@app.handle_send_message
async def message_handler(messages):
    await draft(messages)


@app.handle_action("draft_another")
async def draft_another(action):
    # The request for another draft is the model's alone; the chat shows the new reply.
    request = "Write another version of that email and send it with send_email."
    await draft([*action.messages, {"role": "user", "content": request}])


@app.handle_feedback
def on_feedback(feedback):
    rating = feedback.rating or "taken back"  # None: a second click on the same thumb
    comment = f" ({feedback.comment})" if feedback.comment else ""
    print(f"feedback from {feedback.user_id} on {feedback.message_id}: {rating}{comment}")


app.set_config(
    {
        "title": "Agent in the loop",
        "starter_prompts": ["Find Bob's address and email him about lunch on Friday"],
        "functions": {"find_contact": "Looking up a contact", "send_email": "Sending an email"},
    }
)

if __name__ == "__main__":
    app.run_app(port=5002)
