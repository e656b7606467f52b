"""Every event the server sends goes through :class:`Emitter`, one method per event.

It builds each payload and hands it to a :class:`~gptchat._transport.Transport`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._transport import Transport
from .protocol import ErrorCode, RunStatus, ServerEvent


class Emitter:
    """Sends typed server events to one tab (sid) at a time, never to all.

    The conversation events of server-kept history go to the tabs of one user,
    named one by one: still never a broadcast.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def _emit(self, event: str, payload: dict[str, Any], sid: str) -> None:
        self.transport.send(sid, event, payload)

    def config(self, sid: str, payload: dict[str, Any]) -> None:
        """Send the UI configuration."""
        self._emit(ServerEvent.CONFIG, payload, sid)

    def run_started(
        self, sid: str, conversation_id: str, run_id: str, parent_id: str | None = None
    ) -> None:
        """Tell the tab that the handler started, answering message ``parent_id``."""
        payload = {"conversation_id": conversation_id, "run_id": run_id, "parent_id": parent_id}
        self._emit(ServerEvent.RUN_STARTED, payload, sid)

    def message_delta(
        self,
        sid: str,
        conversation_id: str,
        run_id: str,
        message_id: str,
        seq: int,
        count: int,
        deltas: list[Mapping[str, Any]],
    ) -> None:
        """Send ``count`` consecutive deltas of one message, the first numbered ``seq``,
        folded into ``deltas``."""
        payload = {
            "conversation_id": conversation_id,
            "run_id": run_id,
            "message_id": message_id,
            "seq": seq,
            "count": count,
            "deltas": deltas,
        }
        self._emit(ServerEvent.MESSAGE_DELTA, payload, sid)

    def run_finished(
        self, sid: str, conversation_id: str, run_id: str, status: RunStatus, error: str | None
    ) -> None:
        """Tell the tab that the handler ended, and how."""
        payload = {
            "conversation_id": conversation_id,
            "run_id": run_id,
            "status": status,
            "error": error,
        }
        self._emit(ServerEvent.RUN_FINISHED, payload, sid)

    def run_snapshot(self, sid: str, payload: dict[str, Any]) -> None:
        """Send the folded state of a run to a tab that (re)connected."""
        self._emit(ServerEvent.RUN_SNAPSHOT, payload, sid)

    def error(
        self, sid: str, code: ErrorCode, message: str, conversation_id: str | None = None
    ) -> None:
        """Tell the tab that something it sent was refused."""
        payload = {"code": code, "message": message, "conversation_id": conversation_id}
        self._emit(ServerEvent.ERROR, payload, sid)

    def conversation_list(self, sid: str, payload: dict[str, Any]) -> None:
        """Send a page of the user's conversations (a ``ConversationList``)."""
        self._emit(ServerEvent.CONVERSATION_LIST, payload, sid)

    def conversation(self, sid: str, payload: dict[str, Any]) -> None:
        """Send a whole conversation (a ``StoredConversation``)."""
        self._emit(ServerEvent.CONVERSATION, payload, sid)

    def conversation_changed(self, sids: Iterable[str], payload: dict[str, Any]) -> None:
        """Tell each of ``sids`` (the tabs of one user) how a conversation is now."""
        for sid in sids:
            self._emit(ServerEvent.CONVERSATION_CHANGED, payload, sid)

    def conversation_deleted(self, sids: Iterable[str], conversation_id: str) -> None:
        """Tell each of ``sids`` (the tabs of one user) that a conversation is gone."""
        for sid in sids:
            self._emit(ServerEvent.CONVERSATION_DELETED, {"conversation_id": conversation_id}, sid)
