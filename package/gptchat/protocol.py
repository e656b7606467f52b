"""The Socket.IO wire protocol between the browser and the server.

This module is the single source of truth for event names and payload shapes.
``scripts/gen_protocol.py`` turns it into ``client/src/protocol.gen.ts``, and a
test fails when the two drift apart.

Incoming payloads (client to server) are validated with these models; outgoing
payloads are built as plain dicts of the same shape, for speed.

Flow of one reply::

    client                              server
    send_message {conversation_id, messages}  ->
                                        <-  run_started {conversation_id, run_id}
                                        <-  message_delta {message_id, seq, count, deltas}  (many)
    stop {conversation_id}              ->  (optional)
                                        <-  run_finished {status, error}

``seq`` numbers the deltas of one message from 1, so a client that reconnects
(``resume``) and receives a ``run_snapshot`` can drop events it already has.

Where conversations are kept (``UIConfig.history``) decides what ``send_message``
carries. ``"browser"``: the tab keeps them (localStorage) and sends the whole
branch each time. ``"server"``: the server's store keeps them; the tab sends only
the new user message and the id of the message it follows (``parent_id``), asks
for its list (``list_conversations``, paged) and a conversation's messages
(``open_conversation``), and every tab of the user hears of changes
(``conversation_changed``, ``conversation_deleted``). Messages form a tree:
editing a message or regenerating a reply adds a sibling, never overwrites.

A handler may ask its user something and wait (``app.ask``, ``app.confirm``):
the question is a message of the run whose ``ask`` key (:class:`Ask`) says what
it asks; the tab answers with ``answer``, and the server restates the ``ask``
(answered) and adds the answer as a message of the run (a user message, or the
tool result of a denied call). Being messages, questions come back with a
``run_snapshot`` and are kept as the rest. ``feedback`` rates a message;
``run_action`` clicks one of a message's ``actions`` (a reply of its own).

The tab names :data:`PROTOCOL_VERSION` in its connect ``auth``
(``{"client": key, "protocol": N}``); a tab of another version gets an
``outdated`` error, and reloads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

#: Bumped whenever an event or payload changes in a way an older tab would misread.
PROTOCOL_VERSION: Final = 3

# -- event names ---------------------------------------------------------------


class ClientEvent:
    """Events the browser sends to the server."""

    SEND_MESSAGE: Final = "send_message"
    STOP: Final = "stop"
    RESUME: Final = "resume"
    REGENERATE: Final = "regenerate"
    LIST_CONVERSATIONS: Final = "list_conversations"
    OPEN_CONVERSATION: Final = "open_conversation"
    RENAME_CONVERSATION: Final = "rename_conversation"
    DELETE_CONVERSATION: Final = "delete_conversation"
    IMPORT_CONVERSATION: Final = "import_conversation"
    SHARE_CONVERSATION: Final = "share_conversation"
    ANSWER: Final = "answer"
    FEEDBACK: Final = "feedback"
    RUN_ACTION: Final = "run_action"


class ServerEvent:
    """Events the server sends to the browser."""

    CONFIG: Final = "config"
    RUN_STARTED: Final = "run_started"
    MESSAGE_DELTA: Final = "message_delta"
    RUN_FINISHED: Final = "run_finished"
    RUN_SNAPSHOT: Final = "run_snapshot"
    ERROR: Final = "error"
    CONVERSATION_LIST: Final = "conversation_list"
    CONVERSATION: Final = "conversation"
    CONVERSATION_CHANGED: Final = "conversation_changed"
    CONVERSATION_DELETED: Final = "conversation_deleted"


# -- OpenAI-format messages ------------------------------------------------------

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
RunStatus = Literal["running", "done", "stopped", "error"]
ErrorCode = Literal[
    "invalid_payload", "unknown_event", "busy", "not_found", "limit", "outdated", "store"
]
#: Where conversations are kept: the tab's localStorage, or the server's store.
HistoryMode = Literal["browser", "server"]
#: A kept message's state: ``incomplete`` is a reply cut by a crash (its last checkpoint).
StoredStatus = Literal["done", "incomplete", "stopped", "error"]

#: What a question asks for: free text, one of some choices, a form, or a tool call's approval.
AskKind = Literal["text", "choices", "form", "approve"]
#: A question's state: waiting, answered, or ended unanswered (stop, or its timeout).
AskStatus = Literal["pending", "answered", "cancelled", "expired"]
#: A thumb on an assistant message.
Rating = Literal["up", "down"]
#: A form field's input: ``select`` picks one of ``options``.
FieldType = Literal["text", "number", "integer", "select", "checkbox"]

#: gptchat's own keys of a message: the browser shows them, a model never gets them
#: (``ask``: the question the message asks; ``actions``: its buttons).
UI_MESSAGE_KEYS: Final = ("ask", "actions")

ConversationId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
MessageId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
#: A conversation's title as a user may set it.
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _OpenModel(BaseModel):
    # OpenAI adds fields over time and providers add their own (reasoning_content, ...):
    # keep them rather than reject a message the SDK itself would accept.
    model_config = ConfigDict(extra="allow")


class FunctionCall(_OpenModel):
    """A function call: a name and its JSON arguments as text."""

    name: str
    arguments: str


class ToolCall(_OpenModel):
    """One call of an assistant message's ``tool_calls``."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


#: The image types a ``data:`` URL may carry: those the OpenAI API accepts. Not SVG:
#: an ``<img>`` does not run its scripts, but opened as a document (a new tab, a
#: handler that saves or forwards it) an SVG is a page that can run them.
IMAGE_DATA_TYPES: Final = ("image/png", "image/jpeg", "image/gif", "image/webp")

_BASE64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")
# Browsers drop tabs and newlines inside a URL and spaces around it ("java\tscript:"
# is javascript:), so a URL holding any such character is refused, not cleaned.
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")


def check_image_url(url: str) -> str:
    """``url`` if it is an http(s) URL or a base64 ``data:`` URL of an image type allowed.

    :raises ValueError: saying why not; any other scheme (``javascript:``,
        ``file:``, ``blob:``, ...) is refused.
    """
    if _UNSAFE_URL_CHARS.search(url):
        raise ValueError("an image URL may not contain spaces or control characters")
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in ("http", "https"):
        if not urlsplit(url).hostname:
            raise ValueError(f"{scheme} image URL has no host")
        return url
    if scheme == "data":
        header, comma, data = url[len("data:") :].partition(",")
        media_type, _, encoding = header.partition(";")
        if media_type.lower() not in IMAGE_DATA_TYPES:
            allowed = ", ".join(IMAGE_DATA_TYPES)
            raise ValueError(
                f"data URL of type {media_type[:64]!r} is not allowed (allowed: {allowed})"
            )
        if not comma or encoding.lower() != "base64" or not _BASE64_RE.fullmatch(data):
            raise ValueError(f"data URL is not {media_type.lower()};base64,<base64 data>")
        return url
    shown = f"{scheme[:32]!r}" if scheme else "none"
    raise ValueError(f"image URL scheme {shown} is not allowed (only http, https and data)")


class ImageURL(_Model):
    """The image of an ``image_url`` content part: an http(s) or data URL.

    Checked by :func:`check_image_url`: a ``data:`` URL must be base64 and of a
    type in :data:`IMAGE_DATA_TYPES`; no other scheme is accepted.
    """

    url: str
    detail: Literal["auto", "low", "high"] | None = None

    @field_validator("url")
    @classmethod
    def _safe_url(cls, url: str) -> str:
        return check_image_url(url)


#: The file types a ``file`` part's ``data:`` URL may carry (``text/*``: any text type).
#: Not the types a browser runs as a page once opened on its own (HTML, XML, SVG): the
#: composer sends such source files as ``text/plain``.
FILE_DATA_TYPES: Final = ("application/pdf", "application/json", "text/*")
_DOCUMENT_TYPES = frozenset(
    {"text/html", "text/xml", "text/xsl", "application/xhtml+xml", "image/svg+xml"}
)
#: The formats of an ``input_audio`` part (what the Chat Completions API takes), and the
#: media type each is as a file.
AUDIO_FORMATS: Final = {"wav": "audio/wav", "mp3": "audio/mpeg"}


def media_type_matches(media_type: str, patterns: Iterable[str]) -> bool:
    """Whether ``media_type`` is one of ``patterns`` (``text/*`` takes any text type).

    Example::

        media_type_matches("text/csv", ["application/pdf", "text/*"])  # True
    """
    kind = media_type.lower()
    major = kind.split("/", 1)[0]
    return any(p in (kind, "*/*") or p == f"{major}/*" for p in patterns)


def file_type_allowed(media_type: str) -> bool:
    """Whether a ``file`` part may carry ``media_type`` (see :data:`FILE_DATA_TYPES`)."""
    return media_type.lower() not in _DOCUMENT_TYPES and media_type_matches(
        media_type, FILE_DATA_TYPES
    )


def base64_size(data: str) -> int:
    """How many bytes the base64 text ``data`` decodes to, without decoding it."""
    padding = len(data) - len(data.rstrip("="))
    return len(data) * 3 // 4 - padding


def data_url_type(url: str) -> str | None:
    """The media type of a ``data:`` URL (``data:text/csv;base64,...``: ``text/csv``)."""
    if url[:5].lower() != "data:":
        return None
    return url[5:].split(",", 1)[0].split(";", 1)[0].strip().lower()


def check_file_data(url: str) -> str:
    """``url`` if it is a base64 ``data:`` URL of a file type allowed.

    Parameters such as ``;charset=utf-8`` may come before ``;base64``.

    :raises ValueError: saying why not.

    Example::

        check_file_data("data:application/pdf;base64,JVBERi0xLjQK")
    """
    if _UNSAFE_URL_CHARS.search(url):
        raise ValueError("file data may not contain spaces or control characters")
    if url[:5].lower() != "data:":
        raise ValueError("file data must be a data: URL (data:<type>;base64,<base64 data>)")
    header, comma, data = url[5:].partition(",")
    media_type, *params = header.split(";")
    if not file_type_allowed(media_type):
        allowed = ", ".join(FILE_DATA_TYPES)
        raise ValueError(
            f"file of type {media_type[:64]!r} is not allowed (allowed: {allowed}; "
            "not HTML, XML or SVG)"
        )
    if not comma or not params or params[-1].lower() != "base64" or not _BASE64_RE.fullmatch(data):
        raise ValueError(f"file data is not data:{media_type.lower()};base64,<base64 data>")
    return url


class TextPart(_Model):
    """A text content part."""

    type: Literal["text"]
    text: str


class ImagePart(_Model):
    """An image content part."""

    type: Literal["image_url"]
    image_url: ImageURL


class FileData(_Model):
    """The file of a ``file`` content part: its data (a base64 ``data:`` URL) or an id.

    A browser sends ``filename`` and ``file_data``; a handler's own messages may name
    a file uploaded to the provider by ``file_id``. ``file_data`` is checked by
    :func:`check_file_data`.
    """

    filename: str | None = Field(default=None, max_length=255)
    file_data: str | None = None
    file_id: str | None = None

    @field_validator("file_data")
    @classmethod
    def _data_url(cls, url: str | None) -> str | None:
        return None if url is None else check_file_data(url)

    @model_validator(mode="after")
    def _something(self) -> FileData:
        if self.file_data is None and self.file_id is None:
            raise ValueError("a file needs file_data (a data: URL) or a file_id")
        return self


class FilePart(_Model):
    """A file content part: ``{"type": "file", "file": {"filename", "file_data"}}``."""

    type: Literal["file"]
    file: FileData


class InputAudio(_Model):
    """The audio of an ``input_audio`` part: base64 data (not a data: URL) and its format."""

    data: Annotated[str, StringConstraints(min_length=1)]
    format: Literal["wav", "mp3"]

    @field_validator("data")
    @classmethod
    def _base64(cls, data: str) -> str:
        if not _BASE64_RE.fullmatch(data) or len(data) % 4:
            raise ValueError("audio data must be base64 (not a data: URL)")
        return data


class AudioPart(_Model):
    """An audio content part, in a user message: WAV or MP3, as base64."""

    type: Literal["input_audio"]
    input_audio: InputAudio


class RefusalPart(_Model):
    """A refusal content part, in an assistant message."""

    type: Literal["refusal"]
    refusal: str


class OtherPart(_OpenModel):
    """Any other content part (``input_text``, a provider's own, ...), kept as it is."""

    type: str


_KNOWN_PARTS = frozenset({"text", "image_url", "refusal", "file", "input_audio"})


def _part_kind(part: Any) -> str:
    kind = part.get("type") if isinstance(part, dict) else getattr(part, "type", None)
    return kind if kind in _KNOWN_PARTS else "other"


# A handler's reply may hold parts this module does not know (update_message() takes
# any OpenAI message): the browser sends them back as they came, so the next turn works.
ContentPart = Annotated[
    Annotated[TextPart, Tag("text")]
    | Annotated[ImagePart, Tag("image_url")]
    | Annotated[RefusalPart, Tag("refusal")]
    | Annotated[FilePart, Tag("file")]
    | Annotated[AudioPart, Tag("input_audio")]
    | Annotated[OtherPart, Tag("other")],
    Discriminator(_part_kind),
]


class ChatMessage(_OpenModel):
    """A complete message in OpenAI Chat Completions format."""

    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    function_call: FunctionCall | None = None
    refusal: str | None = None


class FormField(_Model):
    """One field of a question's form, as the browser draws it.

    The server turns a pydantic model or a JSON schema into these, so the
    browser needs to know only this flat shape.
    """

    name: str
    label: str
    type: FieldType
    required: bool = True
    options: list[str] | None = None
    default: str | float | bool | None = None
    description: str | None = None
    minimum: float | None = None
    maximum: float | None = None


class Approval(_Model):
    """The answer to an ``approve`` question: the decision and the arguments as left."""

    approved: bool
    arguments: str
    reason: str | None = None

    @property
    def args(self) -> Any:
        """The arguments parsed from JSON: what to call the tool with.

        Example::

            decision = app.confirm(call)
            if decision.approved:
                result = send_email(**decision.args)
        """
        return json.loads(self.arguments)


class Ask(_Model):
    """The ``ask`` key of a message that asks the user something, in a run.

    The message's ``content`` is the question (markdown). ``approve`` asks
    about the call ``tool_call_id`` of an earlier message (its ``name`` and
    ``arguments``, editable when ``editable``); such a message is shown on that
    call's block and never reaches a model. Each change (answered, cancelled,
    expired) is a delta that restates the whole ``ask``. ``answer`` is set once
    answered: the text or choice, the form's values, or an :class:`Approval`.
    """

    id: str
    kind: AskKind
    status: AskStatus = "pending"
    choices: list[str] | None = None
    fields: list[FormField] | None = None
    placeholder: str | None = None
    tool_call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    editable: bool = False
    #: When an unanswered question expires, in seconds since the epoch.
    expires_at: float | None = None
    answer: Any = None


class MessageAction(_Model):
    """A button under a message (its ``actions`` key); a click runs the action's handler."""

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    label: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    payload: Any = None


class ConversationMessage(_Model):
    """A message of a conversation as the browser keeps it: an id and the message."""

    id: MessageId
    message: ChatMessage


# -- client to server -----------------------------------------------------------


class SendMessage(_Model):
    """Ask the server to answer a new user message.

    Browser history: ``messages`` is the whole branch, ending with the new
    message. Server history: ``messages`` is the new user message alone and
    ``parent_id`` the message it follows (None: the first of a conversation);
    the server builds the rest from its store. A conversation id the user has
    not used yet starts a new conversation (with the configured initial
    messages, ids ``init-0``, ``init-1``, ...).
    """

    conversation_id: ConversationId
    messages: list[ConversationMessage] = Field(min_length=1)
    parent_id: MessageId | None = None


class Stop(_Model):
    """Ask the server to stop the conversation's running handler."""

    conversation_id: ConversationId


class Resume(_Model):
    """After a (re)connect: ask for the conversation's in-flight or last reply."""

    conversation_id: ConversationId


class Regenerate(_Model):
    """Server history: answer ``parent_id`` again; the new reply is a sibling of the old."""

    conversation_id: ConversationId
    parent_id: MessageId


class ListCursor(_Model):
    """Where a page of the conversation list ends: the last item's time and id."""

    updated_at: float
    conversation_id: ConversationId


class ListConversations(_Model):
    """Server history: a page of the user's conversations, newest first.

    ``query`` searches titles and message text; ``before`` is the ``next`` of
    the previous page.
    """

    query: str = Field(default="", max_length=200)
    before: ListCursor | None = None
    limit: int = Field(default=30, ge=1, le=100)


class OpenConversation(_Model):
    """Server history: ask for a conversation's messages (answered by ``conversation``).

    If a reply is running in it, the tab is attached to it too (a
    ``run_snapshot`` and live deltas follow).
    """

    conversation_id: ConversationId


class RenameConversation(_Model):
    """Give a conversation a title."""

    conversation_id: ConversationId
    title: Title


class DeleteConversation(_Model):
    """Remove a conversation and every one of its messages."""

    conversation_id: ConversationId


class ImportConversation(_Model):
    """Server history: keep OpenAI-format messages as a new conversation of the user.

    Used for a JSON file the user imports and for the conversations a browser
    kept before the server did (uploaded once). Importing an id the user has
    already is a no-op that announces it again, so an upload can be retried.
    """

    conversation_id: ConversationId
    title: Title | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    updated_at: float | None = None


class ShareConversation(_Model):
    """Share a conversation read-only by link (``shared=True``), or revoke its link.

    The link shows the branch ending at ``leaf_id`` (None: the newest branch) as
    it is now; later messages, renames and edits do not reach it.
    """

    conversation_id: ConversationId
    shared: bool
    leaf_id: MessageId | None = None


class Answer(_Model):
    """Answer the pending question ``ask_id`` of the conversation's running reply.

    ``value`` by the question's kind: ``text`` a string, ``choices`` one of the
    choices, ``form`` an object of field values, ``approve`` an
    :class:`Approval`. A question that is not pending, or a value of the wrong
    shape, is refused with an ``error``; the question stays as it was.
    """

    conversation_id: ConversationId
    ask_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    value: Any


class GiveFeedback(_Model):
    """Rate an assistant message (``rating`` None takes the rating back)."""

    conversation_id: ConversationId
    message_id: MessageId
    rating: Rating | None
    comment: str | None = Field(default=None, max_length=2000)


class RunAction(_Model):
    """Click the action ``name`` of message ``message_id``: its handler runs as a reply.

    The reply follows the branch's last message. Browser history: ``messages``
    is the whole branch (it holds ``message_id``). Server history: ``parent_id``
    is the branch's last message, and the server finds the rest.
    """

    conversation_id: ConversationId
    message_id: MessageId
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    messages: list[ConversationMessage] = Field(default_factory=list)
    parent_id: MessageId | None = None


# -- server to client -----------------------------------------------------------


class FunctionDisplay(_Model):
    """How the browser shows the calls of one function."""

    header: str | None = None
    hide_header: bool = False
    arguments_title: str = "Arguments"
    result_title: str = "Result"
    #: ``html`` renders in a sandboxed iframe: no scripts, no access to the page.
    result_type: Literal["text", "markdown", "json", "code", "html"] = "text"
    result_language: str | None = None


#: The kinds of attachment a user may add: images, files (PDF, text) and audio.
AttachmentKind = Literal["image", "file", "audio"]


class AttachmentRule(_Model):
    """What the composer takes of one kind of attachment, and the server lets through.

    ``max_bytes`` is the size of the file itself (its base64 is a third larger);
    ``types`` the media types taken (``text/*`` for any text), None: every type
    the kind may carry (:data:`IMAGE_DATA_TYPES`, :data:`FILE_DATA_TYPES`, WAV and MP3).
    """

    max_bytes: int = Field(gt=0)
    types: list[str] | None = None


class Attachments(_Model):
    """The kinds of attachment allowed, each with its rule; None: that kind is off."""

    image: AttachmentRule | None = AttachmentRule(max_bytes=5 * 1024 * 1024)
    file: AttachmentRule | None = AttachmentRule(max_bytes=5 * 1024 * 1024)
    audio: AttachmentRule | None = None


class UIConfig(_Model):
    """The browser's configuration, sent on connect."""

    title: str
    agent_name: str
    placeholder: str
    logo: str | None
    favicon: str | None
    starter_prompts: list[str]
    allow_upload: bool
    #: What may be attached (all None when ``allow_upload`` is off).
    attachments: Attachments
    show_usage: bool
    max_message_bytes: int
    image_hosts: list[str]
    messages: list[ChatMessage]
    functions: dict[str, FunctionDisplay]
    protocol: int = PROTOCOL_VERSION
    history: HistoryMode = "browser"
    #: Whether assistant messages offer thumbs up/down (feedback is heard or kept).
    feedback: bool = False


class RunStarted(_Model):
    """The handler started for a conversation.

    ``parent_id`` is the message the run answers: the run's first message is its
    child, and each further message of the run the child of the one before.
    """

    conversation_id: str
    run_id: str
    parent_id: str | None = None


class MessageDelta(_Model):
    """Deltas for one message, to merge in order.

    The handler's deltas are numbered from 1 per message, with no gaps. An event
    carries ``count`` of them, the first numbered ``seq``; runs of text-only deltas
    are folded into one (their strings joined), so ``deltas`` may be shorter. A
    client applies an event whole, when ``seq`` follows the last number it has.
    """

    conversation_id: str
    run_id: str
    message_id: str
    seq: int
    count: int
    deltas: list[dict[str, Any]]


class RunFinished(_Model):
    """The handler returned, raised or was stopped."""

    conversation_id: str
    run_id: str
    status: RunStatus
    error: str | None = None


class SnapshotMessage(_Model):
    """A message of a run as the server has folded it, up to delta ``seq``."""

    message_id: str
    seq: int
    message: dict[str, Any]


class RunSnapshot(_Model):
    """The state of a conversation's current or last run, answering ``resume``."""

    conversation_id: str
    run_id: str
    status: RunStatus
    error: str | None = None
    messages: list[SnapshotMessage]


class ConversationSummary(_Model):
    """A conversation as the sidebar lists it; ``share_token`` is set while it is shared."""

    conversation_id: str
    title: str
    updated_at: float
    share_token: str | None = None


class ConversationList(_Model):
    """A page of the user's conversations, answering ``list_conversations``.

    ``next`` is the cursor of the following page, None on the last.
    """

    query: str
    before: ListCursor | None = None
    items: list[ConversationSummary]
    next: ListCursor | None = None


class FeedbackValue(_Model):
    """The user's feedback on a message, as kept."""

    rating: Rating
    comment: str | None = None


class StoredMessage(_Model):
    """A kept message: its id, the message it follows, and the message itself.

    A conversation's messages come in the order they were made, so siblings
    (versions of one message) are in that order too. ``feedback`` is the user's
    rating of it, if any.
    """

    id: str
    parent_id: str | None = None
    message: dict[str, Any]
    status: StoredStatus = "done"
    feedback: FeedbackValue | None = None


class StoredConversation(_Model):
    """A conversation with every message of its tree, answering ``open_conversation``."""

    conversation_id: str
    title: str
    updated_at: float
    share_token: str | None = None
    messages: list[StoredMessage]


class ConversationDeleted(_Model):
    """A conversation of the user was deleted (in this tab or another)."""

    conversation_id: str


class ErrorPayload(_Model):
    """Something the client sent was refused, or a run failed to start."""

    code: ErrorCode
    message: str
    conversation_id: str | None = None


#: Payload model of every client event, for validation and code generation.
CLIENT_PAYLOADS: Final[dict[str, type[BaseModel]]] = {
    ClientEvent.SEND_MESSAGE: SendMessage,
    ClientEvent.STOP: Stop,
    ClientEvent.RESUME: Resume,
    ClientEvent.REGENERATE: Regenerate,
    ClientEvent.LIST_CONVERSATIONS: ListConversations,
    ClientEvent.OPEN_CONVERSATION: OpenConversation,
    ClientEvent.RENAME_CONVERSATION: RenameConversation,
    ClientEvent.DELETE_CONVERSATION: DeleteConversation,
    ClientEvent.IMPORT_CONVERSATION: ImportConversation,
    ClientEvent.SHARE_CONVERSATION: ShareConversation,
    ClientEvent.ANSWER: Answer,
    ClientEvent.FEEDBACK: GiveFeedback,
    ClientEvent.RUN_ACTION: RunAction,
}

#: Payload model of every server event, for code generation and tests.
SERVER_PAYLOADS: Final[dict[str, type[BaseModel]]] = {
    ServerEvent.CONFIG: UIConfig,
    ServerEvent.RUN_STARTED: RunStarted,
    ServerEvent.MESSAGE_DELTA: MessageDelta,
    ServerEvent.RUN_FINISHED: RunFinished,
    ServerEvent.RUN_SNAPSHOT: RunSnapshot,
    ServerEvent.ERROR: ErrorPayload,
    ServerEvent.CONVERSATION_LIST: ConversationList,
    ServerEvent.CONVERSATION: StoredConversation,
    ServerEvent.CONVERSATION_CHANGED: ConversationSummary,
    ServerEvent.CONVERSATION_DELETED: ConversationDeleted,
}


# -- errors ---------------------------------------------------------------------------


def error_path(loc: tuple[int | str, ...], data: Any, *, missing: bool = False) -> str:
    """Where in ``data`` a pydantic error is, as ``messages.0.message.content.1.image_url.url``.

    Pydantic's ``loc`` also names the union branch it tried (``str``,
    ``list[tagged-union[...]]``) and the tag it picked; walking ``data`` along it
    keeps only the keys and indexes that are really there (and, for a
    ``missing`` field, the name of the field).
    """
    path: list[str] = []
    for step in loc:
        found = (isinstance(data, dict) and step in data) or (
            isinstance(data, list) and isinstance(step, int) and 0 <= step < len(data)
        )
        if found:
            data = data[step]
            path.append(str(step))
    if missing and loc and isinstance(data, dict) and loc[-1] not in data:
        path.append(str(loc[-1]))
    return ".".join(path) or "payload"


def describe_error(exc: ValidationError, data: Any) -> str:
    """One line for the client: the most specific error, where it is, and how many more.

    A union reports one error per branch; the one that reached deepest into
    ``data`` is the one that matched the client's intent, and the others are
    not counted.
    """
    errors = exc.errors(include_url=False)
    paths = [error_path(err["loc"], data, missing=err["type"] == "missing") for err in errors]
    best = max(range(len(errors)), key=lambda i: (paths[i].count(".") + 1, -i))
    message = errors[best]["msg"].removeprefix("Value error, ")
    # The other branches of a union failed at the same place or above it: not news.
    others = [p for p in paths if p != paths[best] and not paths[best].startswith(p + ".")]
    more = f" (and {len(others)} more)" if others else ""
    return f"{paths[best]}: {message}{more}"
