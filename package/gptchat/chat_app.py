"""``ChatApp``: the public object a developer decorates and runs."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import threading
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import replace
from typing import Any, Literal, TypeVar, overload

from flask import Flask
from pydantic import BaseModel, ValidationError

from . import _serving
from ._asks import Question
from ._auth import LOCAL_USER, Auth, Guard
from ._coerce import to_plain
from ._export import FORMATS, render
from ._forms import Form
from ._handler_styles import HANDLER_FORMATS, HandlerFormat, run_handler
from ._openai_streams import is_async_iterable, relay_stream, stream_awaitable, update_responses
from ._responses import kind_of
from ._settings import Settings, StoreOption
from ._store import open_store
from .config import Config, update_config
from .context import RunContext, session_id_for
from .errors import MessageQueueError, NoActiveRunError
from .interaction import Action, ActionCall, Feedback
from .protocol import describe_error
from .runs import Run
from .server import Server
from .store import Store, StoreError

log = logging.getLogger("gptchat")

Messages = list[dict[str, Any]]
#: The handler: called with the whole conversation as OpenAI message dicts.
SendMessageHandler = Callable[[Messages], Any]
H = TypeVar("H", bound=SendMessageHandler)
#: A ``@handle_feedback`` function: called with each rating a user gives.
FeedbackHandler = Callable[[Feedback], Any]
F = TypeVar("F", bound=FeedbackHandler)
#: A ``@handle_action(name)`` function: answers a click as a send handler answers a message.
ActionHandler = Callable[[ActionCall], Any]
A = TypeVar("A", bound=ActionHandler)

#: The environment variable that sets ``ChatApp(message_queue=...)`` when it is not given.
MESSAGE_QUEUE_ENV = "GPTCHAT_MESSAGE_QUEUE"

_current_run: ContextVar[Run | None] = ContextVar("gptchat_current_run", default=None)


class ChatApp:
    """A chat web app: one handler, a configuration, and a server.

    Creating one does nothing else: the Flask app and its Socket.IO endpoint are
    built on first use (:attr:`flask_app` or :meth:`run_app`), so tests can make a
    fresh ``ChatApp()`` each. Most programs use the ready-made ``gptchat.app``.

    :param reconnect_grace: seconds a run keeps going while its tab is away,
        waiting for a reload or reconnect to resume it.
    :param coalesce_interval: seconds the server gathers deltas for one event
        once a first one has been sent; keeps fast handlers from flooding the socket.
    :param handler_timeout: seconds a handler may go without sending anything
        before its reply ends as an error (the text so far is kept, marked
        incomplete, and the handler's next ``update_message`` raises
        :class:`~gptchat.StopGeneration`); ``None`` for no limit. Default 300.
    :param auth: a password (the browser shows a sign-in form) or a callable
        ``auth(request) -> bool`` given each Flask request and Socket.IO handshake;
        applies on loopback too. Without it, a server exposed beyond loopback
        requires the token printed in its launch URL.
    :param allowed_hosts: extra Host names the server answers to, e.g. a name you
        gave 127.0.0.1 in ``/etc/hosts``; when exposed, giving any restricts the
        Host header to these.
    :param allowed_origins: extra web origins whose pages may open the socket,
        exact ``scheme://host[:port]`` strings (no ``*``, no ``null``); the app's
        own origin is always allowed.
    :param max_message_bytes: largest conversation a browser may send at once,
        in bytes of JSON (images included). Default 8 MiB.
    :param max_messages: most messages in one conversation. Default 1000.
    :param max_events_per_second: events one connection may send per second,
        with bursts of twice as many. Default 20.
    :param max_generations: replies one connection may have running at once.
        Default 3.
    :param max_connections: Socket.IO connections open at once. Default 200.
    :param max_depth: deepest nesting of lists and objects in an event. Default 32.
    :param send_timeout: seconds a browser may stop reading while a reply waits
        for it before it is disconnected (its reply stays resumable for
        ``reconnect_grace``). Default 10.
    :param store: where conversations are kept. Not given: the database URL in
        ``$GPTCHAT_STORE`` if set (``none`` for no store), else a SQLite file in
        the user's data folder (``~/.local/share/gptchat/history.db`` on Linux).
        A URL (``"sqlite:///path/chat.db"``, ``"postgresql+psycopg://user@host/db"``)
        or a :class:`gptchat.store.Store`; ``None``: the browser keeps them
        (localStorage), as before. Opened when the server is built, not here.
    :param message_queue: the Redis URL (``"redis://127.0.0.1:6379/0"``) that lets
        several processes serve this app as one, behind one URL; not given:
        ``$GPTCHAT_MESSAGE_QUEUE`` if set, else none (one process, no Redis). Needs
        ``pip install gptchat[redis]``; checked when the server is built
        (:class:`~gptchat.errors.MessageQueueError`). A reply runs in the process
        that got the message; its events go through Redis to tabs of any process,
        which resume it after a reconnect. ``max_connections`` then counts the
        tabs of the whole deployment; the other limits are per connection (a
        connection lives in one process) and the login throttle is per process.
        See :meth:`shutdown` for a rolling restart.

    Example::

        from gptchat import ChatApp

        chat = ChatApp()

        @chat.handle_send_message
        def echo(messages):
            chat.update_message({"role": "assistant", "content": messages[-1]["content"]})
    """

    def __init__(
        self,
        *,
        reconnect_grace: float = Settings.reconnect_grace,
        coalesce_interval: float = Settings.coalesce_interval,
        handler_timeout: float | None = Settings.handler_timeout,
        auth: Auth = Settings.auth,
        allowed_hosts: Iterable[str] = Settings.allowed_hosts,
        allowed_origins: Iterable[str] = Settings.allowed_origins,
        max_message_bytes: int = Settings.max_message_bytes,
        max_messages: int = Settings.max_messages,
        max_events_per_second: float = Settings.max_events_per_second,
        max_generations: int = Settings.max_generations,
        max_connections: int = Settings.max_connections,
        max_depth: int = Settings.max_depth,
        send_timeout: float = Settings.send_timeout,
        store: StoreOption = Settings.store,
        message_queue: str | None = Settings.message_queue,
    ) -> None:
        if store is not None and not isinstance(store, (str, Store)):
            raise TypeError(
                f"store must be a database URL, a gptchat.store.Store or None, not {store!r:.80}"
            )
        # The defaults above are read from Settings, where each is written once.
        self._settings = Settings(
            reconnect_grace=reconnect_grace,
            coalesce_interval=coalesce_interval,
            handler_timeout=handler_timeout,
            auth=auth,
            allowed_hosts=allowed_hosts,
            allowed_origins=allowed_origins,
            max_message_bytes=max_message_bytes,
            max_messages=max_messages,
            max_events_per_second=max_events_per_second,
            max_generations=max_generations,
            max_connections=max_connections,
            max_depth=max_depth,
            send_timeout=send_timeout,
            store=store,
            message_queue=message_queue or os.environ.get(MESSAGE_QUEUE_ENV) or None,
        )
        self._guard = Guard.from_settings(self._settings)
        self._config = Config()
        self._handler: SendMessageHandler | None = None
        self._handler_format: HandlerFormat = "chat"
        self._feedback_handler: FeedbackHandler | None = None
        self._action_handlers: dict[str, tuple[ActionHandler, HandlerFormat]] = {}
        self._server: Server | None = None
        self._server_lock = threading.Lock()

    # -- the handler -------------------------------------------------------------

    @overload
    def handle_send_message(self, handler: H, /, *, format: HandlerFormat = "chat") -> H: ...
    @overload
    def handle_send_message(
        self, handler: None = None, /, *, format: HandlerFormat = "chat"
    ) -> Callable[[H], H]: ...
    def handle_send_message(
        self,
        handler: H | None = None,
        /,
        *,
        format: HandlerFormat = "chat",  # noqa: A002
    ) -> H | Callable[[H], H]:
        """Register the function that answers each message the user sends.

        The handler gets the whole conversation and answers in any of these styles:

        * call :meth:`update_message` (or :meth:`stream`) as it goes;
        * return a message, a list of messages, a string, or None;
        * ``yield`` text, deltas, ``ChatCompletionChunk`` objects, Responses API
          events or messages: one model stream becomes one message (a
          ``finish_reason`` ends it; a message with a ``role`` starts a new one;
          ``(id, delta)`` pairs choose the id);
        * be ``async def`` (or an async generator), e.g. with ``openai.AsyncOpenAI``.

        ``format`` says how it gets the conversation:

        * ``"chat"`` (the default, and ``@app.handle_send_message`` without
          parentheses): a list of OpenAI-format message dicts, what
          ``client.chat.completions.create(messages=...)`` accepts; earlier
          replies' ``reasoning_content``/``reasoning``, usage and display extras
          are left out, as providers refuse them as input.
        * ``"responses"``: a list of Responses API input items, what
          ``client.responses.create(input=...)`` accepts unchanged
          (:func:`gptchat.utils.chat_to_responses_input`): messages with
          ``input_text``/``input_image``/``input_file`` parts, ``function_call``
          and ``function_call_output`` items, and the reasoning items (with their
          ``encrypted_content``) and built-in tool calls of earlier replies, where
          the API needs them back, so a stateless agent (``store=False``,
          ``include=["reasoning.encrypted_content"]``) keeps its reasoning across
          turns. Audio parts are left out (logged): the Responses API takes none.

        Sync handlers run in a thread of their own; async ones on one event loop
        shared by all runs, in its own thread. The function is returned unchanged.

        :param format: ``"chat"`` or ``"responses"``.
        :raises TypeError: if ``handler`` cannot be called with one argument.
        :raises ValueError: for any other ``format``.

        Example::

            @app.handle_send_message
            def on_message(messages):
                yield from client.chat.completions.create(
                    model="gpt-4o-mini", messages=messages, stream=True)

            @app.handle_send_message(format="responses")
            def on_message(items):
                app.stream(client.responses.create(
                    model="gpt-5-mini", input=items, stream=True))
        """
        checked = _checked_format(format, "handle_send_message")

        def register(function: H) -> H:
            _check_handler(function, "handle_send_message", "the list of messages")
            self._handler = function
            self._handler_format = checked
            return function

        if handler is None:
            return register
        return register(handler)

    def update_message(
        self,
        message: Any,
        id: str | None = None,  # noqa: A002
        *,
        actions: Sequence[Action | Mapping[str, Any]] | None = None,
    ) -> str:
        """Send a message, or a piece of one, to the browser tab being answered.

        ``message`` is a dict in OpenAI format or an openai SDK object: a complete
        message (``ChatCompletionMessage``, a ``{"role": "tool", ...}`` result, ...)
        or a stream delta (``ChoiceDelta``). Updates with the same ``id`` merge into
        one message: text concatenates and tool calls merge by index. Without an
        ``id`` the update must be a complete message (it has a ``role``) and gets
        a fresh id.

        From the Responses API it takes a whole ``Response``, its output items
        (``ResponseOutputMessage``, ``ResponseFunctionToolCall``, reasoning and
        built-in tool call items), ``function_call_output`` items and stream
        events, one by one: they become the messages ``app.stream()`` would
        show (a response may fill several); the last one's id is returned.

        :param message: the message or delta.
        :param id: the message to merge into; see :meth:`new_id`.
        :param actions: buttons to show under the message (:class:`gptchat.Action`,
            or dicts of its fields), replacing any it had; a click runs the
            :meth:`handle_action` function of the action's name.
        :returns: the message's id.
        :raises NoActiveRunError: if called outside a handler run.
        :raises StopGeneration: if the user pressed stop; let it propagate.
        :raises ValueError: for a delta without an id.
        :raises TypeError: if ``message`` is not a message.

        Example::

            id = app.new_id()
            for chunk in stream:
                if chunk.choices:
                    app.update_message(chunk.choices[0].delta, id=id)
        """
        run = _current_run.get()
        if run is None:
            raise NoActiveRunError(
                "update_message() was called outside a handler run: call it from the "
                "function decorated with @app.handle_send_message, in the same thread"
            )
        delta = to_plain(message)
        if not isinstance(delta, dict):
            raise TypeError(f"update_message() takes one message, not {type(message).__name__}")
        if kind_of(delta) is not None:
            id = update_responses(run, delta, id)  # noqa: A001
            if actions is not None:
                run.update(id, {"actions": _actions_payload(actions)})
            return id
        if actions is not None:
            delta = {**delta, "actions": _actions_payload(actions)}
        if id is None:
            if "role" not in delta:
                raise ValueError(
                    "update_message() got a delta with no role and no id: pass the id of the "
                    "message it belongs to, e.g. id = app.new_id(); "
                    "app.update_message(delta, id=id)"
                )
            id = self.new_id()  # noqa: A001
        elif not isinstance(id, str) or not id:
            raise TypeError("update_message(): id must be a non-empty string from app.new_id()")
        run.update(id, delta)
        return id

    @staticmethod
    def new_id() -> str:
        """Return a fresh, unique message id.

        Example::

            id = app.new_id()
            app.update_message({"role": "assistant", "content": "Hi"}, id=id)
        """
        return uuid.uuid4().hex

    def stop_requested(self) -> bool:
        """Whether the user asked the current reply to stop (or left for good).

        The next :meth:`update_message` raises :class:`~gptchat.StopGeneration`
        then; a handler doing long work between updates can poll this instead.

        :raises NoActiveRunError: if called outside a handler run.

        Example::

            for step in long_job():
                if app.stop_requested():
                    break
        """
        run = _current_run.get()
        if run is None:
            raise NoActiveRunError("stop_requested() was called outside a handler run")
        return run.stop_requested()

    def ask(
        self,
        question: str,
        *,
        choices: Sequence[str] | None = None,
        form: type[BaseModel] | Mapping[str, Any] | None = None,
        placeholder: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Ask the user something in the chat and wait for the answer.

        The question shows as a message of the reply (markdown), with a text box,
        one button per ``choices``, or the fields of ``form`` (a pydantic model, or
        a JSON schema of string, number, integer, boolean and enum fields). The
        question and the answer become part of the conversation the model sees
        (an assistant message, then a user message). A reload shows the question
        again; another tab of the user may answer it, and the first answer counts.

        In an async handler it returns an awaitable: ``city = await app.ask(...)``.

        :param question: the question, in markdown.
        :param choices: the answers to pick from; the answer is one of them.
        :param form: the form to fill in.
        :param placeholder: the text box's hint, for a free-text question.
        :param timeout: seconds to wait; None waits as long as the reply may run.
        :returns: the text (or choice) the user gave; for a ``form``, an instance of
            the model, or a dict of the values for a JSON schema.
        :raises StopGeneration: the user pressed stop while it waited.
        :raises AskTimeout: nobody answered within ``timeout``.
        :raises NoActiveRunError: if called outside a handler run.
        :raises ValueError: for an empty question, empty or repeated choices, both
            ``choices`` and ``form``, or a form with fields of unsupported types.

        Example::

            @app.handle_send_message
            def on_message(messages):
                city = app.ask("Which city?", choices=["Paris", "Rome", "Oslo"])
                return f"Booking a trip to {city}."
        """
        run = self._active_run("ask")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("ask() needs a question: a non-empty string")
        if choices is not None and form is not None:
            raise ValueError("ask() takes choices= or form=, not both")
        if choices is not None:
            choices = list(choices)
            if not choices or not all(isinstance(c, str) and c.strip() for c in choices):
                raise ValueError("choices= needs at least one non-empty string")
            if len(set(choices)) != len(choices):
                raise ValueError("choices= has the same choice twice")
        kind: Literal["text", "choices", "form"] = (
            "form" if form is not None else "choices" if choices is not None else "text"
        )
        pending = Question(
            kind,
            question,
            choices=choices,
            form=Form(form) if form is not None else None,
            placeholder=placeholder,
            timeout=_checked_timeout(timeout),
        )
        return self._wait_for(run, pending)

    def confirm(
        self,
        tool_call: Any,
        *,
        prompt: str | None = None,
        editable: bool = True,
        timeout: float | None = None,
    ) -> Any:
        """Ask the user to approve a tool call before the handler runs it.

        The call's block in the chat shows Approve and Deny, and its arguments,
        which the user may edit when ``editable``. Denied, gptchat adds the
        call's result (it was not run, with the user's reason) so the model
        hears of it; approved, the handler runs the tool with
        :attr:`Approval.args` and sends its result as usual, and the model sees
        the arguments as the user left them. In an async handler it returns an
        awaitable: ``decision = await app.confirm(call)``.

        :param tool_call: one of ``message.tool_calls`` (an SDK object or dict),
            sent earlier in this reply.
        :param prompt: a line to show with the buttons, in markdown.
        :param editable: whether the user may change the arguments.
        :param timeout: seconds to wait; None waits as long as the reply may run.
        :returns: an :class:`gptchat.Approval`: ``approved``, ``arguments`` (JSON
            text), ``args`` (parsed) and the user's ``reason``, if any.
        :raises StopGeneration: the user pressed stop while it waited.
        :raises AskTimeout: nobody answered within ``timeout``.
        :raises NoActiveRunError: if called outside a handler run.
        :raises TypeError: if ``tool_call`` is not a tool call.

        Example::

            for call in msg.tool_calls:
                decision = app.confirm(call)
                result = send_email(**decision.args) if decision.approved else None
                if decision.approved:
                    app.update_message({"role": "tool", "tool_call_id": call.id,
                                        "content": result})
        """
        run = self._active_run("confirm")
        call = to_plain(tool_call, "tool_call")
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(call, dict)
            or not isinstance(call.get("id"), str)
            or not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
        ):
            raise TypeError(
                "confirm() takes a tool call: one of message.tool_calls, with an id and a "
                "function name"
            )
        pending = Question(
            "approve",
            prompt,
            tool_call=call,
            editable=bool(editable),
            timeout=_checked_timeout(timeout),
        )
        return self._wait_for(run, pending)

    @staticmethod
    def _wait_for(run: Run, question: Question) -> Any:
        run.ask(question)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run.wait_answer(question)
        return run.wait_answer_async(question)

    def handle_feedback(self, handler: F) -> F:
        """Register the function that hears each thumbs up or down a user gives.

        It gets a :class:`gptchat.Feedback` (conversation, message, rating,
        comment, user), in a thread of its own, after the feedback is kept (with
        a store, feedback is kept with its message and shown again after a
        reload; thumbs show whenever a store or this function is there). A
        second click on the same thumb takes the rating back (``rating`` None).
        The function is returned unchanged.

        Example::

            @app.handle_feedback
            def on_feedback(feedback):
                print(feedback.rating, feedback.comment)
        """
        if not callable(handler):
            raise TypeError("handle_feedback() decorates a function")
        self._feedback_handler = handler
        return handler

    def handle_action(
        self,
        name: str,
        *,
        format: HandlerFormat = "chat",  # noqa: A002
    ) -> Callable[[A], A]:
        """Register the function that runs when a message's action ``name`` is clicked.

        The function gets an :class:`gptchat.ActionCall` and answers it as a send
        handler answers a message (``update_message``, return, yield, async): as
        a reply of its own, after the conversation's last message. Its
        ``messages`` are in ``format``, as for :meth:`handle_send_message`
        (``"responses"``: Responses API input items); ``message``, the one
        clicked, stays a chat message (it carries the action's ``actions``).

        :raises ValueError: for a name that is not 1 to 64 letters, digits or
            ``_.:-``, or a ``format`` other than ``"chat"`` and ``"responses"``.

        Example::

            @app.handle_send_message
            def on_message(messages):
                app.update_message({"role": "assistant", "content": "Done."},
                                   actions=[Action(name="more", label="Tell me more")])

            @app.handle_action("more")
            def more(call):
                return "Here is more..."
        """
        try:
            Action(name=name, label="x")
        except ValidationError:
            raise ValueError(
                f"an action name is 1 to 64 letters, digits or _.:- characters, not {name!r:.40}"
            ) from None
        checked = _checked_format(format, "handle_action")

        def register(handler: A) -> A:
            if not callable(handler):
                raise TypeError("handle_action() decorates a function")
            self._action_handlers[name] = (handler, checked)
            return handler

        return register

    @overload
    def stream(self, stream: AsyncIterable[Any], id: str | None = None) -> Awaitable[Any]: ...
    @overload
    def stream(self, stream: Iterable[Any], id: str | None = None) -> Any: ...
    def stream(self, stream: Any, id: str | None = None) -> Any:  # noqa: A002
        """Relay an OpenAI stream to the browser as one message; return it folded.

        ``stream`` is what ``client.chat.completions.create(..., stream=True)``
        returns (or any iterable of ``ChatCompletionChunk`` objects, their
        choices, or deltas). Deltas of choice 0 are sent as they arrive;
        provider extras such as ``reasoning_content`` pass through, and usage
        chunks are skipped.

        A Responses API stream (``client.responses.create(..., stream=True)``,
        or its events as dicts) is shown as Chat Completions messages would be
        (reasoning summaries as the Thinking block, function calls as tool
        calls, ...), and ``app.stream()`` returns the complete ``Response`` of
        its ``response.completed`` event; a ``response.failed`` or ``error``
        event raises :class:`~gptchat.errors.ResponseFailed`.

        When the user presses stop, the stream is closed (the provider stops
        generating) and :class:`~gptchat.StopGeneration` unwinds the handler.

        An async stream (``openai.AsyncOpenAI``) gives an awaitable:
        ``msg = await app.stream(stream)``.

        :param stream: the stream to relay.
        :param id: the message to merge into; a fresh one by default.
        :returns: the complete message: a ``ChatCompletionMessage`` for openai
            objects (``msg.content``, ``msg.tool_calls``), else a dict.
        :raises TypeError: if ``stream`` is not a stream (e.g. ``stream=True`` was
            forgotten).
        :raises NoActiveRunError: if called outside a handler run.

        Example::

            @app.handle_send_message
            def on_message(messages):
                msg = app.stream(client.chat.completions.create(
                    model="gpt-4o-mini", messages=messages, stream=True))
                print("the model said", msg.content)
        """
        run = self._active_run("stream")
        message_id = id or self.new_id()
        if is_async_iterable(stream):
            return stream_awaitable(run, message_id, stream)
        return relay_stream(run, message_id, stream)

    def context(self) -> RunContext:
        """The conversation and user that the current handler run answers.

        :raises NoActiveRunError: if called outside a handler run.

        Example::

            history: dict[str, int] = {}

            @app.handle_send_message
            def on_message(messages):
                ctx = app.context()
                history[ctx.conversation_id] = history.get(ctx.conversation_id, 0) + 1
                return {"role": "assistant",
                        "content": f"Message {history[ctx.conversation_id]} of this chat"}
        """
        run = self._active_run("context")
        return RunContext(
            run.conversation_id, session_id_for(run.client_key), run.run_id, run.user_id
        )

    def set_title(self, title: str) -> None:
        """Give the conversation being answered a title, in every tab of its user.

        With a store the title is kept (and an automatic one no longer replaces
        it); without one the browser keeps it.

        :raises NoActiveRunError: if called outside a handler run.
        :raises ValueError: for a title with no text or over 200 characters.

        Example::

            @app.handle_send_message
            def on_message(messages):
                if len(messages) == 1:
                    app.set_title("Trip to " + messages[0]["content"][:40])
                return "Where to?"
        """
        run = self._active_run("set_title")
        if not isinstance(title, str):
            raise TypeError(f"set_title() takes a str, not {type(title).__name__}")
        folded = " ".join(title.split())
        if not folded or len(folded) > 200:
            raise ValueError(f"a title needs 1 to 200 characters, not {len(folded)}")
        self.server.set_title(run, folded)

    @staticmethod
    def _active_run(name: str) -> Run:
        run = _current_run.get()
        if run is None:
            raise NoActiveRunError(
                f"{name}() was called outside a handler run: call it from the function "
                "decorated with @app.handle_send_message (in its thread, or pass "
                "contextvars.copy_context() to threads you start)"
            )
        return run

    # -- configuration -----------------------------------------------------------

    def set_config(self, config: Mapping[str, Any]) -> None:
        """Configure the chat window; keys not given keep their value.

        Keys: ``title``, ``agent_name``, ``placeholder``, ``logo`` and ``favicon``
        (a file path or a URL), ``starter_prompts`` (list of str), ``allow_upload``
        (bool), ``messages`` (the messages a new chat starts with), ``functions``
        (``{name: header_markdown}`` or ``{name: {"header": ..., "hide_header": ...,
        "arguments_title": ..., "result_title": ..., "result_type": ...}}``).

        :raises ConfigError: naming the unknown key or the bad value.

        Example::

            app.set_config({
                "title": "Weather bot",
                "messages": [{"role": "assistant", "content": "Ask me about the weather."}],
                "functions": {"get_weather": "Fetching **weather**..."},
            })
        """
        self._config = update_config(self._config, config)

    @property
    def config(self) -> Config:
        """The current configuration (read-only; change it with :meth:`set_config`)."""
        return self._config

    # -- serving -------------------------------------------------------------------

    @property
    def server(self) -> Server:
        """The web server, built on first use."""
        with self._server_lock:
            if self._server is None:
                self._server = Server(
                    lambda: self._config,
                    self._execute,
                    guard=self._guard,
                    settings=self._settings,
                    store=open_store(self._settings.store),
                    hooks=_Hooks(self),
                )
            return self._server

    @property
    def store(self) -> Store | None:
        """The history store (see ``store=``), None when the browser keeps the history.

        Opens it (and builds the server) on first use.

        :raises StoreError: the database cannot be opened.
        """
        return self.server.store

    def export(
        self,
        conversation_id: str,
        format: Literal["json", "markdown"] = "json",  # noqa: A002
        *,
        user_id: str = LOCAL_USER,
        leaf_id: str | None = None,
    ) -> str | None:
        """A kept conversation as OpenAI-format JSON (what ``messages=`` takes) or Markdown.

        The branch ending at ``leaf_id`` (by default the newest), as the sidebar's
        Export gives it. None if ``user_id`` has no such conversation, or there is no
        store (the browser keeps the history).

        Example::

            text = app.export("5f1c...", "markdown", user_id="alice")
            messages = json.loads(app.export("5f1c..."))  # feed it back to OpenAI
        """
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r:.40}")
        store = self.store
        if store is None:
            return None
        messages = store.export(user_id, conversation_id, leaf_id)
        summary = store.summary(user_id, conversation_id)
        if messages is None or summary is None:
            return None
        return render(format, summary.title, messages)

    @property
    def flask_app(self) -> Flask:
        """The Flask application (WSGI), e.g. to serve it with a server of your choice."""
        return self.server.flask

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """The app as a WSGI application, so a WSGI server can serve it by name.

        Delegates to :attr:`flask_app` (built on the first request). Serve it with
        gunicorn's threaded worker and gptchat's settings (one process per
        worker; see the README, "Production")::

            gunicorn -c python:gptchat.gunicorn_conf -b 127.0.0.1:8000 'myapp:app'
        """
        return self.flask_app(environ, start_response)

    def init_app(self, flask_app: Flask, url_prefix: str = "/chat") -> None:
        """Mount this chat into an existing Flask app, at ``url_prefix``.

        Then serve ``flask_app`` as usual; see :func:`gptchat.embed.mount`.

        :raises ValueError: for a bad prefix, or if ``flask_app`` already holds a chat.

        Example::

            site = Flask(__name__)
            app.init_app(site, url_prefix="/chat")   # the chat is at /chat/
            site.run(port=5000)
        """
        from .embed import mount

        mount(self, flask_app, url_prefix)

    def run_app(
        self,
        host: str = Settings.host,
        port: int = Settings.port,
        debug: bool = False,
        open_browser: bool = False,
        *,
        auth: Auth = None,
        **kwargs: Any,
    ) -> None:
        """Serve the chat app until Ctrl-C or SIGTERM.

        Binds to 127.0.0.1 unless told otherwise; the Werkzeug debugger console is
        never enabled, ``debug=True`` only turns on debug logging. Bound to any
        other address the app is exposed: it then requires a token, printed in
        the launch URL, unless ``auth`` (here or in :class:`ChatApp`) is given.
        On Ctrl-C or SIGTERM, running replies are stopped and finish sending.

        :param host: interface to bind; another than loopback exposes the app.
        :param port: TCP port.
        :param debug: log gptchat's own lines at DEBUG level (the host's logging
            is left as it is).
        :param open_browser: open the app in the default web browser once it serves.
        :param auth: a password or a callable ``auth(request) -> bool``; see
            :class:`ChatApp`.
        :param kwargs: passed to ``werkzeug.serving.make_server``.

        Example::

            app.run_app(port=5002)
        """
        if auth is not None:
            self._guard.set_auth(auth)
            self._settings = replace(self._settings, auth=auth)
        options = {"host": host, "port": port, "debug": debug, **kwargs}
        if _serving.defer_run_app(self, options):
            return  # `gptchat run app.py` is importing this file: it serves the app itself
        if self._handler is None:
            log.warning("no handler registered: decorate one with @app.handle_send_message")
        try:
            server = self.server
        except (StoreError, MessageQueueError) as exc:
            # One clear line, no traceback: the database (or Redis) is the user's to fix.
            raise SystemExit(f"gptchat: {exc}") from None
        _serving.serve(server, host, port, debug=debug, open_browser=open_browser, **kwargs)

    def shutdown(self, grace: float | None = None) -> None:
        """Let this process's running replies finish (within ``grace`` seconds), then stop.

        For a process of a deployment (``message_queue``) going away: a rolling
        restart, or a gunicorn worker's exit hook. New messages are refused, the
        tabs are disconnected so they reconnect to another process (their replies
        stream on there, from here, through Redis), the handlers get ``grace``
        seconds (default 5, the shutdown timeout) and those still running are
        stopped with their text kept. Without a message queue, the replies are
        stopped at once, as on Ctrl-C. Does nothing if the server was never built.

        Example::

            # gunicorn.conf.py
            def worker_exit(server, worker):
                app.shutdown(grace=20)
        """
        if self._server is not None:
            self._server.shutdown(grace)

    def _close_runs(self, timeout: float | None = None) -> None:
        """Stop in-flight replies and let them send what they have."""
        if self._server is not None:
            self._server.close_runs(timeout)

    # -- running the handler ----------------------------------------------------

    def _execute(self, run: Run, messages: list[dict[str, Any]]) -> None:
        token = _current_run.set(run)
        try:
            run_handler(run, self._handler, self.new_id, messages, self._handler_format)
        finally:
            _current_run.reset(token)

    def _execute_action(self, run: Run, call: ActionCall) -> None:
        # The server asked has_action() first.
        handler, format = self._action_handlers[call.name]  # noqa: A001

        def answer(messages: list[dict[str, Any]]) -> Any:
            return handler(replace(call, messages=messages))

        token = _current_run.set(run)
        try:
            run_handler(run, answer, self.new_id, call.messages, format)
        finally:
            _current_run.reset(token)


class _Hooks:
    """What the server asks of the app beyond the send handler: feedback and actions."""

    def __init__(self, app: ChatApp) -> None:
        self._app = app

    def feedback_wanted(self) -> bool:
        return self._app._feedback_handler is not None

    def on_feedback(self, feedback: Feedback) -> None:
        handler = self._app._feedback_handler
        if handler is None:
            return
        try:
            handler(feedback)
        except Exception:
            log.exception("the feedback handler raised")

    def has_action(self, name: str) -> bool:
        return name in self._app._action_handlers

    def run_action(self, run: Run, call: ActionCall) -> None:
        self._app._execute_action(run, call)


def _checked_format(format: object, where: str) -> HandlerFormat:  # noqa: A002
    for known in HANDLER_FORMATS:
        if format == known:
            return known
    raise ValueError(
        f"{where}(format=...) takes {' or '.join(map(repr, HANDLER_FORMATS))}, not {format!r:.40}"
    )


def _check_handler(handler: object, where: str, argument: str) -> None:
    if not callable(handler):
        raise TypeError(f"{where}() decorates a function")
    try:
        inspect.signature(handler).bind(["messages"])
    except TypeError:
        raise TypeError(
            f"the handler {getattr(handler, '__name__', handler)!r} must take exactly one "
            f"positional argument, {argument}: def handler(messages): ..."
        ) from None
    except ValueError:
        pass  # no signature to inspect (some builtins): trust the caller


def _checked_timeout(timeout: float | None) -> float | None:
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ValueError(f"timeout= must be a number of seconds above 0, not {timeout!r:.40}")
    return timeout


def _actions_payload(actions: Sequence[Action | Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(actions, (str, bytes)) or not isinstance(actions, Sequence):
        raise TypeError("actions= takes a list of gptchat.Action")
    out = []
    for index, item in enumerate(actions):
        data = item.model_dump() if isinstance(item, Action) else item
        try:
            action = Action.model_validate(data)
            json.dumps(action.payload)
        except ValidationError as exc:
            raise ValueError(f"actions.{index}.{describe_error(exc, data)}") from None
        except TypeError as exc:
            raise ValueError(f"actions.{index}.payload: not JSON ({exc})") from None
        out.append(action.model_dump(mode="json", exclude_none=True))
    return out


def has_handler(app: ChatApp) -> bool:
    """Whether ``app`` has a handler registered with :meth:`ChatApp.handle_send_message`.

    For code that serves apps it did not build, as ``gptchat run`` does with the
    apps an app file defines.
    """
    return app._handler is not None
