"""The HTTP side of server-kept history: a conversation as a download, a shared link's data.

``GET api/conversations/<cid>/export?format=json|markdown[&leaf=<id>]``
    The user's conversation (the branch ending at ``leaf``, else the newest) as an
    attachment, written by :mod:`gptchat._export`.
``GET api/share/<token>``
    ``{title, messages, shared_at}`` of a shared conversation, for anyone holding the
    token; nothing of the owner's other conversations.

Routes are relative to the Flask app, which may be mounted under a prefix. A conversation
that is not the user's answers 404, as one that does not exist: a 403 would confirm that a
guessed id is somebody's.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from flask import Flask, Request, Response, jsonify, request

from ._export import FORMATS, render
from .store import StoreError

log = logging.getLogger("gptchat")

_CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


class _Titled(Protocol):
    @property
    def title(self) -> str: ...


class _Shared(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def messages(self) -> Sequence[dict[str, Any]]: ...
    @property
    def shared_at(self) -> float: ...


class HistoryStore(Protocol):
    """What these routes read of :class:`gptchat.store.Store`."""

    def summary(self, owner: str, conversation_id: str) -> _Titled | None: ...
    def export(
        self, owner: str, conversation_id: str, leaf_id: str | None = None
    ) -> Sequence[dict[str, Any]] | None: ...
    def shared(self, token: str) -> _Shared | None: ...


class _StoreFailed(Exception):
    pass


def add_history_routes(
    flask: Flask,
    *,
    store_of: Callable[[], HistoryStore | None],
    user_of: Callable[[Request], str | None],
) -> None:
    """Add the export and shared-link routes to ``flask``.

    :param store_of: the history store, or None when the browser keeps history
        (then every route answers 404).
    :param user_of: who sent the request (None: nobody signed in, answered 401).

    Example::

        add_history_routes(
            flask_app,
            store_of=lambda: store,
            user_of=lambda request: "local",
        )
    """

    def export(cid: str) -> Response:
        fmt = request.args.get("format", "json")
        if fmt not in FORMATS:
            return _error(400, f"format must be json or markdown, not {fmt[:32]!r}")
        owner = user_of(request)
        if owner is None:
            return _error(401, "not signed in")
        store = store_of()
        leaf = request.args.get("leaf")
        if (
            store is None
            or not _CONVERSATION_ID.fullmatch(cid)
            or (leaf is not None and not _MESSAGE_ID.fullmatch(leaf))
        ):
            return _not_found()
        try:
            found = _branch(store, owner, cid, leaf)
        except _StoreFailed:
            return _error(503, "the history store failed; try again")
        if found is None:
            return _not_found()
        title, messages = found
        mimetype, extension = FORMATS[fmt]
        text = render(fmt, title, messages)
        # A lone surrogate kept from elsewhere becomes "?" rather than a failed download.
        body = text.encode("utf-8", "replace")
        response = Response(body, mimetype=mimetype, content_type=f"{mimetype}; charset=utf-8")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{filename_of(title)}{extension}"'
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    def shared(token: str) -> Response:
        store = store_of()
        if store is None or not _TOKEN.fullmatch(token):
            return _not_found()
        try:
            snapshot = store.shared(token)
        except StoreError:
            log.exception("history store: reading a shared conversation failed")
            return _error(503, "the history store failed; try again")
        if snapshot is None:
            return _not_found()
        response = jsonify(
            title=snapshot.title,
            messages=list(snapshot.messages),
            shared_at=snapshot.shared_at,
        )
        # A revoked link must stop working at once, in every cache on the way.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
        return response

    flask.add_url_rule("/api/conversations/<cid>/export", "gptchat_export", export, methods=["GET"])
    flask.add_url_rule("/api/share/<token>", "gptchat_shared", shared, methods=["GET"])


def _branch(
    store: HistoryStore, owner: str, cid: str, leaf: str | None
) -> tuple[str, Sequence[dict[str, Any]]] | None:
    # The owner is part of every lookup: another user's id finds nothing.
    try:
        summary = store.summary(owner, cid)
        messages = store.export(owner, cid, leaf) if summary is not None else None
    except StoreError as exc:
        log.exception("history store: reading a conversation to export failed")
        raise _StoreFailed from exc
    if summary is None or messages is None:
        return None
    return summary.title, messages


def filename_of(title: str) -> str:
    """A file name for ``title``: letters, digits, ``-`` and ``_`` only, at most 80.

    Accents are dropped rather than the letters they sit on; anything else becomes
    ``-``. An empty result is ``conversation``.

    Example::

        >>> filename_of('Zürich: "weather" / today')
        'Zurich-weather-today'
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9_]+", "-", ascii_title).strip("-_")[:80].rstrip("-_")
    return name or "conversation"


def _not_found() -> Response:
    return _error(404, "not found")


def _error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
