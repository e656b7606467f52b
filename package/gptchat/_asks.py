"""Questions a handler asks its user mid-run, and the rules of their answers.

A question is a message of the run (its ``ask`` key says what it asks, see
:class:`gptchat.protocol.Ask`), so it streams, resumes and is kept like any
other. :class:`Question` is the server's side of one: what an answer must be
(:meth:`Question.check`), the message the answer becomes, and the wait for it.
The run (``runs.Run``) sends the messages; this module knows no sockets.

:func:`model_input` takes gptchat's own parts back out of a conversation, so
what a handler hands its model is plain OpenAI input.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import ValidationError

from ._forms import Form, FormError
from .interaction import Approval as Decision
from .protocol import UI_MESSAGE_KEYS, Approval, AskKind, AskStatus, ErrorCode, describe_error

#: Longest free-text answer, in characters: a chat message, not a document.
MAX_ANSWER_CHARS = 20_000

#: How a wait ended: the answer is in, the run was told to stop, or time ran out.
Woken = Literal["answered", "interrupted", "timeout"]


class AnswerRefused(Exception):
    """An answer that is not taken: the question stays as it was."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code


def _denied_text(reason: str | None) -> str:
    text = "The user denied this call; it was not run."
    return f"{text} Their reason: {reason}" if reason else text


class Question:
    """One question of a run: its ``ask`` payload, its answer rules and its wait."""

    def __init__(
        self,
        kind: AskKind,
        text: str | None,
        *,
        choices: Sequence[str] | None = None,
        form: Form | None = None,
        placeholder: str | None = None,
        tool_call: Mapping[str, Any] | None = None,
        editable: bool = False,
        timeout: float | None = None,
    ) -> None:
        self.id = "ask_" + secrets.token_urlsafe(12)
        self.kind: AskKind = kind
        self.text = text
        self.status: AskStatus = "pending"
        #: The message that asks it, once sent.
        self.message_id: str | None = None
        #: What the handler gets: text, a form's values, or an Approval.
        self.value: Any = None
        self._choices = list(choices) if choices is not None else None
        self._form = form
        self._placeholder = placeholder
        self._call = dict(tool_call) if tool_call is not None else None
        self._editable = editable
        self.deadline = time.monotonic() + timeout if timeout is not None else None
        self._expires_at = time.time() + timeout if timeout is not None else None
        self._answer_json: Any = None
        self._cond = threading.Condition()
        self._delivered = False
        self._interrupted = False
        self._wakers: list[Callable[[], object]] = []

    # -- what the browser is sent ---------------------------------------------------

    def ask_payload(self) -> dict[str, Any]:
        """The ``ask`` key as it is now (a restatement replaces the whole key)."""
        ask: dict[str, Any] = {"id": self.id, "kind": self.kind, "status": self.status}
        if self._choices is not None:
            ask["choices"] = self._choices
        if self._form is not None:
            ask["fields"] = [
                f.model_dump(mode="json", exclude_none=True) for f in self._form.fields
            ]
        if self._placeholder:
            ask["placeholder"] = self._placeholder
        if self._call is not None:
            function = self._call["function"]
            ask["tool_call_id"] = self._call["id"]
            ask["name"] = function["name"]
            ask["arguments"] = function.get("arguments") or "{}"
            ask["editable"] = self._editable
        if self._expires_at is not None:
            ask["expires_at"] = round(self._expires_at, 3)
        if self.status == "answered":
            ask["answer"] = self._answer_json
        return ask

    def message(self) -> dict[str, Any]:
        """The question's message: the question as content, and its ``ask``."""
        message: dict[str, Any] = {"role": "assistant", "ask": self.ask_payload()}
        if self.text is not None:
            message["content"] = self.text
        return message

    # -- the answer -----------------------------------------------------------------

    def check(self, value: Any) -> tuple[Any, Any, dict[str, Any] | None]:
        """The handler's value, the answer as kept, and the message it adds (if any).

        :raises AnswerRefused: for a value this question does not take.
        """
        if self.kind == "text":
            if not isinstance(value, str) or not value.strip():
                raise AnswerRefused("invalid_payload", "answer: type some text to answer")
            if len(value) > MAX_ANSWER_CHARS:
                raise AnswerRefused(
                    "invalid_payload", f"answer: at most {MAX_ANSWER_CHARS} characters"
                )
            text = value.strip()
            return text, text, {"role": "user", "content": text}
        if self.kind == "choices":
            if value not in (self._choices or []):
                shown = ", ".join(repr(c) for c in self._choices or [])
                raise AnswerRefused("invalid_payload", f"answer: pick one of {shown}")
            return value, value, {"role": "user", "content": value}
        if self.kind == "form":
            assert self._form is not None
            try:
                result, plain = self._form.validate(value)
            except FormError as exc:
                raise AnswerRefused("invalid_payload", f"answer: {exc}") from None
            return result, plain, {"role": "user", "content": self._form.as_text(plain)}
        return self._check_approval(value)

    def _check_approval(self, value: Any) -> tuple[Any, Any, dict[str, Any] | None]:
        assert self._call is not None
        try:
            approval = Approval.model_validate(value)
        except ValidationError as exc:
            raise AnswerRefused(
                "invalid_payload", f"answer: {describe_error(exc, value)}"
            ) from None
        try:
            edited = json.loads(approval.arguments)
        except ValueError as exc:
            raise AnswerRefused(
                "invalid_payload", f"answer.arguments: not valid JSON ({exc})"
            ) from None
        proposed_text = self._call["function"].get("arguments") or "{}"
        try:
            proposed = json.loads(proposed_text)
        except ValueError:
            proposed = None
        if edited != proposed and not self._editable:
            raise AnswerRefused(
                "invalid_payload", "answer.arguments: this call's arguments may not be edited"
            )
        if edited == proposed:
            approval = approval.model_copy(update={"arguments": proposed_text})
        if approval.reason is not None and len(approval.reason) > 2000:
            raise AnswerRefused("invalid_payload", "answer.reason: at most 2000 characters")
        added = None
        if not approval.approved:
            added = {
                "role": "tool",
                "tool_call_id": self._call["id"],
                "content": _denied_text(approval.reason),
            }
        decision = Decision(**approval.model_dump(), tool_call_id=self._call["id"], result=added)
        return decision, approval.model_dump(mode="json", exclude_none=True), added

    def settle(self, status: AskStatus, value: Any = None, answer: Any = None) -> bool:
        """Leave *pending* for ``status``; whether this call did (the first one counts)."""
        with self._cond:
            if self.status != "pending":
                return False
            self.status = status
            self.value = value
            self._answer_json = answer
            return True

    # -- the wait -------------------------------------------------------------------

    def _wake(self) -> None:
        self._cond.notify_all()
        for waker in self._wakers:
            waker()

    def delivered(self) -> None:
        """The answer and what it adds are queued: the handler may go on."""
        with self._cond:
            self._delivered = True
            self._wake()

    def interrupt(self) -> None:
        """The run was told to stop: end the wait."""
        with self._cond:
            self._interrupted = True
            self._wake()

    def _state(self) -> Woken | None:
        if self._delivered:
            return "answered"
        return "interrupted" if self._interrupted else None

    def wait(self, *, past_deadline: bool = False) -> Woken:
        """Block until answered, interrupted or past the deadline (unless ``past_deadline``)."""
        deadline = None if past_deadline else self.deadline
        with self._cond:
            while (state := self._state()) is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return "timeout"
                self._cond.wait(remaining)
            return state

    async def wait_async(self) -> Woken:
        """:meth:`wait` for a coroutine: the event loop goes on meanwhile."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        with self._cond:
            self._wakers.append(lambda: loop.call_soon_threadsafe(woken.set))
            state = self._state()
        if state is not None:
            return state
        remaining = None if self.deadline is None else self.deadline - time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), remaining)
        with self._cond:
            return self._state() or "timeout"


def model_input(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation as a model takes it: gptchat's own parts taken out.

    Questions stay as the assistant messages they are (the model sees what was
    asked, and the answer after it), without their ``ask``; approval requests
    are dropped, and a call whose arguments the user edited carries the edited
    ones. ``actions`` go too. Messages without such parts are passed as they are.
    """
    if not any(key in m for m in messages for key in UI_MESSAGE_KEYS):
        return messages
    edited: dict[str, str] = {}
    kept: list[dict[str, Any]] = []
    for message in messages:
        ask = message.get("ask")
        if isinstance(ask, dict) and ask.get("kind") == "approve":
            answer = ask.get("answer")
            call_id = ask.get("tool_call_id")
            if isinstance(answer, dict) and isinstance(call_id, str):
                arguments = answer.get("arguments")
                if isinstance(arguments, str) and arguments != ask.get("arguments"):
                    edited[call_id] = arguments
            continue
        kept.append(message)
    out = []
    for message in kept:
        plain = {k: v for k, v in message.items() if k not in UI_MESSAGE_KEYS}
        calls = plain.get("tool_calls")
        if edited and isinstance(calls, list):
            plain["tool_calls"] = [_with_arguments(call, edited) for call in calls]
        out.append(plain)
    return out


def _with_arguments(call: Any, edited: Mapping[str, str]) -> Any:
    if not isinstance(call, dict) or call.get("id") not in edited:
        return call
    function = call.get("function")
    if not isinstance(function, dict):
        return call
    return {**call, "function": {**function, "arguments": edited[call["id"]]}}
