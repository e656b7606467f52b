"""The one asyncio event loop that every async handler runs on, in a thread of its own."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def event_loop() -> asyncio.AbstractEventLoop:
    """The event loop every async handler runs on, in a thread of its own.

    One loop for the whole process, so that a module-level ``AsyncOpenAI()``
    client (whose connection pool belongs to one loop) works run after run.
    """
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="gptchat-asyncio", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def run_on_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on :func:`event_loop` with this thread's context; wait for it."""
    context = contextvars.copy_context()

    async def in_context() -> T:
        # A task copies the loop thread's context: bring the caller's (the current run).
        for var, value in context.items():
            var.set(value)
        return await coro

    return asyncio.run_coroutine_threadsafe(in_context(), event_loop()).result()
